//! virt-api's `start`, `stop` and `restart` subresources of a VM: what each does to the VM, as
//! a pure decision, and the handler that reads the VM and VMI and carries it out.

use kube::{
    api::{Api, DynamicObject, Patch},
    Client, ResourceExt,
};
use serde_json::{json, Value};

use crate::{
    api_code, knobs,
    kubevirt::{
        change_requests, vm_resource, vmi_resource, ChangeRequest, Phase, RunStrategy, VmiFacts,
    },
    log::EventLog,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    pub fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "start" => Verb::Start,
            "stop" => Verb::Stop,
            "restart" => Verb::Restart,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }
}

/// What a call changes on the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// A new `spec.runStrategy` (the legacy `spec.running` is removed with it).
    pub run_strategy: Option<RunStrategy>,
    /// The new `status.stateChangeRequests`.
    pub requests: Option<Vec<ChangeRequest>>,
}

/// The call, or the reason virt-api refuses it (answered with 409 Conflict).
pub fn decide(verb: Verb, strategy: RunStrategy, vmi: Option<&VmiFacts>) -> Result<Change, String> {
    let running = vmi.filter(|v| !v.is_final());
    let requests = |r: Vec<ChangeRequest>| {
        Ok(Change {
            run_strategy: None,
            requests: Some(r),
        })
    };
    match verb {
        Verb::Start => {
            if running.is_some_and(|v| v.phase.is_some()) {
                return Err("VM is already running".into());
            }
            // A finished VMI is stopped (deleted) before the new start.
            let mut start = vmi
                .map(|v| vec![ChangeRequest::stop(&v.uid)])
                .unwrap_or_default();
            start.push(ChangeRequest::start());
            match strategy {
                // As virtctl does: a Halted VM becomes Always.
                RunStrategy::Halted => Ok(Change {
                    run_strategy: Some(RunStrategy::Always),
                    requests: None,
                }),
                RunStrategy::RerunOnFailure
                    if vmi.is_some_and(|v| v.phase == Some(Phase::Failed)) =>
                {
                    Err("RerunOnFailure does not support manual restart requests".into())
                }
                RunStrategy::Manual | RunStrategy::RerunOnFailure | RunStrategy::Once => {
                    requests(start)
                }
                RunStrategy::Always => Err("Always does not support manual start requests".into()),
            }
        }
        Verb::Stop => match (strategy, running) {
            // The simulator leaves a Halted VM's VMI alone, so the stop is requested as well.
            (RunStrategy::Always | RunStrategy::Once, _) => Ok(Change {
                run_strategy: Some(RunStrategy::Halted),
                requests: running.map(|v| vec![ChangeRequest::stop(&v.uid)]),
            }),
            (_, None) => Err("VM is not running".into()),
            (_, Some(v)) => requests(vec![ChangeRequest::stop(&v.uid)]),
        },
        Verb::Restart => match (strategy, vmi) {
            (RunStrategy::Halted, _) => {
                Err("Halted does not support manual restart requests".into())
            }
            (_, None) => Err("VM is not running".into()),
            (_, Some(v)) => requests(vec![ChangeRequest::stop(&v.uid), ChangeRequest::start()]),
        },
    }
}

/// An HTTP answer: status code and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

impl Reply {
    pub fn accepted() -> Reply {
        Reply {
            code: 202,
            body: json!({}),
        }
    }

    /// A Kubernetes `Status` (Failure).
    pub fn failure(code: u16, reason: &str, message: &str, name: Option<&str>) -> Reply {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        });
        if let Some(name) = name {
            body["details"] =
                json!({"name": name, "group": "kubevirt.io", "kind": "virtualmachines"});
        }
        Reply { code, body }
    }
}

/// Who called, as the API server's front proxy tells (`X-Remote-User`, `X-Remote-Group`).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<String>,
    pub groups: Vec<String>,
}

pub async fn handle(
    client: &Client,
    log: &EventLog,
    namespace: &str,
    name: &str,
    verb: Verb,
    caller: &Caller,
) -> Reply {
    let received = crate::log::unix_ms(std::time::SystemTime::now());
    let reply = match try_handle(client, namespace, name, verb).await {
        Ok(reply) => reply,
        Err(e) => Reply::failure(
            500,
            "InternalError",
            &format!("failed to {} VM {namespace}/{name}: {e}", verb.as_str()),
            Some(name),
        ),
    };
    let user = caller.user.as_deref().unwrap_or("<unknown>");
    tracing::info!(user, groups = ?caller.groups, code = reply.code, "{} {namespace}/{name}", verb.as_str());
    log.record(
        verb.as_str(),
        namespace,
        name,
        "",
        json!({"user": user, "groups": caller.groups, "code": reply.code, "receivedUnixMs": received}),
    );
    reply
}

