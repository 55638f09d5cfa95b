//! A simulated KubeVirt for tests and the sandbox: the VM and VMI controllers (runStrategy table,
//! VMI lifecycle, finalizer, launcher pods) and the `start`/`stop`/`restart` subresources served
//! through the API server's aggregation layer. See `../shared/KUBEVIRT.md`.
//!
//! INTERFACE CONTRACT (the harness in `crates/testenv` compiles against this; keep it stable):
//! `start(client, SimConfig) -> Sim`, `Sim::port()`, `Sim::stop()`, the `knobs` constants,
//! `vm_resource()`, `vmi_resource()`, `vmirs_resource()`, `vm_pool_resource()`.
//!
//! It follows `../shared/KUBEVIRT.md` rule by rule; `tests/conformance.rs` checks each one
//! against a real API server, and against KubeVirt's own virt-api and virt-controller
//! (`VMCHAOS_TIER=genuine`, with `node_agent` as kubelet and virt-handler): where they disagree,
//! the simulator is wrong (it was once: it took VMIs created with KubeVirt's reserved labels). Also: VirtualMachineInstanceReplicaSet and VirtualMachinePool
//! controllers (`replica_set`, `pool`).
//!
//! Where the simulator knowingly differs from KubeVirt:
//! - pause, live migration, start failures and ManualRecoveryRequired are staged by knobs
//!   (`knobs`), not reached by their real causes; a paused start (`{"paused": true}`) is
//!   requested as KubeVirt does, but the VMI starts unpaused;
//! - `restart` with `gracePeriodSeconds: 0` restarts as a normal restart (KubeVirt also kills
//!   the launcher pod at once);
//! - no garbage collector runs: deleting a replica set or a pool leaves its VMIs or VMs (a VM's
//!   own finalizer still takes its VMI along), and neither adopts orphans;
//! - no admission webhooks (but one rule of virt-api's VMI create validator, as a
//!   ValidatingAdmissionPolicy: no VMI created with KubeVirt's reserved labels, see
//!   `admission`): the API server takes a VM that sets both `running` and
//!   `runStrategy` (the simulator then follows `runStrategy`), and any user may patch a VMI's
//!   spec (KubeVirt's webhook refuses that; `stop` with `gracePeriod` is the way to shorten the
//!   guest shutdown, and the simulator honours it);
//! - the subresource server trusts `X-Remote-User` without checking the front proxy's client
//!   certificate (it listens on localhost only by default);
//! - there is no console, no migrate/pause/unpause subresource.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use tokio::task::JoinHandle;

mod admission;
mod guest;
pub mod knobs;
mod kubevirt;

/// The API resources the simulator serves controllers for, for its clients (the test harness).
pub use kubevirt::{vm_pool_resource, vm_resource, vmi_resource, vmirs_resource};
mod launcher_pod;
mod log;
mod metrics;
pub mod node_agent;
mod pool;
mod registration;
mod replica_set;
mod retry;
mod run_strategy;
mod subresources;
mod virt_api;
mod vm_controller;
mod vmi_controller;
mod vmi_lifecycle;
mod vmi_status;

pub use registration::unregister;

/// How long `start` waits for the APIService to become Available.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How the simulator behaves where no knob says otherwise.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Fake node names VMIs are scheduled onto (a re-created VMI may land elsewhere).
    pub nodes: Vec<String>,
    /// Default Pending -> Running time.
    pub boot_delay: Duration,
    /// Default Running -> Ready time.
    pub ready_delay: Duration,
    /// terminationGracePeriodSeconds (default 30) is multiplied by this to give the simulated
    /// guest shutdown time (0.01: 30 s -> 300 ms).
    pub grace_scale: f64,
    /// JSON-lines event log, the ground truth for benchmarks: one line per observable change,
    /// `{"ts":"<RFC3339 µs>","unixMs":<f64>,"event":"phase|ready|created|gone|start|stop|restart",
    ///   "namespace":..,"name":..,"uid":..,"phase":..}`. None: no log.
    /// Also: `deleting` (the simulator saw the VMI's deletionTimestamp), `deleted` (a controller
    /// deleted a VMI: `by` names it, `why` the VM controller's reason), `finalized` (KubeVirt's
    /// finalizer removed, another one left), `paused` and `migrating` (knobs), `vm-created` (a
    /// VM pool created a VM: `pool`). `created` carries `vm` or `replicaSet`, the owner.
    /// `phase` lines carry `node` (Scheduled) and `ip` (Running); `created` carries `vm`;
    /// `start|stop|restart` carry `user`, `groups`, the HTTP `code` answered and
    /// `receivedUnixMs` (when the call reached the simulator; `unixMs` is when it was answered).
    pub log_path: Option<PathBuf>,
    /// Where the HTTPS subresource server listens (port 0: any free port).
    pub listen: SocketAddr,
    /// The simulated guest network: VMI and front addresses come from 127.X.0.0/16. None: a
    /// free X is claimed at start (so simulators running side by side never share addresses).
    /// The log gets `serving` / `stopped-serving` (a guest, with `ip`, `owner`) and
    /// `front-serving` / `front-stopped-serving` (a front address: `name` is the owner's,
    /// with `kind`, `ip`, `backend`).
    pub guest_network: Option<Ipv4Addr>,
    /// The guest's HTTP port (on the VMI's address and on the front address).
    pub guest_http_port: u16,
    /// The guest's TCP port: a greeting line, then every line echoed.
    pub guest_tcp_port: u16,
    /// Ready -> serving, unless the `guest-boot-delay` knob says otherwise.
    pub guest_boot_delay: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            nodes: vec!["node-a".into(), "node-b".into(), "node-c".into()],
            boot_delay: Duration::from_millis(1500),
            ready_delay: Duration::from_millis(200),
            grace_scale: 0.01,
            log_path: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            guest_network: None,
            guest_http_port: 8080,
            guest_tcp_port: 2222,
            guest_boot_delay: Duration::from_millis(500),
        }
    }
}

