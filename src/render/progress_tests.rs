//! One row per kind of step message: its exact words.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use super::progress;
use crate::{
    events::{CheckedTarget, Grant, KubeVirtObject, Owner, Progress},
    plan::Fault,
    probe::Alert,
    selection::{Scope, Selection},
    verdict::Stopped,
};

fn prod() -> Scope {
    Scope::Namespace("prod".into())
}

fn target(name: &str, node: Option<&str>, owner: Owner) -> CheckedTarget {
    CheckedTarget {
        namespace: "prod".into(),
        name: name.into(),
        node: node.map(Into::into),
        owner,
    }
}

fn alert(name: &str) -> Alert {
    Alert {
        name: name.into(),
        labels: BTreeMap::from([("severity".to_string(), "critical".to_string())]),
    }
}

/// Every kind of step message, with its words.
fn rows() -> Vec<(Progress, &'static str)> {
    vec![
        (Progress::ReadingKubeconfig, "reading the kubeconfig"),
        (
            Progress::AskingVersion {
                server: "https://10.0.0.1:6443".into(),
            },
            "asking https://10.0.0.1:6443 for its version",
        ),
        (
            Progress::Connected {
                context: "game-day".into(),
                server: "https://10.0.0.1:6443".into(),
                version: "v1.35.4".into(),
            },
            "context game-day, https://10.0.0.1:6443 (v1.35.4)",
        ),
        (Progress::LookingForKubeVirt, "looking for kubevirt.io/v1"),
        (
            Progress::KubeVirtServed(KubeVirtObject::Found {
                namespace: "kubevirt".into(),
                name: "kubevirt".into(),
                phase: "Deployed".into(),
                version: "v1.9.0".into(),
            }),
            "kubevirt.io/v1 served; KubeVirt kubevirt/kubevirt Deployed (v1.9.0)",
        ),
        (
            Progress::KubeVirtServed(KubeVirtObject::None),
            "kubevirt.io/v1 served (no KubeVirt object found)",
        ),
        (
            Progress::KubeVirtServed(KubeVirtObject::NotReadable),
            "kubevirt.io/v1 served (KubeVirt object not readable)",
        ),
        (
            Progress::Listing { scope: Scope::All },
            "listing running VMIs in all namespaces",
        ),
        (
            Progress::Listed {
                count: 3,
                scope: prod(),
            },
            "3 running VMI(s) in namespace prod",
        ),
        (
            Progress::Choosing { scope: prod() },
            "choosing VMIs in namespace prod",
        ),
        (
            Progress::Chosen(Selection {
                scope: "namespace prod".into(),
                by: "selector",
                names: vec![],
                selector: Some("app=db".into()),
                sample: Some("--count 2".into()),
                seed: Some(7),
                candidates: 5,
                chosen: 2,
                refused: vec![],
            }),
            "2 of 5 running VMIs matching app=db in namespace prod, at random (--count 2, --seed 7)",
        ),
        (
            Progress::Checking {
                vmis: vec!["prod/db-0".into(), "prod/db-1".into()],
            },
            "checking prod/db-0, prod/db-1",
        ),
        (
            Progress::Checked {
                targets: vec![
                    target(
                        "db-0",
                        Some("node-a"),
                        Owner::Vm {
                            name: "db-0".into(),
                            pool: Some("dbs".into()),
                            run_strategy: "Always".into(),
                        },
                    ),
                    target(
                        "web-x7",
                        Some("node-b"),
                        Owner::Controller {
                            kind: "VirtualMachineInstanceReplicaSet".into(),
                            name: "web".into(),
                        },
                    ),
                    target("tmp", None, Owner::Standalone),
                ],
            },
            "prod/db-0 Running on node-a, VM db-0 of pool dbs (runStrategy Always); prod/web-x7 Running on node-b, VirtualMachineInstanceReplicaSet web; prod/tmp Running on an unknown node, standalone VMI",
        ),
        (
            Progress::CheckingPermissions,
            "SelfSubjectAccessReview for every verb the run uses",
        ),
        (
            Progress::Allowed {
                grants: vec![
                    Grant {
                        resource: "virtualmachineinstances".into(),
                        verbs: vec!["delete", "list", "watch"],
                    },
                    Grant {
                        resource: "virtualmachines/start".into(),
                        verbs: vec!["update"],
                    },
                ],
            },
            "allowed: delete, list, watch virtualmachineinstances; update virtualmachines/start",
        ),
        (
            Progress::Steadying { in_a_row: 3 },
            "steady state: every probe must pass 3 times in a row",
        ),
        (
            Progress::Steady {
                probes: vec!["tcp://:5432".into(), "http://:8080/healthz".into()],
            },
            "steady: tcp://:5432, http://:8080/healthz passing",
        ),
        (
            Progress::AskingAlerts {
                server: "http://127.0.0.1:9090".into(),
            },
            "asking http://127.0.0.1:9090 for the firing alerts",
        ),
        (
            Progress::AlertsBefore {
                selector: "severity=critical".into(),
                firing: vec![alert("KubeVirtVMIDown")],
            },
            "1 alert matching severity=critical firing before the delete (not counted as new): KubeVirtVMIDown{severity=critical}",
        ),
        (
            Progress::AlertsBefore {
                selector: String::new(),
                firing: vec![alert("KubeVirtVMIDown"), alert("DiskFilling")],
            },
            "2 alerts firing before the delete (not counted as new): KubeVirtVMIDown{severity=critical}, DiskFilling{severity=critical}",
        ),
        (
            Progress::AlertsBefore {
                selector: "severity=critical".into(),
                firing: vec![],
            },
            "no alerts matching severity=critical firing before the delete",
        ),
        (
            Progress::WatchingAlerts {
                settle: Duration::from_secs(30),
            },
            "watching the alerts 30s more (--alerts-settle)",
        ),
        (Progress::NewAlerts { count: 2 }, "2 new alert(s)"),
        (Progress::Saving, "saving the VMIs' manifests"),
        (
            Progress::Saved {
                dirs: vec![PathBuf::from("/snap/prod/db-0")],
                base: PathBuf::from("/snap"),
            },
            "saved to /snap/prod/db-0",
        ),
        (
            Progress::Saved {
                dirs: vec![PathBuf::from("/snap/a"), PathBuf::from("/snap/b")],
                base: PathBuf::from("/snap"),
            },
            "2 snapshots saved under /snap",
        ),
        (
            Progress::DryRunSending {
                fault: Fault::Delete,
            },
            "sending the delete (and the tool's start) with dryRun=All",
        ),
        (
            Progress::DryRunSending { fault: Fault::Crash },
            "sending the launcher pods' delete (and the tool's start) with dryRun=All",
        ),
        (
            Progress::DryRunAccepted,
            "the API server accepted the delete and the recovery (dry run: nothing changed)",
        ),
        (
            Progress::Injecting {
                fault: Fault::Delete,
            },
            "deleting",
        ),
        (
            Progress::Injecting { fault: Fault::Crash },
            "crashing (launcher pods deleted with no grace period)",
        ),
        (
            Progress::FaultsSent {
                targets: 4,
                serial: false,
            },
            "4 VMIs: the deletes went out",
        ),
        (
            Progress::FaultsSent {
                targets: 4,
                serial: true,
            },
            "4 VMIs, one at a time (--serial): the first delete went out",
        ),
        (Progress::Following { targets: 4 }, "following 4 VMIs"),
        (
            Progress::FleetDone {
                recovered: 3,
                targets: 4,
            },
            "3 of 4 VMIs recovered",
        ),
        (Progress::WaitingForReady, "waiting for the Ready condition"),
        (
            Progress::BetweenTrials {
                trial: 2,
                of: 5,
                interval: Duration::from_secs(90),
            },
            "trial 2 of 5: waiting 1m30s (--interval), then for every target Running and Ready",
        ),
        (Progress::TargetsReady, "every target is Running and Ready"),
        (
            Progress::Stopped(Stopped::Signal { after_trial: 1 }),
            "interrupted after trial 1, between trials (nothing was down)",
        ),
        (
            Progress::InterruptedBetweenTrials,
            "interrupted between trials: nothing is down",
        ),
        (
            Progress::Error("virtualmachineinstances \"db-9\" not found".into()),
            "virtualmachineinstances \"db-9\" not found",
        ),
    ]
}

