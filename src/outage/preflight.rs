//! The checks before anything changes: KubeVirt is there, the target is a running VMI, and the
//! user may do everything the run will do.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::Value;

use crate::{
    cluster::Cluster,
    error::{api_code, Error, Result},
    kubevirt::{self, Recovery, RunStrategy, Vm, Vmi},
};

/// `kubevirt.io/v1` is served with VMIs; returns what can be read of the KubeVirt object.
pub async fn check_kubevirt(cluster: &Cluster) -> Result<String> {
    match cluster
        .client
        .list_api_group_resources(kubevirt::API_VERSION)
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
    let detail = match api.list(&ListParams::default().limit(1)).await {
        Ok(list) => match list.items.first() {
            Some(kv) => {
                let status = kv.data.get("status");
                let field = |k: &str| {
                    status
                        .and_then(|s| s.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                };
                format!(
                    "kubevirt.io/v1 served; KubeVirt {}/{} {} ({})",
                    kv.metadata.namespace.as_deref().unwrap_or(""),
                    kv.metadata.name.as_deref().unwrap_or(""),
                    field("phase"),
                    field("observedKubeVirtVersion")
                )
            }
            None => "kubevirt.io/v1 served (no KubeVirt object found)".into(),
        },
        // Reading the KubeVirt CR is a nicety that needs cluster-wide rights: never a reason to stop.
        Err(_) => "kubevirt.io/v1 served (KubeVirt object not readable)".into(),
    };
    Ok(detail)
}

/// The outage target: the VMI, its owner VM, and the recovery the tool expects.
#[derive(Debug, Clone)]
pub struct Target {
    pub object: DynamicObject,
    pub vmi: Vmi,
    pub vm_object: Option<DynamicObject>,
    pub vm: Option<Vm>,
    pub expected: Recovery,
}

pub async fn resolve_target(cluster: &Cluster, namespace: &str, name: &str) -> Result<Target> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), namespace, &kubevirt::vmi_resource());
    let object = match api.get_opt(name).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            let running = crate::targets::list(&cluster.client, Some(namespace), true)
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
    let vmi = Vmi::from_object(&object);
    let (vm_object, vm) = match &vmi.owner_vm {
        None => (None, None),
        Some(vm_name) => {
            let vms: Api<DynamicObject> =
                Api::namespaced_with(cluster.client.clone(), namespace, &kubevirt::vm_resource());
            match vms.get_opt(vm_name).await {
                Ok(Some(o)) => {
                    let vm = Vm::from_object(&o);
                    (Some(o), Some(vm))
                }
                Ok(None) => (None, None),
                Err(e) => {
                    return Err(cluster.request_error(format!("get VM {namespace}/{vm_name}"), e))
                }
            }
        }
    };
    let plan = crate::plan::decide(&vmi, vm.as_ref(), kubevirt::Timestamp::now());
    if let Some(refusal) = plan.refusal() {
        return Err(Error::Refused {
            namespace: namespace.into(),
            name: name.into(),
            refusal: refusal.clone(),
        });
    }
    let expected = plan.recovery();
    Ok(Target {
        object,
        vmi,
        vm_object,
        vm,
        expected,
    })
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

/// Every verb the run will use: delete and watch the VMI, plus what its recovery needs.
/// (The GET already succeeded, so it needs no check.)
pub fn required_permissions(expected: Recovery, strategy: Option<&RunStrategy>) -> Vec<Permission> {
    let mut perms = vec![
        perm("delete", "kubevirt.io", "virtualmachineinstances", None),
        perm("watch", "kubevirt.io", "virtualmachineinstances", None),
    ];
    match expected {
        Recovery::Start => {
            perms.push(perm(
                "update",
                "subresources.kubevirt.io",
                "virtualmachines",
                Some("start"),
            ));
            if strategy == Some(&RunStrategy::Halted) {
                // `start` switches a Halted VM to Always; the tool puts Halted back.
                perms.push(perm("patch", "kubevirt.io", "virtualmachines", None));
            }
        }
        Recovery::Recreate => perms.push(perm(
            "create",
            "kubevirt.io",
            "virtualmachineinstances",
            None,
        )),
        Recovery::Automatic | Recovery::Follow | Recovery::None => {}
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
    let answers = futures::future::join_all(reviews).await;
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
                resource: match p.subresource {
                    Some(s) => format!("{}/{s}.{}", p.resource, p.group),
                    None => format!("{}.{}", p.resource, p.group),
                },
                namespace: namespace.into(),
                reason,
            });
        }
    }
    Ok(())
}

/// `delete, watch virtualmachineinstances; update virtualmachines/start`: one clause per resource.
pub fn summarize(perms: &[Permission]) -> String {
    let mut clauses: Vec<(String, Vec<&str>)> = Vec::new();
    for p in perms {
        let res = match p.subresource {
            Some(sub) => format!("{}/{sub}", p.resource),
            None => p.resource.to_string(),
        };
        match clauses.iter_mut().find(|(r, _)| *r == res) {
            Some((_, verbs)) => verbs.push(p.verb),
            None => clauses.push((res, vec![p.verb])),
        }
    }
    clauses
        .iter()
        .map(|(res, verbs)| format!("{} {res}", verbs.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_the_recovery() {
        let auto = required_permissions(Recovery::Automatic, Some(&RunStrategy::Always));
        assert_eq!(summarize(&auto), "delete, watch virtualmachineinstances");
        let manual = required_permissions(Recovery::Start, Some(&RunStrategy::Manual));
        assert_eq!(
            summarize(&manual),
            "delete, watch virtualmachineinstances; update virtualmachines/start"
        );
        assert_eq!(manual[2].group, "subresources.kubevirt.io");
        let halted = required_permissions(Recovery::Start, Some(&RunStrategy::Halted));
        assert_eq!(
            summarize(&halted),
            "delete, watch virtualmachineinstances; update virtualmachines/start; patch virtualmachines"
        );
        let standalone = required_permissions(Recovery::Recreate, None);
        assert_eq!(
            summarize(&standalone),
            "delete, watch, create virtualmachineinstances"
        );
    }
}