/// A running simulator: controllers plus the aggregated subresource server. Dropping it stops
/// everything too (without waiting).
pub struct Sim {
    port: u16,
    metrics_port: u16,
    tasks: Tasks,
    guest_network: guest::address::Claim,
}

/// Starts the controllers and the subresource server, registers the `kubevirt/virt-api`
/// ExternalName Service and the `v1.subresources.kubevirt.io` APIService, and returns once that
/// APIService is Available. `client` must be cluster-admin.
pub async fn start(client: kube::Client, mut config: SimConfig) -> anyhow::Result<Sim> {
    let log = log::EventLog::open(config.log_path.as_deref())
        .with_context(|| format!("failed to open the event log {:?}", config.log_path))?;
    let claim = guest::address::claim(config.guest_network)
        .context("failed to claim a loopback network for the simulated guests")?;
    config.guest_network = Some(claim.network);
    let config = Arc::new(config);
    let (port, server) = subresources::serve(config.listen, client.clone(), log.clone()).await?;
    let (metrics_port, metrics) = metrics::serve(client.clone()).await?;
    let mut sim = Sim {
        port,
        metrics_port,
        tasks: Tasks(vec![server]),
        guest_network: claim,
    };
    sim.tasks.0.extend(metrics);
    sim.tasks.0.push(tokio::spawn(guest::run(
        client.clone(),
        config.clone(),
        log.clone(),
        sim.guest_network.network,
    )));
    sim.tasks.0.push(tokio::spawn(vm_controller::run(
        client.clone(),
        log.clone(),
    )));
    // The replica set and pool controllers need their CRDs; a cluster without them (KubeVirt's
    // VM and VMI CRDs only) runs the rest.
    if served(&client, &kubevirt::vmirs_resource()).await {
        sim.tasks
            .0
            .push(tokio::spawn(replica_set::run(client.clone(), log.clone())));
    } else {
        tracing::info!("VirtualMachineInstanceReplicaSet not served: no replica set controller");
    }
    if served(&client, &kubevirt::vm_pool_resource()).await {
        sim.tasks
            .0
            .push(tokio::spawn(pool::run(client.clone(), log.clone())));
    } else {
        tracing::info!("VirtualMachinePool not served: no VM pool controller");
    }
    sim.tasks.0.push(tokio::spawn(vmi_controller::run(
        client.clone(),
        config.clone(),
        log,
    )));
    admission::install(&client).await?;
    registration::register(&client, port, REGISTRATION_TIMEOUT).await?;
    tracing::info!("simulated KubeVirt running; subresources served on https://localhost:{port}");
    Ok(sim)
}

/// Whether the API server serves this resource (a 404 on a list: its CRD is missing).
async fn served(client: &kube::Client, resource: &kube::api::ApiResource) -> bool {
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(client.clone(), resource);
    match api.list(&kube::api::ListParams::default().limit(1)).await {
        Ok(_) => true,
        Err(e) if api_code(&e) == Some(404) => false,
        // Anything else: run the controller; it retries and says why.
        Err(_) => true,
    }
}

impl Sim {
    /// The HTTPS port of the subresource server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `http://127.0.0.1:PORT/metrics`: KubeVirt's `kubevirt_vmi_*` metrics for
    /// every VMI (phase counts, per-VMI info and readiness), for a Prometheus to scrape.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// The /16 of 127.0.0.0/8 the VMI and front addresses come from (127.X.0.0).
    pub fn guest_network(&self) -> Ipv4Addr {
        self.guest_network.network
    }

    /// Stops controllers and the server. The registration stays (see [`unregister`]).
    pub async fn stop(self) {
        self.tasks.stop().await;
    }
}

/// Background tasks that end together: aborted when dropped, aborted and awaited by `stop`.
pub(crate) struct Tasks(pub(crate) Vec<JoinHandle<()>>);

impl Tasks {
    pub(crate) async fn stop(mut self) {
        let tasks = std::mem::take(&mut self.0);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The HTTP status code of an API error.
pub(crate) fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The field manager of the simulator's writes (in `managedFields`).
pub(crate) const FIELD_MANAGER: &str = "kubevirt-sim";

pub(crate) fn patch_params() -> kube::api::PatchParams {
    kube::api::PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

pub(crate) fn post_params() -> kube::api::PostParams {
    kube::api::PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}
