//! The VM controller: keeps a VM's VMI in line with its runStrategy and state change requests
//! (see `run_strategy`), and keeps the VM's status (printableStatus, ready, created) current.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use futures::StreamExt;
use kube::{
    api::{Api, DeleteParams, DynamicObject, Patch, Preconditions},
    runtime::{controller::Action, watcher, Controller},
    Client, ResourceExt,
};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    api_code, knobs,
    kubevirt::{
        change_requests, condition_is_true, vm_resource, vmi_resource, ChangeRequest, RunStrategy,
        VmiFacts, VM_FINALIZER,
    },
    log::EventLog,
    retry::{Backoff, Error},
    run_strategy::{plan, printable_status, Decision, VmFacts, Why},
    vmi_status::now_rfc3339,
};

pub struct VmController {
    client: Client,
    log: EventLog,
    backoff: Backoff,
    /// When each VM (by UID) was first seen without the VMI it should have (RECREATE_DELAY).
    missing_since: Mutex<HashMap<String, Instant>>,
    /// When each Halted VM (by UID) was first seen with a VMI to stop (STOP_DELAY).
    halted_since: Mutex<HashMap<String, Instant>>,
    /// VMs (by UID) whose `START_FAILURE` record was written, with the VMI they had then.
    staged: Mutex<HashMap<String, Option<String>>>,
}

/// The VM condition under which KubeVirt starts nothing (and virt-api refuses `start`).
pub const MANUAL_RECOVERY_REQUIRED: &str = "ManualRecoveryRequired";

/// Runs until the future is dropped.
pub async fn run(client: Client, log: EventLog) {
    let vms: Api<DynamicObject> = Api::all_with(client.clone(), &vm_resource());
    let vmis: Api<DynamicObject> = Api::all_with(client.clone(), &vmi_resource());
    let ctx = Arc::new(VmController {
        client,
        log,
        backoff: Backoff::default(),
        missing_since: Mutex::default(),
        halted_since: Mutex::default(),
        staged: Mutex::default(),
    });
    Controller::new_with(vms, watcher::Config::default(), vm_resource())
        .owns_with(vmis, vmi_resource(), watcher::Config::default())
        .trigger_backoff(crate::retry::Reconnect::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            crate::retry::report("VM", result.map(|_| ()));
            std::future::ready(())
        })
        .await;
}

async fn reconcile(vm: Arc<DynamicObject>, ctx: Arc<VmController>) -> Result<Action, Error> {
    let key = vm.uid().unwrap_or_default();
    let action = ctx.drive((*vm).clone()).await?;
    ctx.backoff.reset(&key);
    Ok(action)
}

fn error_policy(vm: Arc<DynamicObject>, error: &Error, ctx: Arc<VmController>) -> Action {
    let delay = ctx.backoff.next(&vm.uid().unwrap_or_default());
    tracing::warn!("{error}; retrying in {delay:?}");
    Action::requeue(delay)
}

