//! The simulated guest network: every Running, Ready VMI gets a guest that, after a boot delay,
//! serves TCP and HTTP on the VMI's own (loopback) address, and stops the moment the VMI gets a
//! deletionTimestamp, fails or goes; every VM (and VMI replica set) gets a stable front address
//! forwarding to whichever of its VMIs serves. The event log's `serving` / `stopped-serving`
//! lines are the ground truth of user-visible downtime.
//!
//! It watches VMIs and VMs on its own and writes nothing but the VM's front-address annotation,
//! so it never changes what the controllers do.

pub mod address;
mod front;
mod server;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::Ipv4Addr,
    pin::pin,
    sync::Arc,
    time::Duration,
};

use futures::StreamExt;
use kube::{
    api::{Api, ApiResource, DynamicObject, Patch},
    runtime::{watcher, WatchStreamExt},
    Client, ResourceExt,
};
use serde_json::json;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    knobs,
    kubevirt::{condition_is_true, phase_of, vm_resource, vmi_resource, Phase},
    log::EventLog,
    SimConfig,
};

/// A VMI that serves, as its front address sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub uid: String,
    pub ip: Ipv4Addr,
}

pub type Backends = watch::Sender<Vec<Backend>>;

/// How slowly a guest in its slow start answers, unless `GUEST_SLOW_ANSWER` says otherwise.
const DEFAULT_SLOW_ANSWER: Duration = Duration::from_secs(2);

/// The owner a front address stands for: namespace, kind, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Owner {
    namespace: String,
    kind: String,
    name: String,
}

impl Owner {
    /// The controller owner that gets a front address: a VM or a VMI replica set.
    fn of_vmi(vmi: &DynamicObject) -> Option<Owner> {
        let owner = vmi.owner_references().iter().find(|o| {
            o.controller == Some(true)
                && matches!(
                    o.kind.as_str(),
                    "VirtualMachine" | "VirtualMachineInstanceReplicaSet"
                )
        })?;
        Some(Owner {
            namespace: vmi.namespace().unwrap_or_default(),
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        })
    }

    fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// Whether the VMI's guest runs: Running, Ready, not shutting down, with an address.
fn guest_runs(vmi: &DynamicObject) -> bool {
    vmi.metadata.deletion_timestamp.is_none()
        && phase_of(vmi) == Some(Phase::Running)
        && condition_is_true(&vmi.data, "Ready")
        && vmi_ip(vmi).is_some()
}

fn vmi_ip(vmi: &DynamicObject) -> Option<Ipv4Addr> {
    vmi.data["status"]["interfaces"][0]["ipAddress"]
        .as_str()?
        .parse()
        .ok()
}

/// The guest's knobs (from the VMI's annotations) and the simulator's defaults.
fn guest_of(vmi: &DynamicObject, config: &SimConfig) -> Option<server::Guest> {
    let a: &BTreeMap<String, String> = vmi.annotations();
    if knobs::flag(a, knobs::GUEST_NEVER_SERVES) {
        return None;
    }
    Some(server::Guest {
        namespace: vmi.namespace().unwrap_or_default(),
        name: vmi.name_any(),
        uid: vmi.uid().unwrap_or_default(),
        ip: vmi_ip(vmi)?,
        http_port: config.guest_http_port,
        tcp_port: config.guest_tcp_port,
        boot_delay: knobs::duration(a, knobs::GUEST_BOOT_DELAY).unwrap_or(config.guest_boot_delay),
        slow_for: knobs::duration(a, knobs::GUEST_SLOW_START).unwrap_or_default(),
        slow_answer: knobs::duration(a, knobs::GUEST_SLOW_ANSWER).unwrap_or(DEFAULT_SLOW_ANSWER),
        owner: Owner::of_vmi(vmi).map(|o| o.label()),
    })
}

struct Front {
    ip: Ipv4Addr,
    backends: Arc<Backends>,
    task: JoinHandle<()>,
    /// The address last written to (or seen on) the owner's annotation.
    annotated: Option<String>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running guest task; dropping it stops the guest.
struct GuestTask(JoinHandle<()>);

impl Drop for GuestTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Network {
    client: Client,
    config: Arc<SimConfig>,
    log: EventLog,
    network: Ipv4Addr,
    guests: HashMap<String, GuestTask>,
    fronts: HashMap<Owner, Front>,
    fronts_made: usize,
    /// UIDs seen during a watch (re-)list: guests of the others are stopped at its end.
    relisting: Option<HashSet<String>>,
}

/// Runs until the future is dropped (which stops every guest and front).
pub async fn run(client: Client, config: Arc<SimConfig>, log: EventLog, network: Ipv4Addr) {
    let mut net = Network {
        client: client.clone(),
        config,
        log,
        network,
        guests: HashMap::new(),
        fronts: HashMap::new(),
        fronts_made: 0,
        relisting: None,
    };
    let vmis = Api::<DynamicObject>::all_with(client.clone(), &vmi_resource());
    let vms = Api::<DynamicObject>::all_with(client, &vm_resource());
    let mut vmis =
        pin!(watcher(vmis, watcher::Config::default()).backoff(crate::retry::Reconnect::default()));
    let mut vms =
        pin!(watcher(vms, watcher::Config::default()).backoff(crate::retry::Reconnect::default()));
    loop {
        tokio::select! {
            Some(event) = vmis.next() => match event {
                Ok(event) => net.vmi_event(event),
                Err(e) => tracing::warn!("guest network: VMI watch failed: {e}"),
            },
            Some(event) = vms.next() => match event {
                Ok(event) => net.vm_event(event),
                Err(e) => tracing::warn!("guest network: VM watch failed: {e}"),
            },
            else => return,
        }
    }
}

impl Network {
    fn vmi_event(&mut self, event: watcher::Event<DynamicObject>) {
        match event {
            watcher::Event::Init => self.relisting = Some(HashSet::new()),
            watcher::Event::InitApply(vmi) => {
                if let Some(seen) = &mut self.relisting {
                    seen.insert(vmi.uid().unwrap_or_default());
                }
                self.vmi_changed(&vmi);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relisting.take() {
                    self.guests.retain(|uid, _| seen.contains(uid));
                }
            }
            watcher::Event::Apply(vmi) => self.vmi_changed(&vmi),
            watcher::Event::Delete(vmi) => {
                self.guests.remove(&vmi.uid().unwrap_or_default());
            }
        }
    }

