//! What happens to one target, as data (the outage core emits it; renderers word it).

use std::time::Duration;

use crate::kubevirt::Recovery;

/// A step of the recovery, for the renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    OldTerminating {
        finalizers: Vec<String>,
    },
    /// `--fault crash`: KubeVirt set the old VMI `Failed` (its launcher is gone).
    OldFailed,
    OldGone,
    NewCreated {
        name: String,
        uid: String,
    },
    Phase {
        phase: String,
    },
    Ready,
    ReadyLost,
    NewGone {
        uid: String,
    },
}

/// Everything that happens to one target, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetEvent {
    /// `--keep-down`: the VM's runStrategy was switched so that KubeVirt keeps it down.
    KeptDown {
        vm: String,
        from: String,
    },
    /// `--serial`: this target waits for its turn. `after`: its delete goes out this long from
    /// now (`--interval`); None: once the targets before it are done.
    Queued {
        after: Option<Duration>,
    },
    /// The DELETE was accepted.
    Deleted {
        uid: String,
        node: Option<String>,
        /// `--fault crash`: the virt-launcher pod deleted with no grace period.
        launcher: Option<String>,
    },
    /// The API server refused the DELETE: nothing changed for this target.
    DeleteRefused {
        reason: String,
    },
    /// The DELETE's answer was lost; the watch will tell whether it happened.
    DeleteUncertain {
        reason: String,
    },
    /// Waiting for the recovery the plan expects.
    Waiting {
        recovery: Recovery,
        vm: Option<String>,
        wait: Duration,
    },
    Step(Step),
    /// The tool brings it back itself.
    Acting {
        recovery: Recovery,
    },
    Acted {
        recovery: Recovery,
        uid: Option<String>,
    },
    ActionFailed {
        recovery: Recovery,
        reason: String,
    },
    /// The re-create met a VMI someone else had created first: following that one.
    AlreadyRecreated,
    /// `--keep-down`: the original runStrategy is back.
    StrategyRestored {
        vm: String,
        to: String,
    },
    StrategyRestoreFailed {
        vm: String,
        to: String,
        reason: String,
    },
    /// KubeVirt was expected to re-create it and hasn't, after `waited`; `old_terminating`: the
    /// old VMI is not gone yet (KubeVirt re-creates it only once it is).
    KubeVirtSlow {
        waited: Duration,
        old_terminating: bool,
    },
    /// The old VMI is still terminating after `waited` (a finalizer holds it).
    StillTerminating {
        waited: Duration,
        finalizers: Vec<String>,
    },
    /// A replacement runs (the Validate phase of a single outage begins).
    Running {
        node: Option<String>,
    },
    /// The target's outcome is known.
    Done {
        outcome: Outcome,
        ready_after: Option<Duration>,
    },
}

/// A probe started failing or passes again (for the live UI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeChange {
    pub probe: String,
    /// The target whose VMI a `vmi:` probe follows.
    pub target: Option<usize>,
    pub state: ProbeState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeState {
    /// Why it fails (the attempt's detail).
    Failing(String),
    /// It passes again after this long down.
    PassingAgain(std::time::Duration),
}

/// How a target's outage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A replacement is Running and Ready.
    Recovered,
    /// Not Running and Ready in time: the resilience test failed.
    NotRecovered(NotRecovered),
    /// The tool itself failed after the DELETE.
    Failed(String),
    /// Ctrl-C / SIGTERM; `running` says whether a replacement was running at exit.
    Interrupted { running: bool },
    /// The DELETE never happened (refused, or interrupted before it): nothing changed.
    NotDeleted(NotDeleted),
    /// An abort condition fired (`--abort-if`); `running` as for `Interrupted`.
    Aborted {
        reason: crate::probe::AbortReason,
        running: bool,
    },
}

/// Why a target was never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotDeleted {
    /// The API server refused the DELETE (its message).
    Refused(String),
    /// The runStrategy switch before the DELETE failed (the API server's message).
    SwitchFailed(String),
    /// Ctrl-C or SIGTERM came first.
    InterruptedFirst,
    /// An abort condition (`--abort-if`) fired first.
    AbortedFirst,
    /// The DELETE's answer was lost and the VMI was never deleted.
    AnswerLost,
}

/// Why a target did not recover in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRecovered {
    /// Running, but never Ready.
    NotReady,
    /// Running and Ready, but its probes never passed again: users are not served.
    NotServed,
    /// A replacement exists but never ran.
    NotRunning { phase: String },
    /// The old VMI never went (a finalizer).
    StillTerminating,
    /// Nothing replaced it.
    NoReplacement,
}
