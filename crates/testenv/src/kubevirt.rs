//! KubeVirt's API on the control plane: the VM, VMI, VirtualMachineInstanceReplicaSet and
//! VirtualMachinePool CRDs (the real ones from `../shared/kubevirt` when that folder has them,
//! else our minimal ones), the `KubeVirt` CRD and the install object `kubevirt/kubevirt`,
//! reporting `Deployed` and `Available`.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams},
    Client,
};
use serde_json::json;

pub const KUBEVIRT_NAMESPACE: &str = "kubevirt";
pub const KUBEVIRT_VERSION: &str = "v1.5.0-sim";

const MINIMAL_VM: &str = include_str!("../crds/virtualmachines.kubevirt.io.yaml");
const MINIMAL_VMI: &str = include_str!("../crds/virtualmachineinstances.kubevirt.io.yaml");
const KUBEVIRT_CRD: &str = include_str!("../crds/kubevirts.kubevirt.io.yaml");
const MINIMAL_VMIRS: &str =
    include_str!("../crds/virtualmachineinstancereplicasets.kubevirt.io.yaml");
const MINIMAL_POOL: &str = include_str!("../crds/virtualmachinepools.pool.kubevirt.io.yaml");

/// The replica set and pool CRDs: file name, our minimal fallback.
const OWNER_CRDS: [(&str, &str); 2] = [
    (
        "virtualmachineinstancereplicasets.kubevirt.io.yaml",
        MINIMAL_VMIRS,
    ),
    ("virtualmachinepools.pool.kubevirt.io.yaml", MINIMAL_POOL),
];

/// Which VM and VMI CRDs a cluster gets (and the replica set and pool CRDs with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrdSource {
    /// KubeVirt's own, with their full schemas, from this folder; the replica set and pool
    /// CRDs too when the folder has them (else our minimal ones).
    Real(PathBuf),
    /// The project's minimal ones (`crates/testenv/crds`), which accept any spec.
    Minimal,
}

impl CrdSource {
    /// `$VMCHAOS_KUBEVIRT_CRDS`, else `../shared/kubevirt` next to the workspace, when it exists.
    pub fn detect() -> Self {
        let dir = std::env::var_os("VMCHAOS_KUBEVIRT_CRDS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kubevirt")
            });
        if dir
            .join("virtualmachineinstances.kubevirt.io.yaml")
            .is_file()
        {
            CrdSource::Real(dir.canonicalize().unwrap_or(dir))
        } else {
            CrdSource::Minimal
        }
    }
}

fn parse(name: &str, yaml: &str) -> Result<CustomResourceDefinition> {
    serde_saphyr::from_str(yaml).with_context(|| format!("failed to parse the CRD in {name}"))
}

/// Reads and parses the CRDs (slow for the real ones in a debug build: run it off the runtime).
pub fn load_crds(source: &CrdSource) -> Result<Vec<CustomResourceDefinition>> {
    let mut crds = vec![parse("kubevirts.kubevirt.io.yaml", KUBEVIRT_CRD)?];
    match source {
        CrdSource::Minimal => {
            crds.push(parse("virtualmachines.kubevirt.io.yaml", MINIMAL_VM)?);
            crds.push(parse(
                "virtualmachineinstances.kubevirt.io.yaml",
                MINIMAL_VMI,
            )?);
            for (file, minimal) in OWNER_CRDS {
                crds.push(parse(file, minimal)?);
            }
        }
        CrdSource::Real(dir) => {
            for file in [
                "virtualmachines.kubevirt.io.yaml",
                "virtualmachineinstances.kubevirt.io.yaml",
            ] {
                let path = dir.join(file);
                let yaml = std::fs::read_to_string(&path)
                    .with_context(|| format!("failed to read {}", path.display()))?;
                crds.push(parse(&path.display().to_string(), &yaml)?);
            }
            for (file, minimal) in OWNER_CRDS {
                let path = dir.join(file);
                crds.push(if path.is_file() {
                    let yaml = std::fs::read_to_string(&path)
                        .with_context(|| format!("failed to read {}", path.display()))?;
                    parse(&path.display().to_string(), &yaml)?
                } else {
                    parse(file, minimal)?
                });
            }
        }
    }
    Ok(crds)
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

pub fn kubevirt_resource() -> ApiResource {
    ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: "KubeVirt".into(),
        plural: "kubevirts".into(),
    }
}

