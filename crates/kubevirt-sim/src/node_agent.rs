//! The stand-in node agent of the genuine tier: it plays kubelet and virt-handler for a few
//! nodes next to KubeVirt's own virt-controller and virt-api, following the contract in
//! `../shared/GENUINE-KUBEVIRT.md` §3:
//!
//! - kubelet: keeps its Node objects Ready (heartbeat), binds launcher pods (`pods/binding`),
//!   writes their status (phase Running, container statuses, `Ready` only when every container
//!   is ready AND the readiness gate virt-controller owns is True, merging conditions, never
//!   overwriting them), and finishes a pod's deletion (terminated, then DELETE with grace 0);
//! - virt-handler: moves a Scheduled VMI on its node to Running (interfaces with the pod's
//!   address, the Running transition timestamp), and on a shutdown (the VMI or its pod being
//!   deleted) marks the VMI Succeeded after the guest's shutdown time, BEFORE its pod goes.
//!
//! Everything else (Pending, Scheduling, Scheduled, Ready, finalizers, re-creation, replica
//! sets, pools, `start`) is KubeVirt's own code. The knobs that apply to a node are honoured:
//! `boot-delay` (pod start + domain start), `ready-delay`, `never-ready`, `shutdown-delay`,
//! `stuck-in` (Scheduling: the pod never starts; Scheduled: the domain never starts) and
//! `fail-after` (the domain crashes: VMI Failed, the launcher exits). A crash by the launcher's
//! death (its pod deleted with grace 0, not through a VMI delete): virt-handler finds no domain
//! for a Running VMI and sets it Failed (`calculateVmPhaseForStatusReason`), and so does this
//! agent; virt-controller, seeing the pod gone, does the same — whichever writes first.
//!
//! It writes as `system:serviceaccount:kubevirt:kubevirt-handler` (virt-api's VMI mutator
//! reverts status writes from anybody else), so KubeVirt's `NodeRestriction` gate must be off.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::{
    api::{Api, DeleteParams, DynamicObject, Patch, PostParams, Preconditions},
    runtime::{controller::Action, reflector::ObjectRef, watcher, Controller},
    Client, ResourceExt,
};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    api_code, guest, knobs,
    kubevirt::{phase_of, vmi_resource, Phase, NODE_LABEL},
    log::EventLog,
    retry::{Backoff, Error},
    vmi_status::now_rfc3339,
    SimConfig,
};

/// The launcher pods' label (virt-controller's `KubeVirtPod` informer selects the same key).
const LAUNCHER_SELECTOR: &str = "kubevirt.io=virt-launcher";
/// How often each Node's heartbeat is renewed (virt-controller calls a node unresponsive after
/// 5 minutes without one).
const HEARTBEAT: Duration = Duration::from_secs(30);
/// A reconcile with nothing timed ahead still comes back this often.
const RESYNC: Duration = Duration::from_secs(10);

/// A running node agent; dropping it stops it (and its guests) too.
pub struct NodeAgent {
    tasks: crate::Tasks,
    metrics_port: u16,
    guest_network: guest::address::Claim,
}

impl NodeAgent {
    /// The port of `http://127.0.0.1:PORT/metrics` (KubeVirt's `kubevirt_vmi_*` metrics, as
    /// virt-handler exports them).
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// The /16 of 127.0.0.0/8 the pods' (and so the VMIs') addresses come from.
    pub fn guest_network(&self) -> std::net::Ipv4Addr {
        self.guest_network.network
    }

    pub async fn stop(self) {
        self.tasks.stop().await;
    }
}

/// Creates the Nodes (`config.nodes`) and starts the agent and the guest network. `client` must
/// authenticate as `system:serviceaccount:kubevirt:kubevirt-handler` (and may write Nodes and
/// pods' status and bindings).
pub async fn start(client: Client, mut config: SimConfig) -> anyhow::Result<NodeAgent> {
    let log = EventLog::open(config.log_path.as_deref())
        .with_context(|| format!("failed to open the event log {:?}", config.log_path))?;
    let claim = guest::address::claim(config.guest_network)
        .context("failed to claim a loopback network for the simulated guests")?;
    config.guest_network = Some(claim.network);
    let config = Arc::new(config);
    for node in &config.nodes {
        register_node(&client, node)
            .await
            .with_context(|| format!("failed to register the Node {node}"))?;
    }
    let (metrics_port, metrics) = crate::metrics::serve(client.clone()).await?;
    let mut tasks = vec![
        tokio::spawn(heartbeats(client.clone(), config.nodes.clone())),
        tokio::spawn(guest::run(
            client.clone(),
            config.clone(),
            log.clone(),
            claim.network,
        )),
        tokio::spawn(run(client, config, log, claim.network)),
    ];
    tasks.extend(metrics);
    tracing::info!("node agent running for {:?}", tasks.len());
    Ok(NodeAgent {
        tasks: crate::Tasks(tasks),
        metrics_port,
        guest_network: claim,
    })
}