/// The kinds of step message, numbered; the match makes a new kind fail to compile here until
/// it has a row above.
fn kind(p: &Progress) -> usize {
    match p {
        Progress::ReadingKubeconfig => 0,
        Progress::AskingVersion { .. } => 1,
        Progress::Connected { .. } => 2,
        Progress::LookingForKubeVirt => 3,
        Progress::KubeVirtServed(_) => 4,
        Progress::Listing { .. } => 5,
        Progress::Listed { .. } => 6,
        Progress::Choosing { .. } => 7,
        Progress::Chosen(_) => 8,
        Progress::Checking { .. } => 9,
        Progress::Checked { .. } => 10,
        Progress::CheckingPermissions => 11,
        Progress::Allowed { .. } => 12,
        Progress::Steadying { .. } => 13,
        Progress::Steady { .. } => 14,
        Progress::AskingAlerts { .. } => 15,
        Progress::AlertsBefore { .. } => 16,
        Progress::WatchingAlerts { .. } => 17,
        Progress::NewAlerts { .. } => 18,
        Progress::Saving => 19,
        Progress::Saved { .. } => 20,
        Progress::DryRunSending { .. } => 21,
        Progress::DryRunAccepted => 22,
        Progress::Injecting { .. } => 23,
        Progress::FaultsSent { .. } => 24,
        Progress::Following { .. } => 25,
        Progress::FleetDone { .. } => 26,
        Progress::WaitingForReady => 27,
        Progress::BetweenTrials { .. } => 28,
        Progress::TargetsReady => 29,
        Progress::Stopped(_) => 30,
        Progress::InterruptedBetweenTrials => 31,
        Progress::Error(_) => 32,
    }
}

const KINDS: usize = 33;

#[test]
fn every_kind_of_step_message_has_its_words() {
    let rows = rows();
    for (p, words) in &rows {
        assert_eq!(progress(p), *words, "{p:?}");
    }
    let mut covered: Vec<usize> = rows.iter().map(|(p, _)| kind(p)).collect();
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        (0..KINDS).collect::<Vec<_>>(),
        "a kind of step message without a row"
    );
}

#[test]
fn schedule_says_its_targets_its_role_and_what_it_could_not_check() {
    use super::{schedule_role, schedule_target, schedule_unchecked};
    assert_eq!(
        schedule_target(
            "nightly",
            &target("db-0", Some("node-a"), Owner::Standalone)
        ),
        "schedule nightly: prod/db-0 Running on node-a, standalone VMI"
    );
    assert_eq!(
        schedule_role(
            "nightly",
            &[Grant {
                resource: "virtualmachineinstances".into(),
                verbs: vec!["delete", "list", "watch"],
            }]
        ),
        "schedule nightly: Role allows delete, list, watch virtualmachineinstances"
    );
    assert_eq!(
        schedule_unchecked("cronjob", "nightly", "prod"),
        "warning: could not check whether cronjob/nightly exists in namespace prod (forbidden): if it does and is not the schedule's, applying these manifests would change it"
    );
}
