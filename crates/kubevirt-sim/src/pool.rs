//! The VirtualMachinePool controller (`pool.kubevirt.io/v1beta1`): keeps VMs named
//! `<pool>-<n>`, n = 0..replicas-1, made from `spec.virtualMachineTemplate`, each with an owner
//! reference that makes the pool its controller. Their VMIs are the VM controller's business:
//! owned by the VM, following the VM's runStrategy like any other.
//!
//! Not simulated: adopting orphan VMs, pool update strategies, and garbage collection (deleting
//! a pool leaves its VMs; scaling down deletes the VMs with the highest indexes).

use std::sync::Arc;

use futures::StreamExt;
use kube::{
    api::{Api, DeleteParams, DynamicObject, ListParams, Patch, Preconditions},
    runtime::{controller::Action, watcher, Controller},
    Client, ResourceExt,
};
use serde_json::{json, Value};

use crate::{
    api_code,
    kubevirt::{vm_pool_resource, vm_resource},
    log::EventLog,
    replica_set::selector_query,
    retry::{Backoff, Error},
};

pub const KIND: &str = "VirtualMachinePool";
const API_VERSION: &str = "pool.kubevirt.io/v1beta1";

struct Ctx {
    client: Client,
    log: EventLog,
    backoff: Backoff,
}

/// Runs until the future is dropped.
pub async fn run(client: Client, log: EventLog) {
    let pools: Api<DynamicObject> = Api::all_with(client.clone(), &vm_pool_resource());
    let vms: Api<DynamicObject> = Api::all_with(client.clone(), &vm_resource());
    let ctx = Arc::new(Ctx {
        client,
        log,
        backoff: Backoff::default(),
    });
    Controller::new_with(pools, watcher::Config::default(), vm_pool_resource())
        .owns_with(vms, vm_resource(), watcher::Config::default())
        .trigger_backoff(crate::retry::Reconnect::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            crate::retry::report("VirtualMachinePool", result.map(|_| ()));
            std::future::ready(())
        })
        .await;
}

async fn reconcile(pool: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = pool.uid().unwrap_or_default();
    let (namespace, name) = (pool.namespace().unwrap_or_default(), pool.name_any());
    let action = sync(&ctx, &namespace, &name, pool.uid().as_deref())
        .await
        .map_err(|(action, e)| Error::new(action, &namespace, &name, e))?;
    ctx.backoff.reset(&key);
    Ok(action)
}

fn error_policy(pool: Arc<DynamicObject>, error: &Error, ctx: Arc<Ctx>) -> Action {
    let delay = ctx.backoff.next(&pool.uid().unwrap_or_default());
    tracing::warn!("{error}; retrying in {delay:?}");
    Action::requeue(delay)
}

/// The index of a pool's VM from its name (`<pool>-<n>`), if it is one.
pub fn index_of(pool: &str, vm: &str) -> Option<usize> {
    let n = vm.strip_prefix(pool)?.strip_prefix('-')?;
    (!n.starts_with('0') || n == "0").then(|| n.parse().ok())?
}

/// Which VM indexes to create and which VMs to delete, given the indexes that exist.
pub fn plan(replicas: usize, existing: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let create = (0..replicas).filter(|i| !existing.contains(i)).collect();
    let delete = existing
        .iter()
        .copied()
        .filter(|i| *i >= replicas)
        .collect();
    (create, delete)
}