// ---------------------------------------------------------------------------------------------
// Nodes

fn node_status(now: &str) -> Value {
    let resources = json!({
        "cpu": "64", "memory": "256Gi", "pods": "500",
        "devices.kubevirt.io/kvm": "1k", "devices.kubevirt.io/tun": "1k",
        "devices.kubevirt.io/vhost-net": "1k",
    });
    json!({"status": {
        "capacity": resources, "allocatable": resources,
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "vmchaos node agent is posting ready status",
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }],
    }})
}

async fn register_node(client: &Client, name: &str) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux", "kubevirt.io/schedulable": "true",
            "machine-type.node.kubevirt.io/q35": "true",
        }, "annotations": {"kubevirt.io/heartbeat": now_rfc3339()}},
    }))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(e) if api_code(&e) == Some(409) => {}
        Err(e) => return Err(e.into()),
    }
    nodes
        .patch_status(
            name,
            &crate::patch_params(),
            &Patch::Merge(node_status(&now_rfc3339())),
        )
        .await?;
    Ok(())
}

async fn heartbeats(client: Client, names: Vec<String>) {
    let nodes: Api<Node> = Api::all(client);
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        for name in &names {
            let now = now_rfc3339();
            let beat = json!({"metadata": {"annotations": {"kubevirt.io/heartbeat": now}}});
            if let Err(e) = nodes
                .patch(name, &crate::patch_params(), &Patch::Merge(beat))
                .await
            {
                tracing::warn!("node agent: heartbeat of {name} failed: {e}");
            }
            let _ = nodes
                .patch_status(
                    name,
                    &crate::patch_params(),
                    &Patch::Merge(node_status(&now)),
                )
                .await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pods and VMIs

/// What the agent remembers of one launcher pod (by the pod's UID).
#[derive(Debug, Default, Clone)]
struct Memory {
    /// When the agent first saw the pod bound (by itself or anybody).
    bound_at: Option<Instant>,
    /// When the agent first saw the VMI Scheduled on this pod's node.
    scheduled_at: Option<Instant>,
    /// When the VMI became Running (written by the agent).
    running_at: Option<Instant>,
    /// When the agent first saw a shutdown asked for (the VMI or the pod being deleted).
    shutdown_at: Option<Instant>,
    /// The pod's address.
    ip: Option<String>,
}

struct Agent {
    client: Client,
    config: Arc<SimConfig>,
    log: EventLog,
    network: std::net::Ipv4Addr,
    memory: Mutex<HashMap<String, Memory>>,
    backoff: Backoff,
    bindings: AtomicUsize,
    addresses: AtomicUsize,
}

async fn run(client: Client, config: Arc<SimConfig>, log: EventLog, network: std::net::Ipv4Addr) {
    let pods: Api<Pod> = Api::all(client.clone());
    let vmis: Api<DynamicObject> = Api::all_with(client.clone(), &vmi_resource());
    let agent = Arc::new(Agent {
        client,
        config,
        log,
        network,
        memory: Mutex::default(),
        backoff: Backoff::default(),
        bindings: AtomicUsize::new(0),
        addresses: AtomicUsize::new(0),
    });
    let vanished = vanished_launchers(pods.clone(), agent.clone());
    let controller = Controller::new(pods, watcher::Config::default().labels(LAUNCHER_SELECTOR));
    let store = controller.store();
    // A VMI change wakes its launcher pods (those it controls).
    let running = controller
        .watches_with(
            vmis,
            vmi_resource(),
            watcher::Config::default(),
            move |vmi: DynamicObject| {
                let uid = vmi.uid().unwrap_or_default();
                store
                    .state()
                    .into_iter()
                    .filter(|pod| controller_uid(pod).as_deref() == Some(uid.as_str()))
                    .map(|pod| ObjectRef::from_obj(&*pod))
                    .collect::<Vec<_>>()
            },
        )
        .trigger_backoff(crate::retry::Reconnect::default())
        .run(reconcile, error_policy, agent)
        .for_each(|result| {
            crate::retry::report("launcher pod", result.map(|_| ()));
            std::future::ready(())
        });
    futures::join!(running, vanished);
}

/// virt-handler's view of a launcher pod that vanished (deleted with no grace): a deleted pod
/// never reaches the controller above (it is gone from its cache), so a watch sees the delete.
async fn vanished_launchers(pods: Api<Pod>, agent: Arc<Agent>) {
    use kube::runtime::WatchStreamExt;
    watcher(pods, watcher::Config::default().labels(LAUNCHER_SELECTOR))
        .backoff(crate::retry::Reconnect::default())
        .for_each(|event| {
            let agent = agent.clone();
            async move {
                if let Ok(watcher::Event::Delete(pod)) = event {
                    if let Err(e) = agent.launcher_vanished(&pod).await {
                        tracing::warn!("node agent: {e}");
                    }
                }
            }
        })
        .await;
}

fn controller_uid(pod: &Pod) -> Option<String> {
    pod.owner_references()
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "VirtualMachineInstance")
        .map(|o| o.uid.clone())
}

async fn reconcile(pod: Arc<Pod>, agent: Arc<Agent>) -> Result<Action, Error> {
    let key = pod.uid().unwrap_or_default();
    let action = agent.drive(&pod).await?;
    agent.backoff.reset(&key);
    Ok(action)
}

fn error_policy(pod: Arc<Pod>, error: &Error, agent: Arc<Agent>) -> Action {
    let delay = agent.backoff.next(&pod.uid().unwrap_or_default());
    tracing::warn!("node agent: {error}; retrying in {delay:?}");
    Action::requeue(delay)
}

/// The knobs of one VMI, with the agent's defaults.
struct Knobs {
    /// Pod start, then domain start: each a half of the boot delay (virt-controller's own
    /// Pending and Scheduling steps take the rest of the time they take).
    boot_step: Duration,
    ready_delay: Duration,
    never_ready: bool,
    shutdown: Duration,
    stuck_in: Option<Phase>,
    fail_after: Option<Duration>,
    block_deletion: bool,
}

impl Knobs {
    fn of(vmi: &DynamicObject, config: &SimConfig) -> Knobs {
        let a: &BTreeMap<String, String> = vmi.annotations();
        let boot = knobs::duration(a, knobs::BOOT_DELAY).unwrap_or(config.boot_delay);
        let grace = vmi.data["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30)
            .max(0) as f64;
        Knobs {
            boot_step: boot / 2,
            ready_delay: knobs::duration(a, knobs::READY_DELAY).unwrap_or(config.ready_delay),
            never_ready: knobs::flag(a, knobs::NEVER_READY),
            shutdown: knobs::duration(a, knobs::SHUTDOWN_DELAY)
                .unwrap_or_else(|| Duration::from_secs_f64(grace * config.grace_scale)),
            stuck_in: knobs::stuck_in(a),
            fail_after: knobs::duration(a, knobs::FAIL_AFTER),
            block_deletion: knobs::flag(a, knobs::BLOCK_DELETION),
        }
    }
}

/// The step due now, or the time until the next one.
enum Due {
    Now,
    In(Duration),
}

fn due(since: Instant, after: Duration) -> Due {
    let at = since + after;
    let now = Instant::now();
    if now >= at {
        Due::Now
    } else {
        Due::In(at - now)
    }
}

fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn pod_condition(pod: &Pod, type_: &str) -> Option<bool> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status == "True")
}

