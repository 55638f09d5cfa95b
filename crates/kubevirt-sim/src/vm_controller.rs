//! The VM controller: keeps a VM's VMI in line with its runStrategy and state change requests
//! (see `run_strategy`), and keeps the VM's status (printableStatus, ready, created) current.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
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
        change_requests, vm_resource, vmi_resource, ChangeRequest, RunStrategy, VmiFacts,
        VM_FINALIZER,
    },
    log::EventLog,
    retry::{Backoff, Error},
    run_strategy::{plan, printable_status, Decision, VmFacts},
    vmi_status::now_rfc3339,
};

pub struct VmController {
    client: Client,
    log: EventLog,
    backoff: Backoff,
    /// When each VM (by UID) was first seen without the VMI it should have (RECREATE_DELAY).
    missing_since: Mutex<HashMap<String, Instant>>,
}

/// Runs until the future is dropped.
pub async fn run(client: Client, log: EventLog) {
    let vms: Api<DynamicObject> = Api::all_with(client.clone(), &vm_resource());
    let vmis: Api<DynamicObject> = Api::all_with(client.clone(), &vmi_resource());
    let ctx = Arc::new(VmController {
        client,
        log,
        backoff: Backoff::default(),
        missing_since: Mutex::default(),
    });
    Controller::new_with(vms, watcher::Config::default(), vm_resource())
        .owns_with(vmis, vmi_resource(), watcher::Config::default())
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
        let vmi = vmis.get_opt(&name).await.map_err(|e| ("read VMI of", e))?;
        let vmi = vmi.as_ref().map(VmiFacts::of);
        let ours = vmi
            .as_ref()
            .filter(|v| v.controller_uid.as_deref() == Some(vm_uid.as_str()));
        let deleting = vm.metadata.deletion_timestamp.is_some();
        let facts = VmFacts {
            strategy: RunStrategy::of_spec(&vm.data["spec"]),
            recorded: vm.data["status"]["runStrategy"]
                .as_str()
                .and_then(RunStrategy::parse),
            requests: change_requests(&vm),
            deleting,
        };
        if !deleting && !vm.finalizers().iter().any(|f| f == VM_FINALIZER) {
            let mut finalizers = vm.finalizers().to_vec();
            finalizers.push(VM_FINALIZER.into());
            let patch = json!({"metadata": {"resourceVersion": vm.resource_version(), "finalizers": finalizers}});
            vm = vms
                .patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("add finalizer to VM", e))?;
        }
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
        if plan.decision != Decision::Create {
            self.missing_since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&vm_uid);
        }
        match &plan.decision {
            Decision::Create => {
                starting = true;
                if let Some(wait) = self.recreate_wait(&vm) {
                    action = Action::requeue(wait);
                } else {
                    let created = vmis
                        .create(&crate::post_params(), &vmi_from_template(&vm))
                        .await
                        .map_err(|e| ("create VMI for", e))?;
                    self.missing_since
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&vm_uid);
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
            Decision::Delete { uid } => {
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
                        json!({"by": "vm-controller"}),
                    ),
                    Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
                    Err(e) => return Err(("delete VMI of", e)),
                }
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
        let printable = printable_status(deleting, ours, starting);
        if let Some(patch) = summary_patch(&vm, printable, ours, facts.strategy) {
            vms.patch_status(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("update status of VM", e))?;
        }
        Ok(action)
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

    /// With `RECREATE_DELAY` on the VM: how much longer to wait before creating the VMI.
    fn recreate_wait(&self, vm: &DynamicObject) -> Option<Duration> {
        let delay = knobs::duration(vm.annotations(), knobs::RECREATE_DELAY)?;
        let now = Instant::now();
        let mut missing = self.missing_since.lock().unwrap_or_else(|p| p.into_inner());
        let since = *missing.entry(vm.uid().unwrap_or_default()).or_insert(now);
        (since + delay)
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
    }
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

/// The status patch that brings printableStatus, ready, created, runStrategy and the Ready
/// condition up to date; None when they already are.
pub fn summary_patch(
    vm: &DynamicObject,
    printable: &str,
    vmi: Option<&VmiFacts>,
    strategy: Option<RunStrategy>,
) -> Option<Value> {
    let status = &vm.data["status"];
    let ready = vmi.is_some_and(|v| v.ready && !v.deleting);
    let created = vmi.is_some();
    let strategy = strategy.map(RunStrategy::as_str);
    let ready_status = if ready { "True" } else { "False" };
    let condition_unchanged = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .filter(|c| c["status"] == ready_status);
    let up_to_date = status["printableStatus"] == printable
        && status["ready"].as_bool().unwrap_or(false) == ready
        && status["created"].as_bool().unwrap_or(false) == created
        && (strategy.is_none() || status["runStrategy"].as_str() == strategy)
        && condition_unchanged.is_some();
    if up_to_date {
        return None;
    }
    let condition = json!({
        "type": "Ready",
        "status": ready_status,
        "lastProbeTime": null,
        "lastTransitionTime": condition_unchanged.map_or_else(|| json!(now_rfc3339()), |c| c["lastTransitionTime"].clone()),
    });
    let mut patch = json!({"status": {
        "printableStatus": printable,
        // KubeVirt omits these when false.
        "ready": if ready { json!(true) } else { Value::Null },
        "created": if created { json!(true) } else { Value::Null },
        "conditions": [condition],
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
    fn the_summary_is_written_only_when_it_changes() {
        let running = VmiFacts {
            uid: "u".into(),
            phase: Some(Phase::Running),
            deleting: false,
            ready: true,
            controller_uid: None,
        };
        let patch = summary_patch(
            &vm(json!({})),
            "Running",
            Some(&running),
            Some(RunStrategy::Always),
        )
        .unwrap();
        assert_eq!(patch["status"]["ready"], true);
        assert_eq!(patch["status"]["runStrategy"], "Always");
        let current = vm(patch["status"].clone());
        assert_eq!(
            summary_patch(
                &current,
                "Running",
                Some(&running),
                Some(RunStrategy::Always)
            ),
            None
        );
        let stopped = summary_patch(&current, "Stopped", None, Some(RunStrategy::Always)).unwrap();
        assert_eq!(
            (&stopped["status"]["ready"], &stopped["status"]["created"]),
            (&Value::Null, &Value::Null)
        );
        assert_eq!(stopped["status"]["conditions"][0]["status"], "False");
    }
}
