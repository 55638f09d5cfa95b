//! The recovery plan of one VMI, decided before anything is deleted: a pure function of what the
//! VMI and its owner look like, following KubeVirt's VM controller row by row
//! (../shared/KUBEVIRT.md, "What happens after the VMI is deleted"). `list`, the picker,
//! completion, the pre-flight and the outage core all read the same plan.

use serde::Serialize;

use crate::kubevirt::{Recovery, RunStrategy, StartFailure, Timestamp, Vm, Vmi};

/// How the outage takes the VM down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// DELETE the VMI: a clean stop (the guest is shut down, the VMI goes away).
    #[default]
    Delete,
    /// DELETE its virt-launcher pod with no grace period, as when a host or QEMU dies: KubeVirt
    /// sees the launcher vanish and sets the VMI `Failed`.
    Crash,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Delete => "delete",
            Fault::Crash => "crash",
        }
    }
}

/// What the outage will do to bring the VMI back, or why it won't touch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Go {
        recovery: Recovery,
        warnings: Vec<Warning>,
    },
    Refuse(Refusal),
}

/// Something the user should know before confirming, that does not stop the outage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Warning {
    /// KubeVirt's start-failure back-off: the next start waits until `retry_after`.
    StartBackoff {
        consecutive: u64,
        retry_after: Option<String>,
    },
}

/// Why the plan refuses a VMI. Refusing changes nothing: the run exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Terminating,
    NotRunning {
        phase: String,
    },
    Paused,
    Migrating,
    /// The VM is Halted (or `running: false`): KubeVirt is already stopping this VMI.
    Halted {
        vm: String,
        legacy: bool,
    },
    /// The VM's condition ManualRecoveryRequired is True: KubeVirt won't start it.
    ManualRecoveryRequired {
        vm: String,
    },
    /// A runStrategy this version doesn't know.
    UnknownRunStrategy {
        vm: String,
        strategy: String,
    },
    /// The owner VM is gone: KubeVirt is about to remove the VMI.
    OwnerVmGone {
        vm: String,
    },
    /// A controller the tool doesn't know how it recovers.
    ForeignOwner {
        kind: String,
        name: String,
    },
    /// Running but not Ready: it does not serve now, so an outage would be blamed for a state
    /// it did not cause (and its "recovery" would wait for a Ready that may never come).
    NotReady,
    /// `--fault crash` on a Once VM: KubeVirt leaves a Failed Once VMI alone by design and
    /// virt-api refuses `start` for Once, so nothing KubeVirt does would bring it back.
    CrashOnce {
        vm: String,
    },
}

impl Refusal {
    /// One line, for errors and the RECOVERY column ("refused: why").
    pub fn reason(&self) -> String {
        match self {
            Refusal::Terminating => "the VMI is already being deleted".into(),
            Refusal::NotRunning { phase } => {
                format!("the VMI is {phase}, not Running: only a running VMI can be an outage target")
            }
            Refusal::Paused => "the VMI is paused: deleting it would hide the pause, not test a recovery".into(),
            Refusal::Migrating => "the VMI is being live-migrated: an outage now would test the migration, not the recovery".into(),
            Refusal::Halted { vm, legacy: false } => {
                format!("VM {vm} is Halted: KubeVirt is already stopping this VMI")
            }
            Refusal::Halted { vm, legacy: true } => {
                format!("VM {vm} has running: false: KubeVirt is already stopping this VMI")
            }
            Refusal::ManualRecoveryRequired { vm } => {
                format!("VM {vm} has condition ManualRecoveryRequired: KubeVirt would refuse to start it again")
            }
            Refusal::UnknownRunStrategy { vm, strategy } => {
                format!("VM {vm} has runStrategy {strategy}, which this version does not know how KubeVirt recovers")
            }
            Refusal::OwnerVmGone { vm } => {
                format!("the VMI's VM {vm} no longer exists: KubeVirt is about to remove the VMI")
            }
            Refusal::ForeignOwner { kind, name } => {
                format!("the VMI is controlled by {kind} {name}, whose recovery this tool does not know")
            }
            Refusal::NotReady => {
                "the VMI is Running but not Ready: it is not serving now, and the outage would be blamed for that".into()
            }
            Refusal::CrashOnce { vm } => format!(
                "VM {vm} has runStrategy Once: KubeVirt leaves a crashed (Failed) Once VMI down for good and refuses to start it, so a crash tests no recovery"
            ),
        }
    }