impl Agent {
    fn remember<T>(&self, pod_uid: &str, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        f(memory.entry(pod_uid.to_string()).or_default())
    }

    fn forget(&self, pod_uid: &str) {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.remove(pod_uid);
    }

    /// The VMI that controls the pod, if it still exists (the same UID, not a newer namesake).
    async fn owner_vmi(&self, pod: &Pod) -> Result<Option<DynamicObject>, Error> {
        let Some(owner) = pod
            .owner_references()
            .iter()
            .find(|o| o.controller == Some(true) && o.kind == "VirtualMachineInstance")
        else {
            return Ok(None);
        };
        let ns = pod.namespace().unwrap_or_default();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &ns, &vmi_resource());
        let vmi = api
            .get_opt(&owner.name)
            .await
            .map_err(|e| Error::new("get VMI", &ns, &owner.name, e))?;
        Ok(vmi.filter(|v| v.uid().as_deref() == Some(owner.uid.as_str())))
    }

    async fn drive(&self, pod: &Pod) -> Result<Action, Error> {
        let uid = pod.uid().unwrap_or_default();
        let vmi = self.owner_vmi(pod).await?;
        let knobs = vmi.as_ref().map(|v| Knobs::of(v, &self.config));
        let vmi_phase = vmi.as_ref().and_then(phase_of);
        let vmi_final = vmi_phase.is_some_and(Phase::is_final);
        let pod_running = pod_phase(pod) == "Running";

        // kubelet: a pod being deleted.
        if pod.metadata.deletion_timestamp.is_some() {
            if !pod_running || vmi.is_none() || vmi_final {
                self.finish_pod(pod, vmi_phase).await?;
                self.forget(&uid);
                return Ok(Action::await_change());
            }
            // virt-launcher got SIGTERM: the guest shuts down first.
            return self.shut_down(pod, vmi.as_ref(), knobs.as_ref()).await;
        }
        let (Some(vmi), Some(knobs)) = (vmi, knobs) else {
            return Ok(Action::await_change());
        };
        if vmi.metadata.deletion_timestamp.is_some() && !vmi_final {
            return self.shut_down(pod, Some(&vmi), Some(&knobs)).await;
        }
        if vmi_final {
            if pod_running {
                self.terminate_pod(pod, vmi_phase).await?;
            }
            return Ok(Action::await_change());
        }

        // kubelet: bind, then start the containers.
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
            if knobs.stuck_in == Some(Phase::Scheduling) {
                return Ok(Action::await_change());
            }
            self.bind(pod).await?;
            return Ok(Action::requeue(knobs.boot_step));
        };
        if !self.config.nodes.contains(&node) {
            return Ok(Action::await_change());
        }
        let bound_at = self.remember(&uid, |m| *m.bound_at.get_or_insert_with(Instant::now));
        if !pod_running {
            if knobs.stuck_in == Some(Phase::Scheduling) {
                return Ok(Action::await_change());
            }
            return match due(bound_at, knobs.boot_step) {
                Due::In(wait) => Ok(Action::requeue(wait)),
                Due::Now => {
                    self.start_pod(pod).await?;
                    Ok(Action::requeue(RESYNC))
                }
            };
        }

        // virt-handler: the domain starts once the VMI is Scheduled on this node.
        let mut next = RESYNC;
        match vmi_phase {
            Some(Phase::Scheduled)
                if vmi_node(&vmi) == Some(node.as_str())
                    && knobs.stuck_in != Some(Phase::Scheduled) =>
            {
                let seen =
                    self.remember(&uid, |m| *m.scheduled_at.get_or_insert_with(Instant::now));
                match due(seen, knobs.boot_step) {
                    Due::In(wait) => next = next.min(wait),
                    Due::Now => {
                        let ip = self.pod_ip(pod);
                        self.domain_running(&vmi, &ip, knobs.block_deletion).await?;
                        self.remember(&uid, |m| m.running_at = Some(Instant::now()));
                        next = next.min(knobs.ready_delay);
                    }
                }
            }
            Some(Phase::Running) => {
                let running_at =
                    self.remember(&uid, |m| *m.running_at.get_or_insert_with(Instant::now));
                if let Some(after) = knobs.fail_after {
                    match due(running_at, after) {
                        Due::In(wait) => next = next.min(wait),
                        Due::Now => {
                            self.domain_crashed(&vmi).await?;
                            return Ok(Action::requeue(Duration::from_millis(100)));
                        }
                    }
                }
                // kubelet: the compute container turns ready after the guest's ready delay.
                if !knobs.never_ready {
                    match due(running_at, knobs.ready_delay) {
                        Due::In(wait) => next = next.min(wait),
                        Due::Now => self.sync_readiness(pod, true).await?,
                    }
                }
            }
            _ => {}
        }
        // The gate may have turned since: Ready follows it.
        self.sync_readiness(pod, compute_ready(pod)).await?;
        Ok(Action::requeue(next))
    }

    fn pod_ip(&self, pod: &Pod) -> String {
        if let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) {
            return ip;
        }
        let uid = pod.uid().unwrap_or_default();
        self.remember(&uid, |m| {
            m.ip.get_or_insert_with(|| {
                let n = self.addresses.fetch_add(1, Ordering::Relaxed);
                guest::address::vmi_address(self.network, n).to_string()
            })
            .clone()
        })
    }

    fn pods(&self, pod: &Pod) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default())
    }

    fn record(&self, event: &str, pod: &Pod, extra: Value) {
        self.log.record(
            event,
            &pod.namespace().unwrap_or_default(),
            &pod.name_any(),
            &pod.uid().unwrap_or_default(),
            extra,
        );
    }

    async fn bind(&self, pod: &Pod) -> Result<(), Error> {
        let nodes = &self.config.nodes;
        let node = &nodes[self.bindings.fetch_add(1, Ordering::Relaxed) % nodes.len()];
        let name = pod.name_any();
        let binding = json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": name, "uid": pod.uid()},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        });
        let ns = pod.namespace().unwrap_or_default();
        match self
            .pods(pod)
            .create_subresource::<Value, Value>("binding", &name, &PostParams::default(), &binding)
            .await
        {
            Ok(_) => {}
            // Already bound (a second event for the same pod): nothing to do.
            Err(e) if api_code(&e) == Some(409) => return Ok(()),
            Err(e) => return Err(Error::new("bind pod", &ns, &name, e)),
        }
        self.record("pod-bound", pod, json!({"node": node}));
        Ok(())
    }

    /// The pod's containers run: compute not yet ready (its readiness follows the guest).
    async fn start_pod(&self, pod: &Pod) -> Result<(), Error> {
        let now = now_rfc3339();
        let ip = self.pod_ip(pod);
        let spec = pod.spec.clone().unwrap_or_default();
        let containers: Vec<Value> = spec
            .containers
            .iter()
            .map(|c| {
                let ready = c.name != "compute";
                json!({"name": c.name, "image": c.image.clone().unwrap_or_default(),
                       "imageID": "", "ready": ready, "started": true, "restartCount": 0,
                       "state": {"running": {"startedAt": now}}})
            })
            .collect();
        let init: Vec<Value> = spec
            .init_containers
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let image = c.image.clone().unwrap_or_default();
                if c.restart_policy.as_deref() == Some("Always") {
                    json!({"name": c.name, "image": image, "imageID": "", "ready": true,
                           "started": true, "restartCount": 0,
                           "state": {"running": {"startedAt": now}}})
                } else {
                    json!({"name": c.name, "image": image, "imageID": "", "ready": true,
                           "restartCount": 0, "state": {"terminated": {
                               "exitCode": 0, "reason": "Completed",
                               "startedAt": now, "finishedAt": now}}})
                }
            })
            .collect();
        let status = json!({"status": {
            "phase": "Running", "startTime": now,
            "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "containerStatuses": containers, "initContainerStatuses": init,
            "conditions": [
                condition("PodScheduled", true, &now),
                condition("Initialized", true, &now),
                condition("ContainersReady", false, &now),
                condition("Ready", false, &now),
            ],
        }});
        self.patch_pod_status(pod, status).await?;
        self.record("pod-running", pod, json!({"ip": ip}));
        Ok(())
    }

    /// The compute container's readiness, and `Ready` = every container ready AND every
    /// readiness gate True (the kubelet's rule), written only when it changes.
    async fn sync_readiness(&self, pod: &Pod, compute: bool) -> Result<(), Error> {
        if pod_phase(pod) != "Running" || pod.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let containers_ready = compute && other_containers_ready(pod);
        let ready = containers_ready && gates_true(pod);
        if compute == compute_ready(pod)
            && pod_condition(pod, "ContainersReady") == Some(containers_ready)
            && pod_condition(pod, "Ready") == Some(ready)
        {
            return Ok(());
        }
        let now = now_rfc3339();
        let statuses: Vec<Value> = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|mut c| {
                if c.name == "compute" {
                    c.ready = compute;
                }
                serde_json::to_value(c).unwrap_or_default()
            })
            .collect();
        let status = json!({"status": {
            "containerStatuses": statuses,
            "conditions": [
                condition("ContainersReady", containers_ready, &now),
                condition("Ready", ready, &now),
            ],
        }});
        self.patch_pod_status(pod, status).await?;
        self.record("pod-ready", pod, json!({"ready": ready}));
        if ready {
            // The ground truth the simulator logs as `ready`: here the moment the launcher pod
            // turned Ready, which virt-controller mirrors onto the VMI within milliseconds.
            if let Some(owner) = pod
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true) && o.kind == "VirtualMachineInstance")
            {
                self.log.record(
                    "ready",
                    &pod.namespace().unwrap_or_default(),
                    &owner.name,
                    &owner.uid,
                    json!({"by": "node-agent"}),
                );
            }
        }
        Ok(())
    }

    /// The containers exited (the guest shut down or crashed): the pod is terminal.
    async fn terminate_pod(&self, pod: &Pod, vmi_phase: Option<Phase>) -> Result<(), Error> {
        let failed = vmi_phase == Some(Phase::Failed);
        let now = now_rfc3339();
        let started = now.clone();
        let statuses: Vec<Value> = pod
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let (code, reason) = if failed && c.name == "compute" {
                    (1, "Error")
                } else {
                    (0, "Completed")
                };
                json!({"name": c.name, "image": c.image.clone().unwrap_or_default(),
                       "imageID": "", "ready": false, "started": false, "restartCount": 0,
                       "state": {"terminated": {"exitCode": code, "reason": reason,
                                                "startedAt": started, "finishedAt": now}}})
            })
            .collect();
        let status = json!({"status": {
            "phase": if failed { "Failed" } else { "Succeeded" },
            "containerStatuses": statuses,
            "conditions": [
                condition("ContainersReady", false, &now),
                condition("Ready", false, &now),
            ],
        }});
        match self.patch_pod_status(pod, status).await {
            // Gone or already final: nothing left to write.
            Err(e) if matches!(e.code(), Some(404 | 422)) => {}
            other => other?,
        }
        self.record("pod-terminated", pod, json!({"failed": failed}));
        Ok(())
    }

    /// kubelet's end of a deletion: terminal status (if it ran), then DELETE with grace 0.
    async fn finish_pod(&self, pod: &Pod, vmi_phase: Option<Phase>) -> Result<(), Error> {
        if pod_phase(pod) == "Running" {
            self.terminate_pod(pod, vmi_phase).await?;
        }
        let name = pod.name_any();
        let ns = pod.namespace().unwrap_or_default();
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.pods(pod).delete(&name, &params).await {
            Ok(_) => {}
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
            Err(e) => return Err(Error::new("delete pod", &ns, &name, e)),
        }
        self.record("pod-deleted", pod, json!({}));
        Ok(())
    }

    /// A shutdown was asked for (the VMI or its pod is being deleted): after the guest's
    /// shutdown time the domain is off and the VMI Succeeded; its pod goes after that.
    async fn shut_down(
        &self,
        pod: &Pod,
        vmi: Option<&DynamicObject>,
        knobs: Option<&Knobs>,
    ) -> Result<Action, Error> {
        let (Some(vmi), Some(knobs)) = (vmi, knobs) else {
            return Ok(Action::await_change());
        };
        let uid = pod.uid().unwrap_or_default();
        let asked = self.remember(&uid, |m| *m.shutdown_at.get_or_insert_with(Instant::now));
        let on_node = matches!(phase_of(vmi), Some(Phase::Scheduled | Phase::Running));
        if !on_node {
            // virt-handler has nothing to shut down yet: virt-controller decides.
            if pod.metadata.deletion_timestamp.is_some() {
                self.finish_pod(pod, phase_of(vmi)).await?;
                self.forget(&uid);
            }
            return Ok(Action::await_change());
        }
        match due(asked, knobs.shutdown) {
            Due::In(wait) => Ok(Action::requeue(wait)),
            Due::Now => {
                self.set_vmi_phase(vmi, Phase::Succeeded, None).await?;
                Ok(Action::requeue(Duration::from_millis(50)))
            }
        }
    }

    /// The launcher pod is gone while its VMI, on one of this agent's nodes, is not being
    /// deleted: no domain is left, so a Scheduled or Running VMI is Failed.
    async fn launcher_vanished(&self, pod: &Pod) -> Result<(), Error> {
        self.forget(&pod.uid().unwrap_or_default());
        let Some(vmi) = self.owner_vmi(pod).await? else {
            return Ok(());
        };
        let ours = vmi_node(&vmi).is_some_and(|n| self.config.nodes.iter().any(|m| m == n));
        let fails = |v: &DynamicObject| {
            fails_without_launcher(phase_of(v), v.metadata.deletion_timestamp.is_some())
        };
        if !ours || !fails(&vmi) {
            return Ok(());
        }
        let wrote = std::sync::atomic::AtomicBool::new(false);
        self.update_vmi(&vmi, |v| {
            if !fails(v) {
                return false;
            }
            set_phase(v, Phase::Failed);
            wrote.store(true, Ordering::Relaxed);
            true
        })
        .await?;
        if wrote.load(Ordering::Relaxed) {
            self.log.record(
                "phase",
                &vmi.namespace().unwrap_or_default(),
                &vmi.name_any(),
                &vmi.uid().unwrap_or_default(),
                json!({"phase": "Failed", "reason": "launcher gone", "by": "node-agent"}),
            );
        }
        Ok(())
    }

    async fn domain_crashed(&self, vmi: &DynamicObject) -> Result<(), Error> {
        self.set_vmi_phase(
            vmi,
            Phase::Failed,
            Some("the domain crashed (fail-after knob)"),
        )
        .await
    }

    /// virt-handler's status pass once the domain runs.
    /// With `block_deletion`, the VMI also gets the blocking finalizer nobody removes (the
    /// `block-deletion` knob: a VMI stuck terminating).
    async fn domain_running(
        &self,
        vmi: &DynamicObject,
        ip: &str,
        block_deletion: bool,
    ) -> Result<(), Error> {
        let ip = ip.to_string();
        self.update_vmi(vmi, move |v| {
            if phase_of(v) != Some(Phase::Scheduled) {
                return false;
            }
            if block_deletion {
                let finalizers = v.metadata.finalizers.get_or_insert_with(Vec::new);
                if !finalizers.iter().any(|f| f == knobs::BLOCKING_FINALIZER) {
                    finalizers.push(knobs::BLOCKING_FINALIZER.to_string());
                }
            }
            let status = &mut v.data["status"];
            let mut interfaces = status["interfaces"].as_array().cloned().unwrap_or_default();
            if interfaces.is_empty() {
                interfaces.push(json!({"name": "default", "podInterfaceName": "eth0"}));
            }
            for (i, iface) in interfaces.iter_mut().enumerate() {
                iface["ipAddress"] = json!(ip);
                iface["ipAddresses"] = json!([ip]);
                iface["mac"] = json!(format!("02:00:00:00:00:{:02x}", i + 1));
                iface["infoSource"] = json!("domain");
                iface["queueCount"] = json!(1);
                iface["linkState"] = json!("up");
            }
            status["interfaces"] = json!(interfaces);
            status["machine"] = json!({"type": "q35"});
            status["selinuxContext"] = json!("none");
            status["migrationMethod"] = json!("BlockMigration");
            set_phase(v, Phase::Running);
            true
        })
        .await?;
        self.log.record(
            "phase",
            &vmi.namespace().unwrap_or_default(),
            &vmi.name_any(),
            &vmi.uid().unwrap_or_default(),
            json!({"phase": "Running", "ip": ip_of(vmi).unwrap_or_default(), "by": "node-agent"}),
        );
        Ok(())
    }

    async fn set_vmi_phase(
        &self,
        vmi: &DynamicObject,
        phase: Phase,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let reason = reason.map(str::to_string);
        self.update_vmi(vmi, move |v| {
            if phase_of(v).is_some_and(Phase::is_final) {
                return false;
            }
            set_phase(v, phase);
            if let Some(reason) = &reason {
                v.data["status"]["reason"] = json!(reason);
            }
            true
        })
        .await?;
        self.log.record(
            "phase",
            &vmi.namespace().unwrap_or_default(),
            &vmi.name_any(),
            &vmi.uid().unwrap_or_default(),
            json!({"phase": phase.as_str(), "by": "node-agent"}),
        );
        Ok(())
    }

    /// A full UPDATE of the VMI (no status subresource), as virt-handler writes it, retried on
    /// conflicts with virt-controller's concurrent patches. `change` returns false when there is
    /// nothing (left) to write.
    async fn update_vmi(
        &self,
        vmi: &DynamicObject,
        change: impl Fn(&mut DynamicObject) -> bool,
    ) -> Result<(), Error> {
        let ns = vmi.namespace().unwrap_or_default();
        let name = vmi.name_any();
        let uid = vmi.uid();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &ns, &vmi_resource());
        let mut last = None;
        for _ in 0..10 {
            let Some(mut current) = api
                .get_opt(&name)
                .await
                .map_err(|e| Error::new("get VMI", &ns, &name, e))?
            else {
                return Ok(());
            };
            if current.uid() != uid || !change(&mut current) {
                return Ok(());
            }
            match api.replace(&name, &crate::post_params(), &current).await {
                Ok(_) => return Ok(()),
                Err(e) if api_code(&e) == Some(409) => last = Some(e),
                Err(e) if api_code(&e) == Some(404) => return Ok(()),
                Err(e) => return Err(Error::new("update VMI", &ns, &name, e)),
            }
        }
        match last {
            Some(e) => Err(Error::new("update VMI", &ns, &name, e)),
            None => Ok(()),
        }
    }

    async fn patch_pod_status(&self, pod: &Pod, status: Value) -> Result<(), Error> {
        let name = pod.name_any();
        let ns = pod.namespace().unwrap_or_default();
        self.pods(pod)
            .patch_status(&name, &crate::patch_params(), &Patch::Strategic(status))
            .await
            .map(|_| ())
            .map_err(|e| Error::new("write pod status", &ns, &name, e))
    }
}

