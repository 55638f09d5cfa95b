//! etcd and the genuine kube-apiserver on free ports, with TLS, static tokens, RBAC, the
//! front-proxy flags API aggregation needs, and the audit log.

use std::{
    fs::{self, File},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use base64::Engine;
use kube::{
    config::{KubeConfigOptions, Kubeconfig},
    Client, Config,
};

use crate::{
    pki::{self, Pki, FRONT_PROXY_CLIENT},
    prereqs::Binaries,
    watchdog::Watchdog,
};

/// Benchmarks count the tool's requests by userAgent and auditID: one event per request and
/// stage, without the noise of RequestReceived.
const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

const READY_TIMEOUT: Duration = Duration::from_secs(90);

pub struct ControlPlane {
    pub server: String,
    pub etcd: Child,
    pub apiserver: Child,
    /// etcd client, etcd peer, kube-apiserver.
    pub ports: [u16; 3],
    pub client: Client,
    /// How kube-apiserver was started, to start it again the same way.
    pub apiserver_command: ApiserverCommand,
}

/// kube-apiserver's binary, flags and log: what a restart needs.
#[derive(Debug, Clone)]
pub struct ApiserverCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub log: PathBuf,
}

impl ApiserverCommand {
    /// Starts it (its output appended to the log) and has the watchdog look after it.
    pub fn spawn(&self, watchdog: &mut Watchdog) -> Result<Child> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("failed to open {}", self.log.display()))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = cmd
            .spawn()
            .with_context(|| format!("failed to start {}", self.program.display()))?;
        watchdog.watch(child.id())?;
        Ok(child)
    }
}

/// Three distinct free ports. Another process may take one before we use it: the caller retries.
fn free_ports() -> Result<[u16; 3]> {
    let listeners = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    format!(
        "--- last lines of {} ---\n{}",
        path.display(),
        all[from..].join("\n")
    )
}

