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
        change_requests, condition_is_true, vm_resource, vmi_resource, Action, ChangeRequest,
        Phase, RunStrategy, VmiFacts,
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

/// The body of a call: KubeVirt's `StartOptions`, `StopOptions` and `RestartOptions` (the
/// fields the simulator acts on; unknown fields are ignored, as Go's decoder does).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    /// `["All"]`: validate and answer as for a real call, but change nothing.
    #[serde(default)]
    pub dry_run: Vec<String>,
    /// `start`: start paused. The start request carries it; the simulated VMI starts unpaused.
    #[serde(default)]
    pub paused: bool,
    /// `stop`: shorten the VMI's `spec.terminationGracePeriodSeconds` first.
    #[serde(default)]
    pub grace_period: Option<i64>,
    /// `restart`: only 0 (a forced restart) is accepted.
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
}

impl Options {
    /// Parses a body as virt-api does: empty means defaults; a value `dryRun` can't hold is
    /// what the API server would refuse when virt-api passes it on.
    pub fn parse(body: &[u8]) -> Result<Options, Refusal> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Options::default());
        }
        let options: Options = serde_json::from_slice(body).map_err(|e| {
            Refusal::BadRequest(format!(
                "Can not unmarshal Request body to struct, error: {e}"
            ))
        })?;
        if let Some(bad) = options.dry_run.iter().find(|v| *v != "All") {
            return Err(Refusal::Internal(format!(
                "dryRun: Unsupported value: \"{bad}\": supported values: \"All\""
            )));
        }
        Ok(options)
    }

    pub fn dry_run(&self) -> bool {
        !self.dry_run.is_empty()
    }
}

/// What virt-api reads of the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmView {
    pub strategy: RunStrategy,
    /// The VM uses the deprecated `spec.running` (no `spec.runStrategy`).
    pub legacy: bool,
    pub requests: Vec<ChangeRequest>,
    /// Condition ManualRecoveryRequired=True.
    pub manual_recovery: bool,
    /// `status.startFailure` is set (a state change request clears it).
    pub start_failure: bool,
}

/// A new value for the VM's run field: the one the VM uses, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunField {
    RunStrategy(RunStrategy),
    Running(bool),
}

/// What a call changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Change {
    pub run: Option<RunField>,
    /// The new `status.stateChangeRequests`.
    pub requests: Option<Vec<ChangeRequest>>,
    /// Remove `status.startFailure` (with any state change request, as virt-api does).
    pub clear_start_failure: bool,
    /// The VMI's new `spec.terminationGracePeriodSeconds` (`stop` with a grace period).
    pub vmi_grace: Option<i64>,
}

/// Why virt-api refuses a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 409 Conflict, on `virtualmachine.kubevirt.io "<name>"`.
    Conflict(String),
    /// 400 Bad Request.
    BadRequest(String),
    /// 500 Internal Server Error.
    Internal(String),
}

/// The message of KubeVirt's `volumeMigrationManualRecoveryRequiredErr`.
pub const MANUAL_RECOVERY_MESSAGE: &str = "VM recovery required: Volume migration failed, leaving \
     some volumes pointing to non-consistent targets; manual intervention is needed to reassign \
     them to their original volumes.";

