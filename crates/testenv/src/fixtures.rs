//! One-line fixtures: namespaces, a running VM per runStrategy, a running standalone VMI, RBAC
//! bindings for the restricted users, and applying YAML. Async here; `Cluster` wraps them.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use k8s_openapi::api::{
    authorization::v1::SubjectAccessReview,
    core::v1::Namespace,
    rbac::v1::{ClusterRoleBinding, PolicyRule, Role, RoleBinding},
};
use kube::{
    api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams},
    Client,
};
use serde_json::{json, Map, Value};

pub use kubevirt_sim::{vm_resource, vmi_resource};

/// A VMI spec as `virtctl create vm` would write it (container disk, pod network), which
/// KubeVirt's own CRD schema accepts.
pub fn vmi_spec() -> Value {
    json!({
        "domain": {
            "cpu": {"cores": 1},
            "resources": {"requests": {"memory": "128Mi"}},
            "devices": {
                "disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}}],
                "interfaces": [{"name": "default", "masquerade": {}}]
            }
        },
        "networks": [{"name": "default", "pod": {}}],
        "terminationGracePeriodSeconds": 30,
        "volumes": [{
            "name": "containerdisk",
            "containerDisk": {"image": "quay.io/kubevirt/cirros-container-disk-demo"}
        }]
    })
}

fn annotation_map(annotations: &[(&str, &str)]) -> Map<String, Value> {
    annotations
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

/// A VirtualMachine with this runStrategy (never `spec.running`); `annotations` go on the
/// template, so KubeVirt copies them onto every VMI it creates.
pub fn vm_manifest(
    ns: &str,
    name: &str,
    run_strategy: &str,
    annotations: &[(&str, &str)],
) -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "metadata": {
                    "labels": {"app": name, "kubevirt.io/vm": name},
                    "annotations": annotation_map(annotations)
                },
                "spec": vmi_spec()
            }
        }
    })
}

/// A standalone VirtualMachineInstance (no owner VM).
pub fn vmi_manifest(ns: &str, name: &str, annotations: &[(&str, &str)]) -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {
            "name": name, "namespace": ns, "labels": {"app": name},
            "annotations": annotation_map(annotations)
        },
        "spec": vmi_spec()
    })
}

pub async fn ensure_namespace(client: &Client, ns: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("failed to create the namespace {ns}")),
    }
}

async fn create(client: &Client, resource: &ApiResource, manifest: Value) -> Result<DynamicObject> {
    let object: DynamicObject = serde_json::from_value(manifest)?;
    let ns = object.metadata.namespace.clone().unwrap_or_default();
    let name = object.metadata.name.clone().unwrap_or_default();
    ensure_namespace(client, &ns).await?;
    Api::namespaced_with(client.clone(), &ns, resource)
        .create(&PostParams::default(), &object)
        .await
        .with_context(|| format!("failed to create {} {ns}/{name}", resource.kind))
}

/// `PUT .../virtualmachines/{name}/start` through the API server's aggregation layer, as
/// virtctl does.
pub async fn start_vm(client: &Client, ns: &str, name: &str) -> Result<()> {
    let path =
        format!("/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/start");
    let request = http::Request::put(path)
        .header("content-type", "application/json")
        .body(b"{}".to_vec())?;
    client
        .request_text(request)
        .await
        .with_context(|| format!("failed to start the VM {ns}/{name}"))?;
    Ok(())
}

pub async fn set_run_strategy(client: &Client, ns: &str, name: &str, strategy: &str) -> Result<()> {
    let patch = json!({"spec": {"runStrategy": strategy}});
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, &vm_resource())
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("failed to set runStrategy {strategy} on the VM {ns}/{name}"))?;
    Ok(())
}

/// Creates the VM so that a VMI runs: `Manual` is started through the `start` subresource;
/// `Halted` is created `Always`, then switched once its VMI is Ready (the simulator leaves a
/// running VMI of a Halted VM alone). Returns the VMI's UID.
pub async fn running_vm(
    client: &Client,
    ns: &str,
    name: &str,
    run_strategy: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    let initial = if run_strategy == "Halted" {
        "Always"
    } else {
        run_strategy
    };
    create(
        client,
        &vm_resource(),
        vm_manifest(ns, name, initial, annotations),
    )
    .await?;
    if initial == "Manual" {
        start_vm(client, ns, name).await?;
    }
    let uid = wait_vmi_ready(client, ns, name, None, timeout).await?;
    if run_strategy == "Halted" {
        set_run_strategy(client, ns, name, "Halted").await?;
    }
    Ok(uid)
}

/// Creates a standalone VMI and waits until it is Running and Ready. Returns its UID.
pub async fn running_vmi(
    client: &Client,
    ns: &str,
    name: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    create(client, &vmi_resource(), vmi_manifest(ns, name, annotations)).await?;
    wait_vmi_ready(client, ns, name, None, timeout).await
}

pub async fn get_vmi(client: &Client, ns: &str, name: &str) -> Result<Option<DynamicObject>> {
    Ok(
        Api::<DynamicObject>::namespaced_with(client.clone(), ns, &vmi_resource())
            .get_opt(name)
            .await?,
    )
}

