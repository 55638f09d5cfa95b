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
//!
//! Faults on purpose: `Cluster::fault_proxy` (a [`FaultProxy`] in front of kube-apiserver that
//! passes, drops, stalls or refuses), [`ConnectProxy`] for `proxy-url`,
//! `Cluster::restart_apiserver` (same flags, same port) and `Cluster::compact_etcd` (410 Gone
//! for older resourceVersions, on a cluster built with `watch_cache(false)`). Restarting or
//! compacting hits every client of the cluster: do it on a private cluster per test binary
//! (`Cluster::builder()...start()`), never on `Cluster::shared()`.

mod control_plane;
mod etcd;
pub mod faults;
pub mod fixtures;
mod genuine;
mod kubevirt;
mod pki;
mod prereqs;
pub mod prometheus;
mod start;
mod token_webhook;
mod watchdog;

use std::{
    future::Future,
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
    time::Duration,
};

use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::{api::DynamicObject, Client};

pub use control_plane::client_for;
pub use faults::{ConnectProxy, ConnectRequest, FaultProxy, Mode};
pub use genuine::GENUINE_KUBEVIRT_VERSION;
pub use kubevirt::{CrdSource, KUBEVIRT_NAMESPACE, KUBEVIRT_VERSION};
pub use kubevirt_sim::{knobs, SimConfig};
pub use pki::RESTRICTED_USERS;
use prereqs::Binaries;
pub use prometheus::{Prometheus, VMI_NOT_RUNNING_ALERT};
pub use start::{Builder, StartError, Timings};
pub use token_webhook::{expiring_token, TokenWebhook, USER as WEBHOOK_USER};

/// How long fixtures wait for a VMI to become Running and Ready.
pub const FIXTURE_TIMEOUT: Duration = Duration::from_secs(60);

struct Processes {
    etcd: Option<Child>,
    apiserver: Option<Child>,
    watchdog: Option<watchdog::Watchdog>,
    sim: Option<kubevirt_sim::Sim>,
    /// The genuine tier's supervisors (kube-controller-manager, virt-api, virt-controller).
    supervisors: Vec<Child>,
    node_agent: Option<kubevirt_sim::node_agent::NodeAgent>,
}

/// A running control plane (and, unless disabled, KubeVirt's API and the simulator).
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    server: String,
    client: Client,
    crds: Option<CrdSource>,
    simulator: bool,
    genuine: bool,
    ports: Vec<u16>,
    pids: Vec<u32>,
    timings: Timings,
    processes: Mutex<Processes>,
    next: AtomicUsize,
    apiserver_command: control_plane::ApiserverCommand,
    context: String,
    token_webhook: Option<TokenWebhook>,
}

enum Shared {
    Ready(Box<Cluster>),
    Missing(String),
    Failed(String),
}

/// The genuine tier's folder (`scripts/build-genuine`'s), if it is built; None after printing
/// how to build it, except under `CI=true`, where that panics.
pub fn genuine_files() -> Option<PathBuf> {
    match prereqs::find_genuine() {
        Ok(files) => Some(files.dir),
        Err(missing) => {
            skip_or_panic(&missing);
            None
        }
    }
}

