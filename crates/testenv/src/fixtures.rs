//! One-line fixtures: namespaces, a running VM per runStrategy (and with the legacy
//! `spec.running`), a Halted VM, a running standalone VMI, a running
//! VirtualMachineInstanceReplicaSet and VirtualMachinePool, RBAC bindings for the restricted
//! users, and applying YAML. Async here; `Cluster` wraps them.

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

pub use kubevirt_sim::{vm_pool_resource, vm_resource, vmi_resource, vmirs_resource};

/// A VMI that runs and is Ready: its name and UID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunningVmi {
    pub name: String,
    pub uid: String,
}

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

/// A VirtualMachine with the deprecated `spec.running` (no runStrategy): `true` behaves as
/// `Always`, `false` as `Halted`.
pub fn legacy_vm_manifest(
    ns: &str,
    name: &str,
    running: bool,
    annotations: &[(&str, &str)],
) -> Value {
    let mut vm = vm_manifest(ns, name, "", annotations);
    if let Some(spec) = vm["spec"].as_object_mut() {
        spec.remove("runStrategy");
        spec.insert("running".into(), json!(running));
    }
    vm
}

/// A VirtualMachineInstanceReplicaSet of `replicas` VMIs labelled `app: <name>` (its
/// selector); `annotations` go on the template, so every VMI of the set carries them.
pub fn replica_set_manifest(
    ns: &str,
    name: &str,
    replicas: usize,
    annotations: &[(&str, &str)],
) -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceReplicaSet",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotation_map(annotations)},
                "spec": vmi_spec()
            }
        }
    })
}

