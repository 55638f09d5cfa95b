//! The few KubeVirt fields the tool needs, read off `DynamicObject`s so that a saved manifest
//! keeps every field (see ../shared/KUBEVIRT.md). No typed KubeVirt crate works with kube 5.

use kube::{
    api::{ApiResource, DynamicObject},
    Resource, ResourceExt,
};
use serde::Serialize;
use serde_json::Value;

pub const API_VERSION: &str = "kubevirt.io/v1";
pub const KUBEVIRT_FINALIZER: &str = "kubevirt.io/foregroundDeleteVirtualMachine";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: API_VERSION.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub fn vmi_resource() -> ApiResource {
    resource("VirtualMachineInstance", "virtualmachineinstances")
}

pub fn vm_resource() -> ApiResource {
    resource("VirtualMachine", "virtualmachines")
}

pub fn kubevirt_resource() -> ApiResource {
    resource("KubeVirt", "kubevirts")
}

/// A VM's `spec.runStrategy` (legacy `spec.running: true|false` maps to Always|Halted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RunStrategy {
    Always,
    RerunOnFailure,
    Manual,
    Halted,
    Once,
    /// A strategy this version doesn't know (a newer KubeVirt): treated like Manual.
    Other(String),
}

impl RunStrategy {
    pub fn parse(text: &str) -> Self {
        match text {
            "Always" => Self::Always,
            "RerunOnFailure" => Self::RerunOnFailure,
            "Manual" => Self::Manual,
            "Halted" => Self::Halted,
            "Once" => Self::Once,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Always => "Always",
            Self::RerunOnFailure => "RerunOnFailure",
            Self::Manual => "Manual",
            Self::Halted => "Halted",
            Self::Once => "Once",
            Self::Other(s) => s,
        }
    }
}

/// How a VMI comes back (or came back) after the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recovery {
    /// KubeVirt re-creates it (runStrategy Always, Once).
    Automatic,
    /// The tool calls the VM's `start` subresource (RerunOnFailure, Manual, Halted).
    Start,
    /// The tool re-creates the standalone VMI from its snapshot.
    Recreate,
    /// Its VirtualMachineInstanceReplicaSet creates a replacement with another name; the tool
    /// follows that one and never re-creates.
    Follow,
    /// Nothing brought it back (or the plan refuses the target).
    None,
}

impl Recovery {
    pub fn as_str(self) -> &'static str {
        match self {
            Recovery::Automatic => "automatic",
            Recovery::Start => "start",
            Recovery::Recreate => "recreate",
            Recovery::Follow => "follow",
            Recovery::None => "none",
        }
    }

    /// A few words for prompts and tables.
    pub fn describe(self) -> &'static str {
        match self {
            Recovery::Automatic => "KubeVirt re-creates it",
            Recovery::Start => "the tool starts its VM",
            Recovery::Recreate => "the tool re-creates it from the snapshot",
            Recovery::Follow => "its replica set creates a replacement",
            Recovery::None => "nothing",
        }
    }
}

/// The controller ownerReference of an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// What the tool reads off a VMI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmi {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub phase: String,
    pub ready: bool,
    pub node: Option<String>,
    pub ip: Option<String>,
    pub terminating: bool,
    pub finalizers: Vec<String>,
    /// The owner VM's name (ownerReference kind VirtualMachine, controller: true).
    pub owner_vm: Option<String>,
    /// The controller ownerReference, whatever its kind.
    pub owner: Option<Owner>,
    pub created: Option<Timestamp>,
    /// Condition Paused is True.
    pub paused: bool,
    /// `status.migrationState` exists and is not completed.
    pub migrating: bool,
    /// `status.phaseTransitionTimestamps`: when KubeVirt saw each phase (1 s resolution).
    pub phase_transitions: Vec<(String, Timestamp)>,
    /// The Ready condition's lastTransitionTime, when Ready is True (1 s resolution).
    pub ready_since: Option<Timestamp>,
}

pub use k8s_openapi::jiff::Timestamp;

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn timestamp(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str).and_then(|t| t.parse().ok())
}

/// The condition of this type, if present.
fn condition<'a>(status: Option<&'a Value>, kind: &str) -> Option<&'a Value> {
    status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|conds| {
            conds
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        })
}

fn condition_true(status: Option<&Value>, kind: &str) -> bool {
    condition(status, kind)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

fn controller(obj: &DynamicObject) -> Option<Owner> {
    obj.owner_references()
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| Owner {
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
        })
}

