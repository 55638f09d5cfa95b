//! What `restore` tells the user, as data: what its snapshot's VMI belonged to, each change it
//! made, what KubeVirt does when it changes nothing, the "waiting" line and the outcome.
//! `render::restore` words them all (stdout, stderr, and the exit-3 error's list of changes).

use std::time::Duration;

use crate::{error::Exit, kubevirt::RunStrategy};

/// What the snapshot's VMI belonged to when it was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedOwner {
    Standalone,
    Vm { name: String },
    ReplicaSet { name: String },
    Other { kind: String, name: String },
}

/// One change `restore` made (or found already made), naming what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The VM was gone: re-created from `vm.yaml`.
    RecreatedVm { vm: String },
    /// virt-api's `start` of the VM.
    StartedVm { vm: String },
    /// `--keep-down` left the VM at Manual: its runStrategy is `to` again.
    PutStrategyBack { vm: String, to: String },
    /// The runStrategy was no longer Manual (someone changed it meanwhile): left as it is.
    LeftStrategy { vm: String },
    /// A standalone VMI re-created from `vmi.yaml`.
    RecreatedVmi { vmi: String },
    /// Someone re-created that VMI first: nothing done.
    VmiRecreatedByOthers { vmi: String },
}

/// Nothing to change: KubeVirt itself brings the VMI back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeVirtDoes {
    /// VM `vm`'s runStrategy (Always, Once) re-creates its VMI.
    RecreatesVmi { vm: String, strategy: RunStrategy },
    /// VM `vm`'s runStrategy (Always, RerunOnFailure) deletes its Failed VMI and starts another.
    RestartsFailedVmi { vm: String, strategy: RunStrategy },
}

/// What restore changed: the changes in order, or nothing (and who brings the VMI back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Nothing(Option<KubeVirtDoes>),
    Changes(Vec<Change>),
}

impl Changed {
    pub fn of(changes: Vec<Change>, waits_for: Option<KubeVirtDoes>) -> Changed {
        if changes.is_empty() {
            Changed::Nothing(waits_for)
        } else {
            Changed::Changes(changes)
        }
    }
}

/// After the changes: restore waits up to `timeout` for VMI `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub namespace: String,
    pub name: String,
    pub changed: Changed,
    pub timeout: Duration,
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Running and Ready on `node` (None: the VMI names none), as VMI `uid`.
    Ready { node: Option<String>, uid: String },
    /// Not Running and Ready within the timeout.
    NotReady,
}

/// `restore`'s result: what it waited for and how that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub waited: Waiting,
    pub outcome: Outcome,
}

impl Restored {
    /// 0 back, 1 not back in time.
    pub fn exit(&self) -> Exit {
        match self.outcome {
            Outcome::Ready { .. } => Exit::Recovered,
            Outcome::NotReady => Exit::NotRecovered,
        }
    }
}
