//! The VirtualMachineInstanceReplicaSet controller: keeps `spec.replicas` VMIs matching
//! `spec.selector`, created from `spec.template` with generated names (`<set name>` plus five
//! random characters, the API server's generateName), as KubeVirt's `pkg/virt-controller/watch`
//! replica set controller does. A VMI stops counting as soon as it has a deletionTimestamp, so
//! the replacement is created without waiting for the old one to go; finished VMIs are deleted.
//!
//! Not simulated: adopting orphan VMIs that match the selector, and garbage collection (no
//! kube-controller-manager runs here: deleting a replica set leaves its VMIs).

use std::{collections::BTreeMap, sync::Arc};

use futures::StreamExt;
use kube::{
    api::{Api, DeleteParams, DynamicObject, ListParams, Patch, Preconditions},
    runtime::{controller::Action, watcher, Controller},
    Client, ResourceExt,
};
use serde_json::{json, Value};

use crate::{
    api_code,
    kubevirt::{vmi_resource, vmirs_resource, VmiFacts},
    log::EventLog,
    retry::{Backoff, Error},
};

pub const KIND: &str = "VirtualMachineInstanceReplicaSet";

struct Ctx {
    client: Client,
    log: EventLog,
    backoff: Backoff,
}

/// Runs until the future is dropped.
pub async fn run(client: Client, log: EventLog) {
    let sets: Api<DynamicObject> = Api::all_with(client.clone(), &vmirs_resource());
    let vmis: Api<DynamicObject> = Api::all_with(client.clone(), &vmi_resource());
    let ctx = Arc::new(Ctx {
        client,
        log,
        backoff: Backoff::default(),
    });
    Controller::new_with(sets, watcher::Config::default(), vmirs_resource())
        .owns_with(vmis, vmi_resource(), watcher::Config::default())
        .trigger_backoff(crate::retry::Reconnect::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            crate::retry::report("VirtualMachineInstanceReplicaSet", result.map(|_| ()));
            std::future::ready(())
        })
        .await;
}

async fn reconcile(set: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = set.uid().unwrap_or_default();
    let (namespace, name) = (set.namespace().unwrap_or_default(), set.name_any());
    let action = sync(&ctx, &namespace, &name, set.uid().as_deref())
        .await
        .map_err(|(action, e)| Error::new(action, &namespace, &name, e))?;
    ctx.backoff.reset(&key);
    Ok(action)
}

fn error_policy(set: Arc<DynamicObject>, error: &Error, ctx: Arc<Ctx>) -> Action {
    let delay = ctx.backoff.next(&set.uid().unwrap_or_default());
    tracing::warn!("{error}; retrying in {delay:?}");
    Action::requeue(delay)
}

/// What the controller does to one replica set's VMIs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// How many VMIs to create.
    pub create: usize,
    /// VMIs (name, UID) to delete: finished ones, and the surplus.
    pub delete: Vec<(String, String)>,
    /// `status.replicas` and `status.readyReplicas` once that is done.
    pub replicas: usize,
    pub ready: usize,
}

/// `vmis`: the set's own VMIs (name, facts). Surplus goes newest-last-first: the VMIs that are
/// not Ready yet go before the Ready ones, as KubeVirt prefers.
pub fn plan(replicas: usize, paused: bool, vmis: &[(String, VmiFacts)]) -> Plan {
    let finished: Vec<(String, String)> = vmis
        .iter()
        .filter(|(_, v)| !v.deleting && v.is_final())
        .map(|(n, v)| (n.clone(), v.uid.clone()))
        .collect();
    let mut active: Vec<&(String, VmiFacts)> = vmis
        .iter()
        .filter(|(_, v)| !v.deleting && !v.is_final())
        .collect();
    let ready = |v: &VmiFacts| v.ready && v.phase == Some(crate::kubevirt::Phase::Running);
    let mut plan = Plan {
        delete: finished,
        ..Plan::default()
    };
    if !paused {
        if active.len() < replicas {
            plan.create = replicas - active.len();
        } else {
            // Not Ready first, then by name: deterministic.
            active.sort_by_key(|(n, v)| (ready(v), n.clone()));
            let surplus = active.len() - replicas;
            plan.delete.extend(
                active
                    .drain(..surplus)
                    .map(|(n, v)| (n.clone(), v.uid.clone())),
            );
        }
    }
    plan.replicas = active.len() + plan.create;
    plan.ready = active.iter().filter(|(_, v)| ready(v)).count();
    plan
}

