//! What the tool asks before it changes anything, as data: the targets, how each comes back,
//! the fault, the trials. `render::confirm` words it.

use crate::{kubevirt::Recovery, plan::Fault};

/// `outage`'s confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutageQuestion {
    pub fault: Fault,
    pub context: String,
    pub targets: Vec<PlannedTarget>,
    /// `--repeat N` (N > 1): one answer covers every trial.
    pub trials: Option<u32>,
}

/// One target and its plan, as the prompt shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTarget {
    pub namespace: String,
    pub name: String,
    pub node: Option<String>,
    pub recovery: Recovery,
    /// The owner VM: its name and runStrategy.
    pub vm: Option<(String, String)>,
    /// The replica set a `Follow` plan follows.
    pub replica_set: Option<String>,
    pub keep_down: bool,
    pub fault: Fault,
}

/// `run -f`'s confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameDayQuestion {
    pub context: String,
    pub targets: usize,
    pub fault: Fault,
}