    /// Short form for table cells.
    pub fn short(&self) -> &'static str {
        match self {
            Refusal::Terminating => "terminating",
            Refusal::NotRunning { .. } => "not running",
            Refusal::Paused => "paused",
            Refusal::Migrating => "migrating",
            Refusal::Halted { .. } => "VM halted",
            Refusal::ManualRecoveryRequired { .. } => "manual recovery required",
            Refusal::UnknownRunStrategy { .. } => "unknown runStrategy",
            Refusal::OwnerVmGone { .. } => "VM gone",
            Refusal::ForeignOwner { .. } => "foreign owner",
            Refusal::NotReady => "not ready",
            Refusal::CrashOnce { .. } => "Once: a crash stays down",
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Refusal::Terminating => "wait for it to come back, then try again".into(),
            Refusal::NotRunning { .. } => "list running targets with `kubectl vmchaos list`".into(),
            Refusal::Paused => "unpause it first: `virtctl unpause vmi NAME`".into(),
            Refusal::Migrating => "wait for the migration to finish, then try again".into(),
            Refusal::Halted { vm, .. } => format!(
                "a Halted VM is meant to be off; to test its recovery, give it a runStrategy first: `kubectl patch vm {vm} --type merge -p '{{\"spec\":{{\"runStrategy\":\"Always\"}}}}'`"
            ),
            Refusal::ManualRecoveryRequired { vm } => {
                format!("look at `kubectl get vm {vm} -o yaml` (status.conditions) and fix the VM first")
            }
            Refusal::UnknownRunStrategy { .. } => "upgrade kubectl-vmchaos, or pick another target".into(),
            Refusal::OwnerVmGone { .. } => "pick another target".into(),
            Refusal::ForeignOwner { .. } => {
                "test the recovery through that controller's own tools, or pick another target".into()
            }
            Refusal::CrashOnce { vm } => format!(
                "use --fault delete (KubeVirt re-creates a deleted Once VMI), or give VM {vm} another runStrategy first"
            ),
            Refusal::NotReady => {
                "wait until `kubectl get vmi NAME` shows it Ready (condition Ready=True; `kubectl describe vmi NAME` says why it is not), then try again".into()
            }
        }
    }
}

/// The plan for `vmi`; `vm` is its owner VM when the controller owner is a VirtualMachine
/// (None there means the VM could not be found). The plan of a delete (tests; the tool asks
/// [`decide_for`] with the fault).
#[cfg(test)]
pub fn decide(vmi: &Vmi, vm: Option<&Vm>, now: Timestamp) -> Plan {
    decide_for(Fault::Delete, vmi, vm, now)
}

/// The plan for this fault. A crash leaves the VMI `Failed`, which KubeVirt's VM controller
/// treats unlike a deleted VMI (`syncRunStrategy`, ../shared/KUBEVIRT.md "VMI Failed"):
/// Always and RerunOnFailure delete and re-create it (automatic); Manual leaves it Failed until
/// the tool starts the VM (virt-api's start then asks to stop the Failed VMI and start a new
/// one); Once leaves it Failed for good and virt-api refuses start (refused); a replica set
/// replaces a Failed VMI; a standalone VMI is re-created by the tool.
pub fn decide_for(fault: Fault, vmi: &Vmi, vm: Option<&Vm>, now: Timestamp) -> Plan {
    let plan = match (fault, decide_owner(vmi, vm, now), vm) {
        (Fault::Crash, Plan::Go { recovery, warnings }, Some(vm)) => match vm.run_strategy {
            RunStrategy::Once => Plan::Refuse(Refusal::CrashOnce {
                vm: vm.name.clone(),
            }),
            // A Failed VMI is deleted and re-created by the controller (RerunOnFailure adds
            // the start request itself).
            RunStrategy::RerunOnFailure => Plan::Go {
                recovery: Recovery::Automatic,
                warnings,
            },
            _ => Plan::Go { recovery, warnings },
        },
        (_, plan, _) => plan,
    };
    match plan {
        // What the owner says comes first (a Halted VM's VMI is not Ready because it stops).
        Plan::Go { .. } if !vmi.ready => Plan::Refuse(Refusal::NotReady),
        plan => plan,
    }
}

