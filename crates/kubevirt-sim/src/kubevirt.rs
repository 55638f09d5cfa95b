//! KubeVirt's objects as the simulator reads them: API resources, well-known names, and small
//! typed views of the few fields it needs from `DynamicObject`s.

use std::collections::BTreeMap;

use kube::{
    api::{ApiResource, DynamicObject},
    ResourceExt,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// On every VMI: removed by virt-controller once the guest has shut down.
pub const VMI_FINALIZER: &str = "kubevirt.io/foregroundDeleteVirtualMachine";
/// On every VM, and on every VMI a VM creates: lets the VM controller see the VMI go before
/// it does (and delete the VMI before the VM goes: no garbage collector runs here).
pub const VM_FINALIZER: &str = "kubevirt.io/virtualMachineControllerFinalize";
/// The node a VMI runs on, as a label.
pub const NODE_LABEL: &str = "kubevirt.io/nodeName";

pub fn vm_resource() -> ApiResource {
    kubevirt_resource("VirtualMachine", "virtualmachines")
}

pub fn vmi_resource() -> ApiResource {
    kubevirt_resource("VirtualMachineInstance", "virtualmachineinstances")
}

/// `kubevirt.io/v1` VirtualMachineInstanceReplicaSet.
pub fn vmirs_resource() -> ApiResource {
    kubevirt_resource(
        "VirtualMachineInstanceReplicaSet",
        "virtualmachineinstancereplicasets",
    )
}

/// `pool.kubevirt.io/v1beta1` VirtualMachinePool.
pub fn vm_pool_resource() -> ApiResource {
    ApiResource {
        group: "pool.kubevirt.io".into(),
        version: "v1beta1".into(),
        api_version: "pool.kubevirt.io/v1beta1".into(),
        kind: "VirtualMachinePool".into(),
        plural: "virtualmachinepools".into(),
    }
}

fn kubevirt_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// VMI phases the simulator writes, in lifecycle order (`Succeeded`/`Failed` are final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Pending,
    Scheduling,
    Scheduled,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "Pending" => Phase::Pending,
            "Scheduling" => Phase::Scheduling,
            "Scheduled" => Phase::Scheduled,
            "Running" => Phase::Running,
            "Succeeded" => Phase::Succeeded,
            "Failed" => Phase::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Scheduling => "Scheduling",
            Phase::Scheduled => "Scheduled",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

/// `spec.runStrategy`, or what the legacy `spec.running` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStrategy {
    Always,
    RerunOnFailure,
    Manual,
    Halted,
    Once,
}

impl RunStrategy {
    pub fn parse(s: &str) -> Option<RunStrategy> {
        Some(match s {
            "Always" => RunStrategy::Always,
            "RerunOnFailure" => RunStrategy::RerunOnFailure,
            "Manual" => RunStrategy::Manual,
            "Halted" => RunStrategy::Halted,
            "Once" => RunStrategy::Once,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStrategy::Always => "Always",
            RunStrategy::RerunOnFailure => "RerunOnFailure",
            RunStrategy::Manual => "Manual",
            RunStrategy::Halted => "Halted",
            RunStrategy::Once => "Once",
        }
    }

    /// From a VM's `spec`: `runStrategy` wins; else `running` (true: Always, false/absent: Halted).
    /// None for a runStrategy KubeVirt doesn't know: such a VM is left alone.
    pub fn of_spec(spec: &Value) -> Option<RunStrategy> {
        match spec.get("runStrategy").and_then(Value::as_str) {
            Some(s) => RunStrategy::parse(s),
            None => Some(match spec.get("running").and_then(Value::as_bool) {
                Some(true) => RunStrategy::Always,
                _ => RunStrategy::Halted,
            }),
        }
    }
}

/// One entry of a VM's `status.stateChangeRequests`, as virt-api writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub action: Action,
    /// The VMI a `Stop` applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Start,
    Stop,
}

impl ChangeRequest {
    pub fn start() -> Self {
        ChangeRequest {
            action: Action::Start,
            uid: None,
            data: None,
        }
    }

