//! The words of `restore` (`events::restore`): what it changed, the "waiting" line on stderr,
//! the result line on stdout, and the list of changes in the exit-3 error.

use super::format_duration;
use crate::events::restore::{
    Change, Changed, KubeVirtDoes, Outcome, Restored, SavedOwner, Waiting,
};

/// One change: `re-created VM db from the snapshot`.
pub fn change(c: &Change) -> String {
    match c {
        Change::RecreatedVm { vm } => format!("re-created VM {vm} from the snapshot"),
        Change::StartedVm { vm } => format!("started VM {vm}"),
        Change::PutStrategyBack { vm, to } => format!("put VM {vm}'s runStrategy back to {to}"),
        Change::LeftStrategy { vm } => format!(
            "left VM {vm}'s runStrategy as it is (someone changed it from Manual meanwhile)"
        ),
        Change::RecreatedVmi { vmi } => format!("re-created VMI {vmi} from the snapshot"),
        Change::VmiRecreatedByOthers { vmi } => {
            format!("nothing: someone re-created VMI {vmi} first")
        }
    }
}

/// The changes in order: `started VM db; …`.
pub fn changes(changes: &[Change]) -> String {
    changes.iter().map(change).collect::<Vec<_>>().join("; ")
}

/// Why nothing needed changing: `VM db has runStrategy Always: KubeVirt re-creates its VMI`.
pub fn kubevirt_does(k: &KubeVirtDoes) -> String {
    match k {
        KubeVirtDoes::RecreatesVmi { vm, strategy } => format!(
            "VM {vm} has runStrategy {}: KubeVirt re-creates its VMI",
            strategy.as_str()
        ),
        KubeVirtDoes::RestartsFailedVmi { vm, strategy } => format!(
            "VM {vm} has runStrategy {}: KubeVirt deletes its Failed VMI and starts a new one",
            strategy.as_str()
        ),
    }
}

/// `changed: …` or `nothing changed (…)`.
pub fn changed(c: &Changed) -> String {
    match c {
        Changed::Changes(list) => format!("changed: {}", changes(list)),
        Changed::Nothing(why) => format!(
            "nothing changed ({})",
            why.as_ref()
                .map(kubevirt_does)
                .unwrap_or_else(|| "nothing to do".into())
        ),
    }
}

/// The stderr line before the wait.
pub fn waiting(w: &Waiting) -> String {
    format!(
        "restore: {}; waiting up to {} for VMI {}/{} to be Running and Ready",
        changed(&w.changed),
        format_duration(w.timeout),
        w.namespace,
        w.name
    )
}

/// The stdout line: how the wait ended, and what restore changed.
pub fn outcome(r: &Restored) -> String {
    let w = &r.waited;
    match &r.outcome {
        Outcome::Ready { node, uid } => format!(
            "restored VMI {}/{}: Running and Ready on {} (uid {uid}); {}",
            w.namespace,
            w.name,
            node.as_deref().unwrap_or("?"),
            changed(&w.changed)
        ),
        Outcome::NotReady => format!(
            "VMI {}/{} is not Running and Ready after {}; {}",
            w.namespace,
            w.name,
            format_duration(w.timeout),
            changed(&w.changed)
        ),
    }
}

/// `is owned by VM db` (a snapshot whose files disagree says so).
pub fn saved_owner(o: &SavedOwner) -> String {
    match o {
        SavedOwner::Standalone => "has no owner".into(),
        SavedOwner::Vm { name } => format!("is owned by VM {name}"),
        SavedOwner::ReplicaSet { name } => format!("is owned by replica set {name}"),
        SavedOwner::Other { kind, name } => format!("is owned by {kind} {name}"),
    }
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