fn condition(type_: &str, status: bool, at: &str) -> Value {
    json!({"type": type_, "status": if status { "True" } else { "False" },
           "lastProbeTime": null, "lastTransitionTime": at})
}

fn set_phase(vmi: &mut DynamicObject, phase: Phase) {
    let status = &mut vmi.data["status"];
    status["phase"] = json!(phase.as_str());
    let mut transitions = status["phaseTransitionTimestamps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !transitions.iter().any(|t| t["phase"] == phase.as_str()) {
        transitions
            .push(json!({"phase": phase.as_str(), "phaseTransitionTimestamp": now_rfc3339()}));
    }
    status["phaseTransitionTimestamps"] = json!(transitions);
}

/// virt-handler with no domain left (its launcher gone): a Scheduled or Running VMI that is not
/// being deleted is Failed; a deleted one is shutting down, a final one stays as it is.
fn fails_without_launcher(phase: Option<Phase>, deleting: bool) -> bool {
    !deleting && matches!(phase, Some(Phase::Scheduled | Phase::Running))
}

fn vmi_node(vmi: &DynamicObject) -> Option<&str> {
    vmi.data["status"]["nodeName"]
        .as_str()
        .or_else(|| vmi.labels().get(NODE_LABEL).map(String::as_str))
}

fn ip_of(vmi: &DynamicObject) -> Option<String> {
    vmi.data["status"]["interfaces"][0]["ipAddress"]
        .as_str()
        .map(str::to_string)
}

