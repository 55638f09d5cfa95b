//! The VM controller's decisions as a pure function: KubeVirt's runStrategy table (the
//! `syncRunStrategy` switch of `pkg/virt-controller/watch/vm`), fed by the VM's strategy, its
//! state change requests, its start-failure back-off and conditions, and by the VMI it controls.

use std::time::Duration;

use crate::kubevirt::{Action, ChangeRequest, Phase, RunStrategy, VmiFacts};

/// What the VM controller knows about a VM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmFacts {
    /// None: a runStrategy KubeVirt doesn't know; the VM is left alone.
    pub strategy: Option<RunStrategy>,
    /// `status.runStrategy`: the strategy the controller last acted on (None: never).
    pub recorded: Option<RunStrategy>,
    pub requests: Vec<ChangeRequest>,
    pub deleting: bool,
    /// What is left of `status.startFailure.retryAfterTimestamp` (KubeVirt counts whole seconds).
    pub backoff_left: Option<Duration>,
    /// Condition `ManualRecoveryRequired` is True: `startVMI` refuses to create a VMI.
    pub manual_recovery: bool,
}

/// Why the controller stops (deletes) a VMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// runStrategy Halted (or `running: false`): no VMI may run, whatever its phase.
    Halted,
    /// A stop request in `status.stateChangeRequests` names this VMI.
    StopRequest,
    /// Succeeded or Failed, under a strategy that replaces (or cleans up) a finished VMI.
    Finished,
    /// The VM itself is being deleted.
    VmDeleted,
}

impl Why {
    /// For the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Halted => "halted",
            Why::StopRequest => "stop-request",
            Why::Finished => "finished",
            Why::VmDeleted => "vm-deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Create the VMI from the VM's template.
    Create,
    /// A create is due but the start-failure back-off holds it this much longer.
    Backoff(Duration),
    /// Delete the VMI with this UID (a stop).
    Delete {
        uid: String,
        why: Why,
    },
    /// A Halted VM with a start request and no VMI: switch it to `Always` (or `running: true`
    /// for a VM that uses the legacy field), as KubeVirt does for a paused start.
    SwitchToAlways,
    /// The VM is being deleted and its VMI is gone: remove the VM's finalizer.
    ReleaseVm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub decision: Decision,
    /// `status.stateChangeRequests` once the decision is carried out.
    pub requests: Vec<ChangeRequest>,
}

/// `vmi`: the VMI this VM controls, if one exists (a foreign VMI of the same name is the
/// caller's business).
pub fn plan(vm: &VmFacts, vmi: Option<&VmiFacts>) -> Plan {
    let mut requests = settled(&vm.requests, vmi);
    if vm.deleting {
        let decision = match vmi {
            Some(v) if !v.deleting => delete(v, Why::VmDeleted),
            Some(_) => Decision::Nothing,
            None => Decision::ReleaseVm,
        };
        return Plan { decision, requests };
    }
    let Some(strategy) = vm.strategy else {
        return Plan {
            decision: Decision::Nothing,
            requests,
        };
    };
    // `settled` dropped stop requests for other VMIs: a first Stop is for this one.
    let stop_requested = requests.first().is_some_and(|r| r.action == Action::Stop);
    let start_requested = requests.first().is_some_and(|r| r.action == Action::Start);
    // Always and RerunOnFailure wait out the start-failure back-off; Once and Manual don't.
    let start_unless_backing_off = || match vm.backoff_left.filter(|d| !d.is_zero()) {
        Some(left) => Decision::Backoff(left),
        None => Decision::Create,
    };
    let decision = match (strategy, vmi) {
        (_, Some(v)) if v.deleting => Decision::Nothing,
        // No VMI may run under Halted, not even one that was Running when the VM was halted.
        (RunStrategy::Halted, Some(v)) => delete(v, Why::Halted),
        (RunStrategy::Halted, None) if start_requested => Decision::SwitchToAlways,
        (RunStrategy::Halted, None) => Decision::Nothing,
        (RunStrategy::Always, Some(v)) if stop_requested => delete(v, Why::StopRequest),
        (RunStrategy::Always, Some(v)) if v.is_final() => delete(v, Why::Finished),
        (RunStrategy::RerunOnFailure, Some(v)) if stop_requested || v.is_final() => {
            // Only a failure is restarted: queue the start that follows the stop.
            let start_queued = requests.iter().any(|r| r.action == Action::Start);
            if v.phase == Some(Phase::Failed) && !stop_requested && !start_queued {
                requests.push(ChangeRequest::start());
            }
            let why = if stop_requested {
                Why::StopRequest
            } else {
                Why::Finished
            };
            delete(v, why)
        }
        (RunStrategy::Manual, Some(v)) if stop_requested => delete(v, Why::StopRequest),
        // Once leaves a finished VMI (and any request) alone; so does Manual.
        (_, Some(_)) => Decision::Nothing,
        (RunStrategy::Always, None) => start_unless_backing_off(),
        // Once starts whenever no VMI exists, back-off or not.
        (RunStrategy::Once, None) => Decision::Create,
        // A first start, or a switch from another strategy, or a start request; a VMI deleted
        // through the API is a stop.
        (RunStrategy::RerunOnFailure, None) if start_requested || vm.recorded != Some(strategy) => {
            start_unless_backing_off()
        }
        (RunStrategy::Manual, None) if start_requested => Decision::Create,
        (_, None) => Decision::Nothing,
    };
    // `startVMI` creates nothing while the VM needs manual recovery (the request stays).
    let decision = match decision {
        Decision::Create | Decision::Backoff(_) if vm.manual_recovery => Decision::Nothing,
        d => d,
    };
    if decision == Decision::Create && start_requested {
        requests.remove(0);
    }
    Plan { decision, requests }
}

