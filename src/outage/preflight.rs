//! The checks before anything changes: KubeVirt is there, the target is a running VMI, and the
//! user may do everything the run will do.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::Value;

use super::core::TargetSpec;
use crate::{
    cluster::Cluster,
    error::{api_code, Error, Result},
    events::{CheckedTarget, Grant, KubeVirtObject, Owner, PlannedTarget},
    kubevirt::{self, Recovery, Vm, Vmi},
    plan::{self, Plan},
};

/// `kubevirt.io/v1` is served with VMIs; returns what can be read of the KubeVirt object.
pub async fn check_kubevirt(cluster: &Cluster) -> Result<KubeVirtObject> {
    match cluster
        .bounded(
            cluster
                .client
                .list_api_group_resources(kubevirt::API_VERSION),
        )
        .await
    {
        Ok(list)
            if list
                .resources
                .iter()
                .any(|r| r.name == "virtualmachineinstances") => {}
        Ok(_) => {
            return Err(Error::KubeVirtMissing {
                context: cluster.context.clone(),
            })
        }
        Err(e) if api_code(&e) == Some(404) => {
            return Err(Error::KubeVirtMissing {
                context: cluster.context.clone(),
            })
        }
        Err(e) => return Err(cluster.request_error("discover the kubevirt.io/v1 API", e)),
    }
    let api: Api<DynamicObject> =
        Api::all_with(cluster.client.clone(), &kubevirt::kubevirt_resource());
    let detail = match cluster
        .bounded(api.list(&ListParams::default().limit(1)))
        .await
    {
        Ok(list) => match list.items.first() {
            Some(kv) => {
                let status = kv.data.get("status");
                let field = |k: &str| {
                    status
                        .and_then(|s| s.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_string()
                };
                KubeVirtObject::Found {
                    namespace: kv.metadata.namespace.clone().unwrap_or_default(),
                    name: kv.metadata.name.clone().unwrap_or_default(),
                    phase: field("phase"),
                    version: field("observedKubeVirtVersion"),
                }
            }
            None => KubeVirtObject::None,
        },
        // Reading the KubeVirt CR is a nicety that needs cluster-wide rights: never a reason to stop.
        Err(_) => KubeVirtObject::NotReadable,
    };
    Ok(detail)
}

/// The outage target: the VMI, its owner VM, and its recovery plan.
#[derive(Debug, Clone)]
pub struct Target {
    pub object: DynamicObject,
    pub vmi: Vmi,
    pub vm_object: Option<DynamicObject>,
    pub vm: Option<Vm>,
    pub plan: Plan,
    /// `--fault crash`: the name of its virt-launcher pod, found in the pre-flight.
    pub launcher: Option<String>,
}

/// How the targets are taken down: what their plans depend on besides the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct How {
    /// `--keep-down`
    pub keep_down: bool,
    /// `--fault`
    pub fault: plan::Fault,
}

/// Every named VMI with its plan, in the order given. Several VMIs of one namespace are read
/// with one list of VMIs and one of VMs (requests stay flat as the fleet grows); one with GETs.
pub async fn resolve_targets(
    cluster: &Cluster,
    names: &[(String, String)],
    how: How,
) -> Result<Vec<Target>> {
    let mut by_ns: Vec<(&str, Vec<&str>)> = Vec::new();
    for (ns, name) in names {
        match by_ns.iter_mut().find(|(n, _)| n == ns) {
            Some((_, list)) => list.push(name),
            None => by_ns.push((ns, vec![name])),
        }
    }
    let mut found: Vec<Target> = Vec::new();
    for (ns, wanted) in by_ns {
        if let [name] = wanted.as_slice() {
            found.push(resolve_target(cluster, ns, name, how).await?);
            continue;
        }
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource());
        let (objects, _) = super::watch::list(&vmis, cluster.request_timeout)
            .await
            .map_err(|e| cluster.request_error(format!("list VMIs in {ns}"), e))?;
        let vms: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vm_resource());
        let (vm_objects, _) = super::watch::list(&vms, cluster.request_timeout)
            .await
            .map_err(|e| cluster.request_error(format!("list VMs in {ns}"), e))?;
        for name in wanted {
            let Some(object) = objects
                .iter()
                .find(|o| o.metadata.name.as_deref() == Some(name))
            else {
                let running = objects
                    .iter()
                    .map(Vmi::from_object)
                    .filter(Vmi::is_running)
                    .map(|v| v.name)
                    .collect();
                return Err(Error::VmiNotFound {
                    name: name.into(),
                    namespace: ns.into(),
                    running,
                });
            };
            let vmi = Vmi::from_object(object);
            let vm_object = vmi.owner_vm.as_ref().and_then(|vm| {
                vm_objects
                    .iter()
                    .find(|o| o.metadata.name.as_deref() == Some(vm.as_str()))
                    .cloned()
            });
            found.push(target_with_plan(
                ns,
                name,
                object.clone(),
                vmi,
                vm_object,
                how,
            )?);
        }
    }
    Ok(found)
}

