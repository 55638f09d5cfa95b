//! The genuine tier: KubeVirt's own virt-api and virt-controller (v1.9.0, built by
//! `scripts/build-genuine`) on the control plane, with kube-controller-manager for garbage
//! collection, service accounts and namespaces, and the simulator's stand-in node agent playing
//! kubelet and virt-handler. Set up as `../shared/GENUINE-KUBEVIRT.md` §6 describes:
//!
//! 1. the 20 CRDs KubeVirt's own generator prints, Established and in discovery;
//! 2. `kubevirt/kubevirt` with `status.phase: Deployed` and `defaultArchitecture` BEFORE
//!    virt-controller starts (a later change makes it exit to re-initialise), with the
//!    `NodeRestriction` gate off (the node agent has no node-bound token);
//! 3. virt-api with a serving certificate for `virt-api.kubevirt.svc`, an ExternalName Service
//!    pointing at localhost, its APIServices and webhooks (from the generator, with the port and
//!    the CA filled in); then virt-controller, once it holds its Lease;
//! 4. the node agent, writing as `kubevirt-handler`.
//!
//! virt-api, virt-controller and kube-controller-manager each run under a tiny `sh` supervisor
//! that restarts them when they exit (leader election lost while the API server restarts, a
//! re-initialisation), logging each restart to the component's log.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use base64::Engine;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{
    api::{Api, ApiResource, DynamicObject, PostParams},
    Client,
};
use serde_json::{json, Value};

use crate::{control_plane, pki, watchdog::Watchdog, KUBEVIRT_NAMESPACE};

/// KubeVirt's version, as `kubevirt/kubevirt` reports it in the genuine tier.
pub const GENUINE_KUBEVIRT_VERSION: &str = "v1.9.0";

/// The users the components authenticate as (x509 common names; all in `system:masters`).
const CONTROLLER_USER: &str = "system:serviceaccount:kubevirt:kubevirt-controller";
const API_USER: &str = "system:serviceaccount:kubevirt:kubevirt-apiserver";
const HANDLER_USER: &str = "system:serviceaccount:kubevirt:kubevirt-handler";

/// How long each component may take to come up before the start fails, naming it.
const COMPONENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Restarts the program whenever it exits; SIGTERM stops both. `$1` is the log, the rest the
/// command.
const SUPERVISOR: &str = r#"
log=$1; shift
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT HUP
n=0
while :; do
  "$@" >>"$log" 2>&1 &
  child=$!
  wait "$child"
  status=$?
  n=$((n + 1))
  echo "vmchaos-supervisor: $(basename "$1") exited with status $status; restart $n in 1 s" >>"$log"
  sleep 1
done
"#;

/// The genuine tier's binaries and generated manifests (`scripts/build-genuine`'s folder).
#[derive(Debug, Clone)]
pub struct GenuineFiles {
    pub dir: PathBuf,
}

impl GenuineFiles {
    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Result<String> {
        let path = self.dir.join(name);
        fs::read_to_string(&path).with_context(|| format!("failed to read {}", path.display()))
    }
}

/// What runs of the genuine tier, for `Cluster`.
pub struct Genuine {
    /// The supervisors of kube-controller-manager, virt-api and virt-controller.
    pub supervisors: Vec<Child>,
    pub node_agent: kubevirt_sim::node_agent::NodeAgent,
    /// virt-api's and virt-controller's HTTPS ports.
    pub ports: Vec<u16>,
}

/// Where each component logs, under the cluster's folder.
pub fn log_path(dir: &Path, component: &str) -> PathBuf {
    dir.join(format!("{component}.log"))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn supervise(
    name: &str,
    program: &Path,
    args: &[String],
    dir: &Path,
    watchdog: &mut Watchdog,
) -> Result<Child> {
    let log = log_path(dir, name);
    fs::write(&log, "").with_context(|| format!("failed to create {}", log.display()))?;
    let child = Command::new("sh")
        .arg("-c")
        .arg(SUPERVISOR)
        .arg(format!("vmchaos-supervise-{name}"))
        .arg(&log)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("failed to start {name} ({})", program.display()))?;
    watchdog.watch(child.id())?;
    Ok(child)
}

