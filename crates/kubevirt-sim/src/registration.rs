//! Makes the API server proxy `subresources.kubevirt.io/v1` to the simulator: the
//! `kubevirt/virt-api` Service (ExternalName localhost, the simulator's port) and the
//! `v1.subresources.kubevirt.io` APIService pointing at it.

use std::time::Duration;

use anyhow::{bail, Context};
use k8s_openapi::{
    api::core::v1::{Namespace, Service},
    kube_aggregator::pkg::apis::apiregistration::v1::APIService,
};
use kube::{
    api::{Api, DeleteParams, Patch, PatchParams, PostParams},
    runtime::wait::await_condition,
    Client,
};
use serde_json::json;

use crate::{api_code, subresources};

pub const NAMESPACE: &str = "kubevirt";
pub const SERVICE: &str = "virt-api";
pub const API_SERVICE: &str = "v1.subresources.kubevirt.io";
const FIELD_MANAGER: &str = "kubevirt-sim";

/// Registers the simulator on `port` and waits until the APIService is Available (which proves
/// that the API server reaches it and that discovery works).
pub async fn register(client: &Client, port: u16, timeout: Duration) -> anyhow::Result<()> {
    ensure_namespace(client).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    if let Some(existing) = services
        .get_opt(SERVICE)
        .await
        .context("failed to read Service kubevirt/virt-api")?
    {
        let type_ = existing.spec.and_then(|s| s.type_).unwrap_or_default();
        if type_ != "ExternalName" {
            bail!(
                "refusing to replace Service {NAMESPACE}/{SERVICE}: it is a {type_} Service, probably a real \
                 KubeVirt's virt-api; run the simulator on a cluster without KubeVirt"
            );
        }
    }
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        "spec": {
            "type": "ExternalName",
            "externalName": "localhost",
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        },
    });
    services
        .patch(
            SERVICE,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&service),
        )
        .await
        .context("failed to create Service kubevirt/virt-api")?;

    // Re-created rather than updated: a stale Available=True from an earlier run must not count.
    let api_services: Api<APIService> = Api::all(client.clone());
    delete_api_service(&api_services).await?;
    let api_service: APIService = serde_json::from_value(json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": API_SERVICE, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        "spec": {
            "group": subresources::GROUP,
            "version": subresources::VERSION,
            "service": {"namespace": NAMESPACE, "name": SERVICE, "port": port},
            "insecureSkipTLSVerify": true,
            "groupPriorityMinimum": 1000,
            "versionPriority": 15,
        },
    }))?;
    api_services
        .create(&PostParams::default(), &api_service)
        .await
        .context("failed to create APIService v1.subresources.kubevirt.io")?;

    let available = async {
        await_condition(api_services.clone(), API_SERVICE, is_available).await?;
        // Available comes a moment before the API server routes the group to its proxy (until
        // then it answers a bare 404): ask through it, as a client will.
        loop {
            let path = format!("/apis/{}/{}", subresources::GROUP, subresources::VERSION);
            let request = http::Request::get(path)
                .body(Vec::new())
                .map_err(kube::Error::HttpError)?;
            if client.request_text(request).await.is_ok() {
                return Ok::<_, anyhow::Error>(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    match tokio::time::timeout(timeout, available).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e).context("failed to wait for APIService v1.subresources.kubevirt.io"),
        Err(_) => {
            let why = api_services
                .get_opt(API_SERVICE)
                .await
                .ok()
                .flatten()
                .and_then(|a| {
                    a.status?
                        .conditions?
                        .into_iter()
                        .find(|c| c.type_ == "Available")
                })
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.reason.unwrap_or_default(),
                        c.message.unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "no Available condition yet".into());
            bail!(
                "APIService {API_SERVICE} did not become Available within {timeout:?} ({why}); the API server \
                 needs the front-proxy flags (--requestheader-*, --proxy-client-cert-file/--proxy-client-key-file) \
                 and must reach https://localhost:{port}"
            )
        }
    }
}

/// Removes the APIService (and the Service), so that discovery doesn't report an unavailable
/// group once the simulator is gone.
pub async fn unregister(client: &Client) -> anyhow::Result<()> {
    delete_api_service(&Api::all(client.clone())).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    match services.delete(SERVICE, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e).context("failed to delete Service kubevirt/virt-api"),
    }
}

fn is_available(api_service: Option<&APIService>) -> bool {
    api_service
        .and_then(|a| a.status.as_ref()?.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        })
}

async fn delete_api_service(api_services: &Api<APIService>) -> anyhow::Result<()> {
    match api_services
        .delete(API_SERVICE, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e).context("failed to delete APIService v1.subresources.kubevirt.io"),
    }
}

async fn ensure_namespace(client: &Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(409) => Ok(()),
        Err(e) => Err(e).context("failed to create namespace kubevirt"),
    }
}
