//! What a phase's spinner (or plain line) says, as data: one variant per kind of step message,
//! carrying what it names. `render::progress::progress` words every one of them.

use std::{path::PathBuf, time::Duration};

use crate::{
    plan::Fault,
    probe::Alert,
    selection::{Scope, Selection},
    verdict::Stopped,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    // Connect
    ReadingKubeconfig,
    AskingVersion {
        server: String,
    },
    Connected {
        context: String,
        server: String,
        version: String,
    },
    // KubeVirt
    LookingForKubeVirt,
    KubeVirtServed(KubeVirtObject),
    // Target
    Listing {
        scope: Scope,
    },
    Listed {
        count: usize,
        scope: Scope,
    },
    Choosing {
        scope: Scope,
    },
    Chosen(Selection),
    /// `namespace/name` of each VMI being checked.
    Checking {
        vmis: Vec<String>,
    },
    Checked {
        targets: Vec<CheckedTarget>,
    },
    // Permissions
    CheckingPermissions,
    Allowed {
        grants: Vec<Grant>,
    },
    // Probes
    Steadying {
        in_a_row: usize,
    },
    /// Each probe as the user wrote it.
    Steady {
        probes: Vec<String>,
    },
    AskingAlerts {
        server: String,
    },
    AlertsBefore {
        selector: String,
        firing: Vec<Alert>,
    },
    WatchingAlerts {
        settle: Duration,
    },
    NewAlerts {
        count: usize,
    },
    // Snapshot
    Saving,
    Saved {
        dirs: Vec<PathBuf>,
        base: PathBuf,
    },
    // Inject
    DryRunSending {
        fault: Fault,
    },
    DryRunAccepted,
    Injecting {
        fault: Fault,
    },
    /// A fleet's faults went out (`serial`: only the first; the others wait their turn).
    FaultsSent {
        targets: usize,
        serial: bool,
    },
    // Recovery
    Following {
        targets: usize,
    },
    FleetDone {
        recovered: usize,
        targets: usize,
    },
    // Validate
    WaitingForReady,
    // Between trials (`--repeat`)
    BetweenTrials {
        trial: u32,
        of: u32,
        interval: Duration,
    },
    TargetsReady,
    Stopped(Stopped),
    InterruptedBetweenTrials,
    /// A phase failed on an error: its text, as the error's own `Display` words it.
    Error(String),
}

/// What the pre-flight read of the KubeVirt custom resource found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeVirtObject {
    Found {
        namespace: String,
        name: String,
        /// `unknown` when the status does not say.
        phase: String,
        version: String,
    },
    None,
    /// Reading it needs cluster-wide rights: never a reason to stop.
    NotReadable,
}

/// One target as the pre-flight found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTarget {
    pub namespace: String,
    pub name: String,
    pub node: Option<String>,
    pub owner: Owner,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Vm {
        name: String,
        pool: Option<String>,
        run_strategy: String,
    },
    /// A controller other than a VM (a replica set): its kind and name.
    Controller {
        kind: String,
        name: String,
    },
    Standalone,
}

/// The verbs allowed on one resource (`virtualmachines/start` for a subresource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub resource: String,
    pub verbs: Vec<&'static str>,
}