impl Vmi {
    pub fn from_object(obj: &DynamicObject) -> Self {
        let status = obj.data.get("status");
        let node = text(status.and_then(|s| s.get("nodeName")))
            .or_else(|| obj.labels().get("kubevirt.io/nodeName").cloned());
        let ip = status
            .and_then(|s| s.get("interfaces"))
            .and_then(Value::as_array)
            .and_then(|i| i.first())
            .and_then(|i| text(i.get("ipAddress")));
        let ready = condition_true(status, "Ready");
        let ready_since = if ready {
            timestamp(condition(status, "Ready").and_then(|c| c.get("lastTransitionTime")))
        } else {
            None
        };
        let owner = controller(obj);
        let owner_vm = owner
            .as_ref()
            .filter(|o| o.kind == "VirtualMachine")
            .map(|o| o.name.clone());
        let migrating = status
            .and_then(|s| s.get("migrationState"))
            .filter(|m| m.is_object())
            .is_some_and(|m| m.get("completed").and_then(Value::as_bool) != Some(true));
        let phase_transitions = status
            .and_then(|s| s.get("phaseTransitionTimestamps"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|t| {
                        Some((
                            text(t.get("phase"))?,
                            timestamp(t.get("phaseTransitionTimestamp"))?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Vmi {
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
            resource_version: obj.resource_version().unwrap_or_default(),
            phase: text(status.and_then(|s| s.get("phase"))).unwrap_or_else(|| "Pending".into()),
            ready,
            node,
            ip,
            terminating: obj.meta().deletion_timestamp.is_some(),
            finalizers: obj.finalizers().to_vec(),
            owner_vm,
            owner,
            created: obj.meta().creation_timestamp.as_ref().map(|t| t.0),
            paused: condition_true(status, "Paused"),
            migrating,
            phase_transitions,
            ready_since,
        }
    }

    pub fn is_running(&self) -> bool {
        self.phase == "Running" && !self.terminating
    }

    /// When KubeVirt recorded this phase, if it did.
    pub fn phase_since(&self, phase: &str) -> Option<Timestamp> {
        self.phase_transitions
            .iter()
            .rev()
            .find(|(p, _)| p == phase)
            .map(|(_, t)| *t)
    }
}

/// `status.startFailure`: KubeVirt delays the next start until `retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    pub consecutive: u64,
    pub retry_after: Option<Timestamp>,
}

/// What the tool reads off a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    pub name: String,
    pub uid: String,
    pub run_strategy: RunStrategy,
    /// The VM uses the deprecated `spec.running` instead of `spec.runStrategy`.
    pub legacy_running: Option<bool>,
    pub start_failure: Option<StartFailure>,
    /// Condition ManualRecoveryRequired is True: KubeVirt will not start it.
    pub manual_recovery_required: bool,
    /// The VirtualMachinePool that owns the VM, if any.
    pub pool: Option<String>,
}

impl Vm {
    pub fn from_object(obj: &DynamicObject) -> Self {
        let spec = obj.data.get("spec");
        let status = obj.data.get("status");
        let legacy_running = spec.and_then(|s| s.get("running")).and_then(Value::as_bool);
        let run_strategy = match spec
            .and_then(|s| s.get("runStrategy"))
            .and_then(Value::as_str)
        {
            Some(s) => RunStrategy::parse(s),
            None if legacy_running == Some(true) => RunStrategy::Always,
            None => RunStrategy::Halted,
        };
        let start_failure = status
            .and_then(|s| s.get("startFailure"))
            .filter(|f| f.is_object())
            .map(|f| StartFailure {
                consecutive: f
                    .get("consecutiveFailCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                retry_after: timestamp(f.get("retryAfterTimestamp")),
            });
        Vm {
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
            run_strategy,
            legacy_running: if spec.and_then(|s| s.get("runStrategy")).is_some() {
                None
            } else {
                legacy_running
            },
            start_failure,
            manual_recovery_required: condition_true(status, "ManualRecoveryRequired"),
            pool: controller(obj)
                .filter(|o| o.kind == "VirtualMachinePool")
                .map(|o| o.name),
        }
    }
}

/// The namespaces an outage refuses without --allow-protected-namespace.
pub fn is_protected_namespace(namespace: &str) -> bool {
    matches!(namespace, "kube-system" | "kube-public" | "kubevirt")
        || namespace.starts_with("openshift-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn reads_a_running_owned_vmi() {
        let vmi = Vmi::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
                "labels": {"kubevirt.io/nodeName": "node-a"},
                "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                    "name": "db-0", "uid": "vm1", "controller": true}]},
            "status": {"phase": "Running", "nodeName": "node-a",
                "interfaces": [{"ipAddress": "10.0.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}]}
        })));
        assert_eq!(vmi.name, "db-0");
        assert_eq!(vmi.owner_vm.as_deref(), Some("db-0"));
        assert_eq!(vmi.ip.as_deref(), Some("10.0.0.5"));
        assert!(vmi.ready && vmi.is_running() && !vmi.terminating);
    }

    #[test]
    fn a_vmi_without_status_is_pending_and_not_ready() {
        let vmi = Vmi::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "x", "namespace": "n", "deletionTimestamp": "2026-01-01T00:00:00Z"}
        })));
        assert_eq!(vmi.phase, "Pending");
        assert!(!vmi.ready && vmi.terminating && !vmi.is_running());
        assert_eq!(vmi.owner_vm, None);
    }

    #[test]
    fn run_strategy_and_legacy_running() {
        let vm = |spec: Value| {
            Vm::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "v"}, "spec": spec})))
        };
        let legacy = vm(json!({"running": true}));
        assert_eq!(legacy.run_strategy, RunStrategy::Always);
        assert_eq!(legacy.legacy_running, Some(true));
        assert_eq!(
            vm(json!({"running": false})).run_strategy,
            RunStrategy::Halted
        );
        assert_eq!(vm(json!({})).run_strategy, RunStrategy::Halted);
        for s in ["Always", "Once", "RerunOnFailure", "Manual", "Halted"] {
            let v = vm(json!({"runStrategy": s}));
            assert_eq!(v.run_strategy.as_str(), s);
            assert_eq!(v.legacy_running, None);
        }
    }

    #[test]
    fn reads_start_failure_pool_and_vmi_states() {
        let vm = Vm::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "pool-0", "uid": "vu", "ownerReferences": [{"apiVersion": "pool.kubevirt.io/v1beta1",
                "kind": "VirtualMachinePool", "name": "pool", "uid": "pu", "controller": true}]},
            "spec": {"runStrategy": "Always"},
            "status": {"startFailure": {"consecutiveFailCount": 3, "retryAfterTimestamp": "2026-01-01T00:05:00Z"},
                "conditions": [{"type": "ManualRecoveryRequired", "status": "True"}]}
        })));
        assert_eq!(vm.pool.as_deref(), Some("pool"));
        assert_eq!(vm.start_failure.as_ref().map(|f| f.consecutive), Some(3));
        assert!(vm.manual_recovery_required);
        let vmi = Vmi::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "web-abcde", "namespace": "n", "ownerReferences": [{"apiVersion": "kubevirt.io/v1",
                "kind": "VirtualMachineInstanceReplicaSet", "name": "web", "uid": "rs", "controller": true}]},
            "status": {"phase": "Running", "migrationState": {"completed": false},
                "conditions": [{"type": "Paused", "status": "True"}, {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:03Z"}],
                "phaseTransitionTimestamps": [{"phase": "Pending", "phaseTransitionTimestamp": "2026-01-01T00:00:01Z"},
                    {"phase": "Running", "phaseTransitionTimestamp": "2026-01-01T00:00:02Z"}]}
        })));
        assert_eq!(vmi.owner_vm, None);
        assert_eq!(
            vmi.owner.as_ref().map(|o| o.kind.as_str()),
            Some("VirtualMachineInstanceReplicaSet")
        );
        assert!(vmi.paused && vmi.migrating);
        assert_eq!(
            vmi.phase_since("Running").map(|t| t.to_string()),
            Some("2026-01-01T00:00:02Z".into())
        );
        assert!(vmi.ready_since.is_some());
    }

    #[test]
    fn protected_namespaces() {
        for ns in ["kube-system", "kube-public", "kubevirt", "openshift-cnv"] {
            assert!(is_protected_namespace(ns), "{ns}");
        }
        for ns in ["default", "prod", "kubevirt-apps", "my-openshift"] {
            assert!(!is_protected_namespace(ns), "{ns}");
        }
    }
}