/// A VirtualMachinePool (`pool.kubevirt.io/v1beta1`) of `replicas` VMs `<name>-<n>` with this
/// runStrategy; `annotations` go on the VMI template inside the VM template.
pub fn pool_manifest(
    ns: &str,
    name: &str,
    replicas: usize,
    run_strategy: &str,
    annotations: &[(&str, &str)],
) -> Value {
    let vm = vm_manifest(ns, name, run_strategy, annotations);
    json!({
        "apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "virtualMachineTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": vm["spec"]
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

/// Creates the VM so that a VMI runs (`Manual` is started through the `start` subresource)
/// and returns the VMI's UID. `Halted` is an error: KubeVirt stops every VMI of a Halted VM, so
/// none runs; see `halted_vm` and `halting_vm`.
pub async fn running_vm(
    client: &Client,
    ns: &str,
    name: &str,
    run_strategy: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    if run_strategy == "Halted" {
        bail!(
            "a Halted VM has no running VMI (KubeVirt's VM controller stops it): use halted_vm \
             for a stopped Halted VM, or halting_vm for a Running VMI whose VM was just halted"
        );
    }
    create(
        client,
        &vm_resource(),
        vm_manifest(ns, name, run_strategy, annotations),
    )
    .await?;
    if run_strategy == "Manual" {
        start_vm(client, ns, name).await?;
    }
    wait_vmi_ready(client, ns, name, None, timeout).await
}

/// A VM with the legacy `spec.running: true` whose VMI is Running and Ready; returns the VMI's
/// UID.
pub async fn running_legacy_vm(
    client: &Client,
    ns: &str,
    name: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    create(
        client,
        &vm_resource(),
        legacy_vm_manifest(ns, name, true, annotations),
    )
    .await?;
    wait_vmi_ready(client, ns, name, None, timeout).await
}

/// A VM created `Halted`: no VMI, printableStatus `Stopped` (waited for). Returns the VM's UID.
pub async fn halted_vm(
    client: &Client,
    ns: &str,
    name: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    let vm = create(
        client,
        &vm_resource(),
        vm_manifest(ns, name, "Halted", annotations),
    )
    .await?;
    wait_vm_status(client, ns, name, "Stopped", timeout).await?;
    Ok(vm.metadata.uid.unwrap_or_default())
}

/// A Running and Ready VMI whose VM was just switched to `Halted`, as a user's `virtctl stop`
/// races with a busy controller: the VM carries the `STOP_DELAY` knob, so the VM controller
/// stops the VMI only `stop_delay` after it first sees the VM Halted (then the VM is Stopped).
/// Returns the VMI's UID.
pub async fn halting_vm(
    client: &Client,
    ns: &str,
    name: &str,
    stop_delay: Duration,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<String> {
    let mut vm = vm_manifest(ns, name, "Always", annotations);
    let delay = format!("{}ms", stop_delay.as_millis());
    vm["metadata"]["annotations"] = json!({kubevirt_sim::knobs::STOP_DELAY: delay});
    create(client, &vm_resource(), vm).await?;
    let uid = wait_vmi_ready(client, ns, name, None, timeout).await?;
    set_run_strategy(client, ns, name, "Halted").await?;
    Ok(uid)
}

/// Waits until the VM's `status.printableStatus` is `status`; returns the VM.
pub async fn wait_vm_status(
    client: &Client,
    ns: &str,
    name: &str,
    status: &str,
    timeout: Duration,
) -> Result<DynamicObject> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vm_resource());
    let deadline = Instant::now() + timeout;
    loop {
        let vm = api.get_opt(name).await?;
        if let Some(vm) = vm
            .as_ref()
            .filter(|vm| vm.data["status"]["printableStatus"] == status)
        {
            return Ok(vm.clone());
        }
        if Instant::now() > deadline {
            let seen = vm.map(|vm| vm.data["status"].to_string());
            bail!("the VM {ns}/{name} was not {status} within {timeout:?}: status {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a VirtualMachineInstanceReplicaSet and waits until `replicas` of its VMIs are
/// Running and Ready; returns them, sorted by name.
pub async fn running_replica_set(
    client: &Client,
    ns: &str,
    name: &str,
    replicas: usize,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<Vec<RunningVmi>> {
    create(
        client,
        &vmirs_resource(),
        replica_set_manifest(ns, name, replicas, annotations),
    )
    .await?;
    wait_replica_set_ready(client, ns, name, replicas, timeout).await
}

/// The VMIs the replica set controls (by owner UID), terminating ones included.
pub async fn replica_set_vmis(client: &Client, ns: &str, name: &str) -> Result<Vec<DynamicObject>> {
    let set = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &vmirs_resource())
        .get(name)
        .await
        .with_context(|| format!("failed to read the replica set {ns}/{name}"))?;
    let uid = set.metadata.uid.unwrap_or_default();
    let mut vmis: Vec<DynamicObject> =
        Api::<DynamicObject>::namespaced_with(client.clone(), ns, &vmi_resource())
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter(|v| {
                v.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.controller == Some(true) && o.uid == uid)
            })
            .collect();
    vmis.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(vmis)
}

/// Waits until exactly `replicas` VMIs of the set are Running and Ready and none of its VMIs is
/// terminating; returns them, sorted by name.
pub async fn wait_replica_set_ready(
    client: &Client,
    ns: &str,
    name: &str,
    replicas: usize,
    timeout: Duration,
) -> Result<Vec<RunningVmi>> {
    let deadline = Instant::now() + timeout;
    loop {
        let vmis = replica_set_vmis(client, ns, name).await?;
        let ready: Vec<RunningVmi> = vmis
            .iter()
            .filter(|v| is_ready(v))
            .map(|v| RunningVmi {
                name: v.metadata.name.clone().unwrap_or_default(),
                uid: v.metadata.uid.clone().unwrap_or_default(),
            })
            .collect();
        if ready.len() == replicas && vmis.len() == replicas {
            return Ok(ready);
        }
        if Instant::now() > deadline {
            bail!(
                "the replica set {ns}/{name} did not have {replicas} Running and Ready VMIs (and \
                 no others) within {timeout:?}: {} Ready of {}",
                ready.len(),
                vmis.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a VirtualMachinePool of `replicas` VMs with this runStrategy (`Manual` VMs are
/// started through the `start` subresource; `Halted` is an error, as for `running_vm`) and
/// waits until each VM's VMI is Running and Ready; returns the VMIs (`<name>-<n>`), by index.
pub async fn running_pool(
    client: &Client,
    ns: &str,
    name: &str,
    replicas: usize,
    run_strategy: &str,
    annotations: &[(&str, &str)],
    timeout: Duration,
) -> Result<Vec<RunningVmi>> {
    if run_strategy == "Halted" {
        bail!("a pool of Halted VMs has no running VMI (KubeVirt's VM controller stops them)");
    }
    create(
        client,
        &vm_pool_resource(),
        pool_manifest(ns, name, replicas, run_strategy, annotations),
    )
    .await?;
    let mut running = Vec::new();
    for index in 0..replicas {
        let vm = format!("{name}-{index}");
        if run_strategy == "Manual" {
            wait_vm_status(client, ns, &vm, "Stopped", timeout).await?;
            start_vm(client, ns, &vm).await?;
        }
        let uid = wait_vmi_ready(client, ns, &vm, None, timeout).await?;
        running.push(RunningVmi { name: vm, uid });
    }
    Ok(running)
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

pub async fn get_vm(client: &Client, ns: &str, name: &str) -> Result<Option<DynamicObject>> {
    Ok(
        Api::<DynamicObject>::namespaced_with(client.clone(), ns, &vm_resource())
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