/// `VMCHAOS_TIER=genuine`: the shared cluster is the genuine tier.
pub fn genuine_tier() -> bool {
    std::env::var("VMCHAOS_TIER").is_ok_and(|v| v.eq_ignore_ascii_case("genuine"))
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Without prerequisites a test is skipped, with a message that says how to get them, except
/// under `CI=true`, where it fails.
fn skip_or_panic(missing: &str) {
    if is_ci() {
        panic!("CI=true and the test cluster's prerequisites are missing:\n{missing}");
    }
    eprintln!(
        "testenv: SKIPPED, no local API server: {missing}\n\
         testenv: get them with scripts/install-deps and scripts/build-genuine (scripts/test \
         runs both)"
    );
}

/// Whether etcd and kube-apiserver are there, for a test that starts something of its own
/// (e.g. the sandbox binary). False after printing how to get them; panics under `CI=true`.
pub fn prerequisites_present() -> bool {
    match prereqs::find() {
        Ok(_) => true,
        Err(missing) => {
            skip_or_panic(&missing);
            false
        }
    }
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
        Shared::Missing(m) => {
            skip_or_panic(m);
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
        if genuine_tier() {
            return Cluster::genuine();
        }
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

    /// The genuine tier (KubeVirt's own virt-api and virt-controller, kube-controller-manager,
    /// the stand-in node agent), shared by this test binary; `shared()` returns it too when
    /// `VMCHAOS_TIER=genuine`. Same skip/panic rules as `shared`: under `CI=true` a genuine tier
    /// that isn't built or doesn't start fails the test.
    pub fn genuine() -> Option<&'static Cluster> {
        static GENUINE: OnceLock<Shared> = OnceLock::new();
        shared_from(&GENUINE, || Cluster::builder().genuine(true))
    }

    /// Whether KubeVirt here is the genuine one (else the simulator, or none).
    pub fn is_genuine(&self) -> bool {
        self.genuine
    }

    /// For a test that stages a case only the simulator can (a knob its controllers honour):
    /// true on the simulator; on the genuine tier false, after saying why it does not run here.
    pub fn simulated_only(&self, why: &str) -> bool {
        if self.genuine {
            eprintln!("testenv: not on the genuine tier (KubeVirt's own controllers): {why}");
        }
        !self.genuine
    }

    /// The log of a genuine component: `virt-api`, `virt-controller`, `kube-controller-manager`.
    pub fn component_log(&self, component: &str) -> PathBuf {
        genuine::log_path(&self.dir, component)
    }

    /// A control plane WITHOUT KubeVirt (no CRDs, no simulator), shared by this test binary:
    /// for "KubeVirt is not installed". Same skip/panic rules as `shared`.
    pub fn bare() -> Option<&'static Cluster> {
        static BARE: OnceLock<Shared> = OnceLock::new();
        shared_from(&BARE, || Cluster::builder().kubevirt(false))
    }

    /// The token-review webhook of a cluster built with `Builder::token_webhook(true)`.
    pub fn token_webhook(&self) -> Option<&TokenWebhook> {
        self.token_webhook.as_ref()
    }

    /// The full stack in a temporary directory; see `Builder` for the options.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The port of KubeVirt's `kubevirt_vmi_*` metrics (`http://127.0.0.1:PORT/metrics`),
    /// served by the simulator or the genuine tier's node agent; None without either.
    pub fn metrics_port(&self) -> Option<u16> {
        let processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        processes
            .sim
            .as_ref()
            .map(kubevirt_sim::Sim::metrics_port)
            .or_else(|| {
                processes
                    .node_agent
                    .as_ref()
                    .map(kubevirt_sim::node_agent::NodeAgent::metrics_port)
            })
    }

    /// A real Prometheus of this test's own, scraping this cluster's `kubevirt_vmi_*` metrics
    /// every second, with the rule file's one alert ([`VMI_NOT_RUNNING_ALERT`]); it stops when
    /// dropped. None (after saying how to get it) when `prometheus` is not installed, except
    /// under `CI=true`, where that panics; panics when it does not start.
    pub fn start_prometheus(&self) -> Option<Prometheus> {
        let program = match prometheus::binary() {
            Ok(p) => p,
            Err(missing) => {
                skip_or_panic(&missing);
                return None;
            }
        };
        let port = self
            .metrics_port()
            .expect("start_prometheus needs the simulator or the node agent");
        let dir = self.dir.join(format!(
            "prometheus-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        let watch = |pid| {
            let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
            match processes.watchdog.as_mut() {
                Some(watchdog) => watchdog.watch(pid),
                None => Ok(()),
            }
        };
        Some(
            prometheus::start(&program, &dir, port, watch)
                .unwrap_or_else(|e| panic!("testenv: Prometheus: {e:?}")),
        )
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

    /// The CA certificate (PEM) that signed the API server's serving certificate: what a Pod
    /// finds in `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("pki").join("ca.pem")
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

    /// PIDs of etcd, kube-apiserver and the watchdog, as started (a restarted kube-apiserver
    /// has a new one: `apiserver_pid`).
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

    /// A VM with this runStrategy (`Always`, `Once`, `RerunOnFailure`, `Manual`) whose VMI is
    /// Running and Ready; `annotations` (e.g. `knobs`) go on its template. Returns the VMI's
    /// UID. Needs the simulator. `Halted` panics: KubeVirt stops every VMI of a Halted VM; use
    /// `halted_vm` or `halting_vm`.
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

    /// A VM with the legacy `spec.running: true` (no runStrategy) whose VMI is Running and
    /// Ready; returns the VMI's UID. Needs the simulator.
    pub fn running_legacy_vm(&self, ns: &str, name: &str, annotations: &[(&str, &str)]) -> String {
        self.run(
            &format!("running legacy VM {ns}/{name}"),
            fixtures::running_legacy_vm(&self.client, ns, name, annotations, FIXTURE_TIMEOUT),
        )
    }

    /// A VM created `Halted`, Stopped (no VMI); returns the VM's UID. Needs the simulator.
    pub fn halted_vm(&self, ns: &str, name: &str, annotations: &[(&str, &str)]) -> String {
        self.run(
            &format!("halted VM {ns}/{name}"),
            fixtures::halted_vm(&self.client, ns, name, annotations, FIXTURE_TIMEOUT),
        )
    }

    /// A Running and Ready VMI whose VM was just switched to `Halted`; the simulated VM
    /// controller stops it `stop_delay` after it first sees the VM Halted (knob `STOP_DELAY`).
    /// Returns the VMI's UID. Needs the simulator.
    pub fn halting_vm(
        &self,
        ns: &str,
        name: &str,
        stop_delay: Duration,
        annotations: &[(&str, &str)],
    ) -> String {
        self.run(
            &format!("halting VM {ns}/{name}"),
            fixtures::halting_vm(
                &self.client,
                ns,
                name,
                stop_delay,
                annotations,
                FIXTURE_TIMEOUT,
            ),
        )
    }

    /// A VirtualMachineInstanceReplicaSet with `replicas` Running and Ready VMIs (generated
    /// names `<name>xxxxx`, labelled `app: <name>`); `annotations` go on its template. Returns
    /// the VMIs, sorted by name. Needs the simulator.
    pub fn running_replica_set(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        annotations: &[(&str, &str)],
    ) -> Vec<fixtures::RunningVmi> {
        self.run(
            &format!("running replica set {ns}/{name}"),
            fixtures::running_replica_set(
                &self.client,
                ns,
                name,
                replicas,
                annotations,
                FIXTURE_TIMEOUT,
            ),
        )
    }

    /// Waits until exactly `replicas` VMIs of the replica set are Running and Ready and none is
    /// terminating; returns them, sorted by name.
    pub fn wait_replica_set_ready(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<fixtures::RunningVmi>> {
        self.block_on(fixtures::wait_replica_set_ready(
            &self.client,
            ns,
            name,
            replicas,
            timeout,
        ))
    }

    /// The VMIs the replica set controls (by owner UID), terminating ones included, by name.
    pub fn replica_set_vmis(&self, ns: &str, name: &str) -> Vec<DynamicObject> {
        self.run(
            "replica set VMIs",
            fixtures::replica_set_vmis(&self.client, ns, name),
        )
    }

    /// A VirtualMachinePool of `replicas` VMs `<name>-<n>` with this runStrategy, each VMI
    /// Running and Ready; returns the VMIs by index. Needs the simulator.
    pub fn running_pool(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        run_strategy: &str,
        annotations: &[(&str, &str)],
    ) -> Vec<fixtures::RunningVmi> {
        self.run(
            &format!("running VM pool {ns}/{name}"),
            fixtures::running_pool(
                &self.client,
                ns,
                name,
                replicas,
                run_strategy,
                annotations,
                FIXTURE_TIMEOUT,
            ),
        )
    }

    /// The VM as the API server has it now.
    pub fn vm(&self, ns: &str, name: &str) -> Option<DynamicObject> {
        self.run("get VM", fixtures::get_vm(&self.client, ns, name))
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

    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.ca_path()).expect("read the cluster's CA")
    }

    /// The static bearer token of `admin`, `alice`, `bob` or `carol`.
    pub fn token(&self, user: &str) -> String {
        let csv = std::fs::read_to_string(self.dir.join("pki").join("tokens.csv"))
            .expect("read tokens.csv");
        csv.lines()
            .find_map(|line| {
                let mut fields = line.split(',');
                let token = fields.next()?;
                (fields.next()? == user).then(|| token.to_string())
            })
            .unwrap_or_else(|| panic!("no token for user {user}"))
    }

    /// The context name in the cluster's kubeconfig files.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// kube-apiserver's address (127.0.0.1 and its port), e.g. for a `FaultProxy`.
    pub fn apiserver_addr(&self) -> std::net::SocketAddr {
        let port = self.server.rsplit(':').next().and_then(|p| p.parse().ok());
        std::net::SocketAddr::from(([127, 0, 0, 1], port.expect("a port in the server URL")))
    }

    /// A kubeconfig for `user` (token auth) whose server is `server` (e.g. a `FaultProxy`'s
    /// URL), with `tls-server-name` when `server`'s host is not in the API server's
    /// certificate (127.0.0.1, localhost and kubernetes.default.svc are). Written under the
    /// cluster's directory; returns its path.
    pub fn kubeconfig_to(
        &self,
        user: &str,
        server: &str,
        tls_server_name: Option<&str>,
    ) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{user}-{n}.kubeconfig"));
        let yaml = control_plane::user_kubeconfig_yaml(
            server,
            &self.ca_pem(),
            user,
            &self.token(user),
            &self.context,
            tls_server_name,
        );
        std::fs::write(&path, yaml).expect("write a kubeconfig");
        path
    }

    /// A fault proxy on 127.0.0.1 in front of kube-apiserver; `kubeconfig_to(user,
    /// &proxy.url(), None)` points a client through it (the certificate names 127.0.0.1).
    pub fn fault_proxy(&self) -> FaultProxy {
        FaultProxy::start(self.apiserver_addr()).expect("start a fault proxy")
    }

    /// A client certificate for `user` in `groups`, signed by the CA the API server trusts for
    /// clients: (certificate file, key file), under `<dir>/pki/clients`.
    pub fn issue_client_certificate(&self, user: &str, groups: &[&str]) -> (PathBuf, PathBuf) {
        let pki = self.dir.join("pki");
        let (cert, key) = pki::issue_client_certificate(&pki, user, groups)
            .unwrap_or_else(|e| panic!("issue a client certificate for {user}: {e:?}"));
        let clients = pki.join("clients");
        std::fs::create_dir_all(&clients).expect("create pki/clients");
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (cert_path, key_path) = (
            clients.join(format!("{user}-{n}.pem")),
            clients.join(format!("{user}-{n}-key.pem")),
        );
        std::fs::write(&cert_path, cert).expect("write the certificate");
        std::fs::write(&key_path, key).expect("write the key");
        (cert_path, key_path)
    }

    /// The running kube-apiserver's PID, if one runs.
    pub fn apiserver_pid(&self) -> Option<u32> {
        let processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        processes.apiserver.as_ref().map(Child::id)
    }

    /// Stops kube-apiserver (SIGTERM: it closes its watches within 2 s
    /// (`--shutdown-watch-termination-grace-period`) and exits, in about a second; SIGKILL after
    /// 15 s) and waits until it has exited: its port refuses connections until
    /// `start_apiserver`. Every client of this cluster, the
    /// simulator included, sees it go: use a private cluster (`Cluster::builder()`), never a
    /// shared one.
    pub fn stop_apiserver(&self) {
        let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = processes.apiserver.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Starts kube-apiserver again with the same flags on the same port (same etcd, same
    /// certificates) and waits until `/readyz` answers ok. Call it from the test's thread, not
    /// from inside `block_on` (it runs on the cluster's runtime itself).
    pub fn start_apiserver(&self) -> anyhow::Result<()> {
        {
            let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
            anyhow::ensure!(processes.apiserver.is_none(), "kube-apiserver is running");
            let watchdog = processes
                .watchdog
                .as_mut()
                .ok_or_else(|| anyhow::anyhow!("the cluster was stopped"))?;
            let child = self.apiserver_command.spawn(watchdog)?;
            processes.apiserver = Some(child);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            {
                let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(status) = processes
                    .apiserver
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    processes.apiserver = None;
                    anyhow::bail!(
                        "kube-apiserver exited ({status}) after a restart\n{}",
                        control_plane::tail(&self.apiserver_log(), 30)
                    );
                }
            }
            let ready = self.block_on(async {
                let request = http::Request::get("/readyz").body(Vec::new())?;
                let text =
                    tokio::time::timeout(Duration::from_secs(5), self.client.request_text(request))
                        .await??;
                Ok::<_, anyhow::Error>(text)
            });
            if ready.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "kube-apiserver not ready 90 s after a restart\n{}",
                control_plane::tail(&self.apiserver_log(), 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `stop_apiserver`, then `start_apiserver`: kube-apiserver restarted on the same port.
    pub fn restart_apiserver(&self) -> anyhow::Result<()> {
        self.stop_apiserver();
        self.start_apiserver()
    }

    /// etcd's newest revision, which is the API server's newest resourceVersion.
    pub fn etcd_revision(&self) -> anyhow::Result<i64> {
        etcd::revision(self.ports[0])
    }

    /// Compacts etcd's history up to its newest revision (returned): a watch from any older
    /// resourceVersion is answered 410 Gone, on a cluster built with `watch_cache(false)`
    /// (with the watch cache, the API server answers recent history from memory).
    pub fn compact_etcd(&self) -> anyhow::Result<i64> {
        let revision = self.etcd_revision()?;
        etcd::compact(self.ports[0], revision)?;
        Ok(revision)
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
        if let Some(agent) = processes.node_agent.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), agent.stop()).await
            });
        }
        for mut child in std::mem::take(&mut processes.supervisors) {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
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