impl VmController {
    /// Acts on a fresh read of the VM, not on the watch cache's copy: a stale start request or
    /// runStrategy must never start a VMI.
    async fn drive(&self, cached: DynamicObject) -> Result<Action, Error> {
        let (namespace, name) = (cached.namespace().unwrap_or_default(), cached.name_any());
        let vms: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &vm_resource());
        let mut retries = 0;
        loop {
            let vm = match vms
                .get_opt(&name)
                .await
                .map_err(|e| Error::new("read VM", &namespace, &name, e))?
            {
                Some(vm) if vm.uid() == cached.uid() => vm,
                _ => return Ok(Action::await_change()),
            };
            match self.sync(&vms, &vm).await {
                Ok(action) => return Ok(action),
                Err((_, e)) if api_code(&e) == Some(404) => return Ok(Action::await_change()),
                // A write raced with virt-api or a user: look again.
                Err((_, e)) if api_code(&e) == Some(409) && retries < 5 => retries += 1,
                Err((action, e)) => return Err(Error::new(action, &namespace, &name, e)),
            }
        }
    }

    async fn sync(
        &self,
        vms: &Api<DynamicObject>,
        vm: &DynamicObject,
    ) -> Result<Action, (&'static str, kube::Error)> {
        let mut vm = vm.clone();
        let (namespace, name, vm_uid) = (
            vm.namespace().unwrap_or_default(),
            vm.name_any(),
            vm.uid().unwrap_or_default(),
        );
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &vmi_resource());
        let vmi_object = vmis.get_opt(&name).await.map_err(|e| ("read VMI of", e))?;
        let vmi = vmi_object.as_ref().map(VmiFacts::of);
        let ours = vmi
            .as_ref()
            .filter(|v| v.controller_uid.as_deref() == Some(vm_uid.as_str()));
        if let (Some(v), Some(object)) = (ours, &vmi_object) {
            if (v.deleting || v.is_final()) && v.holds_vm_finalizer {
                self.release_vmi(&vmis, object).await?;
            }
        }
        let deleting = vm.metadata.deletion_timestamp.is_some();
        let strategy = RunStrategy::of_spec(&vm.data["spec"]);
        if !deleting && !vm.finalizers().iter().any(|f| f == VM_FINALIZER) {
            let mut finalizers = vm.finalizers().to_vec();
            finalizers.push(VM_FINALIZER.into());
            let patch = json!({"metadata": {"resourceVersion": vm.resource_version(), "finalizers": finalizers}});
            vm = vms
                .patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("add finalizer to VM", e))?;
        }
        if let Some(patch) = self.start_failure_patch(&vm, strategy, ours) {
            vm = vms
                .patch_status(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("update start failure of VM", e))?;
        }
        let manual_recovery = knobs::flag(vm.annotations(), knobs::MANUAL_RECOVERY_REQUIRED)
            || condition_is_true(&vm.data, MANUAL_RECOVERY_REQUIRED);
        let facts = VmFacts {
            strategy,
            recorded: vm.data["status"]["runStrategy"]
                .as_str()
                .and_then(RunStrategy::parse),
            requests: change_requests(&vm),
            deleting,
            backoff_left: backoff_left(&vm.data["status"]["startFailure"], SystemTime::now()),
            manual_recovery,
        };
        let plan = match (&vmi, ours) {
            (Some(foreign), None) => {
                tracing::debug!("VMI {namespace}/{name} ({}) is not controlled by VM {vm_uid}: leaving both alone", foreign.uid);
                crate::run_strategy::Plan {
                    decision: Decision::Nothing,
                    requests: facts.requests.clone(),
                }
            }
            _ => plan(&facts, ours),
        };
        let mut action = Action::await_change();
        let mut starting = false;
        if !matches!(plan.decision, Decision::Create | Decision::Backoff(_)) {
            forget(&self.missing_since, &vm_uid);
        }
        if !matches!(
            plan.decision,
            Decision::Delete {
                why: Why::Halted,
                ..
            }
        ) {
            forget(&self.halted_since, &vm_uid);
        }
        match &plan.decision {
            Decision::Backoff(left) => {
                starting = true;
                // KubeVirt requeues after the whole seconds left; so does the simulator.
                action = Action::requeue(*left);
                self.write_requests(vms, &vm, &facts.requests, &plan.requests)
                    .await?;
            }
            Decision::Create => {
                starting = true;
                if let Some(wait) = wait_for_knob(&self.missing_since, &vm, knobs::RECREATE_DELAY) {
                    action = Action::requeue(wait);
                } else {
                    let created = vmis
                        .create(&crate::post_params(), &vmi_from_template(&vm))
                        .await
                        .map_err(|e| ("create VMI for", e))?;
                    forget(&self.missing_since, &vm_uid);
                    self.log.record(
                        "created",
                        &namespace,
                        &name,
                        &created.uid().unwrap_or_default(),
                        json!({"vm": name, "runStrategy": facts.strategy.map(RunStrategy::as_str)}),
                    );
                    self.write_requests(vms, &vm, &facts.requests, &plan.requests)
                        .await?;
                }
            }
            Decision::Delete { uid, why } => {
                let wait = match why {
                    Why::Halted => wait_for_knob(&self.halted_since, &vm, knobs::STOP_DELAY),
                    _ => None,
                };
                if let Some(wait) = wait {
                    action = Action::requeue(wait);
                } else {
                    self.write_requests(vms, &vm, &facts.requests, &plan.requests)
                        .await?;
                    let only_this = DeleteParams {
                        preconditions: Some(Preconditions {
                            uid: Some(uid.clone()),
                            resource_version: None,
                        }),
                        ..DeleteParams::default()
                    };
                    match vmis.delete(&name, &only_this).await {
                        Ok(_) => self.log.record(
                            "deleted",
                            &namespace,
                            &name,
                            uid,
                            json!({"by": "vm-controller", "why": why.as_str()}),
                        ),
                        Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
                        Err(e) => return Err(("delete VMI of", e)),
                    }
                }
            }
            Decision::SwitchToAlways => {
                // As KubeVirt: the field the VM uses, never both.
                let spec = if vm.data["spec"].get("runStrategy").is_some() {
                    json!({"runStrategy": RunStrategy::Always.as_str()})
                } else {
                    json!({"running": true})
                };
                let patch =
                    json!({"metadata": {"resourceVersion": vm.resource_version()}, "spec": spec});
                vms.patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| ("switch to Always the VM", e))?;
                return Ok(Action::await_change());
            }
            Decision::ReleaseVm => {
                let kept: Vec<&String> = vm
                    .finalizers()
                    .iter()
                    .filter(|f| *f != VM_FINALIZER)
                    .collect();
                if kept.len() != vm.finalizers().len() {
                    let patch = json!({"metadata": {"resourceVersion": vm.resource_version(), "finalizers": kept}});
                    vms.patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
                        .await
                        .map_err(|e| ("remove finalizer from VM", e))?;
                }
                return Ok(Action::await_change());
            }
            Decision::Nothing => {
                self.write_requests(vms, &vm, &facts.requests, &plan.requests)
                    .await?
            }
        }
        let crash_loop = crash_loop(&vm.data["status"]["startFailure"], facts.strategy);
        let printable = printable_status(deleting, ours, starting, crash_loop);
        let summary = Summary {
            printable,
            vmi: ours,
            strategy: facts.strategy,
            manual_recovery: knobs::flag(vm.annotations(), knobs::MANUAL_RECOVERY_REQUIRED),
        };
        if let Some(patch) = summary_patch(&vm, &summary) {
            vms.patch_status(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("update status of VM", e))?;
        }
        Ok(action)
    }

    /// Removes the VM controller's finalizer from a VMI that is going (or finished), as KubeVirt
    /// does once it has seen it; the last finalizer out makes the VMI go.
    async fn release_vmi(
        &self,
        vmis: &Api<DynamicObject>,
        vmi: &DynamicObject,
    ) -> Result<(), (&'static str, kube::Error)> {
        let kept: Vec<String> = vmi
            .finalizers()
            .iter()
            .filter(|f| *f != VM_FINALIZER)
            .cloned()
            .collect();
        let patch = crate::vmi_status::finalizers(vmi, &kept);
        match vmis
            .patch(
                &vmi.name_any(),
                &crate::patch_params(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) if kept.is_empty() && vmi.metadata.deletion_timestamp.is_some() => {
                self.log.record(
                    "gone",
                    &vmi.namespace().unwrap_or_default(),
                    &vmi.name_any(),
                    &vmi.uid().unwrap_or_default(),
                    json!({}),
                );
                Ok(())
            }
            Ok(_) => Ok(()),
            // Gone already, or changed: the next reconcile looks again.
            Err(e) if matches!(api_code(&e), Some(404 | 409 | 422)) => Ok(()),
            Err(e) => Err(("remove the VM finalizer from the VMI of", e)),
        }
    }

    /// `START_FAILURE` stages `status.startFailure` once per VM; without it, the record is
    /// cleared as KubeVirt's `syncStartFailureStatus` does: once a VMI of the VM was Running, or
    /// under a strategy that doesn't restart. (The simulator never records a failure itself:
    /// its VMIs only fail after Running.)
    fn start_failure_patch(
        &self,
        vm: &DynamicObject,
        strategy: Option<RunStrategy>,
        vmi: Option<&VmiFacts>,
    ) -> Option<Value> {
        let vm_uid = vm.uid().unwrap_or_default();
        let record = &vm.data["status"]["startFailure"];
        let restarts = matches!(
            strategy,
            Some(RunStrategy::Always | RunStrategy::RerunOnFailure | RunStrategy::Once)
        );
        let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((count, backoff)) = knobs::start_failure(vm.annotations()) {
            if restarts && !staged.contains_key(&vm_uid) {
                staged.insert(vm_uid, vmi.map(|v| v.uid.clone()));
                let retry_after = crate::vmi_status::rfc3339(SystemTime::now() + backoff);
                return Some(json!({"status": {"startFailure": {
                    "consecutiveFailCount": count,
                    "retryAfterTimestamp": retry_after,
                }}}));
            }
        }
        if record.is_null() {
            return None;
        }
        let staged_vmi = staged.get(&vm_uid).cloned().flatten();
        let ran = vmi.is_some_and(|v| v.was_running && Some(&v.uid) != staged_vmi.as_ref());
        (ran || !restarts).then(|| json!({"status": {"startFailure": null}}))
    }

    /// Writes `status.stateChangeRequests` if they changed, conditional on the resourceVersion.
    async fn write_requests(
        &self,
        vms: &Api<DynamicObject>,
        vm: &DynamicObject,
        before: &[ChangeRequest],
        after: &[ChangeRequest],
    ) -> Result<(), (&'static str, kube::Error)> {
        if before == after {
            return Ok(());
        }
        let requests = if after.is_empty() {
            Value::Null
        } else {
            json!(after)
        };
        let patch = json!({"metadata": {"resourceVersion": vm.resource_version()}, "status": {"stateChangeRequests": requests}});
        vms.patch_status(
            &vm.name_any(),
            &crate::patch_params(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|e| ("update state change requests of VM", e))?;
        Ok(())
    }
}