    pub fn stop(vmi_uid: &str) -> Self {
        ChangeRequest {
            action: Action::Stop,
            uid: Some(vmi_uid.to_string()),
            data: None,
        }
    }
}

/// What the VM controller and virt-api need to know about a VMI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmiFacts {
    pub uid: String,
    pub phase: Option<Phase>,
    pub deleting: bool,
    pub ready: bool,
    /// The UID of the VM that controls it (ownerReferences, `controller: true`).
    pub controller_uid: Option<String>,
    /// `status.phaseTransitionTimestamps` lists Running: the guest ran at some point (what
    /// KubeVirt's `wasVMIInRunningPhase` asks).
    pub was_running: bool,
    /// Still holds the VM controller's finalizer (`VM_FINALIZER`).
    pub holds_vm_finalizer: bool,
    /// `spec.terminationGracePeriodSeconds`, when set.
    pub grace_seconds: Option<i64>,
    /// Condition Paused=True.
    pub paused: bool,
    /// A live migration under way: `status.migrationState` not completed.
    pub migrating: bool,
}

impl VmiFacts {
    pub fn of(vmi: &DynamicObject) -> VmiFacts {
        VmiFacts {
            uid: vmi.uid().unwrap_or_default(),
            phase: phase_of(vmi),
            deleting: vmi.metadata.deletion_timestamp.is_some(),
            ready: condition_is_true(&vmi.data, "Ready"),
            controller_uid: vmi
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true))
                .map(|o| o.uid.clone()),
            was_running: vmi.data["status"]["phaseTransitionTimestamps"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["phase"] == "Running")),
            holds_vm_finalizer: vmi.finalizers().iter().any(|f| f == VM_FINALIZER),
            grace_seconds: vmi.data["spec"]["terminationGracePeriodSeconds"].as_i64(),
            paused: condition_is_true(&vmi.data, "Paused"),
            migrating: vmi.data["status"]["migrationState"].is_object()
                && vmi.data["status"]["migrationState"]["completed"] != true,
        }
    }

    pub fn is_final(&self) -> bool {
        self.phase.is_some_and(Phase::is_final)
    }
}

pub fn phase_of(obj: &DynamicObject) -> Option<Phase> {
    obj.data["status"]["phase"].as_str().and_then(Phase::parse)
}

/// Whether `status.conditions` holds `type` with status "True".
pub fn condition_is_true(data: &Value, type_: &str) -> bool {
    data["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
    })
}

/// A VM's `status.stateChangeRequests`; entries the simulator doesn't understand are dropped.
pub fn change_requests(vm: &DynamicObject) -> Vec<ChangeRequest> {
    vm.data["status"]["stateChangeRequests"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| serde_json::from_value(r.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_running_maps_to_a_run_strategy() {
        assert_eq!(
            RunStrategy::of_spec(&json!({"running": true})),
            Some(RunStrategy::Always)
        );
        assert_eq!(
            RunStrategy::of_spec(&json!({"running": false})),
            Some(RunStrategy::Halted)
        );
        assert_eq!(RunStrategy::of_spec(&json!({})), Some(RunStrategy::Halted));
        assert_eq!(
            RunStrategy::of_spec(&json!({"runStrategy": "Manual"})),
            Some(RunStrategy::Manual)
        );
        assert_eq!(
            RunStrategy::of_spec(&json!({"runStrategy": "Sometimes"})),
            None
        );
    }

    #[test]
    fn change_requests_round_trip_in_kubevirt_spelling() {
        let stop = serde_json::to_value(ChangeRequest::stop("u1")).unwrap();
        assert_eq!(stop, json!({"action": "Stop", "uid": "u1"}));
        assert_eq!(
            serde_json::to_value(ChangeRequest::start()).unwrap(),
            json!({"action": "Start"})
        );
    }

    #[test]
    fn phases_are_ordered_by_lifecycle() {
        assert!(Phase::Pending < Phase::Scheduling && Phase::Scheduled < Phase::Running);
        assert!(Phase::Failed.is_final() && !Phase::Running.is_final());
        assert_eq!(Phase::parse("WaitingForSync"), None);
    }
}
