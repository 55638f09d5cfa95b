//! A real kube-apiserver + etcd with KubeVirt's CRDs and the simulated KubeVirt
//! (`kubevirt-sim`), for the tool's integration tests and for the sandbox.
//!
//! ```no_run
//! let Some(cluster) = testenv::Cluster::shared() else { return }; // prerequisites missing
//! let ns = cluster.namespace("outage");
//! let uid = cluster.running_vm(&ns, "db-0", "Always", &[]);
//! let out = cluster
//!     .command("target/debug/kubectl-vmchaos".as_ref(), &cluster.admin_kubeconfig())
//!     .args(["outage", "db-0", "-n", &ns, "--yes"])
//!     .output()
//!     .unwrap();
//! ```
//!
//! Every process the cluster starts, and its temporary directory, go when the test process
//! ends, however it ends (see `watchdog`).

mod control_plane;
pub mod fixtures;
mod kubevirt;
mod pki;
mod prereqs;
mod watchdog;

use std::{
    future::Future,
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::{api::DynamicObject, Client};

pub use control_plane::client_for;
pub use kubevirt::{CrdSource, KUBEVIRT_NAMESPACE, KUBEVIRT_VERSION};
pub use kubevirt_sim::{knobs, SimConfig};
pub use pki::RESTRICTED_USERS;
pub use prereqs::Binaries;

/// How long fixtures wait for a VMI to become Running and Ready.
pub const FIXTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// etcd or kube-apiserver is not installed/built; the message says how to get them.
    #[error("{0}")]
    Missing(String),
    #[error("failed to start the test cluster: {0:?}")]
    Failed(anyhow::Error),
}

/// How long each part of the start took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// etcd + kube-apiserver until `/readyz` answers ok.
    pub control_plane: Duration,
    /// CRDs created and Established, discovery serving them, `kubevirt/kubevirt` Deployed.
    pub kubevirt_api: Duration,
    /// The simulator's controllers and its APIService Available.
    pub simulator: Duration,
    pub total: Duration,
}

/// What to start. `Cluster::builder()` gives the full stack in a temporary directory.
#[derive(Debug, Clone)]
pub struct Builder {
    dir: Option<PathBuf>,
    kubevirt: bool,
    crds: Option<CrdSource>,
    simulator: Option<SimConfig>,
    context: String,
}

impl Builder {
    /// Use this directory (created if missing) and KEEP it at the end; the default is a fresh
    /// temporary directory that the watchdog removes.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Install the VM, VMI and KubeVirt CRDs and `kubevirt/kubevirt` (default: yes). Without
    /// them there is no simulator either.
    pub fn kubevirt(mut self, install: bool) -> Self {
        self.kubevirt = install;
        self
    }

    /// Which VM/VMI CRDs to install (default: `CrdSource::detect()`).
    pub fn crds(mut self, source: CrdSource) -> Self {
        self.crds = Some(source);
        self
    }

    /// The simulator's configuration (`log_path` defaults to `<dir>/sim.log`); None: none runs.
    pub fn simulator(mut self, config: Option<SimConfig>) -> Self {
        self.simulator = config;
        self
    }

    /// The context name in the kubeconfig files (default `vmchaos-test`).
    pub fn context(mut self, name: impl Into<String>) -> Self {
        self.context = name.into();
        self
    }

    pub fn start(self) -> Result<Cluster, StartError> {
        let binaries = prereqs::find().map_err(StartError::Missing)?;
        Cluster::start(self, binaries).map_err(StartError::Failed)
    }
}

struct Processes {
    etcd: Option<Child>,
    apiserver: Option<Child>,
    watchdog: Option<watchdog::Watchdog>,
    sim: Option<kubevirt_sim::Sim>,
}

/// A running control plane (and, unless disabled, KubeVirt's API and the simulator).
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    server: String,
    client: Client,
    crds: Option<CrdSource>,
    simulator: bool,
    ports: Vec<u16>,
    pids: Vec<u32>,
    timings: Timings,
    processes: Mutex<Processes>,
    next: AtomicUsize,
}

enum Shared {
    Ready(Box<Cluster>),
    Missing(String),
    Failed(String),
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn shared_from(
    cell: &'static OnceLock<Shared>,
    builder: fn() -> Builder,
) -> Option<&'static Cluster> {
    let shared = cell.get_or_init(|| match builder().start() {
        Ok(cluster) => Shared::Ready(Box::new(cluster)),
        Err(StartError::Missing(m)) => Shared::Missing(m),
        Err(e @ StartError::Failed(_)) => Shared::Failed(e.to_string()),
    });
    match shared {
        Shared::Ready(cluster) => Some(cluster),
        Shared::Missing(m) if is_ci() => {
            panic!("CI=true and the test cluster's prerequisites are missing:\n{m}")
        }
        Shared::Missing(m) => {
            eprintln!(
                "testenv: SKIPPED, no local API server: {m}\n\
                 testenv: scripts/test does both (scripts/install-deps, scripts/build-apiserver)"
            );
            None
        }
        Shared::Failed(m) => panic!("{m}"),
    }
}