/// A kubeconfig for an x509 user.
fn cert_kubeconfig(server: &str, ca: &Path, cert: &Path, key: &Path, user: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: vmchaos
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: genuine
  context:
    cluster: vmchaos
    user: {user}
current-context: genuine
",
        ca = ca.display(),
        cert = cert.display(),
        key = key.display(),
    )
}

/// A client certificate in `system:masters` for `user`, and its kubeconfig's path.
fn identity(dir: &Path, server: &str, file: &str, user: &str) -> Result<PathBuf> {
    let pki_dir = dir.join("pki");
    let (cert, key) = pki::issue_client_certificate(&pki_dir, user, &["system:masters"])?;
    let cert_path = pki_dir.join(format!("{file}.pem"));
    let key_path = pki_dir.join(format!("{file}-key.pem"));
    control_plane::write_private(&cert_path, &cert)?;
    control_plane::write_private(&key_path, &key)?;
    let kubeconfig = dir.join(format!("{file}.kubeconfig"));
    control_plane::write_private(
        &kubeconfig,
        &cert_kubeconfig(server, &pki_dir.join("ca.pem"), &cert_path, &key_path, user),
    )?;
    Ok(kubeconfig)
}

/// One of the generator's files: a JSON array of objects.
fn objects(files: &GenuineFiles, name: &str) -> Result<Vec<Value>> {
    serde_json::from_str(&files.read(name)?).with_context(|| format!("failed to parse {name}"))
}

/// Installs KubeVirt's CRDs (the generator's output) and waits until discovery serves them.
pub async fn install_crds(client: &Client, files: &GenuineFiles) -> Result<()> {
    let mut names = Vec::new();
    for crd in objects(files, "crds.json")? {
        names.push(
            crd["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        create_object(client, &crd).await?;
    }
    crate::kubevirt::wait_established(client, &names).await
}

/// `kubevirt/kubevirt`, as virt-operator leaves it, before virt-controller starts.
pub async fn create_kubevirt(client: &Client) -> Result<()> {
    let spec = json!({
        "certificateRotateStrategy": {},
        "configuration": {"developerConfiguration": {
            // The node agent writes as kubevirt-handler with an x509 identity, which carries
            // no node-name claim.
            "disabledFeatureGates": ["NodeRestriction"],
        }},
        "workloadUpdateStrategy": {},
    });
    let status = json!({"defaultArchitecture": "amd64"});
    crate::kubevirt::create_kubevirt_with(client, spec, status, GENUINE_KUBEVIRT_VERSION).await
}

fn api(
    client: &Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Api::all_with(
        client.clone(),
        &ApiResource {
            group: group.into(),
            version: version.into(),
            api_version,
            kind: kind.into(),
            plural: plural.into(),
        },
    )
}

/// The generator's objects (APIServices or webhook configurations), with virt-api's port and
/// the CA that signed its certificate filled in.
fn registration_objects(mut objects: Vec<Value>, port: u16, ca_bundle: &str) -> Vec<Value> {
    for object in &mut objects {
        if object["kind"] == "APIService" {
            object["spec"]["service"]["port"] = json!(port);
            object["spec"]["caBundle"] = json!(ca_bundle);
        } else if let Some(webhooks) = object["webhooks"].as_array_mut() {
            for webhook in webhooks {
                webhook["clientConfig"]["service"]["port"] = json!(port);
                webhook["clientConfig"]["caBundle"] = json!(ca_bundle);
            }
        }
    }
    objects
}

async fn create_object(client: &Client, object: &Value) -> Result<()> {
    let (group, version) = match object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .split_once('/')
    {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap_or("v1").into(),
        ),
    };
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = match kind {
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        kind => format!("{}s", kind.to_lowercase()),
    };
    let obj: DynamicObject = serde_json::from_value(object.clone())?;
    match api(client, &group, &version, kind, &plural)
        .create(&PostParams::default(), &obj)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("failed to create the {kind} {:?}", obj.metadata.name))
        }
    }
}