fn compute_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == "compute"))
        .is_some_and(|c| c.ready)
}

fn other_containers_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_none_or(|cs| cs.iter().filter(|c| c.name != "compute").all(|c| c.ready))
}

/// Every readiness gate's condition is True (virt-controller owns `virtual-machine-unpaused`).
fn gates_true(pod: &Pod) -> bool {
    let gates = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.clone())
        .unwrap_or_default();
    gates
        .iter()
        .all(|g| pod_condition(pod, &g.condition_type) == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The readiness gate virt-controller sets on every launcher pod.
    const UNPAUSED_GATE: &str = "kubevirt.io/virtual-machine-unpaused";

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_vanished_launcher_fails_only_a_live_vmi_not_being_deleted() {
        for phase in [Phase::Scheduled, Phase::Running] {
            assert!(fails_without_launcher(Some(phase), false), "{phase:?}");
            assert!(
                !fails_without_launcher(Some(phase), true),
                "{phase:?} deleted"
            );
        }
        for phase in [
            Phase::Pending,
            Phase::Scheduling,
            Phase::Succeeded,
            Phase::Failed,
        ] {
            assert!(!fails_without_launcher(Some(phase), false), "{phase:?}");
        }
        assert!(!fails_without_launcher(None, false));
    }

    #[test]
    fn ready_needs_every_readiness_gate() {
        let base = json!({
            "metadata": {"name": "virt-launcher-a-x"},
            "spec": {"containers": [{"name": "compute"}],
                     "readinessGates": [{"conditionType": UNPAUSED_GATE}]},
            "status": {"phase": "Running", "conditions": []},
        });
        assert!(!gates_true(&pod(base.clone())));
        let mut gated = base.clone();
        gated["status"]["conditions"] = json!([{"type": UNPAUSED_GATE, "status": "True"}]);
        assert!(gates_true(&pod(gated)));
        let mut no_gates = base;
        no_gates["spec"]["readinessGates"] = json!([]);
        assert!(gates_true(&pod(no_gates)));
    }

    #[test]
    fn a_phase_gets_one_transition_timestamp() {
        let mut vmi: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "a"},
            "status": {"phase": "Scheduled", "phaseTransitionTimestamps": [
                {"phase": "Pending", "phaseTransitionTimestamp": "2026-01-01T00:00:00Z"}]},
        }))
        .unwrap();
        set_phase(&mut vmi, Phase::Running);
        set_phase(&mut vmi, Phase::Running);
        let t = vmi.data["status"]["phaseTransitionTimestamps"]
            .as_array()
            .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(vmi.data["status"]["phase"], "Running");
    }

    #[test]
    fn knobs_default_to_the_config_and_split_the_boot() {
        let vmi: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "a", "annotations": {knobs::BOOT_DELAY: "2s",
                                                       knobs::NEVER_READY: "true"}},
            "spec": {"terminationGracePeriodSeconds": 10},
        }))
        .unwrap();
        let config = SimConfig::default();
        let k = Knobs::of(&vmi, &config);
        assert_eq!(k.boot_step, Duration::from_secs(1));
        assert!(k.never_ready);
        assert_eq!(
            k.shutdown,
            Duration::from_secs_f64(10.0 * config.grace_scale)
        );
    }
}
