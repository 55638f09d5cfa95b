//! The merge patches the VMI controller writes (the VMI CRD has no status subresource, so status
//! and metadata go into one patch of the object). Each carries `metadata.uid` so that a patch
//! by name can never land on a newer VMI of the same name.

use std::time::SystemTime;

use kube::{api::DynamicObject, ResourceExt};
use serde_json::{json, Map, Value};

use crate::{
    kubevirt::{Phase, NODE_LABEL},
    launcher_pod::LAUNCHER_IMAGE,
};

/// Kubernetes `metav1.Time`: RFC 3339, whole seconds.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `at` as a `metav1.Time` serializes: RFC 3339 in UTC, whole seconds (the fraction is cut).
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `status.phaseTransitionTimestamps` as KubeVirt writes it: one
/// `{"phase", "phaseTransitionTimestamp"}` entry appended on each phase change, in the order
/// of the changes. The timestamp is a `metav1.Time`, which serializes with whole seconds
/// (RFC 3339, `Z`), so two phases reached within the same second carry the same timestamp;
/// the simulator writes the same.
fn transitions_json(transitions: &[(Phase, String)]) -> Value {
    transitions
        .iter()
        .map(|(phase, at)| json!({"phase": phase.as_str(), "phaseTransitionTimestamp": at}))
        .collect()
}

fn condition(type_: &str, status: bool, reason: Option<&str>, at: &str) -> Value {
    let mut c = json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": at,
    });
    if let Some(reason) = reason {
        c["reason"] = json!(reason);
    }
    c
}

/// Adds the finalizers and starts the status afresh at Pending (a VMI created from a copied
/// manifest may carry an old status: every other status field is removed).
pub fn admit(vmi: &DynamicObject, finalizers: &[String], transitions: &[(Phase, String)]) -> Value {
    let mut status: Map<String, Value> = vmi.data["status"]
        .as_object()
        .map(|old| old.keys().map(|k| (k.clone(), Value::Null)).collect())
        .unwrap_or_default();
    status.insert("phase".into(), json!(Phase::Pending.as_str()));
    status.insert(
        "phaseTransitionTimestamps".into(),
        transitions_json(transitions),
    );
    json!({
        "metadata": {
            "uid": vmi.uid(),
            "resourceVersion": vmi.resource_version(),
            "finalizers": finalizers,
        },
        "status": status,
    })
}

pub fn phase(vmi: &DynamicObject, phase: Phase, transitions: &[(Phase, String)]) -> Value {
    json!({
        "metadata": {"uid": vmi.uid()},
        "status": {"phase": phase.as_str(), "phaseTransitionTimestamps": transitions_json(transitions)},
    })
}

pub fn scheduled(vmi: &DynamicObject, node: &str, transitions: &[(Phase, String)]) -> Value {
    let mut patch = phase(vmi, Phase::Scheduled, transitions);
    patch["metadata"]["labels"] = json!({NODE_LABEL: node});
    patch["status"]["nodeName"] = json!(node);
    patch
}

pub fn running(vmi: &DynamicObject, ip: &str, mac: &str, transitions: &[(Phase, String)]) -> Value {
    let at = now_rfc3339();
    let mut patch = phase(vmi, Phase::Running, transitions);
    let status = &mut patch["status"];
    status["interfaces"] = json!([{
        "name": "default",
        "interfaceName": "eth0",
        "ipAddress": ip,
        "ipAddresses": [ip],
        "mac": mac,
        "infoSource": "domain, guest-agent",
    }]);
    status["conditions"] = json!([condition("Ready", false, Some("GuestNotRunning"), &at)]);
    status["launcherContainerImageVersion"] = json!(LAUNCHER_IMAGE);
    status["qosClass"] = json!("Burstable");
    patch
}

pub fn ready(vmi: &DynamicObject) -> Value {
    let at = now_rfc3339();
    json!({
        "metadata": {"uid": vmi.uid()},
        "status": {"conditions": [
            condition("Ready", true, None, &at),
            condition("AgentConnected", true, None, &at),
        ]},
    })
}

/// Condition Paused=True as virt-handler writes it after `virtctl pause vmi` (the other
/// conditions stay: a merge patch replaces the whole list).
pub fn paused(vmi: &DynamicObject) -> Value {
    let at = now_rfc3339();
    let mut conditions: Vec<Value> = vmi.data["status"]["conditions"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["type"] != "Paused")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut paused = condition("Paused", true, Some("PausedByUser"), &at);
    paused["message"] = json!("VMI was paused by user");
    paused["lastProbeTime"] = json!(at);
    conditions.push(paused);
    json!({
        "metadata": {"uid": vmi.uid()},
        "status": {"conditions": conditions},
    })
}