/// virt-api's answer to a call, as its `StartVMRequestHandler`, `StopVMRequestHandler` and
/// `RestartVMRequestHandler` decide it (`pkg/virt-api/rest`), before anything is written.
pub fn decide(
    verb: Verb,
    vm: &VmView,
    vmi: Option<&VmiFacts>,
    options: &Options,
) -> Result<Change, Refusal> {
    let conflict = |why: String| Err(Refusal::Conflict(why));
    let strategy = vm.strategy;
    match verb {
        Verb::Start => {
            let active = vmi.filter(|v| !v.is_final() && v.phase.is_some());
            if active.is_some() {
                return conflict("VM is already running".into());
            }
            if vm.manual_recovery {
                return conflict(MANUAL_RECOVERY_MESSAGE.into());
            }
            let mut start = ChangeRequest::start();
            if options.paused {
                start.data = Some([("paused".to_string(), "true".to_string())].into());
            }
            match strategy {
                // virtctl's start on a Halted VM: Always (or `running: true`).
                RunStrategy::Halted if !options.paused => Ok(Change {
                    run: Some(if vm.legacy {
                        RunField::Running(true)
                    } else {
                        RunField::RunStrategy(RunStrategy::Always)
                    }),
                    ..Change::default()
                }),
                // A paused start: the request makes the controller switch the strategy.
                RunStrategy::Halted => with_requests(vm, vec![start]),
                RunStrategy::RerunOnFailure | RunStrategy::Manual => {
                    let phase = vmi.and_then(|v| v.phase);
                    let restart = match (strategy, phase) {
                        (RunStrategy::RerunOnFailure, Some(Phase::Failed)) => {
                            return conflict(
                                "RerunOnFailure does not support starting VM from failed state"
                                    .into(),
                            )
                        }
                        (RunStrategy::RerunOnFailure, Some(Phase::Succeeded)) => true,
                        (RunStrategy::Manual, Some(p)) => p.is_final(),
                        _ => false,
                    };
                    let mut requests = vec![];
                    if let (true, Some(v)) = (restart, vmi) {
                        requests.push(ChangeRequest::stop(&v.uid));
                    }
                    requests.push(start);
                    with_requests(vm, requests)
                }
                RunStrategy::Always | RunStrategy::Once => conflict(format!(
                    "{} does not support manual start requests",
                    strategy.as_str()
                )),
            }
        }
        Verb::Stop => {
            let running = vmi.filter(|v| !v.is_final());
            let vmi_grace = match (running, options.grace_period) {
                (Some(_), Some(grace)) => Some(grace),
                _ => None,
            };
            let change = match strategy {
                RunStrategy::Halted => {
                    let Some(v) = running else {
                        return conflict("VM is not running".into());
                    };
                    let shorter = match (options.grace_period, v.grace_seconds) {
                        (Some(new), Some(old)) => new < old,
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    if !shorter {
                        return conflict(
                            "Halted only supports manual stop requests with a shorter graceperiod"
                                .into(),
                        );
                    }
                    stop_request(vm, &v.uid)?
                }
                RunStrategy::RerunOnFailure | RunStrategy::Manual => {
                    let Some(v) = running else {
                        return conflict("VM is not running".into());
                    };
                    stop_request(vm, &v.uid)?
                }
                RunStrategy::Always | RunStrategy::Once => Change {
                    run: Some(if vm.legacy {
                        RunField::Running(false)
                    } else {
                        RunField::RunStrategy(RunStrategy::Halted)
                    }),
                    ..Change::default()
                },
            };
            Ok(Change {
                vmi_grace,
                ..change
            })
        }
        Verb::Restart => {
            match options.grace_period_seconds {
                Some(g) if g > 0 => {
                    return Err(Refusal::BadRequest(
                        "For force restart, only gracePeriod=0 is supported for now".into(),
                    ))
                }
                Some(g) if g < 0 => {
                    return Err(Refusal::BadRequest(
                        "gracePeriod has to be greater or equal to 0".into(),
                    ))
                }
                _ => {}
            }
            if matches!(strategy, RunStrategy::Halted | RunStrategy::Once) {
                // KubeVirt's spelling.
                return conflict(format!(
                    "RunStategy {} does not support manual restart requests",
                    strategy.as_str()
                ));
            }
            let Some(v) = vmi else {
                return conflict("VM is not running: Halted".into());
            };
            with_requests(
                vm,
                vec![ChangeRequest::stop(&v.uid), ChangeRequest::start()],
            )
        }
    }
}

/// KubeVirt's `getChangeRequestJson`: requests are added only when none are pending, except
/// that a lone stop replaces what is pending.
fn with_requests(vm: &VmView, requests: Vec<ChangeRequest>) -> Result<Change, Refusal> {
    let lone_stop = requests.len() == 1 && requests[0].action == Action::Stop;
    if !vm.requests.is_empty() && !lone_stop {
        return Err(Refusal::Internal(
            "unable to complete request: stop/start already underway".into(),
        ));
    }
    Ok(Change {
        requests: Some(requests),
        clear_start_failure: vm.start_failure,
        ..Change::default()
    })
}

fn stop_request(vm: &VmView, vmi_uid: &str) -> Result<Change, Refusal> {
    with_requests(vm, vec![ChangeRequest::stop(vmi_uid)])
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

/// One call as the API server proxies it.
pub struct Call<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub verb: Verb,
    pub body: &'a [u8],
}

pub async fn handle(client: &Client, log: &EventLog, call: &Call<'_>, caller: &Caller) -> Reply {
    let (namespace, name, verb) = (call.namespace, call.name, call.verb);
    let received = crate::log::unix_ms(std::time::SystemTime::now());
    let options = Options::parse(call.body);
    let dry_run = options.as_ref().is_ok_and(Options::dry_run);
    let reply = match options {
        Err(refusal) => refuse(name, refusal),
        Ok(options) => match try_handle(client, call, &options).await {
            Ok(reply) => reply,
            Err(e) => refuse(
                name,
                Refusal::Internal(format!(
                    "failed to {} VM {namespace}/{name}: {e}",
                    verb.as_str()
                )),
            ),
        },
    };
    let user = caller.user.as_deref().unwrap_or("<unknown>");
    tracing::info!(user, groups = ?caller.groups, code = reply.code, dry_run, "{} {namespace}/{name}", verb.as_str());
    log.record(
        verb.as_str(),
        namespace,
        name,
        "",
        json!({"user": user, "groups": caller.groups, "code": reply.code, "dryRun": dry_run, "receivedUnixMs": received}),
    );
    reply
}

fn refuse(name: &str, refusal: Refusal) -> Reply {
    match refusal {
        Refusal::Conflict(why) => {
            let message = format!(
                "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"{name}\": {why}"
            );
            Reply::failure(409, "Conflict", &message, Some(name))
        }
        Refusal::BadRequest(message) => Reply::failure(400, "BadRequest", &message, None),
        Refusal::Internal(why) => Reply::failure(
            500,
            "InternalError",
            &format!("Internal error occurred: {why}"),
            None,
        ),
    }
}

async fn try_handle(client: &Client, call: &Call<'_>, options: &Options) -> kube::Result<Reply> {
    let (namespace, name, verb) = (call.namespace, call.name, call.verb);
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
            return Ok(refuse(
                name,
                Refusal::Internal("the VM has an unknown runStrategy".into()),
            ));
        };
        let view = VmView {
            strategy,
            legacy: vm.data["spec"].get("runStrategy").is_none(),
            requests: change_requests(&vm),
            manual_recovery: condition_is_true(&vm.data, "ManualRecoveryRequired"),
            start_failure: !vm.data["status"]["startFailure"].is_null(),
        };
        let vmi = vmis.get_opt(name).await?;
        let facts = vmi.as_ref().map(VmiFacts::of);
        let change = match decide(verb, &view, facts.as_ref(), options) {
            Ok(change) => change,
            Err(refusal) => return Ok(refuse(name, refusal)),
        };
        match apply(&vms, &vmis, &vm, vmi.as_ref(), &change, options.dry_run()).await {
            Ok(()) => return Ok(Reply::accepted()),
            // The VM changed under us (the VM controller writes its status too): decide again.
            Err(e) if api_code(&e) == Some(409) && attempts < 5 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Writes the change: each write conditional on what was read (virt-api's JSON patch `test`
/// operations), and, for a dry run, sent with `dryRun=All` so the API server validates it and
/// stores nothing.
async fn apply(
    vms: &Api<DynamicObject>,
    vmis: &Api<DynamicObject>,
    vm: &DynamicObject,
    vmi: Option<&DynamicObject>,
    change: &Change,
    dry_run: bool,
) -> kube::Result<()> {
    let name = vm.name_any();
    let params = kube::api::PatchParams {
        dry_run,
        ..crate::patch_params()
    };
    if let (Some(grace), Some(vmi)) = (change.vmi_grace, vmi) {
        let patch = json!({
            "metadata": {"uid": vmi.uid(), "resourceVersion": vmi.resource_version()},
            "spec": {"terminationGracePeriodSeconds": grace},
        });
        vmis.patch(&vmi.name_any(), &params, &Patch::Merge(&patch))
            .await?;
    }
    if let Some(requests) = &change.requests {
        let mut status = json!({"stateChangeRequests": requests});
        if change.clear_start_failure {
            status["startFailure"] = Value::Null;
        }
        let patch =
            json!({"metadata": {"resourceVersion": vm.resource_version()}, "status": status});
        vms.patch_status(&name, &params, &Patch::Merge(&patch))
            .await?;
    }
    if let Some(run) = change.run {
        let spec = match run {
            RunField::RunStrategy(s) => json!({"runStrategy": s.as_str()}),
            RunField::Running(running) => json!({"running": running}),
        };
        let patch = json!({"metadata": {"resourceVersion": vm.resource_version()}, "spec": spec});
        vms.patch(&name, &params, &Patch::Merge(&patch)).await?;
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
            was_running: true,
            holds_vm_finalizer: true,
            grace_seconds: Some(30),
            paused: false,
            migrating: false,
        }
    }

    fn vm(strategy: RunStrategy) -> VmView {
        VmView {
            strategy,
            legacy: false,
            requests: vec![],
            manual_recovery: false,
            start_failure: false,
        }
    }

    fn call(verb: Verb, vm: &VmView, vmi: Option<&VmiFacts>) -> Result<Change, Refusal> {
        decide(verb, vm, vmi, &Options::default())
    }

    fn requests(r: Vec<ChangeRequest>) -> Result<Change, Refusal> {
        Ok(Change {
            requests: Some(r),
            ..Change::default()
        })
    }

    fn conflict(why: &str) -> Result<Change, Refusal> {
        Err(Refusal::Conflict(why.into()))
    }

    #[test]
    fn start_on_halted_switches_the_field_the_vm_uses() {
        assert_eq!(
            call(Verb::Start, &vm(RunStrategy::Halted), None),
            Ok(Change {
                run: Some(RunField::RunStrategy(RunStrategy::Always)),
                ..Change::default()
            })
        );
        let legacy = VmView {
            legacy: true,
            ..vm(RunStrategy::Halted)
        };
        assert_eq!(
            call(Verb::Start, &legacy, None),
            Ok(Change {
                run: Some(RunField::Running(true)),
                ..Change::default()
            })
        );
    }

    #[test]
    fn start_on_manual_and_rerun_on_failure_requests_a_start() {
        for s in [RunStrategy::Manual, RunStrategy::RerunOnFailure] {
            assert_eq!(
                call(Verb::Start, &vm(s), None),
                requests(vec![ChangeRequest::start()]),
                "{s:?}"
            );
            // A finished VMI is stopped (deleted) before the new start.
            assert_eq!(
                call(Verb::Start, &vm(s), Some(&vmi(Phase::Succeeded))),
                requests(vec![ChangeRequest::stop("u1"), ChangeRequest::start()]),
                "{s:?}"
            );
        }
        assert_eq!(
            call(
                Verb::Start,
                &vm(RunStrategy::Manual),
                Some(&vmi(Phase::Failed))
            ),
            requests(vec![ChangeRequest::stop("u1"), ChangeRequest::start()])
        );
        assert_eq!(
            call(
                Verb::Start,
                &vm(RunStrategy::RerunOnFailure),
                Some(&vmi(Phase::Failed))
            ),
            conflict("RerunOnFailure does not support starting VM from failed state")
        );
    }

    #[test]
    fn start_on_always_and_once_is_a_conflict() {
        for (s, why) in [
            (
                RunStrategy::Always,
                "Always does not support manual start requests",
            ),
            (
                RunStrategy::Once,
                "Once does not support manual start requests",
            ),
        ] {
            assert_eq!(call(Verb::Start, &vm(s), None), conflict(why));
            assert_eq!(
                call(Verb::Start, &vm(s), Some(&vmi(Phase::Succeeded))),
                conflict(why)
            );
        }
    }

    #[test]
    fn start_is_refused_while_a_vmi_runs_or_terminates() {
        let terminating = VmiFacts {
            deleting: true,
            ..vmi(Phase::Running)
        };
        for s in [
            RunStrategy::Manual,
            RunStrategy::Halted,
            RunStrategy::Always,
            RunStrategy::Once,
            RunStrategy::RerunOnFailure,
        ] {
            for v in [&vmi(Phase::Running), &vmi(Phase::Scheduling), &terminating] {
                assert_eq!(
                    call(Verb::Start, &vm(s), Some(v)),
                    conflict("VM is already running"),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn start_is_refused_when_manual_recovery_is_required() {
        let stuck = VmView {
            manual_recovery: true,
            ..vm(RunStrategy::Manual)
        };
        assert_eq!(
            call(Verb::Start, &stuck, None),
            conflict(MANUAL_RECOVERY_MESSAGE)
        );
    }

    #[test]
    fn a_state_change_request_clears_the_start_failure_and_waits_for_pending_ones() {
        let backing_off = VmView {
            start_failure: true,
            ..vm(RunStrategy::RerunOnFailure)
        };
        assert_eq!(
            call(Verb::Start, &backing_off, None),
            Ok(Change {
                requests: Some(vec![ChangeRequest::start()]),
                clear_start_failure: true,
                ..Change::default()
            })
        );
        let busy = VmView {
            requests: vec![ChangeRequest::stop("u0")],
            ..vm(RunStrategy::Manual)
        };
        assert!(matches!(
            call(Verb::Start, &busy, None),
            Err(Refusal::Internal(m)) if m.contains("already underway")
        ));
        // A lone stop replaces what is pending.
        assert_eq!(
            call(Verb::Stop, &busy, Some(&vmi(Phase::Running))),
            requests(vec![ChangeRequest::stop("u1")])
        );
    }

    #[test]
    fn stop_halts_always_and_once_and_requests_a_stop_otherwise() {
        let running = vmi(Phase::Running);
        for s in [RunStrategy::Always, RunStrategy::Once] {
            assert_eq!(
                call(Verb::Stop, &vm(s), Some(&running)),
                Ok(Change {
                    run: Some(RunField::RunStrategy(RunStrategy::Halted)),
                    ..Change::default()
                })
            );
        }
        let legacy = VmView {
            legacy: true,
            ..vm(RunStrategy::Always)
        };
        assert_eq!(
            call(Verb::Stop, &legacy, Some(&running)).unwrap().run,
            Some(RunField::Running(false))
        );
        assert_eq!(
            call(Verb::Stop, &vm(RunStrategy::Manual), Some(&running)),
            requests(vec![ChangeRequest::stop("u1")])
        );
        assert_eq!(
            call(Verb::Stop, &vm(RunStrategy::Manual), None),
            conflict("VM is not running")
        );
    }

    #[test]
    fn stop_with_a_grace_period_shortens_it_and_is_what_halted_accepts() {
        let running = vmi(Phase::Running);
        let short = Options {
            grace_period: Some(0),
            ..Options::default()
        };
        assert_eq!(
            decide(Verb::Stop, &vm(RunStrategy::Manual), Some(&running), &short),
            Ok(Change {
                requests: Some(vec![ChangeRequest::stop("u1")]),
                vmi_grace: Some(0),
                ..Change::default()
            })
        );
        assert_eq!(
            call(Verb::Stop, &vm(RunStrategy::Halted), Some(&running)),
            conflict("Halted only supports manual stop requests with a shorter graceperiod")
        );
        assert_eq!(
            decide(Verb::Stop, &vm(RunStrategy::Halted), Some(&running), &short)
                .unwrap()
                .vmi_grace,
            Some(0)
        );
    }

    #[test]
    fn restart_stops_then_starts_except_when_halted_or_once() {
        let running = vmi(Phase::Running);
        for s in [
            RunStrategy::Always,
            RunStrategy::Manual,
            RunStrategy::RerunOnFailure,
        ] {
            assert_eq!(
                call(Verb::Restart, &vm(s), Some(&running)),
                requests(vec![ChangeRequest::stop("u1"), ChangeRequest::start()]),
                "{s:?}"
            );
        }
        for (s, why) in [
            (
                RunStrategy::Halted,
                "RunStategy Halted does not support manual restart requests",
            ),
            (
                RunStrategy::Once,
                "RunStategy Once does not support manual restart requests",
            ),
        ] {
            assert_eq!(call(Verb::Restart, &vm(s), Some(&running)), conflict(why));
        }
        assert_eq!(
            call(Verb::Restart, &vm(RunStrategy::Manual), None),
            conflict("VM is not running: Halted")
        );
        let slow = Options {
            grace_period_seconds: Some(5),
            ..Options::default()
        };
        assert!(matches!(
            decide(
                Verb::Restart,
                &vm(RunStrategy::Manual),
                Some(&running),
                &slow
            ),
            Err(Refusal::BadRequest(_))
        ));
    }

    #[test]
    fn options_parse_like_virt_api() {
        assert_eq!(Options::parse(b""), Ok(Options::default()));
        assert_eq!(Options::parse(b"{}"), Ok(Options::default()));
        let dry = Options::parse(br#"{"dryRun":["All"]}"#).unwrap();
        assert!(dry.dry_run());
        let grace = Options::parse(br#"{"gracePeriod":0,"other":1}"#).unwrap();
        assert_eq!(grace.grace_period, Some(0));
        assert!(matches!(
            Options::parse(b"{not json"),
            Err(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            Options::parse(br#"{"dryRun":["Some"]}"#),
            Err(Refusal::Internal(_))
        ));
    }

    #[test]
    fn failures_are_kubernetes_statuses() {
        let r = refuse("x", Refusal::Conflict("VM is not running".into()));
        assert_eq!(
            (r.code, &r.body["kind"], &r.body["reason"]),
            (409, &json!("Status"), &json!("Conflict"))
        );
        assert_eq!(
            r.body["message"],
            "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"x\": VM is not running"
        );
        serde_json::from_value::<kube::core::Status>(r.body).unwrap();
        let r = refuse("x", Refusal::Internal("boom".into()));
        assert_eq!(
            (r.code, &r.body["message"]),
            (500, &json!("Internal error occurred: boom"))
        );
    }
}