/// Reads the VMI (and its owner VM) and decides its plan; a refused plan is an error that
/// changes nothing.
pub async fn resolve_target(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    how: How,
) -> Result<Target> {
    let read = match cluster
        .bounded(crate::targets::read_one(&cluster.client, namespace, name))
        .await
    {
        Ok(Some(read)) => read,
        Ok(None) => {
            let running = cluster
                .bounded(crate::targets::list(&cluster.client, Some(namespace), true))
                .await
                .map(|rows| rows.into_iter().map(|r| r.name).collect())
                .unwrap_or_default();
            return Err(Error::VmiNotFound {
                name: name.into(),
                namespace: namespace.into(),
                running,
            });
        }
        Err(e) => return Err(cluster.request_error(format!("get VMI {namespace}/{name}"), e)),
    };
    target_from(read, how)
}

/// The target from a VMI (and VM) already read; its plan is decided again from them (a refused
/// plan is an error that changes nothing).
pub fn target_from(read: crate::targets::Read, how: How) -> Result<Target> {
    let vmi = read.vmi();
    let (namespace, name) = (vmi.namespace.clone(), vmi.name.clone());
    target_with_plan(&namespace, &name, read.object, vmi, read.vm_object, how)
}

fn target_with_plan(
    namespace: &str,
    name: &str,
    object: DynamicObject,
    vmi: Vmi,
    vm_object: Option<DynamicObject>,
    how: How,
) -> Result<Target> {
    let vm = vm_object.as_ref().map(Vm::from_object);
    let plan = plan::decide_for(how.fault, &vmi, vm.as_ref(), kubevirt::Timestamp::now());
    if let Some(refusal) = plan.refusal() {
        return Err(Error::Refused {
            namespace: namespace.into(),
            name: name.into(),
            refusal: refusal.clone(),
        });
    }
    if how.keep_down && plan.recovery() != Recovery::Automatic {
        let which = match how.fault {
            plan::Fault::Delete => "runStrategy Always or Once",
            plan::Fault::Crash => "runStrategy Always or RerunOnFailure, under --fault crash",
        };
        return Err(Error::usage(
            format!(
                "--keep-down keeps down a VM that KubeVirt would re-create ({which}); VMI {namespace}/{name} is {}",
                match &vm {
                    Some(vm) => format!("under VM {} with runStrategy {}", vm.name, vm.run_strategy.as_str()),
                    None if plan.recovery() == Recovery::Follow => "in a replica set".to_string(),
                    None => "a standalone VMI".to_string(),
                }
            ),
            "drop --keep-down: KubeVirt already leaves this VMI down until the tool recovers it",
        ));
    }
    Ok(Target {
        object,
        vmi,
        vm_object,
        vm,
        plan,
        launcher: None,
    })
}