/// With the duration knob `key` on the VM: how much longer to wait (from when the controller
/// first wanted to act, in `since`) before acting.
fn wait_for_knob(
    since: &Mutex<HashMap<String, Instant>>,
    vm: &DynamicObject,
    key: &str,
) -> Option<Duration> {
    let delay = knobs::duration(vm.annotations(), key)?;
    let now = Instant::now();
    let mut since = since.lock().unwrap_or_else(|p| p.into_inner());
    let first = *since.entry(vm.uid().unwrap_or_default()).or_insert(now);
    (first + delay)
        .checked_duration_since(now)
        .filter(|d| !d.is_zero())
}

fn forget(since: &Mutex<HashMap<String, Instant>>, vm_uid: &str) {
    since
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(vm_uid);
}

/// What is left of a `status.startFailure` back-off at `now`, in whole seconds as KubeVirt's
/// `startFailureBackoffTimeLeft` counts (None: no back-off).
pub fn backoff_left(start_failure: &Value, now: SystemTime) -> Option<Duration> {
    let retry_after = start_failure["retryAfterTimestamp"].as_str()?;
    let retry_after = humantime::parse_rfc3339_weak(retry_after).ok()?;
    let secs = |t: SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    let left = secs(retry_after).saturating_sub(secs(now));
    (left > 0).then(|| Duration::from_secs(left))
}