/// The plan by phase and owner, before readiness.
fn decide_owner(vmi: &Vmi, vm: Option<&Vm>, now: Timestamp) -> Plan {
    if vmi.terminating {
        return Plan::Refuse(Refusal::Terminating);
    }
    if vmi.phase != "Running" {
        return Plan::Refuse(Refusal::NotRunning {
            phase: vmi.phase.clone(),
        });
    }
    if vmi.paused {
        return Plan::Refuse(Refusal::Paused);
    }
    if vmi.migrating {
        return Plan::Refuse(Refusal::Migrating);
    }
    let go = |recovery| Plan::Go {
        recovery,
        warnings: Vec::new(),
    };
    let Some(owner) = &vmi.owner else {
        // Nothing re-creates a standalone VMI: the tool does, from the saved manifest.
        return go(Recovery::Recreate);
    };
    match owner.kind.as_str() {
        // A pool's VM is a VM like any other: its runStrategy decides.
        "VirtualMachine" => match vm {
            Some(vm) => vm_plan(vm, now),
            None => Plan::Refuse(Refusal::OwnerVmGone {
                vm: owner.name.clone(),
            }),
        },
        // The replica set replaces the VMI under a new, generated name.
        "VirtualMachineInstanceReplicaSet" => go(Recovery::Follow),
        kind => Plan::Refuse(Refusal::ForeignOwner {
            kind: kind.into(),
            name: owner.name.clone(),
        }),
    }
}

fn vm_plan(vm: &Vm, now: Timestamp) -> Plan {
    let recovery = match &vm.run_strategy {
        // The controller starts a VMI whenever none exists.
        RunStrategy::Always | RunStrategy::Once => Recovery::Automatic,
        // A VMI deleted through the API is not re-created; a start request is honoured.
        RunStrategy::RerunOnFailure | RunStrategy::Manual => Recovery::Start,
        // The controller stops every VMI of a Halted VM.
        RunStrategy::Halted => {
            return Plan::Refuse(Refusal::Halted {
                vm: vm.name.clone(),
                legacy: vm.legacy_running.is_some(),
            })
        }
        RunStrategy::Other(s) => {
            return Plan::Refuse(Refusal::UnknownRunStrategy {
                vm: vm.name.clone(),
                strategy: s.clone(),
            })
        }
    };
    if vm.manual_recovery_required {
        return Plan::Refuse(Refusal::ManualRecoveryRequired {
            vm: vm.name.clone(),
        });
    }
    let warnings = vm
        .start_failure
        .as_ref()
        .filter(|f| backoff_active(f, now))
        .map(|f| Warning::StartBackoff {
            consecutive: f.consecutive,
            retry_after: f.retry_after.map(|t| t.to_string()),
        })
        .into_iter()
        .collect();
    Plan::Go { recovery, warnings }
}

/// A back-off without a retry time, or with one still ahead, delays the next start.
pub(crate) fn backoff_active(failure: &StartFailure, now: Timestamp) -> bool {
    failure.retry_after.is_none_or(|t| t > now)
}