async fn try_handle(
    client: &Client,
    namespace: &str,
    name: &str,
    verb: Verb,
) -> kube::Result<Reply> {
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_resource());
    let vmis: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vmi_resource());
    let mut attempts = 0;
    loop {
        let Some(vm) = vms.get_opt(name).await? else {
            return Ok(Reply::failure(
                404,
                "NotFound",
                &format!("virtualmachines.kubevirt.io \"{name}\" not found"),
                Some(name),
            ));
        };
        if verb == Verb::Start && knobs::flag(vm.annotations(), knobs::REJECT_START) {
            let message = format!(
                "simulated failure to start VM {namespace}/{name} ({})",
                knobs::REJECT_START
            );
            return Ok(Reply::failure(500, "InternalError", &message, Some(name)));
        }
        let Some(strategy) = RunStrategy::of_spec(&vm.data["spec"]) else {
            return Ok(Reply::failure(
                500,
                "InternalError",
                "the VM has an unknown runStrategy",
                Some(name),
            ));
        };
        let vmi = vmis.get_opt(name).await?.map(|v| VmiFacts::of(&v));
        let change = match decide(verb, strategy, vmi.as_ref()) {
            Ok(change) => change,
            Err(why) => {
                let message = format!(
                    "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"{name}\": {why}"
                );
                return Ok(Reply::failure(409, "Conflict", &message, Some(name)));
            }
        };
        match apply(&vms, &vm, &change).await {
            Ok(()) => return Ok(Reply::accepted()),
            // The VM changed under us (the VM controller writes its status too): decide again.
            Err(e) if api_code(&e) == Some(409) && attempts < 5 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

async fn apply(vms: &Api<DynamicObject>, vm: &DynamicObject, change: &Change) -> kube::Result<()> {
    let name = vm.name_any();
    if let Some(requests) = &change.requests {
        if *requests != change_requests(vm) {
            let patch = json!({"metadata": {"resourceVersion": vm.resource_version()}, "status": {"stateChangeRequests": requests}});
            vms.patch_status(&name, &crate::patch_params(), &Patch::Merge(&patch))
                .await?;
        }
    }
    if let Some(strategy) = change.run_strategy {
        // Never write the deprecated spec.running: it goes, runStrategy takes over.
        let patch = json!({"spec": {"runStrategy": strategy.as_str(), "running": null}});
        vms.patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(phase: Phase) -> VmiFacts {
        VmiFacts {
            uid: "u1".into(),
            phase: Some(phase),
            deleting: false,
            ready: true,
            controller_uid: None,
        }
    }

    fn requests(r: Vec<ChangeRequest>) -> Result<Change, String> {
        Ok(Change {
            run_strategy: None,
            requests: Some(r),
        })
    }

    #[test]
    fn start_on_halted_switches_to_always() {
        let change = decide(Verb::Start, RunStrategy::Halted, None);
        assert_eq!(
            change,
            Ok(Change {
                run_strategy: Some(RunStrategy::Always),
                requests: None
            })
        );
    }

    #[test]
    fn start_on_manual_rerun_and_once_requests_a_start() {
        for s in [
            RunStrategy::Manual,
            RunStrategy::RerunOnFailure,
            RunStrategy::Once,
        ] {
            assert_eq!(
                decide(Verb::Start, s, None),
                requests(vec![ChangeRequest::start()]),
                "{s:?}"
            );
        }
        let finished = vmi(Phase::Succeeded);
        assert_eq!(
            decide(Verb::Start, RunStrategy::Manual, Some(&finished)),
            requests(vec![ChangeRequest::stop("u1"), ChangeRequest::start()])
        );
    }

    #[test]
    fn start_is_refused_while_a_vmi_runs_and_on_always() {
        for s in [
            RunStrategy::Manual,
            RunStrategy::Halted,
            RunStrategy::Always,
        ] {
            let terminating = VmiFacts {
                deleting: true,
                ..vmi(Phase::Running)
            };
            assert_eq!(
                decide(Verb::Start, s, Some(&vmi(Phase::Running))),
                Err("VM is already running".into())
            );
            assert_eq!(
                decide(Verb::Start, s, Some(&terminating)),
                Err("VM is already running".into())
            );
        }
        assert!(decide(Verb::Start, RunStrategy::Always, None)
            .unwrap_err()
            .contains("Always"));
    }

    #[test]
    fn stop_halts_always_and_requests_a_stop_otherwise() {
        let running = vmi(Phase::Running);
        assert_eq!(
            decide(Verb::Stop, RunStrategy::Always, Some(&running)),
            Ok(Change {
                run_strategy: Some(RunStrategy::Halted),
                requests: Some(vec![ChangeRequest::stop("u1")])
            })
        );
        assert_eq!(
            decide(Verb::Stop, RunStrategy::Manual, Some(&running)),
            requests(vec![ChangeRequest::stop("u1")])
        );
        assert_eq!(
            decide(Verb::Stop, RunStrategy::Manual, None),
            Err("VM is not running".into())
        );
    }

    #[test]
    fn restart_stops_then_starts_except_when_halted() {
        let running = vmi(Phase::Running);
        for s in [
            RunStrategy::Always,
            RunStrategy::Manual,
            RunStrategy::RerunOnFailure,
            RunStrategy::Once,
        ] {
            assert_eq!(
                decide(Verb::Restart, s, Some(&running)),
                requests(vec![ChangeRequest::stop("u1"), ChangeRequest::start()]),
                "{s:?}"
            );
        }
        assert!(decide(Verb::Restart, RunStrategy::Halted, Some(&running)).is_err());
        assert_eq!(
            decide(Verb::Restart, RunStrategy::Manual, None),
            Err("VM is not running".into())
        );
    }

    #[test]
    fn failures_are_kubernetes_statuses() {
        let r = Reply::failure(
            404,
            "NotFound",
            "virtualmachines.kubevirt.io \"x\" not found",
            Some("x"),
        );
        assert_eq!(
            (r.code, &r.body["kind"], &r.body["code"]),
            (404, &json!("Status"), &json!(404))
        );
        serde_json::from_value::<kube::core::Status>(r.body).unwrap();
    }
}
