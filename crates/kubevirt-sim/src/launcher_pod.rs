//! The virt-launcher Pod of a VMI. No scheduler and no kubelet run here, so the simulator binds
//! it (spec.nodeName), reports it running (pods/status) and deletes it at once (no GC either).

use std::hash::{BuildHasher, RandomState};

use k8s_openapi::api::core::v1::Pod;
use kube::{
    api::{Api, DeleteParams, DynamicObject, ListParams, Patch},
    Client, ResourceExt,
};
use serde_json::{json, Value};

/// The launcher image the simulator claims to run (`status.launcherContainerImageVersion`).
pub const LAUNCHER_IMAGE: &str = "quay.io/kubevirt/virt-launcher:v1.6.0-sim";

/// The label every launcher pod carries.
pub const LAUNCHER_LABEL: &str = "kubevirt.io=virt-launcher";

/// Whether the VMI has a launcher pod (one not already being deleted).
pub async fn exists(client: &Client, namespace: &str, vmi_uid: &str) -> kube::Result<bool> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector(vmi_uid)))
        .await?;
    Ok(list
        .items
        .iter()
        .any(|p| p.metadata.deletion_timestamp.is_none()))
}

/// The labels that identify a VMI's launcher pod.
pub fn selector(vmi_uid: &str) -> String {
    format!("kubevirt.io=virt-launcher,kubevirt.io/created-by={vmi_uid}")
}

/// The Pod for `vmi` on `node`, named `virt-launcher-<vmi>-<5 random chars>`.
pub fn manifest(vmi: &DynamicObject, node: &str, suffix: &str) -> Value {
    let name = vmi.name_any();
    let mut labels = vmi.labels().clone();
    labels.insert("kubevirt.io".into(), "virt-launcher".into());
    labels.insert(
        "kubevirt.io/created-by".into(),
        vmi.uid().unwrap_or_default(),
    );
    labels.insert("vm.kubevirt.io/name".into(), name.clone());
    let grace = vmi.data["spec"]["terminationGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(30);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("virt-launcher-{name}-{suffix}"),
            "namespace": vmi.namespace(),
            "labels": labels,
            "annotations": {"kubevirt.io/domain": name},
            "ownerReferences": [{
                "apiVersion": "kubevirt.io/v1",
                "kind": "VirtualMachineInstance",
                "name": name,
                "uid": vmi.uid(),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "nodeName": node,
            "automountServiceAccountToken": false,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": grace + 15,
            "containers": [{"name": "compute", "image": LAUNCHER_IMAGE}],
        },
    })
}

/// Five characters from the alphabet Kubernetes uses for generated names.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (0..5)
        .map(|_| {
            let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char;
            bits /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// The node of the VMI's launcher pod, if it has one.
pub async fn node(client: &Client, namespace: &str, vmi_uid: &str) -> kube::Result<Option<String>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector(vmi_uid)))
        .await?;
    Ok(list.items.into_iter().find_map(|p| p.spec?.node_name))
}

/// Creates the launcher pod unless one exists already (a retried step).
pub async fn ensure(client: &Client, vmi: &DynamicObject, node: &str) -> kube::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &vmi.namespace().unwrap_or_default());
    let uid = vmi.uid().unwrap_or_default();
    if !pods
        .list(&ListParams::default().labels(&selector(&uid)))
        .await?
        .items
        .is_empty()
    {
        return Ok(());
    }
    let pod: Pod = serde_json::from_value(manifest(vmi, node, &random_suffix()))
        .map_err(kube::Error::SerdeError)?;
    pods.create(&crate::post_params(), &pod).await?;
    Ok(())
}

/// Reports the launcher pods as the kubelet would (`phase`: Running or Failed).
pub async fn report(
    client: &Client,
    namespace: &str,
    vmi_uid: &str,
    phase: &str,
    ip: Option<&str>,
) -> kube::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let now = crate::vmi_status::now_rfc3339();
    let ready = if phase == "Running" { "True" } else { "False" };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": ready, "lastTransitionTime": now},
        ],
    });
    let state = if phase == "Running" {
        json!({"running": {"startedAt": now}})
    } else {
        json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now}})
    };
    status["containerStatuses"] = json!([{
        "name": "compute",
        "image": LAUNCHER_IMAGE,
        "imageID": "",
        "ready": phase == "Running",
        "restartCount": 0,
        "state": state,
    }]);
    if let Some(ip) = ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
        status["startTime"] = json!(now);
    }
    for pod in pods
        .list(&ListParams::default().labels(&selector(vmi_uid)))
        .await?
        .items
    {
        let patch = json!({"status": status});
        match pods
            .patch_status(
                &pod.name_any(),
                &crate::patch_params(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if crate::api_code(&e) == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes the launcher pods at once (grace 0: no kubelet will confirm a graceful delete).
pub async fn delete(client: &Client, namespace: &str, vmi_uid: &str) -> kube::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    for pod in pods
        .list(&ListParams::default().labels(&selector(vmi_uid)))
        .await?
        .items
    {
        match pods.delete(&pod.name_any(), &now).await {
            Ok(_) => {}
            Err(e) if crate::api_code(&e) == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_carries_kubevirt_labels_and_points_back_at_the_vmi() {
        let vmi: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "u-1", "labels": {"app": "db"}},
            "spec": {"terminationGracePeriodSeconds": 60}
        }))
        .unwrap();
        let pod = manifest(&vmi, "node-b", "x2b4c");
        assert_eq!(pod["metadata"]["name"], "virt-launcher-db-0-x2b4c");
        let labels = &pod["metadata"]["labels"];
        assert_eq!(
            (&labels["kubevirt.io"], &labels["kubevirt.io/created-by"]),
            (&json!("virt-launcher"), &json!("u-1"))
        );
        assert_eq!(
            (&labels["vm.kubevirt.io/name"], &labels["app"]),
            (&json!("db-0"), &json!("db"))
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(pod["spec"]["nodeName"], "node-b");
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
        serde_json::from_value::<Pod>(pod).unwrap();
    }

    #[test]
    fn suffixes_use_the_generated_name_alphabet() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(
            s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{s}"
        );
    }
}
