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

    /// What KubeVirt does after the VMI is deleted, and so what the tool expects.
    pub fn expected_recovery(&self) -> Recovery {
        match self {
            Self::Always | Self::Once => Recovery::Automatic,
            Self::RerunOnFailure | Self::Manual | Self::Halted | Self::Other(_) => Recovery::Start,
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
    /// Nothing brought it back.
    None,
}

impl Recovery {
    pub fn as_str(self) -> &'static str {
        match self {
            Recovery::Automatic => "automatic",
            Recovery::Start => "start",
            Recovery::Recreate => "recreate",
            Recovery::None => "none",
        }
    }

    /// A few words for prompts and tables.
    pub fn describe(self) -> &'static str {
        match self {
            Recovery::Automatic => "KubeVirt re-creates it",
            Recovery::Start => "the tool starts its VM",
            Recovery::Recreate => "the tool re-creates it from the snapshot",
            Recovery::None => "nothing",
        }
    }
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
    pub created: Option<k8s_openapi::jiff::Timestamp>,
}

impl Vmi {
    pub fn from_object(obj: &DynamicObject) -> Self {
        let status = obj.data.get("status");
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let node = text(status.and_then(|s| s.get("nodeName")))
            .or_else(|| obj.labels().get("kubevirt.io/nodeName").cloned());
        let ip = status
            .and_then(|s| s.get("interfaces"))
            .and_then(Value::as_array)
            .and_then(|i| i.first())
            .and_then(|i| text(i.get("ipAddress")));
        let ready = status
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .is_some_and(|conds| {
                conds.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            });
        let owner_vm = obj
            .owner_references()
            .iter()
            .find(|o| o.kind == "VirtualMachine" && o.controller == Some(true))
            .map(|o| o.name.clone());
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
            created: obj.meta().creation_timestamp.as_ref().map(|t| t.0),
        }
    }

    pub fn is_running(&self) -> bool {
        self.phase == "Running" && !self.terminating
    }
}

/// What the tool reads off a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    pub name: String,
    pub run_strategy: RunStrategy,
}

impl Vm {
    pub fn from_object(obj: &DynamicObject) -> Self {
        let spec = obj.data.get("spec");
        let run_strategy = match spec
            .and_then(|s| s.get("runStrategy"))
            .and_then(Value::as_str)
        {
            Some(s) => RunStrategy::parse(s),
            None => match spec.and_then(|s| s.get("running")).and_then(Value::as_bool) {
                Some(true) => RunStrategy::Always,
                _ => RunStrategy::Halted,
            },
        };
        Vm {
            name: obj.name_any(),
            run_strategy,
        }
    }
}

/// The recovery the tool expects for a VMI, given its owner VM (None: standalone).
pub fn expected_recovery(vm: Option<&Vm>) -> Recovery {
    match vm {
        Some(vm) => vm.run_strategy.expected_recovery(),
        None => Recovery::Recreate,
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
    fn run_strategy_table() {
        let vm = |spec: Value| {
            Vm::from_object(&object(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "v"}, "spec": spec})))
        };
        assert_eq!(
            vm(json!({"running": true})).run_strategy,
            RunStrategy::Always
        );
        assert_eq!(
            vm(json!({"running": false})).run_strategy,
            RunStrategy::Halted
        );
        assert_eq!(vm(json!({})).run_strategy, RunStrategy::Halted);
        for (s, r) in [
            ("Always", Recovery::Automatic),
            ("Once", Recovery::Automatic),
            ("RerunOnFailure", Recovery::Start),
            ("Manual", Recovery::Start),
            ("Halted", Recovery::Start),
        ] {
            let v = vm(json!({"runStrategy": s}));
            assert_eq!(v.run_strategy.as_str(), s);
            assert_eq!(expected_recovery(Some(&v)), r, "{s}");
        }
        assert_eq!(expected_recovery(None), Recovery::Recreate);
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