/// `--fault crash`: every target's virt-launcher pod, by KubeVirt's labels (one list per
/// namespace). A target without one is an error that changes nothing.
pub async fn find_launchers(cluster: &Cluster, targets: &mut [Target]) -> Result<()> {
    let mut namespaces: Vec<String> = targets.iter().map(|t| t.vmi.namespace.clone()).collect();
    namespaces.dedup();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        let pods: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(cluster.client.clone(), &ns);
        let list = cluster
            .bounded(pods.list(&ListParams::default().labels("kubevirt.io=virt-launcher")))
            .await
            .map_err(|e| cluster.request_error(format!("list virt-launcher pods in {ns}"), e))?;
        for t in targets.iter_mut().filter(|t| t.vmi.namespace == ns) {
            t.launcher = list
                .items
                .iter()
                .filter(|p| {
                    p.metadata.deletion_timestamp.is_none()
                        && p.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get("kubevirt.io/created-by"))
                            == Some(&t.vmi.uid)
                })
                .filter_map(|p| p.metadata.name.clone())
                .next();
            if t.launcher.is_none() {
                return Err(Error::LauncherMissing {
                    namespace: ns.clone(),
                    name: t.vmi.name.clone(),
                    uid: t.vmi.uid.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The target as the Target phase reports it: where it runs, what owns it.
pub fn checked(t: &Target) -> CheckedTarget {
    let owner = match (&t.vm, &t.vmi.owner) {
        (Some(vm), _) => Owner::Vm {
            name: vm.name.clone(),
            pool: vm.pool.clone(),
            run_strategy: vm.run_strategy.as_str().to_string(),
        },
        (None, Some(o)) => Owner::Controller {
            kind: o.kind.clone(),
            name: o.name.clone(),
        },
        (None, None) => Owner::Standalone,
    };
    CheckedTarget {
        namespace: t.vmi.namespace.clone(),
        name: t.vmi.name.clone(),
        node: t.vmi.node.clone(),
        owner,
    }
}

/// A target and its plan, for the confirmation (`render::confirm` words it).
pub fn planned(t: &Target, how: How) -> PlannedTarget {
    PlannedTarget {
        namespace: t.vmi.namespace.clone(),
        name: t.vmi.name.clone(),
        node: t.vmi.node.clone(),
        recovery: t.plan.recovery(),
        vm: t
            .vm
            .as_ref()
            .map(|v| (v.name.clone(), v.run_strategy.as_str().to_string())),
        replica_set: t
            .vmi
            .owner
            .as_ref()
            .filter(|_| t.plan.recovery() == Recovery::Follow)
            .map(|o| o.name.clone()),
        keep_down: how.keep_down,
        fault: how.fault,
    }
}

/// What the core needs of a target.
pub fn spec_for(t: &Target, keep_down: bool, probed: bool) -> TargetSpec {
    TargetSpec {
        namespace: t.vmi.namespace.clone(),
        name: t.vmi.name.clone(),
        uid: t.vmi.uid.clone(),
        node: t.vmi.node.clone(),
        recovery: t.plan.recovery(),
        vm: t.vm.as_ref().map(|v| v.name.clone()),
        replica_set_uid: t
            .vmi
            .owner
            .as_ref()
            .filter(|o| o.kind == "VirtualMachineInstanceReplicaSet")
            .map(|o| o.uid.clone()),
        keep_down: if keep_down {
            t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string())
        } else {
            None
        },
        finalizers: t.vmi.finalizers.clone(),
        launcher: t.launcher.clone(),
        probed,
    }
}

/// Before a run that needs `start`: virt-api's subresources must be served.
pub async fn check_subresources(cluster: &Cluster) -> Result<()> {
    match cluster
        .bounded(
            cluster
                .client
                .list_api_group_resources("subresources.kubevirt.io/v1"),
        )
        .await
    {
        Ok(list)
            if list
                .resources
                .iter()
                .any(|r| r.name == "virtualmachines/start") =>
        {
            Ok(())
        }
        Ok(_) => Err(Error::SubresourcesMissing {
            context: cluster.context.clone(),
        }),
        Err(e) if matches!(api_code(&e), Some(404 | 503)) => Err(Error::SubresourcesMissing {
            context: cluster.context.clone(),
        }),
        Err(e) => Err(cluster.request_error("discover subresources.kubevirt.io/v1", e)),
    }
}

/// One RBAC check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
}

const fn perm(
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    subresource: Option<&'static str>,
) -> Permission {
    Permission {
        verb,
        group,
        resource,
        subresource,
    }
}

/// Every verb a run with these plans uses: list, watch and delete the VMIs, plus what each
/// recovery needs. (The GETs already succeeded, so they need no check.) The schedule's Role
/// is built from this same list.
pub fn required_permissions(
    recoveries: &[Recovery],
    keep_down: bool,
    fault: plan::Fault,
) -> Vec<Permission> {
    let mut perms = vec![
        perm("delete", "kubevirt.io", "virtualmachineinstances", None),
        perm("list", "kubevirt.io", "virtualmachineinstances", None),
        perm("watch", "kubevirt.io", "virtualmachineinstances", None),
    ];
    if fault == plan::Fault::Crash {
        // Finding the launcher pod, then deleting it with no grace.
        perms.push(perm("list", "", "pods", None));
        perms.push(perm("delete", "", "pods", None));
    }
    if recoveries.contains(&Recovery::Start) || keep_down {
        perms.push(perm(
            "update",
            "subresources.kubevirt.io",
            "virtualmachines",
            Some("start"),
        ));
    }
    if keep_down {
        perms.push(perm("patch", "kubevirt.io", "virtualmachines", None));
    }
    if recoveries.contains(&Recovery::Recreate) {
        perms.push(perm(
            "create",
            "kubevirt.io",
            "virtualmachineinstances",
            None,
        ));
    }
    perms
}

/// Asks the API server about every permission at once (one HTTP/2 connection multiplexes them);
/// the first one denied, in the order given, stops the run.
pub async fn check_permissions(
    cluster: &Cluster,
    namespace: &str,
    perms: &[Permission],
) -> Result<()> {
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    let reviews = perms.iter().map(|p| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.into()),
                    verb: Some(p.verb.into()),
                    group: Some(p.group.into()),
                    resource: Some(p.resource.into()),
                    subresource: p.subresource.map(Into::into),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api = api.clone();
        async move { api.create(&PostParams::default(), &review).await }
    });
    let answers = futures::future::join_all(reviews.map(|r| cluster.bounded(r))).await;
    for (p, answer) in perms.iter().zip(answers) {
        let answer = answer.map_err(|e| {
            cluster.request_error(
                "ask the API server what you may do (SelfSubjectAccessReview)",
                e,
            )
        })?;
        let status = answer.status.unwrap_or_default();
        if !status.allowed {
            let reason = status
                .reason
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            return Err(Error::Forbidden {
                user: cluster.user.clone(),
                verb: p.verb.into(),
                resource: match (p.subresource, p.group) {
                    (None, "") => p.resource.to_string(),
                    (Some(s), "") => format!("{}/{s}", p.resource),
                    (Some(s), group) => format!("{}/{s}.{group}", p.resource),
                    (None, group) => format!("{}.{group}", p.resource),
                },
                namespace: namespace.into(),
                reason,
            });
        }
    }
    Ok(())
}