/// Running, condition Ready=True, and not being deleted.
pub fn is_ready(vmi: &DynamicObject) -> bool {
    let status = &vmi.data["status"];
    vmi.metadata.deletion_timestamp.is_none()
        && status["phase"] == "Running"
        && status["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Waits until the VMI `ns/name` is Running and Ready (with another UID than `other_than_uid`,
/// when given: a re-created one). Returns its UID.
pub async fn wait_vmi_ready(
    client: &Client,
    ns: &str,
    name: &str,
    other_than_uid: Option<&str>,
    timeout: Duration,
) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let vmi = get_vmi(client, ns, name).await?;
        if let Some(vmi) = &vmi {
            let uid = vmi.metadata.uid.as_deref().unwrap_or_default();
            if is_ready(vmi) && Some(uid) != other_than_uid {
                return Ok(uid.to_string());
            }
        }
        if Instant::now() > deadline {
            let seen = match vmi {
                None => "it does not exist".to_string(),
                Some(vmi) => format!(
                    "uid {}, deletionTimestamp {:?}, status {}",
                    vmi.metadata.uid.unwrap_or_default(),
                    vmi.metadata.deletion_timestamp.map(|t| t.0.to_string()),
                    vmi.data["status"]
                ),
            };
            bail!("the VMI {ns}/{name} was not Running and Ready within {timeout:?}: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the RBAC authorizer allows `user` what `rule`'s first verb/resource says (role
/// bindings reach the authorizer through an informer, a moment after the write).
async fn wait_allowed(
    client: &Client,
    user: &str,
    ns: Option<&str>,
    rule: &PolicyRule,
) -> Result<()> {
    let resource = rule
        .resources
        .as_ref()
        .and_then(|r| r.first())
        .cloned()
        .unwrap_or_default();
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r.to_string(), s.to_string()),
        None => (resource, String::new()),
    };
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "resourceAttributes": {
                "namespace": ns.unwrap_or_default(),
                "verb": rule.verbs.first().cloned().unwrap_or_default(),
                "group": rule.api_groups.as_ref().and_then(|g| g.first()).cloned().unwrap_or_default(),
                "resource": resource,
                "subresource": subresource,
            }
        }
    }))?;
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = api.create(&PostParams::default(), &review).await?;
        if answer.status.is_some_and(|s| s.allowed) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("RBAC still denies {user} {rule:?} 30 s after the binding");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn user_subject(user: &str) -> Value {
    json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}])
}

/// A Role with `rules` in `ns`, bound to `user`; returns once the authorizer applies it.
pub async fn bind_role(
    client: &Client,
    ns: &str,
    user: &str,
    rules: &[PolicyRule],
) -> Result<String> {
    let name = format!("{user}-{}", unique_suffix());
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns}, "rules": rules
    }))?;
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": user_subject(user)
    }))?;
    ensure_namespace(client, ns).await?;
    Api::<Role>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &role)
        .await
        .with_context(|| format!("failed to create the Role {ns}/{name}"))?;
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .with_context(|| format!("failed to create the RoleBinding {ns}/{name}"))?;
    for rule in rules.iter().take(1) {
        wait_allowed(client, user, Some(ns), rule).await?;
    }
    Ok(name)
}

async fn cluster_role_rules(client: &Client, cluster_role: &str) -> Result<Vec<PolicyRule>> {
    let role = Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(client.clone())
        .get(cluster_role)
        .await
        .with_context(|| format!("no ClusterRole {cluster_role}"))?;
    Ok(role.rules.unwrap_or_default())
}

/// Binds the ClusterRole to `user` in every namespace (ClusterRoleBinding).
pub async fn bind_cluster_role(client: &Client, user: &str, cluster_role: &str) -> Result<String> {
    let name = format!("{user}-{cluster_role}-{}", unique_suffix());
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": user_subject(user)
    }))?;
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .with_context(|| format!("failed to create the ClusterRoleBinding {name}"))?;
    for rule in cluster_role_rules(client, cluster_role)
        .await?
        .iter()
        .take(1)
    {
        wait_allowed(client, user, None, rule).await?;
    }
    Ok(name)
}

/// Binds the ClusterRole to `user` in `ns` only (RoleBinding).
pub async fn bind_cluster_role_in(
    client: &Client,
    ns: &str,
    user: &str,
    cluster_role: &str,
) -> Result<String> {
    let name = format!("{user}-{cluster_role}-{}", unique_suffix());
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": user_subject(user)
    }))?;
    ensure_namespace(client, ns).await?;
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .with_context(|| format!("failed to create the RoleBinding {ns}/{name}"))?;
    for rule in cluster_role_rules(client, cluster_role)
        .await?
        .iter()
        .take(1)
    {
        wait_allowed(client, user, Some(ns), rule).await?;
    }
    Ok(name)
}

fn unique_suffix() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Server-side applies every object of a (multi-document) YAML text, as `kubectl apply
/// --server-side` would; namespaced objects without a namespace go to `default`.
pub async fn apply_yaml(client: &Client, yaml: &str) -> Result<Vec<DynamicObject>> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(yaml).context("failed to parse YAML")?;
    let mut applied = Vec::new();
    for document in documents.into_iter().filter(|d| !d.is_null()) {
        let object: DynamicObject = serde_json::from_value(document)?;
        let types = object
            .types
            .clone()
            .context("an object without apiVersion/kind")?;
        let gvk = GroupVersionKind::try_from(&types)?;
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await?;
        let name = object
            .metadata
            .name
            .clone()
            .context("an object without a name")?;
        let api: Api<DynamicObject> = match caps.scope {
            kube::discovery::Scope::Namespaced => {
                let ns = object
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                Api::namespaced_with(client.clone(), &ns, &resource)
            }
            kube::discovery::Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let params = PatchParams::apply("testenv").force();
        applied.push(
            api.patch(&name, &params, &Patch::Apply(&object))
                .await
                .with_context(|| format!("failed to apply {} {name}", gvk.kind))?,
        );
    }
    Ok(applied)
}
