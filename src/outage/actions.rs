//! What the tool does to a cluster: delete a VMI, start a VM, re-create a VMI, switch a VM's
//! runStrategy. Each call is one request; the caller bounds it in time.

use kube::{
    api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions},
    Client,
};

use crate::{error::api_code, kubevirt, snapshot};

fn vmis(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &kubevirt::vmi_resource())
}

/// DELETE the VMI with this UID only: never a same-named replacement.
pub async fn delete_vmi(
    client: &Client,
    namespace: &str,
    name: &str,
    uid: &str,
    dry_run: bool,
) -> kube::Result<()> {
    let params = DeleteParams {
        dry_run,
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    vmis(client, namespace)
        .delete(name, &params)
        .await
        .map(|_| ())
}

/// `--fault crash`: DELETE the VMI's virt-launcher pod with no grace period, as when its host or
/// QEMU dies: the pod goes at once and KubeVirt sees the launcher vanish (the VMI turns Failed).
pub async fn crash_launcher(
    client: &Client,
    namespace: &str,
    pod: &str,
    dry_run: bool,
) -> kube::Result<()> {
    let params = DeleteParams {
        dry_run,
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), namespace)
        .delete(pod, &params)
        .await
        .map(|_| ())
}

/// PUT the VM's `start` subresource, served by virt-api through API aggregation. With
/// `dry_run`, virt-api checks the start (StartOptions.dryRun) and changes nothing.
pub async fn start_vm(
    client: &Client,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> kube::Result<()> {
    let path = format!(
        "/apis/subresources.kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}/start"
    );
    let body = if dry_run {
        br#"{"dryRun":["All"]}"#.to_vec()
    } else {
        b"{}".to_vec()
    };
    let request = http::Request::put(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(kube::Error::HttpError)?;
    client.request_text(request).await.map(|_| ())
}

pub enum Recreated {
    Created {
        uid: String,
    },
    /// 409 AlreadyExists: someone else re-created it first; follow that one.
    AlreadyExists,
}

/// Re-creates a standalone VMI from its saved manifest.
pub async fn recreate_vmi(client: &Client, saved: &DynamicObject) -> kube::Result<Recreated> {
    let namespace = saved.metadata.namespace.clone().unwrap_or_default();
    match vmis(client, &namespace)
        .create(
            &PostParams::default(),
            &snapshot::manifest_for_recreate(saved),
        )
        .await
    {
        Ok(obj) => Ok(Recreated::Created {
            uid: obj.metadata.uid.unwrap_or_default(),
        }),
        Err(e) if api_code(&e) == Some(409) => Ok(Recreated::AlreadyExists),
        Err(e) => Err(e),
    }
}

/// `--fault crash` of a standalone VMI: nothing removes the Failed VMI, so the tool deletes it
/// (this UID only) and watches, bounded by `wait`, until its name is free, then re-creates it.
pub async fn recreate_after_crash(
    client: &Client,
    saved: &DynamicObject,
    wait: std::time::Duration,
) -> kube::Result<Recreated> {
    let namespace = saved.metadata.namespace.clone().unwrap_or_default();
    let name = saved.metadata.name.clone().unwrap_or_default();
    let old_uid = saved.metadata.uid.clone().unwrap_or_default();
    match delete_vmi(client, &namespace, &name, &old_uid, false).await {
        Ok(()) => {}
        // Gone already, or the name holds another VMI (the create below says which).
        Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
        Err(e) => return Err(e),
    }
    // A watch on the name (kube-runtime's): free once this UID is gone; past `wait`, or if the
    // name already holds another VMI, the create below says what holds it.
    let gone = kube::runtime::wait::await_condition(
        vmis(client, &namespace),
        &name,
        kube::runtime::wait::conditions::is_deleted(&old_uid),
    );
    if let Ok(Err(kube::runtime::wait::Error::ProbeFailed(e))) =
        tokio::time::timeout(wait, gone).await
    {
        use kube::runtime::watcher::Error as W;
        match e {
            W::InitialListFailed(e) | W::WatchStartFailed(e) | W::WatchFailed(e) => return Err(e),
            W::WatchError(_) | W::NoResourceVersion => {}
        }
    }
    recreate_vmi(client, saved).await
}

/// Switches `spec.runStrategy` from `from` to `to`, only if it still is `from` (a JSON patch
/// that tests first), so a change someone else made meanwhile is never overwritten.
pub async fn switch_run_strategy(
    client: &Client,
    namespace: &str,
    vm: &str,
    from: &str,
    to: &str,
) -> kube::Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &kubevirt::vm_resource());
    let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": "/spec/runStrategy", "value": from},
        {"op": "replace", "path": "/spec/runStrategy", "value": to},
    ]))
    .map_err(kube::Error::SerdeError)?;
    api.patch(vm, &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .map(|_| ())
}