/// A component that exited this often while starting is not going to start.
const CRASH_LOOP: usize = 3;

/// Waits until `pred` holds, failing after the component timeout, or as soon as the component
/// keeps exiting, with the component's log.
async fn wait_for<F, Fut>(what: &str, log: &Path, mut pred: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + COMPONENT_TIMEOUT;
    while !pred().await {
        let restarts = fs::read_to_string(log)
            .unwrap_or_default()
            .matches("vmchaos-supervisor: ")
            .count();
        if restarts >= CRASH_LOOP {
            bail!(
                "{what}: it exited {restarts} times while starting (log: {})\n{}",
                log.display(),
                control_plane::tail(log, 30)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{what} within {COMPONENT_TIMEOUT:?} (log: {})\n{}",
                log.display(),
                control_plane::tail(log, 30)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Starts everything after the control plane and the CRDs. `client` is the admin's.
pub async fn start(
    client: &Client,
    server: &str,
    dir: &Path,
    files: &GenuineFiles,
    watchdog: &mut Watchdog,
    sim: kubevirt_sim::SimConfig,
) -> Result<Genuine> {
    let admin = control_plane::kubeconfig_path(dir, "admin");
    let mut supervisors = Vec::new();

    // kube-controller-manager: garbage collection (replica sets' VMIs, orphaned launcher
    // pods), default ServiceAccounts, namespace deletion. No node lifecycle controller: the
    // stand-in nodes would be tainted without a kubelet lease.
    let kcm_args = vec![
        format!("--kubeconfig={}", admin.display()),
        "--controllers=garbagecollector,serviceaccount,namespace".into(),
        "--leader-elect=false".into(),
        "--secure-port=0".into(),
        "--use-service-account-credentials=false".into(),
        "--concurrent-gc-syncs=5".into(),
    ];
    supervisors.push(supervise(
        "kube-controller-manager",
        &files.bin("kube-controller-manager"),
        &kcm_args,
        dir,
        watchdog,
    )?);

    // virt-api: a serving certificate for the names the API server dials.
    let t = Instant::now();
    let pki_dir = dir.join("pki");
    let (cert, key) = pki::issue_serving_certificate(
        &pki_dir,
        "virt-api",
        &["virt-api.kubevirt.svc", "localhost", "127.0.0.1"],
    )?;
    let (cert_path, key_path) = (
        pki_dir.join("virt-api.pem"),
        pki_dir.join("virt-api-key.pem"),
    );
    control_plane::write_private(&cert_path, &cert)?;
    control_plane::write_private(&key_path, &key)?;
    let ca_bundle =
        base64::engine::general_purpose::STANDARD.encode(fs::read(pki_dir.join("ca.pem"))?);
    let api_kubeconfig = identity(dir, server, "virt-api-client", API_USER)?;
    let api_port = free_port()?;
    let api_args = vec![
        format!("--kubeconfig={}", api_kubeconfig.display()),
        "--listen=127.0.0.1".into(),
        format!("--port={api_port}"),
        format!("--tls-cert-file={}", cert_path.display()),
        format!("--tls-key-file={}", key_path.display()),
        "-v=2".into(),
    ];
    supervisors.push(supervise(
        "virt-api",
        &files.bin("virt-api"),
        &api_args,
        dir,
        watchdog,
    )?);
    let api_log = log_path(dir, "virt-api");
    wait_for("virt-api did not listen", &api_log, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", api_port))
            .await
            .is_ok()
    })
    .await?;
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "virt-api", "namespace": KUBEVIRT_NAMESPACE},
        "spec": {"type": "ExternalName", "externalName": "localhost",
                 "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]},
    });
    let services: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        KUBEVIRT_NAMESPACE,
        &ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()),
    );
    match services
        .create(&PostParams::default(), &serde_json::from_value(service)?)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).context("failed to create the Service kubevirt/virt-api"),
    }
    for file in ["apiservices.json", "webhooks.json"] {
        for object in registration_objects(objects(files, file)?, api_port, &ca_bundle) {
            create_object(client, &object).await?;
        }
    }
    wait_for(
        "the API server does not route subresources.kubevirt.io/v1 to virt-api",
        &api_log,
        || async {
            let request = http::Request::get("/apis/subresources.kubevirt.io/v1")
                .body(Vec::new())
                .unwrap_or_default();
            client.request_text(request).await.is_ok()
        },
    )
    .await?;
    let virt_api = t.elapsed();

    // virt-controller: it is ready once it holds its Lease.
    let t = Instant::now();
    let controller_kubeconfig = identity(dir, server, "virt-controller-client", CONTROLLER_USER)?;
    let controller_port = free_port()?;
    let controller_args = vec![
        format!("--kubeconfig={}", controller_kubeconfig.display()),
        "--listen=127.0.0.1".into(),
        format!("--port={controller_port}"),
        "--launcher-image=virt-launcher:v1.9.0".into(),
        format!("--prom-cert-file={}", cert_path.display()),
        format!("--prom-key-file={}", key_path.display()),
        // Leader election survives an API server restart of a few seconds.
        "--leader-elect-lease-duration=30s".into(),
        "--leader-elect-renew-deadline=25s".into(),
        "-v=2".into(),
    ];
    supervisors.push(supervise(
        "virt-controller",
        &files.bin("virt-controller"),
        &controller_args,
        dir,
        watchdog,
    )?);
    let leases: Api<Lease> = Api::namespaced(client.clone(), KUBEVIRT_NAMESPACE);
    wait_for(
        "virt-controller did not take its Lease",
        &log_path(dir, "virt-controller"),
        || async {
            leases
                .get_opt("virt-controller")
                .await
                .ok()
                .flatten()
                .and_then(|l| l.spec?.holder_identity)
                .is_some_and(|h| !h.is_empty())
        },
    )
    .await?;
    let virt_controller = t.elapsed();

    // The node agent, as virt-handler.
    let handler_kubeconfig = identity(dir, server, "node-agent", HANDLER_USER)?;
    let handler = control_plane::client_for(&handler_kubeconfig).await?;
    let node_agent = kubevirt_sim::node_agent::start(handler, sim)
        .await
        .context("failed to start the node agent")?;
    eprintln!(
        "testenv: genuine KubeVirt: virt-api routed in {virt_api:.1?}, virt-controller leading \
         in {virt_controller:.1?}; logs in {}",
        dir.display()
    );
    Ok(Genuine {
        supervisors,
        node_agent,
        ports: vec![api_port, controller_port],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_gets_the_port_and_the_ca() {
        let generated = vec![
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                   "metadata": {"name": "v1.subresources.kubevirt.io"},
                   "spec": {"service": {"name": "virt-api", "namespace": "kubevirt"}}}),
            json!({"apiVersion": "admissionregistration.k8s.io/v1",
                   "kind": "MutatingWebhookConfiguration", "metadata": {"name": "m"},
                   "webhooks": [{"name": "a", "clientConfig": {"service": {
                       "name": "virt-api", "namespace": "kubevirt", "path": "/x"}}}]}),
        ];
        let objects = registration_objects(generated, 8443, "Q0E=");
        assert_eq!(objects[0]["spec"]["service"]["port"], 8443);
        assert_eq!(objects[0]["spec"]["caBundle"], "Q0E=");
        assert_eq!(
            objects[1]["webhooks"][0]["clientConfig"]["service"]["port"],
            8443
        );
        assert_eq!(
            objects[1]["webhooks"][0]["clientConfig"]["caBundle"],
            "Q0E="
        );
    }
}
