//! A simulated KubeVirt for tests and the sandbox: the VM and VMI controllers (runStrategy table,
//! VMI lifecycle, finalizer, launcher pods) and the `start`/`stop`/`restart` subresources served
//! through the API server's aggregation layer. See `../shared/KUBEVIRT.md`.
//!
//! INTERFACE CONTRACT (the harness in `crates/testenv` compiles against this; keep it stable):
//! `start(client, SimConfig) -> Sim`, `Sim::port()`, `Sim::stop()`, the `knobs` constants.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Annotations that stage a case, on a VMI (or a VM's `spec.template.metadata`, which KubeVirt
/// copies onto the VMI it creates), except `RECREATE_DELAY` and `REJECT_START`, which go on the VM.
/// Durations are humantime strings: `1500ms`, `2s`.
pub mod knobs {
    /// Total Pending -> Running time, split evenly over Pending, Scheduling, Scheduled.
    pub const BOOT_DELAY: &str = "sim.vmchaos.dev/boot-delay";
    /// Running -> Ready=True.
    pub const READY_DELAY: &str = "sim.vmchaos.dev/ready-delay";
    /// Simulated guest shutdown after the DELETE, instead of terminationGracePeriodSeconds x scale.
    pub const SHUTDOWN_DELAY: &str = "sim.vmchaos.dev/shutdown-delay";
    /// On a VM: wait this long before re-creating a missing VMI.
    pub const RECREATE_DELAY: &str = "sim.vmchaos.dev/recreate-delay";
    /// "true": reaches Running, never Ready.
    pub const NEVER_READY: &str = "sim.vmchaos.dev/never-ready";
    /// A phase name (e.g. "Scheduling"): the VMI stops progressing there.
    pub const STUCK_IN: &str = "sim.vmchaos.dev/stuck-in";
    /// A duration: that long after Running the VMI goes to Failed (Ready=False).
    pub const FAIL_AFTER: &str = "sim.vmchaos.dev/fail-after";
    /// "true": an extra finalizer (`BLOCKING_FINALIZER`) the simulator never removes.
    pub const BLOCK_DELETION: &str = "sim.vmchaos.dev/block-deletion";
    pub const BLOCKING_FINALIZER: &str = "sim.vmchaos.dev/block";
    /// On a VM: "true": the `start` subresource answers 500 Internal Server Error.
    pub const REJECT_START: &str = "sim.vmchaos.dev/reject-start";
}

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
    pub log_path: Option<PathBuf>,
    /// Where the HTTPS subresource server listens (port 0: any free port).
    pub listen: SocketAddr,
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
        }
    }
}

/// A running simulator: controllers plus the aggregated subresource server.
pub struct Sim {
    port: u16,
}

/// Starts the controllers and the subresource server, registers the `kubevirt/virt-api`
/// ExternalName Service and the `v1.subresources.kubevirt.io` APIService, and returns once that
/// APIService is Available. `client` must be cluster-admin.
pub async fn start(client: kube::Client, config: SimConfig) -> anyhow::Result<Sim> {
    let _ = (client, config);
    todo!("kubevirt-sim: being written")
}

impl Sim {
    /// The HTTPS port of the subresource server.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Stops controllers and the server.
    pub async fn stop(self) {}
}