/// KubeVirt's `isVirtualMachineStatusCrashLoopBackOff`, given that no VMI runs.
fn crash_loop(start_failure: &Value, strategy: Option<RunStrategy>) -> bool {
    start_failure["consecutiveFailCount"]
        .as_i64()
        .is_some_and(|n| n > 0)
        && matches!(
            strategy,
            Some(RunStrategy::Always | RunStrategy::RerunOnFailure | RunStrategy::Once)
        )
}

/// The VMI KubeVirt creates for a VM: the template's metadata and spec, the VM's name, and an
/// ownerReference that makes the VM its controller.
pub fn vmi_from_template(vm: &DynamicObject) -> DynamicObject {
    let template = &vm.data["spec"]["template"];
    let mut metadata = json!({
        "name": vm.name_any(),
        "namespace": vm.namespace(),
        "ownerReferences": [{
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "name": vm.name_any(),
            "uid": vm.uid(),
            "controller": true,
            "blockOwnerDeletion": true,
        }],
        // So that the VM controller sees the VMI go (KubeVirt's `startVMI` adds it too).
        "finalizers": [VM_FINALIZER],
    });
    for field in ["labels", "annotations"] {
        if let Some(v) = template["metadata"].get(field).filter(|v| v.is_object()) {
            metadata[field] = v.clone();
        }
    }
    let vmi = json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    serde_json::from_value(vmi)
        .unwrap_or_else(|_| DynamicObject::new(&vm.name_any(), &vmi_resource()))
}