    fn vmi_changed(&mut self, vmi: &DynamicObject) {
        let uid = vmi.uid().unwrap_or_default();
        let owner = Owner::of_vmi(vmi);
        let front = owner.map(|o| self.front(&o, None).backends.clone());
        if !guest_runs(vmi) {
            // Shutting down, failed or not Ready (any more): the guest stops serving now.
            self.guests.remove(&uid);
            return;
        }
        if self.guests.contains_key(&uid) {
            return;
        }
        if let Some(guest) = guest_of(vmi, &self.config) {
            let task = tokio::spawn(server::run(guest, front, self.log.clone()));
            self.guests.insert(uid, GuestTask(task));
        }
    }

    fn vm_event(&mut self, event: watcher::Event<DynamicObject>) {
        match event {
            watcher::Event::Apply(vm) | watcher::Event::InitApply(vm) => {
                let owner = Owner {
                    namespace: vm.namespace().unwrap_or_default(),
                    kind: "VirtualMachine".into(),
                    name: vm.name_any(),
                };
                if vm.metadata.deletion_timestamp.is_none() {
                    let current = vm.annotations().get(knobs::FRONT_ADDRESS).cloned();
                    self.front(&owner, Some(current));
                }
            }
            watcher::Event::Delete(vm) => {
                self.fronts.remove(&Owner {
                    namespace: vm.namespace().unwrap_or_default(),
                    kind: "VirtualMachine".into(),
                    name: vm.name_any(),
                });
            }
            watcher::Event::Init | watcher::Event::InitDone => {}
        }
    }