/// Installs the CRDs and the `KubeVirt` object and waits until the API serves them.
pub async fn install(client: &Client, crds: Vec<CustomResourceDefinition>) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        // Create, not apply: the real CRDs are too large for a last-applied annotation.
        match api.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e).with_context(|| format!("failed to create the CRD {name}")),
        }
        names.push(name);
    }
    wait_established(client, &names).await?;
    create_kubevirt(client).await
}

/// Waits until these CRDs are Established and discovery lists KubeVirt's resources.
pub async fn wait_established(client: &Client, names: &[String]) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in names {
        while !established(&api.get(name).await?) {
            if Instant::now() > deadline {
                bail!("the CRD {name} was not Established within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    wait_discovery(client, deadline).await
}

/// Established can come a moment before discovery lists the resources; kubectl needs the latter.
async fn wait_discovery(client: &Client, deadline: Instant) -> Result<()> {
    let groups: [(&str, &[&str]); 2] = [
        (
            "/apis/kubevirt.io/v1",
            &[
                "virtualmachines",
                "virtualmachineinstances",
                "virtualmachineinstancereplicasets",
                "kubevirts",
            ],
        ),
        ("/apis/pool.kubevirt.io/v1beta1", &["virtualmachinepools"]),
    ];
    for (path, wanted) in groups {
        loop {
            let request = http::Request::get(path).body(Vec::new())?;
            if let Ok(list) = client
                .request::<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList>(request)
                .await
            {
                if wanted
                    .iter()
                    .all(|w| list.resources.iter().any(|r| r.name == *w))
                {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("discovery of {path} does not list {wanted:?} after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

async fn create_kubevirt(client: &Client) -> Result<()> {
    let spec =
        json!({"certificateRotateStrategy": {}, "configuration": {}, "workloadUpdateStrategy": {}});
    create_kubevirt_with(client, spec, json!({}), KUBEVIRT_VERSION).await
}

/// Creates `kubevirt/kubevirt` with this spec and a status Deployed and Available at `version`
/// (plus `status`'s own fields), as virt-operator leaves it.
pub async fn create_kubevirt_with(
    client: &Client,
    spec: serde_json::Value,
    extra: serde_json::Value,
    version: &str,
) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": KUBEVIRT_NAMESPACE}}))?;
    match namespaces.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).context("failed to create the namespace kubevirt"),
    }
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), KUBEVIRT_NAMESPACE, &kubevirt_resource());
    let kubevirt: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": KUBEVIRT_NAMESPACE},
        "spec": spec
    }))?;
    match api.create(&PostParams::default(), &kubevirt).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).context("failed to create kubevirt/kubevirt"),
    }
    let now = chrono_now();
    let mut status = json!({"status": {
        "phase": "Deployed",
        "observedKubeVirtVersion": version,
        "targetKubeVirtVersion": version,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "AllComponentsReady",
             "message": "All components are ready.", "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Progressing", "status": "False", "reason": "AllComponentsReady",
             "message": "All components are ready.", "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Degraded", "status": "False", "reason": "AllComponentsReady",
             "message": "All components are ready.", "lastProbeTime": now, "lastTransitionTime": now}
        ]
    }});
    if let (Some(into), Some(extra)) = (status["status"].as_object_mut(), extra.as_object()) {
        into.extend(extra.clone());
    }
    api.patch_status("kubevirt", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .context("failed to set the status of kubevirt/kubevirt")?;
    Ok(())
}

/// RFC 3339 UTC, second resolution, as the API server writes timestamps.
fn chrono_now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
