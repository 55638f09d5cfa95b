//! What the tool does to a cluster after the outage: start a VM, re-create a VMI, put a
//! runStrategy back.

use kube::{
    api::{Api, DynamicObject, Patch, PatchParams, PostParams},
    Client,
};

use crate::{error::api_code, kubevirt, snapshot};

/// PUT the VM's `start` subresource, served by virt-api through API aggregation.
pub async fn start_vm(client: &Client, namespace: &str, name: &str) -> kube::Result<()> {
    let path = format!(
        "/apis/subresources.kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}/start"
    );
    let request = http::Request::put(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(b"{}".to_vec())
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
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &kubevirt::vmi_resource());
    match api
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

/// Sets `spec.runStrategy` (never the deprecated `spec.running`, which it removes).
pub async fn set_run_strategy(
    client: &Client,
    namespace: &str,
    vm: &str,
    strategy: &str,
) -> kube::Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &kubevirt::vm_resource());
    let patch = serde_json::json!({"spec": {"runStrategy": strategy, "running": null}});
    api.patch(vm, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
}