    /// The owner's front address, started on first use; `annotation`: what the owner object
    /// carries now, when known (it is written when it differs).
    fn front(&mut self, owner: &Owner, annotation: Option<Option<String>>) -> &Front {
        if !self.fronts.contains_key(owner) {
            let ip = address::front_address(self.network, self.fronts_made);
            self.fronts_made += 1;
            let (backends, watching) = watch::channel(Vec::new());
            let spec = front::FrontSpec {
                namespace: owner.namespace.clone(),
                kind: owner.kind.clone(),
                name: owner.name.clone(),
                ip,
                ports: vec![self.config.guest_http_port, self.config.guest_tcp_port],
            };
            let task = tokio::spawn(front::run(spec, watching, self.log.clone()));
            self.fronts.insert(
                owner.clone(),
                Front {
                    ip,
                    backends: Arc::new(backends),
                    task,
                    annotated: None,
                },
            );
        }
        let front = self.fronts.get_mut(owner).expect("inserted above");
        let wanted = front.ip.to_string();
        if let Some(current) = annotation {
            front.annotated = current;
        }
        if front.annotated.as_deref() != Some(wanted.as_str()) {
            front.annotated = Some(wanted.clone());
            tokio::spawn(annotate(self.client.clone(), owner.clone(), wanted));
        }
        front
    }
}

/// Records the front address on the owner, where `kubectl get vm -o yaml` and the sandbox show
/// it. Best effort: an owner that is gone (or a kind this cluster doesn't serve) is skipped.
async fn annotate(client: Client, owner: Owner, ip: String) {
    let plural = match owner.kind.as_str() {
        "VirtualMachine" => "virtualmachines",
        _ => "virtualmachineinstancereplicasets",
    };
    let resource = ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: owner.kind.clone(),
        plural: plural.into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client, &owner.namespace, &resource);
    let patch = json!({"metadata": {"annotations": {knobs::FRONT_ADDRESS: ip}}});
    if let Err(e) = api
        .patch(&owner.name, &crate::patch_params(), &Patch::Merge(&patch))
        .await
    {
        tracing::debug!(
            "guest network: cannot annotate {} {}/{}: {e}",
            owner.kind,
            owner.namespace,
            owner.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(extra: serde_json::Value) -> DynamicObject {
        let mut v = json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "ns", "uid": "u1",
                "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                    "name": "db-0", "uid": "vm1", "controller": true}]},
            "spec": {},
            "status": {"phase": "Running", "interfaces": [{"ipAddress": "127.9.0.2"}],
                "conditions": [{"type": "Ready", "status": "True"}]}
        });
        json_merge(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn json_merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn a_guest_runs_only_while_running_ready_and_not_deleting() {
        assert!(guest_runs(&vmi(json!({}))));
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert!(!guest_runs(&vmi(deleting)));
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(!guest_runs(&vmi(not_ready)));
        assert!(!guest_runs(&vmi(json!({"status": {"phase": "Failed"}}))));
        assert!(!guest_runs(&vmi(json!({"status": {"interfaces": []}}))));
    }

    #[test]
    fn knobs_shape_the_guest_and_the_owner_names_the_front() {
        let config = SimConfig::default();
        let g = guest_of(&vmi(json!({})), &config).unwrap();
        assert_eq!(
            (g.boot_delay, g.slow_for, g.http_port, g.tcp_port),
            (config.guest_boot_delay, Duration::ZERO, 8080, 2222)
        );
        assert_eq!(g.owner.as_deref(), Some("VirtualMachine/db-0"));
        assert_eq!(g.ip, Ipv4Addr::new(127, 9, 0, 2));
        let slow = vmi(json!({"metadata": {"annotations": {
            knobs::GUEST_BOOT_DELAY: "3s", knobs::GUEST_SLOW_START: "5s",
            knobs::GUEST_SLOW_ANSWER: "700ms"}}}));
        let g = guest_of(&slow, &config).unwrap();
        assert_eq!(
            (g.boot_delay, g.slow_for, g.slow_answer),
            (
                Duration::from_secs(3),
                Duration::from_secs(5),
                Duration::from_millis(700)
            )
        );
        let never = vmi(json!({"metadata": {"annotations": {knobs::GUEST_NEVER_SERVES: "true"}}}));
        assert!(guest_of(&never, &config).is_none());
        let standalone = vmi(json!({"metadata": {"ownerReferences": []}}));
        assert_eq!(Owner::of_vmi(&standalone), None);
        let replicas = vmi(
            json!({"metadata": {"ownerReferences": [{"apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachineInstanceReplicaSet", "name": "web", "uid": "rs1",
            "controller": true}]}}),
        );
        assert_eq!(
            Owner::of_vmi(&replicas).map(|o| o.label()).as_deref(),
            Some("VirtualMachineInstanceReplicaSet/web")
        );
    }
}