/// A live migration under way (`completed: false`), as virt-controller and virt-handler write
/// `status.migrationState` while the guest is copied to the target node.
pub fn migrating(vmi: &DynamicObject, source: &str, target: &str) -> Value {
    let uid = vmi.uid().unwrap_or_default();
    json!({
        "metadata": {"uid": vmi.uid()},
        "status": {
            "migrationMethod": "LiveMigration",
            "migrationState": {
                "migrationUid": format!("{uid}-migration"),
                "sourceNode": source,
                "sourcePod": format!("virt-launcher-{}", vmi.name_any()),
                "targetNode": target,
                "targetPod": format!("virt-launcher-{}-target", vmi.name_any()),
                "startTimestamp": now_rfc3339(),
                "mode": "PreCopy",
                "completed": false,
                "failed": false,
                "abortRequested": false,
            },
        },
    })
}

/// Phase Failed or Succeeded: the guest is gone, so the VMI is not Ready.
pub fn ended(vmi: &DynamicObject, phase_: Phase, transitions: &[(Phase, String)]) -> Value {
    let reason = if phase_ == Phase::Failed {
        "PodFailed"
    } else {
        "PodTerminating"
    };
    let mut patch = phase(vmi, phase_, transitions);
    patch["status"]["conditions"] =
        json!([condition("Ready", false, Some(reason), &now_rfc3339())]);
    patch
}

/// The launcher pod vanished under a live VMI (its host or QEMU died, or someone deleted it with
/// no grace): virt-controller sets `Failed`, and Ready=False with reason `PodNotExists`
/// (`lifecycle.go`, `syncReadyConditionFromPod`).
pub fn launcher_gone(vmi: &DynamicObject, transitions: &[(Phase, String)]) -> Value {
    let mut patch = phase(vmi, Phase::Failed, transitions);
    patch["status"]["conditions"] = json!([condition(
        "Ready",
        false,
        Some("PodNotExists"),
        &now_rfc3339()
    )]);
    patch
}

/// Sets the finalizers, conditional on the resourceVersion (someone else may change them too).
pub fn finalizers(vmi: &DynamicObject, finalizers: &[String]) -> Value {
    json!({
        "metadata": {
            "uid": vmi.uid(),
            "resourceVersion": vmi.resource_version(),
            "finalizers": finalizers,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(status: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
            "spec": {}, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn admit_wipes_a_copied_status_and_is_conditional() {
        let old = vmi(json!({"phase": "Running", "nodeName": "node-a"}));
        let p = admit(&old, &["f".into()], &[(Phase::Pending, "t".into())]);
        assert_eq!(p["metadata"]["resourceVersion"], "7");
        assert_eq!(p["status"]["phase"], "Pending");
        assert_eq!(p["status"]["nodeName"], Value::Null);
        assert!(p["status"].as_object().unwrap().contains_key("nodeName"));
        assert_eq!(
            p["status"]["phaseTransitionTimestamps"],
            json!([{"phase": "Pending", "phaseTransitionTimestamp": "t"}])
        );
    }

    #[test]
    fn scheduled_sets_node_in_status_and_label() {
        let p = scheduled(&vmi(json!({})), "node-c", &[]);
        assert_eq!(
            (
                &p["status"]["nodeName"],
                &p["metadata"]["labels"][NODE_LABEL]
            ),
            (&json!("node-c"), &json!("node-c"))
        );
        assert_eq!(p["metadata"]["uid"], "u1");
    }

    #[test]
    fn running_has_an_ip_and_is_not_ready_yet_then_ready_is_true() {
        let p = running(&vmi(json!({})), "10.244.0.2", "02:00:00:00:00:02", &[]);
        assert_eq!(p["status"]["interfaces"][0]["ipAddress"], "10.244.0.2");
        assert_eq!(p["status"]["interfaces"][0]["name"], "default");
        assert_eq!(p["status"]["conditions"][0]["status"], "False");
        let r = ready(&vmi(json!({})));
        let types: Vec<_> = r["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["type"].clone(), c["status"].clone()))
            .collect();
        assert_eq!(
            types,
            [
                (json!("Ready"), json!("True")),
                (json!("AgentConnected"), json!("True"))
            ]
        );
    }

    #[test]
    fn timestamps_have_whole_seconds() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
    }
}