fn delete(vmi: &VmiFacts, why: Why) -> Decision {
    Decision::Delete {
        uid: vmi.uid.clone(),
        why,
    }
}

/// Drops requests that were acted on: a stop whose VMI is gone, a start whose VMI runs.
fn settled(requests: &[ChangeRequest], vmi: Option<&VmiFacts>) -> Vec<ChangeRequest> {
    let mut requests = requests.to_vec();
    loop {
        let done = match (requests.first(), vmi) {
            (Some(r), None) if r.action == Action::Stop => true,
            (Some(r), Some(v)) if r.action == Action::Stop => {
                r.uid.as_ref().is_some_and(|uid| *uid != v.uid)
            }
            (Some(r), Some(v)) if r.action == Action::Start => !v.deleting && !v.is_final(),
            _ => false,
        };
        if !done {
            return requests;
        }
        requests.remove(0);
    }
}

/// `status.printableStatus`, as `kubectl get vm` shows it, checked in KubeVirt's order
/// (Terminating, Stopping, Migrating, Paused, Running, Starting, CrashLoopBackOff, Stopped).
/// `crash_loop`: the VM has a start-failure record under a strategy that restarts.
pub fn printable_status(
    vm_deleting: bool,
    vmi: Option<&VmiFacts>,
    starting: bool,
    crash_loop: bool,
) -> &'static str {
    match vmi {
        _ if vm_deleting => "Terminating",
        Some(v) if v.is_final() && crash_loop => "CrashLoopBackOff",
        Some(v) if v.is_final() => "Stopped",
        Some(v) if v.deleting => "Stopping",
        Some(v) if v.migrating => "Migrating",
        Some(v) if v.phase == Some(Phase::Running) && v.paused => "Paused",
        Some(v) if v.phase == Some(Phase::Running) => "Running",
        Some(_) => "Starting",
        None if crash_loop => "CrashLoopBackOff",
        None if starting => "Starting",
        None => "Stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(strategy: RunStrategy) -> VmFacts {
        VmFacts {
            strategy: Some(strategy),
            recorded: Some(strategy),
            ..VmFacts::default()
        }
    }

    fn vmi(phase: Phase) -> VmiFacts {
        VmiFacts {
            uid: "old".into(),
            phase: Some(phase),
            deleting: false,
            ready: true,
            controller_uid: None,
            was_running: phase >= Phase::Running,
            holds_vm_finalizer: true,
            grace_seconds: Some(30),
            paused: false,
            migrating: false,
        }
    }

    fn decide(vm: &VmFacts, vmi: Option<&VmiFacts>) -> Decision {
        plan(vm, vmi).decision
    }

    fn stop(why: Why) -> Decision {
        Decision::Delete {
            uid: "old".into(),
            why,
        }
    }

    const ALL: [RunStrategy; 5] = [
        RunStrategy::Always,
        RunStrategy::RerunOnFailure,
        RunStrategy::Manual,
        RunStrategy::Halted,
        RunStrategy::Once,
    ];

    #[test]
    fn after_a_delete_only_always_and_once_recreate() {
        for s in ALL {
            let expected = matches!(s, RunStrategy::Always | RunStrategy::Once);
            assert_eq!(decide(&vm(s), None) == Decision::Create, expected, "{s:?}");
        }
    }

    #[test]
    fn on_creation_always_once_and_rerun_on_failure_start() {
        for s in ALL {
            let new = VmFacts {
                recorded: None,
                ..vm(s)
            };
            let expected = !matches!(s, RunStrategy::Manual | RunStrategy::Halted);
            assert_eq!(decide(&new, None) == Decision::Create, expected, "{s:?}");
        }
    }

    #[test]
    fn a_running_vmi_is_left_alone_except_under_halted() {
        for s in ALL {
            let expected = if s == RunStrategy::Halted {
                stop(Why::Halted)
            } else {
                Decision::Nothing
            };
            assert_eq!(
                decide(&vm(s), Some(&vmi(Phase::Running))),
                expected,
                "{s:?}"
            );
        }
    }

    #[test]
    fn halted_stops_a_vmi_in_every_phase() {
        for phase in [
            Phase::Pending,
            Phase::Scheduling,
            Phase::Scheduled,
            Phase::Running,
            Phase::Succeeded,
            Phase::Failed,
        ] {
            assert_eq!(
                decide(&vm(RunStrategy::Halted), Some(&vmi(phase))),
                stop(Why::Halted),
                "{phase:?}"
            );
        }
    }

    #[test]
    fn a_terminating_vmi_is_waited_for() {
        let going = VmiFacts {
            deleting: true,
            ..vmi(Phase::Running)
        };
        for s in ALL {
            assert_eq!(decide(&vm(s), Some(&going)), Decision::Nothing, "{s:?}");
        }
    }

    #[test]
    fn halted_with_a_start_request_switches_to_always() {
        let asked = VmFacts {
            requests: vec![ChangeRequest::start()],
            ..vm(RunStrategy::Halted)
        };
        assert_eq!(decide(&asked, None), Decision::SwitchToAlways);
        assert_eq!(decide(&vm(RunStrategy::Halted), None), Decision::Nothing);
    }

    #[test]
    fn a_start_request_starts_and_is_cleared() {
        for s in [RunStrategy::Manual, RunStrategy::RerunOnFailure] {
            let asked = VmFacts {
                requests: vec![ChangeRequest::start()],
                ..vm(s)
            };
            assert_eq!(
                plan(&asked, None),
                Plan {
                    decision: Decision::Create,
                    requests: vec![]
                },
                "{s:?}"
            );
            let running = plan(&asked, Some(&vmi(Phase::Pending)));
            assert_eq!(
                running,
                Plan {
                    decision: Decision::Nothing,
                    requests: vec![]
                },
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_stop_request_deletes_the_vmi_and_is_cleared_once_it_is_gone() {
        for s in [
            RunStrategy::Always,
            RunStrategy::RerunOnFailure,
            RunStrategy::Manual,
        ] {
            let asked = VmFacts {
                requests: vec![ChangeRequest::stop("old")],
                ..vm(s)
            };
            assert_eq!(
                decide(&asked, Some(&vmi(Phase::Running))),
                stop(Why::StopRequest),
                "{s:?}"
            );
            let gone = plan(&asked, None);
            assert!(gone.requests.is_empty(), "{s:?}");
        }
        // A stop for an older VMI doesn't touch the new one.
        let stale = VmFacts {
            requests: vec![ChangeRequest::stop("older")],
            ..vm(RunStrategy::Manual)
        };
        assert_eq!(
            plan(&stale, Some(&vmi(Phase::Running))),
            Plan {
                decision: Decision::Nothing,
                requests: vec![]
            }
        );
    }

    #[test]
    fn restart_stops_then_starts_for_manual() {
        let mut vm = VmFacts {
            requests: vec![ChangeRequest::stop("old"), ChangeRequest::start()],
            ..vm(RunStrategy::Manual)
        };
        let p = plan(&vm, Some(&vmi(Phase::Running)));
        assert_eq!(p.decision, stop(Why::StopRequest));
        vm.requests = p.requests;
        let going = VmiFacts {
            deleting: true,
            ..vmi(Phase::Succeeded)
        };
        assert_eq!(decide(&vm, Some(&going)), Decision::Nothing);
        assert_eq!(
            plan(&vm, None),
            Plan {
                decision: Decision::Create,
                requests: vec![]
            }
        );
    }

    #[test]
    fn rerun_on_failure_restarts_only_a_failure() {
        let vm = vm(RunStrategy::RerunOnFailure);
        let p = plan(&vm, Some(&vmi(Phase::Failed)));
        assert_eq!(
            p,
            Plan {
                decision: stop(Why::Finished),
                requests: vec![ChangeRequest::start()]
            }
        );
        let after = VmFacts {
            requests: p.requests,
            ..vm.clone()
        };
        assert_eq!(decide(&after, None), Decision::Create);
        let p = plan(&vm, Some(&vmi(Phase::Succeeded)));
        assert_eq!(
            p,
            Plan {
                decision: stop(Why::Finished),
                requests: vec![]
            }
        );
        assert_eq!(decide(&vm, None), Decision::Nothing);
    }

    #[test]
    fn always_replaces_a_finished_vmi_once_does_not() {
        assert_eq!(
            decide(&vm(RunStrategy::Always), Some(&vmi(Phase::Failed))),
            stop(Why::Finished)
        );
        for phase in [Phase::Failed, Phase::Succeeded] {
            assert_eq!(
                decide(&vm(RunStrategy::Once), Some(&vmi(phase))),
                Decision::Nothing
            );
        }
    }

    #[test]
    fn the_start_failure_back_off_holds_always_and_rerun_on_failure_only() {
        let left = Duration::from_secs(7);
        for s in ALL {
            let backing_off = VmFacts {
                recorded: None,
                requests: vec![ChangeRequest::start()],
                backoff_left: Some(left),
                ..vm(s)
            };
            let expected = match s {
                RunStrategy::Always | RunStrategy::RerunOnFailure => Decision::Backoff(left),
                RunStrategy::Once | RunStrategy::Manual => Decision::Create,
                RunStrategy::Halted => Decision::SwitchToAlways,
            };
            assert_eq!(decide(&backing_off, None), expected, "{s:?}");
        }
        let over = VmFacts {
            backoff_left: Some(Duration::ZERO),
            ..vm(RunStrategy::Always)
        };
        assert_eq!(decide(&over, None), Decision::Create);
    }

    #[test]
    fn manual_recovery_required_starts_nothing_but_still_stops() {
        for s in ALL {
            let stuck = VmFacts {
                recorded: None,
                requests: vec![ChangeRequest::start()],
                manual_recovery: true,
                ..vm(s)
            };
            let p = plan(&stuck, None);
            let expected = if s == RunStrategy::Halted {
                Decision::SwitchToAlways
            } else {
                Decision::Nothing
            };
            assert_eq!(p.decision, expected, "{s:?}");
            assert_eq!(p.requests, vec![ChangeRequest::start()], "{s:?}");
        }
        let stuck = VmFacts {
            manual_recovery: true,
            ..vm(RunStrategy::Halted)
        };
        assert_eq!(
            decide(&stuck, Some(&vmi(Phase::Running))),
            stop(Why::Halted)
        );
    }

    #[test]
    fn a_deleted_vm_takes_its_vmi_along_first() {
        let going = VmFacts {
            deleting: true,
            ..vm(RunStrategy::Always)
        };
        assert_eq!(
            decide(&going, Some(&vmi(Phase::Running))),
            stop(Why::VmDeleted)
        );
        assert_eq!(decide(&going, None), Decision::ReleaseVm);
    }

    #[test]
    fn an_unknown_strategy_is_left_alone() {
        let odd = VmFacts {
            strategy: None,
            ..vm(RunStrategy::Always)
        };
        assert_eq!(decide(&odd, None), Decision::Nothing);
    }

    #[test]
    fn printable_status_follows_the_vmi() {
        let v = vmi(Phase::Running);
        let p =
            |vmi: Option<&VmiFacts>, starting, crash| printable_status(false, vmi, starting, crash);
        assert_eq!(p(Some(&v), false, false), "Running");
        assert_eq!(p(Some(&vmi(Phase::Scheduling)), false, false), "Starting");
        let going = VmiFacts {
            deleting: true,
            ..v.clone()
        };
        assert_eq!(p(Some(&going), false, false), "Stopping");
        let paused = VmiFacts {
            paused: true,
            ..v.clone()
        };
        assert_eq!(p(Some(&paused), false, false), "Paused");
        let migrating = VmiFacts {
            migrating: true,
            ..paused
        };
        assert_eq!(p(Some(&migrating), false, false), "Migrating");
        assert_eq!(p(Some(&vmi(Phase::Succeeded)), false, false), "Stopped");
        assert_eq!(
            p(Some(&vmi(Phase::Failed)), false, true),
            "CrashLoopBackOff"
        );
        assert_eq!(p(None, true, false), "Starting");
        assert_eq!(p(None, true, true), "CrashLoopBackOff");
        assert_eq!(p(None, false, false), "Stopped");
        assert_eq!(
            printable_status(true, Some(&v), false, false),
            "Terminating"
        );
    }
}