/// A label selector (`matchLabels`, `matchExpressions`) in the API's query syntax; None when it
/// can't be expressed (an unknown operator): then nothing matches, as KubeVirt treats it.
pub fn selector_query(selector: &Value) -> Option<String> {
    let mut terms: Vec<String> = selector["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str()?;
        let values: Vec<&str> = e["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        terms.push(match e["operator"].as_str()? {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        });
    }
    Some(terms.join(","))
}

/// The VMI the set creates: the template, `generateName` = the set's name, and an owner
/// reference that makes the set its controller.
pub fn vmi_from_template(set: &DynamicObject) -> Value {
    let template = &set.data["spec"]["template"];
    let mut metadata = json!({
        "generateName": set.name_any(),
        "namespace": set.namespace(),
        "ownerReferences": [{
            "apiVersion": "kubevirt.io/v1",
            "kind": KIND,
            "name": set.name_any(),
            "uid": set.uid(),
            "controller": true,
            "blockOwnerDeletion": true,
        }],
    });
    for field in ["labels", "annotations"] {
        if let Some(v) = template["metadata"].get(field).filter(|v| v.is_object()) {
            metadata[field] = v.clone();
        }
    }
    json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

type Failed = (&'static str, kube::Error);

async fn sync(ctx: &Ctx, namespace: &str, name: &str, uid: Option<&str>) -> Result<Action, Failed> {
    let sets: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &vmirs_resource());
    // A fresh read: a stale replica count must never create or delete a VMI.
    let Some(set) = sets
        .get_opt(name)
        .await
        .map_err(|e| ("read replica set", e))?
        .filter(|s| s.uid().as_deref() == uid)
    else {
        return Ok(Action::await_change());
    };
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Some(selector) = selector_query(&set.data["spec"]["selector"]) else {
        tracing::warn!("replica set {namespace}/{name}: unsupported selector; leaving it alone");
        return Ok(Action::await_change());
    };
    let set_uid = set.uid().unwrap_or_default();
    let vmis: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &vmi_resource());
    let owned: Vec<(String, VmiFacts)> = vmis
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ("list VMIs of replica set", e))?
        .items
        .iter()
        .filter(|v| {
            v.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == set_uid)
        })
        .map(|v| (v.name_any(), VmiFacts::of(v)))
        .collect();
    let replicas = set.data["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let paused = set.data["spec"]["paused"].as_bool().unwrap_or(false);
    let plan = plan(replicas, paused, &owned);
    for _ in 0..plan.create {
        let vmi: DynamicObject = serde_json::from_value(vmi_from_template(&set))
            .map_err(|e| ("build a VMI for replica set", kube::Error::SerdeError(e)))?;
        let created = vmis
            .create(&crate::post_params(), &vmi)
            .await
            .map_err(|e| ("create a VMI for replica set", e))?;
        ctx.log.record(
            "created",
            namespace,
            &created.name_any(),
            &created.uid().unwrap_or_default(),
            json!({"replicaSet": name}),
        );
    }
    for (vmi_name, vmi_uid) in &plan.delete {
        let only_this = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(vmi_uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match vmis.delete(vmi_name, &only_this).await {
            Ok(_) => ctx.log.record(
                "deleted",
                namespace,
                vmi_name,
                vmi_uid,
                json!({"by": "replica-set-controller", "replicaSet": name}),
            ),
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
            Err(e) => return Err(("delete a VMI of replica set", e)),
        }
    }
    let status = &set.data["status"];
    let wanted = json!({
        "replicas": plan.replicas,
        "readyReplicas": plan.ready,
        "labelSelector": selector,
    });
    let current: BTreeMap<&str, &Value> = ["replicas", "readyReplicas", "labelSelector"]
        .into_iter()
        .map(|k| (k, &status[k]))
        .collect();
    let unchanged = current.iter().all(|(k, v)| **v == wanted[*k]);
    if !unchanged {
        let patch = json!({"status": wanted});
        sets.patch_status(name, &crate::patch_params(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ("update status of replica set", e))?;
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubevirt::Phase;

    fn vmi(name: &str, phase: Phase, ready: bool, deleting: bool) -> (String, VmiFacts) {
        (
            name.to_string(),
            VmiFacts {
                uid: format!("uid-{name}"),
                phase: Some(phase),
                deleting,
                ready,
                controller_uid: Some("set".into()),
                was_running: phase >= Phase::Running,
                holds_vm_finalizer: false,
                grace_seconds: None,
                paused: false,
                migrating: false,
            },
        )
    }

    #[test]
    fn a_terminating_vmi_stops_counting_at_once() {
        let vmis = [
            vmi("weba", Phase::Running, true, false),
            vmi("webb", Phase::Running, true, true),
            vmi("webc", Phase::Running, true, false),
        ];
        let p = plan(3, false, &vmis);
        assert_eq!(
            (p.create, p.delete.len(), p.replicas, p.ready),
            (1, 0, 3, 2)
        );
    }

    #[test]
    fn finished_vmis_are_deleted_and_replaced() {
        let vmis = [
            vmi("weba", Phase::Failed, false, false),
            vmi("webb", Phase::Running, true, false),
        ];
        let p = plan(2, false, &vmis);
        assert_eq!(p.create, 1);
        assert_eq!(p.delete, [("weba".into(), "uid-weba".into())]);
    }

    #[test]
    fn the_surplus_goes_not_ready_first() {
        let vmis = [
            vmi("weba", Phase::Running, true, false),
            vmi("webb", Phase::Scheduling, false, false),
            vmi("webc", Phase::Running, true, false),
        ];
        let p = plan(1, false, &vmis);
        assert_eq!(
            p.delete,
            [
                ("webb".into(), "uid-webb".into()),
                ("weba".into(), "uid-weba".into())
            ]
        );
        assert_eq!((p.create, p.replicas, p.ready), (0, 1, 1));
    }

    #[test]
    fn a_paused_set_neither_creates_nor_deletes_running_vmis() {
        let vmis = [vmi("weba", Phase::Running, true, false)];
        assert_eq!(
            plan(3, true, &vmis),
            Plan {
                create: 0,
                delete: vec![],
                replicas: 1,
                ready: 1
            }
        );
    }

    #[test]
    fn selectors_become_label_queries() {
        let s = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"}
            ]
        });
        assert_eq!(
            selector_query(&s).as_deref(),
            Some("app=web,tier in (a,b),!canary")
        );
        let odd = json!({"matchExpressions": [{"key": "k", "operator": "Near"}]});
        assert_eq!(selector_query(&odd), None);
    }

    #[test]
    fn the_vmi_has_a_generated_name_and_the_set_as_controller() {
        let set: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": KIND,
            "metadata": {"name": "web", "namespace": "prod", "uid": "set-uid"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"domain": {}}}}
        }))
        .unwrap();
        let vmi = vmi_from_template(&set);
        assert_eq!(vmi["metadata"]["generateName"], "web");
        assert!(vmi["metadata"].get("name").is_none());
        let owner = &vmi["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                &owner["kind"],
                &owner["uid"],
                &owner["controller"],
                &owner["blockOwnerDeletion"]
            ),
            (&json!(KIND), &json!("set-uid"), &json!(true), &json!(true))
        );
        assert_eq!(vmi["metadata"]["labels"]["app"], "web");
        assert_eq!(vmi["spec"], json!({"domain": {}}));
    }
}
