//! The VM controller's decisions as a pure function: KubeVirt's runStrategy table, fed by the
//! VM's strategy and state change requests and by the VMI it controls (if any).

use crate::kubevirt::{Action, ChangeRequest, Phase, RunStrategy, VmiFacts};

/// What the VM controller knows about a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFacts {
    /// None: a runStrategy KubeVirt doesn't know; the VM is left alone.
    pub strategy: Option<RunStrategy>,
    /// `status.runStrategy`: the strategy the controller last acted on (None: never).
    pub recorded: Option<RunStrategy>,
    pub requests: Vec<ChangeRequest>,
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Create the VMI from the VM's template.
    Create,
    /// Delete the VMI with this UID (a stop).
    Delete {
        uid: String,
    },
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
            Some(v) if !v.deleting => Decision::Delete { uid: v.uid.clone() },
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
    let stop_requested = requests.first().is_some_and(|r| r.action == Action::Stop);
    let start_requested = requests.first().is_some_and(|r| r.action == Action::Start);
    let decision = match (strategy, vmi) {
        (_, Some(v)) if v.deleting => Decision::Nothing,
        (RunStrategy::Always, Some(v)) if stop_requested || v.is_final() => stop(v),
        (RunStrategy::RerunOnFailure, Some(v)) if stop_requested || v.is_final() => {
            // Only a failure is restarted: queue the start that follows the stop.
            let start_queued = requests.iter().any(|r| r.action == Action::Start);
            if v.phase == Some(Phase::Failed) && !stop_requested && !start_queued {
                requests.push(ChangeRequest::start());
            }
            stop(v)
        }
        (_, Some(v)) if stop_requested => stop(v),
        (_, Some(_)) => Decision::Nothing,
        (RunStrategy::Always | RunStrategy::Once, None) => Decision::Create,
        // A first start, or a switch from another strategy; a delete through the API is a stop.
        (RunStrategy::RerunOnFailure, None) if start_requested || vm.recorded != Some(strategy) => {
            Decision::Create
        }
        // Halted never starts (virt-api's start switches the VM to Always instead).
        (RunStrategy::Halted, None) => Decision::Nothing,
        (_, None) if start_requested => Decision::Create,
        (_, None) => Decision::Nothing,
    };
    if decision == Decision::Create && start_requested {
        requests.remove(0);
    }
    Plan { decision, requests }
}

fn stop(vmi: &VmiFacts) -> Decision {
    Decision::Delete {
        uid: vmi.uid.clone(),
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

/// `status.printableStatus`, as `kubectl get vm` shows it.
pub fn printable_status(vm_deleting: bool, vmi: Option<&VmiFacts>, starting: bool) -> &'static str {
    match vmi {
        _ if vm_deleting => "Terminating",
        Some(v) if v.is_final() => "Stopped",
        Some(v) if v.deleting => "Stopping",
        Some(v) if v.phase == Some(Phase::Running) => "Running",
        Some(_) => "Starting",
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
            requests: vec![],
            deleting: false,
        }
    }

    fn vmi(phase: Phase) -> VmiFacts {
        VmiFacts {
            uid: "old".into(),
            phase: Some(phase),
            deleting: false,
            ready: true,
            controller_uid: None,
        }
    }

    fn decide(vm: &VmFacts, vmi: Option<&VmiFacts>) -> Decision {
        plan(vm, vmi).decision
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
    fn a_running_vmi_is_left_alone_even_when_halted() {
        for s in ALL {
            assert_eq!(
                decide(&vm(s), Some(&vmi(Phase::Running))),
                Decision::Nothing,
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_terminating_vmi_is_waited_for() {
        let going = VmiFacts {
            deleting: true,
            ..vmi(Phase::Failed)
        };
        for s in ALL {
            assert_eq!(decide(&vm(s), Some(&going)), Decision::Nothing, "{s:?}");
        }
    }

    #[test]
    fn halted_never_starts_even_when_asked() {
        let asked = VmFacts {
            requests: vec![ChangeRequest::start()],
            ..vm(RunStrategy::Halted)
        };
        let never = VmFacts {
            recorded: None,
            ..asked.clone()
        };
        assert_eq!(decide(&asked, None), Decision::Nothing);
        assert_eq!(decide(&never, None), Decision::Nothing);
    }

    #[test]
    fn a_start_request_starts_and_is_cleared() {
        for s in [
            RunStrategy::Manual,
            RunStrategy::RerunOnFailure,
            RunStrategy::Once,
        ] {
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
        for s in ALL {
            let asked = VmFacts {
                requests: vec![ChangeRequest::stop("old")],
                ..vm(s)
            };
            assert_eq!(
                decide(&asked, Some(&vmi(Phase::Running))),
                Decision::Delete { uid: "old".into() },
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
        assert_eq!(p.decision, Decision::Delete { uid: "old".into() });
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
                decision: Decision::Delete { uid: "old".into() },
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
                decision: Decision::Delete { uid: "old".into() },
                requests: vec![]
            }
        );
        assert_eq!(decide(&vm, None), Decision::Nothing);
    }

    #[test]
    fn always_replaces_a_finished_vmi_once_does_not() {
        assert_eq!(
            decide(&vm(RunStrategy::Always), Some(&vmi(Phase::Failed))),
            Decision::Delete { uid: "old".into() }
        );
        assert_eq!(
            decide(&vm(RunStrategy::Once), Some(&vmi(Phase::Failed))),
            Decision::Nothing
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
            Decision::Delete { uid: "old".into() }
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
        assert_eq!(printable_status(false, Some(&v), false), "Running");
        assert_eq!(
            printable_status(false, Some(&vmi(Phase::Scheduling)), false),
            "Starting"
        );
        assert_eq!(
            printable_status(
                false,
                Some(&VmiFacts {
                    deleting: true,
                    ..v.clone()
                }),
                false
            ),
            "Stopping"
        );
        assert_eq!(
            printable_status(false, Some(&vmi(Phase::Succeeded)), false),
            "Stopped"
        );
        assert_eq!(printable_status(false, None, true), "Starting");
        assert_eq!(printable_status(false, None, false), "Stopped");
        assert_eq!(printable_status(true, Some(&v), false), "Terminating");
    }
}