impl Cluster {
    /// The full cluster (control plane, KubeVirt API, simulator) shared by this test binary,
    /// started on first use. None (after printing how to get them) when etcd or kube-apiserver
    /// is missing, except under `CI=true`, where that panics. Panics when the start fails.
    ///
    /// `VMCHAOS_NO_SIM=1` leaves the simulator out (to work on the harness alone).
    pub fn shared() -> Option<&'static Cluster> {
        static SHARED: OnceLock<Shared> = OnceLock::new();
        shared_from(&SHARED, || {
            let no_sim =
                std::env::var_os("VMCHAOS_NO_SIM").is_some_and(|v| !v.is_empty() && v != "0");
            let builder = Cluster::builder();
            if no_sim {
                builder.simulator(None)
            } else {
                builder
            }
        })
    }

    /// A control plane WITHOUT KubeVirt (no CRDs, no simulator), shared by this test binary:
    /// for "KubeVirt is not installed". Same skip/panic rules as `shared`.
    pub fn bare() -> Option<&'static Cluster> {
        static BARE: OnceLock<Shared> = OnceLock::new();
        shared_from(&BARE, || Cluster::builder().kubevirt(false))
    }

    pub fn builder() -> Builder {
        Builder {
            dir: None,
            kubevirt: true,
            crds: None,
            simulator: Some(SimConfig::default()),
            context: "vmchaos-test".into(),
        }
    }

    fn start(builder: Builder, binaries: Binaries) -> anyhow::Result<Cluster> {
        let started = Instant::now();
        let (dir, remove) = match &builder.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("failed to create {}", dir.display()))?;
                (dir.canonicalize()?, false)
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("vmchaos-testenv-")
                    .tempdir()?;
                (dir.keep(), true)
            }
        };
        let mut watchdog = watchdog::Watchdog::spawn(remove.then_some(dir.as_path()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testenv")
            .enable_all()
            .build()?;
        let crds = builder
            .kubevirt
            .then(|| builder.crds.clone().unwrap_or_else(CrdSource::detect));
        let result = runtime.block_on(async {
            // Parsing the real CRDs takes a while in a debug build: overlap it with the boot.
            let parsed = crds
                .clone()
                .map(|source| tokio::task::spawn_blocking(move || kubevirt::load_crds(&source)));
            let cp = control_plane::start(&binaries, &dir, &mut watchdog, &builder.context).await?;
            let control_plane_ready = started.elapsed();
            let mut processes = Processes {
                etcd: Some(cp.etcd),
                apiserver: Some(cp.apiserver),
                watchdog: None,
                sim: None,
            };
            let mut timings = Timings {
                control_plane: control_plane_ready,
                ..Timings::default()
            };
            let rest = async {
                if let Some(parsed) = parsed {
                    let t = Instant::now();
                    kubevirt::install(&cp.client, parsed.await??).await?;
                    timings.kubevirt_api = t.elapsed();
                    if let Some(mut config) = builder.simulator.clone() {
                        let t = Instant::now();
                        config.log_path.get_or_insert_with(|| dir.join("sim.log"));
                        processes.sim = Some(start_simulator(cp.client.clone(), config).await?);
                        timings.simulator = t.elapsed();
                    }
                }
                Ok::<_, anyhow::Error>(())
            }
            .await;
            Ok::<_, anyhow::Error>((cp.server, cp.client, cp.ports, processes, timings, rest))
        });
        let (server, client, ports, mut processes, mut timings, rest) = match result {
            Ok(started) => started,
            Err(e) => {
                watchdog.finish();
                return Err(e);
            }
        };
        let pids = [&processes.etcd, &processes.apiserver]
            .iter()
            .filter_map(|c| c.as_ref().map(Child::id))
            .chain([watchdog.pid()])
            .collect();
        processes.watchdog = Some(watchdog);
        timings.total = started.elapsed();
        let simulator = processes.sim.is_some();
        let sim_port = processes.sim.as_ref().map(kubevirt_sim::Sim::port);
        let cluster = Cluster {
            runtime,
            dir,
            server,
            client,
            crds,
            simulator,
            ports: ports.iter().copied().chain(sim_port).collect(),
            pids,
            timings,
            processes: Mutex::new(processes),
            next: AtomicUsize::new(1),
        };
        if let Err(e) = rest {
            let logs = control_plane::tail(&cluster.apiserver_log(), 20);
            cluster.stop();
            return Err(e.context(logs));
        }
        eprintln!(
            "testenv: cluster at {} ready in {:.1?} (control plane {:.1?}, KubeVirt API {:.1?} \
             with {} CRDs, simulator {:.1?}); files in {}",
            cluster.server,
            timings.total,
            timings.control_plane,
            timings.kubevirt_api,
            match &cluster.crds {
                Some(CrdSource::Real(_)) => "the real",
                Some(CrdSource::Minimal) => "minimal",
                None => "no",
            },
            timings.simulator,
            cluster.dir.display()
        );
        Ok(cluster)
    }

    /// `https://127.0.0.1:<port>`
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Where kubeconfigs, logs and etcd's data live.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn admin_kubeconfig(&self) -> PathBuf {
        control_plane::kubeconfig_path(&self.dir, "admin")
    }

    /// The kubeconfig of `alice`, `bob` or `carol` (no permissions until a test binds a role),
    /// or `admin`.
    pub fn user_kubeconfig(&self, user: &str) -> PathBuf {
        assert!(
            user == "admin" || RESTRICTED_USERS.contains(&user),
            "no user {user} in the test cluster; there are admin and {RESTRICTED_USERS:?}"
        );
        control_plane::kubeconfig_path(&self.dir, user)
    }

    /// The simulator's JSON-lines event log (see `SimConfig::log_path`).
    pub fn sim_log(&self) -> PathBuf {
        self.dir.join("sim.log")
    }

    /// The API server's audit log (level Metadata, stages ResponseStarted/ResponseComplete/Panic).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    pub fn apiserver_log(&self) -> PathBuf {
        self.dir.join("apiserver.log")
    }

    pub fn etcd_log(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }

    /// Which VM/VMI CRDs are installed; None on a `bare` cluster.
    pub fn crds(&self) -> Option<&CrdSource> {
        self.crds.as_ref()
    }

    pub fn has_simulator(&self) -> bool {
        self.simulator
    }

    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// PIDs of etcd, kube-apiserver and the watchdog.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// Listening ports: etcd (client, peer), kube-apiserver, and the simulator's when it runs.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// An admin (system:masters) client; use it inside `block_on`.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A client as `admin`, `alice`, `bob` or `carol`; use it inside `block_on`.
    pub fn user_client(&self, user: &str) -> Client {
        let kubeconfig = self.user_kubeconfig(user);
        self.run("client", client_for(&kubeconfig))
    }

    /// Runs async code on the cluster's runtime (not from inside another `block_on`).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn run<T>(&self, what: &str, future: impl Future<Output = anyhow::Result<T>>) -> T {
        self.block_on(future)
            .unwrap_or_else(|e| panic!("testenv: {what}: {e:?}"))
    }

    /// A command with a scrubbed environment: only PATH, a fresh HOME (and XDG_STATE_HOME in
    /// it), KUBECONFIG, NO_COLOR=1 and TERM=dumb; nothing from the developer's environment.
    pub fn command(&self, bin: &Path, kubeconfig: &Path) -> Command {
        let home = self.dir.join(format!(
            "home-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        let state = home.join(".local/state");
        std::fs::create_dir_all(&state).expect("create a HOME for the command");
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_STATE_HOME", &state)
            .env("KUBECONFIG", kubeconfig)
            .env("NO_COLOR", "1")
            .env("TERM", "dumb");
        cmd
    }

    /// `kubectl` from PATH, scrubbed like `command`.
    pub fn kubectl(&self, kubeconfig: &Path) -> Command {
        self.command(Path::new("kubectl"), kubeconfig)
    }

    /// Creates a fresh namespace `<prefix>-<n>` and returns its name. (Nothing deletes
    /// namespaces here: no namespace controller runs, and the cluster is thrown away.)
    pub fn namespace(&self, prefix: &str) -> String {
        let ns = format!("{prefix}-{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.ensure_namespace(&ns);
        ns
    }

    /// Creates the namespace unless it exists.
    pub fn ensure_namespace(&self, ns: &str) {
        self.run("namespace", fixtures::ensure_namespace(&self.client, ns));
    }

    /// A VM with this runStrategy (`Always`, `Once`, `RerunOnFailure`, `Manual`, `Halted`)
    /// whose VMI is Running and Ready; `annotations` (e.g. `knobs`) go on its template. Returns
    /// the VMI's UID. Needs the simulator.
    pub fn running_vm(
        &self,
        ns: &str,
        name: &str,
        run_strategy: &str,
        annotations: &[(&str, &str)],
    ) -> String {
        self.run(
            &format!("running VM {ns}/{name} ({run_strategy})"),
            fixtures::running_vm(
                &self.client,
                ns,
                name,
                run_strategy,
                annotations,
                FIXTURE_TIMEOUT,
            ),
        )
    }

    /// A standalone VMI, Running and Ready; returns its UID. Needs the simulator.
    pub fn running_vmi(&self, ns: &str, name: &str, annotations: &[(&str, &str)]) -> String {
        self.run(
            &format!("running VMI {ns}/{name}"),
            fixtures::running_vmi(&self.client, ns, name, annotations, FIXTURE_TIMEOUT),
        )
    }

    /// The VMI as the API server has it now.
    pub fn vmi(&self, ns: &str, name: &str) -> Option<DynamicObject> {
        self.run("get VMI", fixtures::get_vmi(&self.client, ns, name))
    }

    pub fn vmi_uid(&self, ns: &str, name: &str) -> Option<String> {
        self.vmi(ns, name).and_then(|vmi| vmi.metadata.uid)
    }

    /// Waits until the VMI is Running and Ready (with another UID than `other_than_uid`, when
    /// given); returns its UID.
    pub fn wait_vmi_ready(
        &self,
        ns: &str,
        name: &str,
        other_than_uid: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        self.block_on(fixtures::wait_vmi_ready(
            &self.client,
            ns,
            name,
            other_than_uid,
            timeout,
        ))
    }

    /// `PUT .../virtualmachines/{name}/start` through the aggregation layer, as admin.
    pub fn start_vm(&self, ns: &str, name: &str) -> anyhow::Result<()> {
        self.block_on(fixtures::start_vm(&self.client, ns, name))
    }

    /// A Role with these rules in `ns`, bound to `user`; returns once RBAC applies it.
    pub fn bind_role(&self, ns: &str, user: &str, rules: &[PolicyRule]) {
        self.run(
            "bind_role",
            fixtures::bind_role(&self.client, ns, user, rules),
        );
    }

    /// A ClusterRoleBinding of `cluster_role` to `user` (all namespaces).
    pub fn bind_cluster_role(&self, user: &str, cluster_role: &str) {
        self.run(
            "bind_cluster_role",
            fixtures::bind_cluster_role(&self.client, user, cluster_role),
        );
    }

    /// A RoleBinding of `cluster_role` to `user` in `ns` only.
    pub fn bind_cluster_role_in(&self, ns: &str, user: &str, cluster_role: &str) {
        self.run(
            "bind_cluster_role_in",
            fixtures::bind_cluster_role_in(&self.client, ns, user, cluster_role),
        );
    }

    /// Server-side applies every object of a multi-document YAML text (e.g. deploy/rbac.yaml).
    pub fn apply_yaml(&self, yaml: &str) -> Vec<DynamicObject> {
        self.run("apply_yaml", fixtures::apply_yaml(&self.client, yaml))
    }

    /// Stops the simulator and every process and, for a temporary directory, removes it. The
    /// shared clusters never need this: the watchdog does it when the test process ends.
    pub fn stop(&self) {
        let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sim) = processes.sim.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), sim.stop()).await });
        }
        for child in [processes.apiserver.take(), processes.etcd.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut watchdog) = processes.watchdog.take() {
            watchdog.finish();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the simulator; a panic in it (e.g. while it is still being written) becomes an error.
async fn start_simulator(client: Client, config: SimConfig) -> anyhow::Result<kubevirt_sim::Sim> {
    let task = tokio::spawn(kubevirt_sim::start(client.clone(), config));
    match tokio::time::timeout(Duration::from_secs(60), task).await {
        Err(_) => anyhow::bail!("the simulated KubeVirt did not start within 60 s"),
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            anyhow::bail!("the simulated KubeVirt panicked while starting: {message}")
        }
        Ok(Err(join)) => Err(join.into()),
        Ok(Ok(sim)) => {
            let sim = sim.context("failed to start the simulated KubeVirt")?;
            wait_subresources_served(&client).await?;
            Ok(sim)
        }
    }
}

/// The APIService turns Available a moment before the API server routes the group to its
/// proxy (until then: a bare "404 page not found"), so ask through the API server.
async fn wait_subresources_served(client: &Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request = http::Request::get("/apis/subresources.kubevirt.io/v1").body(Vec::new())?;
        match client.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("the API server does not route subresources.kubevirt.io/v1")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_crds_parse_with_kubevirts_names() {
        let crds = kubevirt::load_crds(&CrdSource::Minimal).unwrap();
        let names: Vec<_> = crds
            .iter()
            .filter_map(|c| c.metadata.name.as_deref())
            .collect();
        assert_eq!(
            names,
            [
                "kubevirts.kubevirt.io",
                "virtualmachines.kubevirt.io",
                "virtualmachineinstances.kubevirt.io"
            ]
        );
        for crd in &crds {
            assert_eq!(crd.spec.scope, "Namespaced");
            assert_eq!(crd.spec.names.categories, Some(vec!["all".to_string()]));
        }
    }
}