/// What the VM's status should say.
pub struct Summary<'a> {
    pub printable: &'a str,
    pub vmi: Option<&'a VmiFacts>,
    pub strategy: Option<RunStrategy>,
    /// `MANUAL_RECOVERY_REQUIRED` is staged: the condition must be there.
    pub manual_recovery: bool,
}

/// The status patch that brings printableStatus, ready, created, runStrategy and the Ready
/// (and staged ManualRecoveryRequired) conditions up to date; None when they already are.
/// Other conditions are kept: a merge patch replaces the whole list.
pub fn summary_patch(vm: &DynamicObject, summary: &Summary) -> Option<Value> {
    let status = &vm.data["status"];
    let vmi = summary.vmi;
    let ready = vmi.is_some_and(|v| v.ready && !v.deleting);
    let created = vmi.is_some();
    let strategy = summary.strategy.map(RunStrategy::as_str);
    let ready_status = if ready { "True" } else { "False" };
    let existing: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    let find = |type_: &str| existing.iter().find(|c| c["type"] == type_);
    let ready_unchanged = find("Ready").filter(|c| c["status"] == ready_status);
    let recovery_unchanged = !summary.manual_recovery
        || find(MANUAL_RECOVERY_REQUIRED).is_some_and(|c| c["status"] == "True");
    let up_to_date = status["printableStatus"] == summary.printable
        && status["ready"].as_bool().unwrap_or(false) == ready
        && status["created"].as_bool().unwrap_or(false) == created
        && (strategy.is_none() || status["runStrategy"].as_str() == strategy)
        && ready_unchanged.is_some()
        && recovery_unchanged;
    if up_to_date {
        return None;
    }
    let mut conditions: Vec<Value> = existing
        .iter()
        .filter(|c| {
            c["type"] != "Ready"
                && !(summary.manual_recovery && c["type"] == MANUAL_RECOVERY_REQUIRED)
        })
        .cloned()
        .collect();
    conditions.insert(
        0,
        json!({
            "type": "Ready",
            "status": ready_status,
            "lastProbeTime": null,
            "lastTransitionTime": ready_unchanged.map_or_else(|| json!(now_rfc3339()), |c| c["lastTransitionTime"].clone()),
        }),
    );
    if summary.manual_recovery {
        conditions.push(
            find(MANUAL_RECOVERY_REQUIRED)
                .filter(|c| c["status"] == "True")
                .cloned()
                .unwrap_or_else(|| {
                    json!({
                        "type": MANUAL_RECOVERY_REQUIRED,
                        "status": "True",
                        "reason": "VMI was removed or was final during the volume migration",
                        "lastProbeTime": null,
                        "lastTransitionTime": now_rfc3339(),
                    })
                }),
        );
    }
    let mut patch = json!({"status": {
        "printableStatus": summary.printable,
        // KubeVirt omits these when false.
        "ready": if ready { json!(true) } else { Value::Null },
        "created": if created { json!(true) } else { Value::Null },
        "conditions": conditions,
    }});
    if let Some(strategy) = strategy {
        patch["status"]["runStrategy"] = json!(strategy);
    }
    Some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubevirt::Phase;

    fn vm(status: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "vm-uid"},
            "spec": {"runStrategy": "Always", "template": {
                "metadata": {"labels": {"app": "db"}, "annotations": {"a": "b"}},
                "spec": {"domain": {"devices": {}}}
            }},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn the_vmi_takes_the_vm_name_template_and_a_controller_reference() {
        let vmi = vmi_from_template(&vm(json!({})));
        assert_eq!(vmi.name_any(), "db-0");
        assert_eq!(vmi.namespace().as_deref(), Some("prod"));
        assert_eq!(vmi.labels().get("app").map(String::as_str), Some("db"));
        assert_eq!(vmi.annotations().get("a").map(String::as_str), Some("b"));
        let owner = &vmi.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("VirtualMachine", "vm-uid", Some(true))
        );
        assert_eq!(vmi.data["spec"], json!({"domain": {"devices": {}}}));
        assert!(vmi.metadata.uid.is_none());
    }

    #[test]
    fn the_vmi_carries_the_vm_controller_finalizer() {
        let vmi = vmi_from_template(&vm(json!({})));
        assert_eq!(vmi.finalizers(), [VM_FINALIZER]);
    }

    fn running() -> VmiFacts {
        VmiFacts {
            uid: "u".into(),
            phase: Some(Phase::Running),
            deleting: false,
            ready: true,
            controller_uid: None,
            was_running: true,
            holds_vm_finalizer: true,
            grace_seconds: Some(30),
            paused: false,
            migrating: false,
        }
    }

    fn summary<'a>(printable: &'a str, vmi: Option<&'a VmiFacts>, recovery: bool) -> Summary<'a> {
        Summary {
            printable,
            vmi,
            strategy: Some(RunStrategy::Always),
            manual_recovery: recovery,
        }
    }

    #[test]
    fn the_summary_is_written_only_when_it_changes() {
        let running = running();
        let patch =
            summary_patch(&vm(json!({})), &summary("Running", Some(&running), false)).unwrap();
        assert_eq!(patch["status"]["ready"], true);
        assert_eq!(patch["status"]["runStrategy"], "Always");
        let current = vm(patch["status"].clone());
        assert_eq!(
            summary_patch(&current, &summary("Running", Some(&running), false)),
            None
        );
        let stopped = summary_patch(&current, &summary("Stopped", None, false)).unwrap();
        assert_eq!(
            (&stopped["status"]["ready"], &stopped["status"]["created"]),
            (&Value::Null, &Value::Null)
        );
        assert_eq!(stopped["status"]["conditions"][0]["status"], "False");
    }

    #[test]
    fn other_conditions_are_kept_and_manual_recovery_is_added() {
        let running = running();
        let other = json!({"type": "LiveMigratable", "status": "True"});
        let current = vm(json!({"conditions": [other]}));
        let patch = summary_patch(&current, &summary("Running", Some(&running), true)).unwrap();
        let types: Vec<&Value> = patch["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["type"])
            .collect();
        assert_eq!(
            types,
            [
                &json!("Ready"),
                &json!("LiveMigratable"),
                &json!(MANUAL_RECOVERY_REQUIRED)
            ]
        );
        let current = vm(patch["status"].clone());
        assert_eq!(
            summary_patch(&current, &summary("Running", Some(&running), true)),
            None
        );
    }

    #[test]
    fn the_back_off_counts_whole_seconds_left() {
        let now = humantime::parse_rfc3339("2026-11-25T10:00:00.900Z").unwrap();
        let record = |at: &str| json!({"consecutiveFailCount": 2, "retryAfterTimestamp": at});
        assert_eq!(
            backoff_left(&record("2026-11-25T10:00:30Z"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(backoff_left(&record("2026-11-25T10:00:00Z"), now), None);
        assert_eq!(backoff_left(&record("2026-11-25T09:00:00Z"), now), None);
        assert_eq!(backoff_left(&Value::Null, now), None);
        assert!(crash_loop(&record("x"), Some(RunStrategy::Once)));
        assert!(!crash_loop(&record("x"), Some(RunStrategy::Manual)));
        assert!(!crash_loop(&Value::Null, Some(RunStrategy::Always)));
    }
}
