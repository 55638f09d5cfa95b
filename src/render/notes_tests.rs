//! One row per kind of note: its exact words.

use std::time::Duration;

use super::note;
use crate::{
    events::{EventFailure, Note, ProbeChange, ProbeState, TargetEvent},
    kubevirt::Recovery,
    plan::Warning,
    repeat::series::BackOff,
    selection::{Chosen, ChosenTarget, RefusedTarget, Selection},
};

fn backoff() -> Warning {
    Warning::StartBackoff {
        consecutive: 3,
        retry_after: Some("2026-06-01T12:05:00Z".into()),
    }
}

fn chosen() -> Chosen {
    Chosen {
        selection: Selection {
            scope: "namespace prod".into(),
            by: "selector",
            names: vec![],
            selector: Some("app=db".into()),
            sample: None,
            seed: None,
            candidates: 1,
            chosen: 1,
            refused: vec![RefusedTarget {
                namespace: "prod".into(),
                name: "db-9".into(),
                reason: "paused".into(),
            }],
        },
        targets: vec![ChosenTarget {
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "u".into(),
            node: Some("node-a".into()),
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Recreate,
            warnings: vec![backoff()],
            group: None,
            owner: None,
        }],
    }
}

/// Every kind of note, with its words.
fn rows() -> Vec<(Note, &'static str)> {
    let file = || std::path::PathBuf::from("config.yaml");
    vec![
        (
            Note::Chosen(Box::new(chosen())),
            "1 of 1 running VMIs matching app=db in namespace prod:\n  VMI        NODE    OWNER       RECOVERY\n  prod/db-0  node-a  standalone  the tool re-creates it from the snapshot\n  warning: prod/db-0: KubeVirt's start-failure back-off is active (3 failed starts): the VM will not start again before 2026-06-01T12:05:00Z\nleft out (an outage refuses them):\n  prod/db-9: paused",
        ),
        (
            Note::WarningFor {
                vmi: "prod/db-0".into(),
                warning: backoff(),
            },
            "prod/db-0: KubeVirt's start-failure back-off is active (3 failed starts): the VM will not start again before 2026-06-01T12:05:00Z",
        ),
        (
            Note::DryRunStartServed {
                vmi: "prod/db-0".into(),
                vm: "db".into(),
            },
            "prod/db-0: virt-api answered the dry-run start of VM db with \"VM is already running\", as it does while the VMI runs: the start is authorized and served",
        ),
        (
            Note::Interrupted { targets: 1 },
            "interrupted: bringing the VMI back before exiting (Ctrl-C again to exit at once)",
        ),
        (
            Note::Interrupted { targets: 3 },
            "interrupted: bringing the VMIs back before exiting (Ctrl-C again to exit at once)",
        ),
        (
            Note::InterruptedAgain,
            "interrupted again: exiting now, with the state as last seen",
        ),
        (
            Note::Probe {
                change: ProbeChange {
                    probe: "vmi:tcp:22".into(),
                    target: Some(0),
                    state: ProbeState::Failing("connection refused".into()),
                },
                vmi: Some("prod/db-0".into()),
            },
            "probe vmi:tcp:22 (VMI prod/db-0): failing (connection refused)",
        ),
        (
            Note::WatchBroke {
                namespace: "prod".into(),
                error: "connection reset".into(),
            },
            "the watch on namespace prod broke (connection reset); resuming — steps missed meanwhile are timed from the server's timestamps",
        ),
        (
            Note::WatchBack {
                namespace: "prod".into(),
            },
            "the watch on namespace prod is back",
        ),
        (
            Note::FinishingRequests {
                count: 2,
                within: Duration::from_secs(10),
            },
            "finishing 2 request(s) already sent (at most 10s)",
        ),
        (
            Note::GaveUpOnRequests {
                count: 1,
                after: Duration::from_secs(10),
            },
            "gave up on 1 request(s) after 10s: the summary says what may be left to do",
        ),
        (
            Note::EventNotRecorded {
                reason: "OutageStarted",
                object: "VirtualMachine prod/db-0".into(),
                namespace: "prod".into(),
                failure: EventFailure::NoPermission,
            },
            "Event OutageStarted on VirtualMachine prod/db-0 not recorded: no permission to create events in namespace prod (add `create events` to the role)",
        ),
        (
            Note::EventNotRecorded {
                reason: "Recovered",
                object: "VirtualMachine prod/db-0".into(),
                namespace: "prod".into(),
                failure: EventFailure::Refused("the server is on fire".into()),
            },
            "Event Recovered on VirtualMachine prod/db-0 not recorded: the server is on fire",
        ),
        (
            Note::EventNotRecorded {
                reason: "Recovered",
                object: "VirtualMachineInstance prod/alone".into(),
                namespace: "prod".into(),
                failure: EventFailure::NoAnswer(Duration::from_secs(5)),
            },
            "Event Recovered on VirtualMachineInstance prod/alone not recorded: no answer within 5s",
        ),
        (
            Note::IfNotBack {
                vmi: "prod/db-0".into(),
                command: "kubectl vmchaos restore /snap --context c".into(),
            },
            "if VMI prod/db-0 does not come back: kubectl vmchaos restore /snap --context c",
        ),
        (Note::Trial { n: 2, of: 5 }, "trial 2 of 5"),
        (
            Note::BackOff(BackOff {
                after_trial: 1,
                namespace: "prod".into(),
                vm: "db-0".into(),
                consecutive_fail_count: Some(2),
                retry_after: Some("2026-06-01T12:05:00Z".into()),
            }),
            "KubeVirt's start back-off is in play for VM prod/db-0 after 2 failed start(s): it creates no VMI until 2026-06-01T12:05:00Z (status.startFailure), and the next trial's times include the wait",
        ),
        (
            Note::Warning(backoff()),
            "KubeVirt's start-failure back-off is active (3 failed starts): the VM will not start again before 2026-06-01T12:05:00Z",
        ),
        (
            Note::Warning(Warning::StartBackoff {
                consecutive: 1,
                retry_after: None,
            }),
            "KubeVirt's start-failure back-off is active (1 failed starts): the VM will not start again before the back-off ends",
        ),
        (
            Note::Target(TargetEvent::AlreadyRecreated),
            "someone else re-created the VMI first: following that one",
        ),
        (
            Note::ReplicaSetReplaces {
                set: "web".into(),
                namespace: "prod".into(),
            },
            "replica set web replaces the VMI itself (the tool never re-creates it): `kubectl get vmirs web -n prod` shows its replicas",
        ),
        (
            Note::ReplacementExists {
                namespace: "prod".into(),
                name: "db-0".into(),
            },
            "VMI prod/db-0 exists but is not Running and Ready: `kubectl describe vmi db-0 -n prod` says why (no restore: it exists)",
        ),
        (
            Note::ReportsNotWritten {
                why: "disk full".into(),
            },
            "the reports were not written: disk full",
        ),
        (
            Note::Hint("check the paths given to -f".into()),
            "check the paths given to -f",
        ),
        (
            Note::KrakenOwn {
                file: file(),
                line: 18,
                key: "cerberus".into(),
            },
            "config.yaml line 18: cerberus is Kraken's own: not used by kubectl-vmchaos",
        ),
        (
            Note::AlertsOff {
                file: file(),
                line: 40,
            },
            "config.yaml line 40: performance_monitoring enable_alerts is off: no alert profile read",
        ),
        (
            Note::AlertProfile {
                file: "alerts.yaml".into(),
                critical: 2,
                others: 5,
            },
            "alert profile alerts.yaml: 2 critical alert(s) abort any step as soon as they fire; 5 other(s) not watched",
        ),
        (
            Note::Seed(7),
            "targets picked with --seed 7 (the same seed picks the same VMIs)",
        ),
        (
            Note::PrefixMatch {
                vm_name: "vm-1".into(),
                extra: vec!["demo/vm-10".into(), "demo/vm-11".into()],
            },
            "vm_name vm-1 is matched against the whole name; Kraken's prefix match would also have picked demo/vm-10, demo/vm-11",
        ),
        (
            Note::NotHitting {
                vmi: "db/db-1".into(),
                why: "not Ready".into(),
            },
            "not hitting db/db-1: not Ready",
        ),
        (
            Note::KillCountShort {
                kill_count: 5,
                candidates: 3,
            },
            "kill_count is 5 but only 3 running VMI(s) match: hitting 3 (each VMI at most once; Kraken may pick the same VMI twice)",
        ),
    ]
}