fn spawn(mut cmd: Command, log: &Path, watchdog: &mut Watchdog) -> Result<Child> {
    let out = File::create(log).with_context(|| format!("failed to create {}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let child = cmd
        .spawn()
        .with_context(|| format!("failed to start {:?}", cmd.get_program()))?;
    watchdog.watch(child.id())?;
    Ok(child)
}

fn kubeconfig_yaml(server: &str, ca_pem: &str, user: &str, token: &str, context: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: vmchaos
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    token: {token}
contexts:
- name: {context}
  context:
    cluster: vmchaos
    user: {user}
current-context: {context}
preferences: {{}}
"
    )
}

/// A file only its owner may read (credentials: kubeconfigs, keys, tokens).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// `<dir>/<user>.kubeconfig` (`admin.kubeconfig` for the admin).
pub fn kubeconfig_path(dir: &Path, user: &str) -> PathBuf {
    dir.join(format!("{user}.kubeconfig"))
}

/// A client from a kubeconfig file (must run on a tokio runtime).
pub async fn client_for(kubeconfig: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// The kubeconfig YAML for `user` with `token`, to `server`; public for kubeconfigs that point
/// elsewhere (a fault proxy).
pub fn user_kubeconfig_yaml(
    server: &str,
    ca_pem: &str,
    user: &str,
    token: &str,
    context: &str,
    tls_server_name: Option<&str>,
) -> String {
    let yaml = kubeconfig_yaml(server, ca_pem, user, token, context);
    match tls_server_name {
        Some(name) => yaml.replacen(
            "    certificate-authority-data:",
            &format!("    tls-server-name: {name}\n    certificate-authority-data:"),
            1,
        ),
        None => yaml,
    }
}

/// Starts etcd and kube-apiserver and waits for `/readyz`. Retries with new ports when one was
/// taken in the meantime. `watch_cache: false` sends every watch to etcd (so etcd's compaction
/// shows as 410 Gone).
pub async fn start(
    bins: &Binaries,
    dir: &Path,
    watchdog: &mut Watchdog,
    context: &str,
    watch_cache: bool,
    extra_args: &[String],
) -> Result<ControlPlane> {
    let pki = pki::generate(dir)?;
    fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY)?;
    // An etcd without --unsafe-no-fsync (older releases) gets another try without it.
    let mut no_fsync = true;
    let mut last_error = None;
    for _ in 0..4 {
        match start_once(
            bins,
            dir,
            &pki,
            watchdog,
            context,
            (no_fsync, watch_cache),
            extra_args,
        )
        .await
        {
            Ok(cp) => return Ok(cp),
            Err(Retry::Port(e)) => last_error = Some(e),
            Err(Retry::NoFsyncUnsupported(e)) if no_fsync => {
                no_fsync = false;
                last_error = Some(e);
            }
            Err(Retry::NoFsyncUnsupported(e) | Retry::Fatal(e)) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the control plane did not start")))
}

enum Retry {
    Port(anyhow::Error),
    NoFsyncUnsupported(anyhow::Error),
    Fatal(anyhow::Error),
}

async fn start_once(
    bins: &Binaries,
    dir: &Path,
    pki: &Pki,
    watchdog: &mut Watchdog,
    context: &str,
    (no_fsync, watch_cache): (bool, bool),
    extra_args: &[String],
) -> Result<ControlPlane, Retry> {
    let fatal = Retry::Fatal;
    let [etcd_port, peer_port, api_port] = free_ports().map_err(fatal)?;
    let data = dir.join("etcd-data");
    let _ = fs::remove_dir_all(&data);
    let etcd_log = dir.join("etcd.log");
    let api_log = dir.join("apiserver.log");

    let mut etcd = Command::new(&bins.etcd);
    let client_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    etcd.arg("--name=default")
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=default={peer_url}"))
        .arg("--logger=zap")
        .arg("--log-outputs=stderr");
    if no_fsync {
        // Throw-away data: durability only costs time.
        etcd.arg("--unsafe-no-fsync");
    }

    let p = |name: &str, value: &str| format!("--{name}={value}");
    let mut api_args = vec![
        p("etcd-servers", &client_url),
        p("bind-address", "127.0.0.1"),
        p("advertise-address", "127.0.0.1"),
        p("secure-port", &api_port.to_string()),
        p("cert-dir", &dir.join("pki").display().to_string()),
        p("tls-cert-file", &pki.server_cert),
        p("tls-private-key-file", &pki.server_key),
        p("client-ca-file", &pki.ca),
        p("token-auth-file", &pki.tokens_csv),
        p("authorization-mode", "RBAC"),
        p("service-account-key-file", &pki.service_account_pub),
        p("service-account-signing-key-file", &pki.service_account_key),
        p(
            "service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
        ),
        // TokenRequest's default audience: in-cluster tests authenticate with such tokens.
        p(
            "api-audiences",
            "https://kubernetes.default.svc.cluster.local",
        ),
        p("service-cluster-ip-range", "10.0.0.0/24"),
        // No ServiceAccount controller runs: the simulator creates launcher Pods without one.
        p("disable-admission-plugins", "ServiceAccount"),
        // A loopback advertise address can't go into the `kubernetes` Endpoints.
        p("endpoint-reconciler-type", "none"),
        p("allow-privileged", "true"),
        // API aggregation (the simulator's start/stop/restart), deliberately WITHOUT
        // --enable-aggregator-routing, which refuses the ExternalName Service it uses.
        p("requestheader-client-ca-file", &pki.front_proxy_ca),
        p("requestheader-allowed-names", FRONT_PROXY_CLIENT),
        p("requestheader-username-headers", "X-Remote-User"),
        p("requestheader-group-headers", "X-Remote-Group"),
        p("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        p("proxy-client-cert-file", &pki.front_proxy_client_cert),
        p("proxy-client-key-file", &pki.front_proxy_client_key),
        p(
            "audit-log-path",
            &dir.join("audit.log").display().to_string(),
        ),
        p(
            "audit-policy-file",
            &dir.join("audit-policy.yaml").display().to_string(),
        ),
    ];
    // On SIGTERM, close the open watches (their clients re-list) and exit within a second or
    // two. Without it, the watches keep the HTTP server's shutdown waiting until SIGKILL 15 s
    // later: every `restart_apiserver` cost 17 s, close to virt-controller's 25 s leader
    // election renew deadline on a loaded machine.
    api_args.push(p("shutdown-watch-termination-grace-period", "2s"));
    if !watch_cache {
        api_args.push(p("watch-cache", "false"));
    }
    api_args.extend_from_slice(extra_args);
    let apiserver_command = ApiserverCommand {
        program: bins.kube_apiserver.clone(),
        args: api_args,
        log: api_log.clone(),
    };
    // A fresh log for a fresh start; restarts append.
    File::create(&api_log)
        .with_context(|| format!("failed to create {}", api_log.display()))
        .map_err(fatal)?;

    // Both at once: the API server waits for etcd by itself, which saves a second.
    let mut etcd = spawn(etcd, &etcd_log, watchdog).map_err(fatal)?;
    let mut apiserver = match apiserver_command.spawn(watchdog) {
        Ok(child) => child,
        Err(e) => {
            let _ = etcd.kill();
            let _ = etcd.wait();
            return Err(fatal(e));
        }
    };

    let server = format!("https://127.0.0.1:{api_port}");
    let result = async {
        for (user, token) in &pki.tokens {
            write_private(
                &kubeconfig_path(dir, user),
                &kubeconfig_yaml(&server, &pki.ca_pem, user, token, context),
            )?;
        }
        let client = client_for(&kubeconfig_path(dir, "admin")).await?;
        wait_ready(&client, &mut etcd, &mut apiserver).await?;
        Ok::<_, anyhow::Error>(client)
    }
    .await;
    match result {
        Ok(client) => Ok(ControlPlane {
            server,
            etcd,
            apiserver,
            ports: [etcd_port, peer_port, api_port],
            client,
            apiserver_command,
        }),
        Err(e) => {
            for child in [&mut etcd, &mut apiserver] {
                let _ = child.kill();
                let _ = child.wait();
            }
            let logs = format!("{}\n{}", tail(&etcd_log, 20), tail(&api_log, 30));
            let error = e.context(logs.clone());
            if logs.contains("address already in use") {
                Err(Retry::Port(error))
            } else if logs.contains("unsafe-no-fsync") {
                Err(Retry::NoFsyncUnsupported(error))
            } else {
                Err(Retry::Fatal(error))
            }
        }
    }
}

pub async fn wait_ready(client: &Client, etcd: &mut Child, apiserver: &mut Child) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = etcd.try_wait()? {
            bail!("etcd exited ({status}) before the API server was ready");
        }
        if let Some(status) = apiserver.try_wait()? {
            bail!("kube-apiserver exited ({status}) before it was ready");
        }
        let request = http::Request::get("/readyz").body(Vec::new())?;
        if client.request_text(request).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("kube-apiserver not ready within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