impl Plan {
    /// The recovery this plan expects (`none` when refused).
    pub fn recovery(&self) -> Recovery {
        match self {
            Plan::Go { recovery, .. } => *recovery,
            Plan::Refuse(_) => Recovery::None,
        }
    }

    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Plan::Refuse(r) => Some(r),
            Plan::Go { .. } => None,
        }
    }

    pub fn warnings(&self) -> &[Warning] {
        match self {
            Plan::Go { warnings, .. } => warnings,
            Plan::Refuse(_) => &[],
        }
    }

    /// For tables: `automatic`, `start`, ..., or `refused: VM halted`.
    pub fn cell(&self) -> String {
        match self {
            Plan::Go { recovery, .. } => recovery.as_str().to_string(),
            Plan::Refuse(r) => format!("refused: {}", r.short()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubevirt::Owner;

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn running() -> Vmi {
        Vmi {
            name: "db-0".into(),
            namespace: "prod".into(),
            uid: "u".into(),
            phase: "Running".into(),
            ready: true,
            ..Vmi::default()
        }
    }

    fn owned_by(kind: &str, name: &str) -> Vmi {
        Vmi {
            owner: Some(Owner {
                kind: kind.into(),
                name: name.into(),
                uid: "owner-uid".into(),
            }),
            owner_vm: (kind == "VirtualMachine").then(|| name.to_string()),
            ..running()
        }
    }

    fn vm(strategy: &str) -> Vm {
        Vm {
            name: "db-0".into(),
            uid: "vm-uid".into(),
            run_strategy: RunStrategy::parse(strategy),
            legacy_running: None,
            start_failure: None,
            manual_recovery_required: false,
            pool: None,
        }
    }

    fn go(recovery: Recovery) -> Plan {
        Plan::Go {
            recovery,
            warnings: vec![],
        }
    }

    /// One row per KubeVirt behaviour (../shared/KUBEVIRT.md), in our words.
    #[test]
    fn the_plan_follows_kubevirts_vm_controller() {
        let vmi = owned_by("VirtualMachine", "db-0");
        let legacy = |running| Vm {
            legacy_running: Some(running),
            run_strategy: if running {
                RunStrategy::Always
            } else {
                RunStrategy::Halted
            },
            ..vm("")
        };
        let rows: Vec<(&str, Plan)> = vec![
            (
                "Always: the controller re-creates a deleted VMI at once",
                decide(&vmi, Some(&vm("Always")), now()),
            ),
            (
                "Once: the controller starts a VMI whenever none exists",
                decide(&vmi, Some(&vm("Once")), now()),
            ),
            (
                "legacy running: true is Always",
                decide(&vmi, Some(&legacy(true)), now()),
            ),
            (
                "RerunOnFailure: a VMI deleted through the API is not re-created; start is honoured",
                decide(&vmi, Some(&vm("RerunOnFailure")), now()),
            ),
            (
                "Manual: nothing re-creates it; start is honoured",
                decide(&vmi, Some(&vm("Manual")), now()),
            ),
            (
                "standalone: nothing re-creates it; the tool does from the snapshot",
                decide(&running(), None, now()),
            ),
            (
                "replica set: a replacement comes with a new name; follow it",
                decide(&owned_by("VirtualMachineInstanceReplicaSet", "web"), None, now()),
            ),
        ];
        let expected = [
            go(Recovery::Automatic),
            go(Recovery::Automatic),
            go(Recovery::Automatic),
            go(Recovery::Start),
            go(Recovery::Start),
            go(Recovery::Recreate),
            go(Recovery::Follow),
        ];
        for ((row, plan), want) in rows.into_iter().zip(expected) {
            assert_eq!(plan, want, "{row}");
        }
    }

    /// `--fault crash`: the "VMI Failed" column of ../shared/KUBEVIRT.md, checked against
    /// KubeVirt v1.9.0's `syncRunStrategy` and virt-api's start handler.
    #[test]
    fn a_crash_follows_kubevirts_rules_for_a_failed_vmi() {
        let vmi = owned_by("VirtualMachine", "db-0");
        let crash = |vm: Option<&Vm>, vmi: &Vmi| decide_for(Fault::Crash, vmi, vm, now());
        assert_eq!(crash(Some(&vm("Always")), &vmi), go(Recovery::Automatic));
        // The controller deletes a Failed VMI and adds a start request itself.
        assert_eq!(
            crash(Some(&vm("RerunOnFailure")), &vmi),
            go(Recovery::Automatic)
        );
        // A Failed Manual VMI stays until start (virt-api: stop that UID, then start).
        assert_eq!(crash(Some(&vm("Manual")), &vmi), go(Recovery::Start));
        let once = crash(Some(&vm("Once")), &vmi);
        assert_eq!(
            once.refusal().map(Refusal::short),
            Some("Once: a crash stays down")
        );
        assert!(once.refusal().unwrap().hint().contains("--fault delete"));
        assert_eq!(crash(None, &running()), go(Recovery::Recreate));
        assert_eq!(
            crash(None, &owned_by("VirtualMachineInstanceReplicaSet", "web")),
            go(Recovery::Follow)
        );
        // Refusals that do not depend on the fault stay.
        assert_eq!(
            crash(Some(&vm("Halted")), &vmi)
                .refusal()
                .map(Refusal::short),
            Some("VM halted")
        );
        assert_eq!(
            crash(
                Some(&vm("Always")),
                &Vmi {
                    ready: false,
                    ..vmi.clone()
                }
            ),
            Plan::Refuse(Refusal::NotReady)
        );
    }

    #[test]
    fn halted_and_running_false_are_refused_because_kubevirt_is_stopping_the_vmi() {
        let vmi = owned_by("VirtualMachine", "db-0");
        let plan = decide(&vmi, Some(&vm("Halted")), now());
        let refusal = plan.refusal().expect("refused");
        assert_eq!(
            refusal.reason(),
            "VM db-0 is Halted: KubeVirt is already stopping this VMI"
        );
        let legacy = Vm {
            legacy_running: Some(false),
            run_strategy: RunStrategy::Halted,
            ..vm("")
        };
        let plan = decide(&vmi, Some(&legacy), now());
        assert!(plan.refusal().unwrap().reason().contains("running: false"));
        assert_eq!(plan.recovery(), Recovery::None);
        assert_eq!(plan.cell(), "refused: VM halted");
    }

    #[test]
    fn a_pool_vm_follows_its_run_strategy() {
        let vmi = owned_by("VirtualMachine", "pool-0");
        let pooled = Vm {
            pool: Some("pool".into()),
            ..vm("Always")
        };
        assert_eq!(decide(&vmi, Some(&pooled), now()), go(Recovery::Automatic));
    }

    #[test]
    fn other_controllers_are_refused_by_kind() {
        let plan = decide(&owned_by("MyOperatorThing", "x"), None, now());
        assert_eq!(
            plan.refusal(),
            Some(&Refusal::ForeignOwner {
                kind: "MyOperatorThing".into(),
                name: "x".into()
            })
        );
        assert!(plan
            .refusal()
            .unwrap()
            .reason()
            .contains("MyOperatorThing x"));
    }

    #[test]
    fn an_owner_vm_that_is_gone_is_refused() {
        let plan = decide(&owned_by("VirtualMachine", "db-0"), None, now());
        assert_eq!(
            plan.refusal(),
            Some(&Refusal::OwnerVmGone { vm: "db-0".into() })
        );
    }

    #[test]
    fn paused_migrating_terminating_and_not_running_are_refused() {
        let cases = [
            (
                Vmi {
                    paused: true,
                    ..running()
                },
                Refusal::Paused,
            ),
            (
                Vmi {
                    migrating: true,
                    ..running()
                },
                Refusal::Migrating,
            ),
            (
                Vmi {
                    terminating: true,
                    ..running()
                },
                Refusal::Terminating,
            ),
            (
                Vmi {
                    phase: "Scheduling".into(),
                    ..running()
                },
                Refusal::NotRunning {
                    phase: "Scheduling".into(),
                },
            ),
        ];
        for (vmi, want) in cases {
            assert_eq!(decide(&vmi, None, now()), Plan::Refuse(want));
        }
    }

    #[test]
    fn running_but_not_ready_is_refused_after_what_the_owner_says() {
        let unready = |vmi: Vmi| Vmi {
            ready: false,
            ..vmi
        };
        let plan = decide(&unready(running()), None, now());
        assert_eq!(plan, Plan::Refuse(Refusal::NotReady));
        let refusal = plan.refusal().unwrap();
        assert!(refusal.reason().contains("Running but not Ready"));
        assert!(refusal.hint().contains("Ready"));
        assert_eq!(plan.cell(), "refused: not ready");
        let vm_owned = unready(owned_by("VirtualMachine", "db-0"));
        assert_eq!(
            decide(&vm_owned, Some(&vm("Always")), now()),
            Plan::Refuse(Refusal::NotReady)
        );
        // The owner's refusal says more than "not Ready".
        assert!(matches!(
            decide(&vm_owned, Some(&vm("Halted")), now()),
            Plan::Refuse(Refusal::Halted { .. })
        ));
        let paused = Vmi {
            paused: true,
            ..unready(running())
        };
        assert_eq!(decide(&paused, None, now()), Plan::Refuse(Refusal::Paused));
    }

    #[test]
    fn unknown_strategies_and_manual_recovery_required_are_refused() {
        let vmi = owned_by("VirtualMachine", "db-0");
        assert!(matches!(
            decide(&vmi, Some(&vm("WhenTheMoonIsFull")), now()),
            Plan::Refuse(Refusal::UnknownRunStrategy { .. })
        ));
        let stuck = Vm {
            manual_recovery_required: true,
            ..vm("Always")
        };
        assert_eq!(
            decide(&vmi, Some(&stuck), now()),
            Plan::Refuse(Refusal::ManualRecoveryRequired { vm: "db-0".into() })
        );
    }

    #[test]
    fn a_start_failure_back_off_is_said_before_anything_is_deleted() {
        let vmi = owned_by("VirtualMachine", "db-0");
        let backing_off = |retry: &str| Vm {
            start_failure: Some(StartFailure {
                consecutive: 2,
                retry_after: Some(retry.parse().unwrap()),
            }),
            ..vm("Always")
        };
        let plan = decide(&vmi, Some(&backing_off("2026-06-01T12:05:00Z")), now());
        assert_eq!(plan.recovery(), Recovery::Automatic);
        assert_eq!(plan.warnings().len(), 1);
        assert!(matches!(
            &plan.warnings()[0],
            Warning::StartBackoff { consecutive: 2, retry_after: Some(t) } if t == "2026-06-01T12:05:00Z"
        ));
        // A back-off that already ended delays nothing.
        let plan = decide(&vmi, Some(&backing_off("2026-06-01T11:00:00Z")), now());
        assert!(plan.warnings().is_empty());
    }
}