/// The kinds of note, numbered; the match makes a new kind fail to compile here until it has a
/// row above.
fn kind(n: &Note) -> usize {
    match n {
        Note::Chosen(_) => 0,
        Note::WarningFor { .. } => 1,
        Note::DryRunStartServed { .. } => 2,
        Note::Interrupted { .. } => 3,
        Note::InterruptedAgain => 4,
        Note::Probe { .. } => 5,
        Note::WatchBroke { .. } => 6,
        Note::WatchBack { .. } => 7,
        Note::FinishingRequests { .. } => 8,
        Note::GaveUpOnRequests { .. } => 9,
        Note::EventNotRecorded { .. } => 10,
        Note::IfNotBack { .. } => 11,
        Note::Trial { .. } => 12,
        Note::BackOff(_) => 13,
        Note::Warning(_) => 14,
        Note::Target(_) => 15,
        Note::ReplicaSetReplaces { .. } => 16,
        Note::ReplacementExists { .. } => 17,
        Note::ReportsNotWritten { .. } => 18,
        Note::Hint(_) => 19,
        Note::KrakenOwn { .. } => 20,
        Note::AlertsOff { .. } => 21,
        Note::AlertProfile { .. } => 22,
        Note::Seed(_) => 23,
        Note::PrefixMatch { .. } => 24,
        Note::NotHitting { .. } => 25,
        Note::KillCountShort { .. } => 26,
    }
}

const KINDS: usize = 27;

#[test]
fn every_kind_of_note_has_its_words() {
    let rows = rows();
    for (n, words) in &rows {
        assert_eq!(note(n), *words, "{n:?}");
    }
    let mut covered: Vec<usize> = rows.iter().map(|(n, _)| kind(n)).collect();
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        (0..KINDS).collect::<Vec<_>>(),
        "a kind of note without a row"
    );
}

#[test]
fn a_note_serialises_as_its_words() {
    for (n, words) in rows() {
        assert_eq!(serde_json::to_value(&n).unwrap(), serde_json::json!(words));
    }
}