/// The VM the pool creates at `index`: the template's metadata and spec, `<pool>-<index>`.
pub fn vm_from_template(pool: &DynamicObject, index: usize) -> Value {
    let template = &pool.data["spec"]["virtualMachineTemplate"];
    let mut metadata = json!({
        "name": format!("{}-{index}", pool.name_any()),
        "namespace": pool.namespace(),
        "ownerReferences": [{
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": pool.name_any(),
            "uid": pool.uid(),
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
        "kind": "VirtualMachine",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

type Failed = (&'static str, kube::Error);

async fn sync(ctx: &Ctx, namespace: &str, name: &str, uid: Option<&str>) -> Result<Action, Failed> {
    let pools: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &vm_pool_resource());
    let Some(pool) = pools
        .get_opt(name)
        .await
        .map_err(|e| ("read VM pool", e))?
        .filter(|p| p.uid().as_deref() == uid)
    else {
        return Ok(Action::await_change());
    };
    if pool.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pool_uid = pool.uid().unwrap_or_default();
    let vms: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &vm_resource());
    let owned: Vec<DynamicObject> = vms
        .list(&ListParams::default())
        .await
        .map_err(|e| ("list VMs of VM pool", e))?
        .items
        .into_iter()
        .filter(|vm| {
            vm.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == pool_uid)
        })
        .collect();
    let existing: Vec<usize> = owned
        .iter()
        .filter(|vm| vm.metadata.deletion_timestamp.is_none())
        .filter_map(|vm| index_of(name, &vm.name_any()))
        .collect();
    let replicas = pool.data["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let paused = pool.data["spec"]["paused"].as_bool().unwrap_or(false);
    let (create, delete) = if paused {
        (vec![], vec![])
    } else {
        plan(replicas, &existing)
    };
    for index in create {
        let vm: DynamicObject = serde_json::from_value(vm_from_template(&pool, index))
            .map_err(|e| ("build a VM for VM pool", kube::Error::SerdeError(e)))?;
        match vms.create(&crate::post_params(), &vm).await {
            Ok(created) => ctx.log.record(
                "vm-created",
                namespace,
                &created.name_any(),
                &created.uid().unwrap_or_default(),
                json!({"pool": name}),
            ),
            // A VM of that name that isn't the pool's: left alone, as KubeVirt does.
            Err(e) if api_code(&e) == Some(409) => {}
            Err(e) => return Err(("create a VM for VM pool", e)),
        }
    }
    for vm in owned.iter().filter(|vm| {
        index_of(name, &vm.name_any()).is_some_and(|i| delete.contains(&i))
            && vm.metadata.deletion_timestamp.is_none()
    }) {
        let only_this = DeleteParams {
            preconditions: Some(Preconditions {
                uid: vm.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match vms.delete(&vm.name_any(), &only_this).await {
            Ok(_) => {}
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
            Err(e) => return Err(("delete a VM of VM pool", e)),
        }
    }
    let ready = owned
        .iter()
        .filter(|vm| vm.data["status"]["ready"].as_bool().unwrap_or(false))
        .count();
    // Counted before this pass's creates and deletes: the watch brings them back here.
    let mut wanted = json!({"replicas": owned.len(), "readyReplicas": ready});
    if let Some(selector) = selector_query(&pool.data["spec"]["selector"]) {
        wanted["labelSelector"] = json!(selector);
    }
    let status = &pool.data["status"];
    let unchanged = ["replicas", "readyReplicas", "labelSelector"]
        .iter()
        .all(|k| status[*k] == wanted[*k]);
    if !unchanged {
        pools
            .patch_status(
                name,
                &crate::patch_params(),
                &Patch::Merge(&json!({"status": wanted})),
            )
            .await
            .map_err(|e| ("update status of VM pool", e))?;
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_names_are_pool_dash_index() {
        assert_eq!(index_of("pool", "pool-0"), Some(0));
        assert_eq!(index_of("pool", "pool-12"), Some(12));
        for other in ["pool", "pool-", "pool-01", "pool-x", "poolx-1", "other-1"] {
            assert_eq!(index_of("pool", other), None, "{other}");
        }
    }

    #[test]
    fn the_pool_fills_missing_indexes_and_drops_the_highest() {
        assert_eq!(plan(3, &[1]), (vec![0, 2], vec![]));
        assert_eq!(plan(1, &[0, 1, 2]), (vec![], vec![1, 2]));
        assert_eq!(plan(2, &[0, 1]), (vec![], vec![]));
    }

    #[test]
    fn the_vm_takes_the_template_and_the_pool_as_controller() {
        let pool: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "pool", "namespace": "prod", "uid": "pool-uid"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "p"}},
                "virtualMachineTemplate": {
                    "metadata": {"labels": {"app": "p"}},
                    "spec": {"runStrategy": "Always", "template": {"spec": {}}}
                }}
        }))
        .unwrap();
        let vm = vm_from_template(&pool, 1);
        assert_eq!(vm["metadata"]["name"], "pool-1");
        let owner = &vm["metadata"]["ownerReferences"][0];
        assert_eq!(
            (&owner["kind"], &owner["apiVersion"], &owner["controller"]),
            (&json!(KIND), &json!(API_VERSION), &json!(true))
        );
        assert_eq!(vm["spec"]["runStrategy"], "Always");
        assert_eq!(vm["metadata"]["labels"]["app"], "p");
    }
}
