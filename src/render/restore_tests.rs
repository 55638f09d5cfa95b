//! One row per change `restore` makes, and each line it prints: their exact words.

use std::time::Duration;

use super::*;
use crate::{error::Exit, kubevirt::RunStrategy};

/// Every kind of change, with its words.
fn rows() -> Vec<(Change, &'static str)> {
    vec![
        (
            Change::RecreatedVm { vm: "db".into() },
            "re-created VM db from the snapshot",
        ),
        (Change::StartedVm { vm: "db".into() }, "started VM db"),
        (
            Change::PutStrategyBack {
                vm: "db".into(),
                to: "Always".into(),
            },
            "put VM db's runStrategy back to Always",
        ),
        (
            Change::LeftStrategy { vm: "db".into() },
            "left VM db's runStrategy as it is (someone changed it from Manual meanwhile)",
        ),
        (
            Change::RecreatedVmi { vmi: "db-0".into() },
            "re-created VMI db-0 from the snapshot",
        ),
        (
            Change::VmiRecreatedByOthers { vmi: "db-0".into() },
            "nothing: someone re-created VMI db-0 first",
        ),
    ]
}

/// The kinds of change, numbered; the match makes a new kind fail to compile here until it has
/// a row above.
fn kind(c: &Change) -> usize {
    match c {
        Change::RecreatedVm { .. } => 0,
        Change::StartedVm { .. } => 1,
        Change::PutStrategyBack { .. } => 2,
        Change::LeftStrategy { .. } => 3,
        Change::RecreatedVmi { .. } => 4,
        Change::VmiRecreatedByOthers { .. } => 5,
    }
}

const KINDS: usize = 6;

#[test]
fn every_kind_of_change_has_its_words() {
    let rows = rows();
    for (c, words) in &rows {
        assert_eq!(change(c), *words, "{c:?}");
    }
    let mut covered: Vec<usize> = rows.iter().map(|(c, _)| kind(c)).collect();
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        (0..KINDS).collect::<Vec<_>>(),
        "a kind of change without a row"
    );
}

#[test]
fn the_changes_are_listed_in_order() {
    let list = vec![
        Change::RecreatedVm { vm: "db".into() },
        Change::StartedVm { vm: "db".into() },
    ];
    assert_eq!(
        changes(&list),
        "re-created VM db from the snapshot; started VM db"
    );
    assert_eq!(
        changed(&Changed::Changes(list)),
        "changed: re-created VM db from the snapshot; started VM db"
    );
}

#[test]
fn nothing_changed_says_who_brings_it_back() {
    let cases = [
        (
            Changed::Nothing(Some(KubeVirtDoes::RecreatesVmi {
                vm: "db".into(),
                strategy: RunStrategy::Always,
            })),
            "nothing changed (VM db has runStrategy Always: KubeVirt re-creates its VMI)",
        ),
        (
            Changed::Nothing(Some(KubeVirtDoes::RestartsFailedVmi {
                vm: "db".into(),
                strategy: RunStrategy::RerunOnFailure,
            })),
            "nothing changed (VM db has runStrategy RerunOnFailure: KubeVirt deletes its Failed VMI and starts a new one)",
        ),
        (Changed::Nothing(None), "nothing changed (nothing to do)"),
    ];
    for (c, words) in cases {
        assert_eq!(changed(&c), words);
    }
    assert_eq!(
        Changed::of(vec![], None),
        Changed::Nothing(None),
        "no change is nothing changed"
    );
}

fn waited() -> Waiting {
    Waiting {
        namespace: "prod".into(),
        name: "db-0".into(),
        changed: Changed::Changes(vec![Change::StartedVm { vm: "db".into() }]),
        timeout: Duration::from_secs(120),
    }
}

#[test]
fn the_waiting_line() {
    assert_eq!(
        waiting(&waited()),
        "restore: changed: started VM db; waiting up to 2m for VMI prod/db-0 to be Running and Ready"
    );
}

#[test]
fn the_outcome_lines_and_their_exits() {
    let ready = Restored {
        waited: waited(),
        outcome: Outcome::Ready {
            node: Some("node-a".into()),
            uid: "u2".into(),
        },
    };
    assert_eq!(
        outcome(&ready),
        "restored VMI prod/db-0: Running and Ready on node-a (uid u2); changed: started VM db"
    );
    assert_eq!(ready.exit(), Exit::Recovered);
    let late = Restored {
        waited: Waiting {
            changed: Changed::Nothing(None),
            timeout: Duration::from_secs(90),
            ..waited()
        },
        outcome: Outcome::NotReady,
    };
    assert_eq!(
        outcome(&late),
        "VMI prod/db-0 is not Running and Ready after 1m30s; nothing changed (nothing to do)"
    );
    assert_eq!(late.exit(), Exit::NotRecovered);
}

#[test]
fn every_saved_owner_is_described() {
    let cases = [
        (SavedOwner::Standalone, "has no owner"),
        (SavedOwner::Vm { name: "db".into() }, "is owned by VM db"),
        (
            SavedOwner::ReplicaSet { name: "web".into() },
            "is owned by replica set web",
        ),
        (
            SavedOwner::Other {
                kind: "Deployment".into(),
                name: "x".into(),
            },
            "is owned by Deployment x",
        ),
    ];
    for (o, words) in cases {
        assert_eq!(saved_owner(&o), words);
    }
}