/// The verbs per resource (`virtualmachines/start` for a subresource), in the order first needed.
pub fn grants(perms: &[Permission]) -> Vec<Grant> {
    let mut grants: Vec<Grant> = Vec::new();
    for p in perms {
        let resource = match p.subresource {
            Some(sub) => format!("{}/{sub}", p.resource),
            None => p.resource.to_string(),
        };
        match grants.iter_mut().find(|g| g.resource == resource) {
            Some(g) => g.verbs.push(p.verb),
            None => grants.push(Grant {
                resource,
                verbs: vec![p.verb],
            }),
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarize(perms: &[Permission]) -> String {
        crate::render::progress::permissions(&grants(perms))
    }

    #[test]
    fn permissions_follow_the_plans() {
        let auto = required_permissions(
            &[Recovery::Automatic, Recovery::Follow],
            false,
            plan::Fault::Delete,
        );
        assert_eq!(
            summarize(&auto),
            "delete, list, watch virtualmachineinstances"
        );
        let manual = required_permissions(&[Recovery::Start], false, plan::Fault::Delete);
        assert_eq!(
            summarize(&manual),
            "delete, list, watch virtualmachineinstances; update virtualmachines/start"
        );
        assert_eq!(manual[3].group, "subresources.kubevirt.io");
        let kept = required_permissions(&[Recovery::Automatic], true, plan::Fault::Delete);
        assert_eq!(
            summarize(&kept),
            "delete, list, watch virtualmachineinstances; update virtualmachines/start; patch virtualmachines"
        );
        let standalone = required_permissions(&[Recovery::Recreate], false, plan::Fault::Delete);
        assert_eq!(
            summarize(&standalone),
            "delete, list, watch, create virtualmachineinstances"
        );
        let crash = required_permissions(&[Recovery::Automatic], false, plan::Fault::Crash);
        assert_eq!(
            summarize(&crash),
            "delete, list, watch virtualmachineinstances; list, delete pods"
        );
        assert_eq!(crash[4].group, "");
    }
}
