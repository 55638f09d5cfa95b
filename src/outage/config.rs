//! The outage's flags, checked and resolved once (`cli::resolve`): the run never sees clap.

use std::{path::PathBuf, time::Duration};

use crate::settings::DryRun;

#[derive(Debug, Clone)]
pub struct OutageConfig {
    /// The VMIs named on the command line, in the namespace of -n (empty: flags, or pick on
    /// the terminal).
    pub names: Vec<String>,
    /// Names, `-l`, `--all`, `--count`/`--percent` and the guards (`--max-targets`,
    /// `--allow-full-outage`): whichever way the targets are given (names, flags, the picker),
    /// `crate::selection` chooses them with these.
    pub targets: crate::selection::Targets,
    /// `-l`, `--all`, `--count`/`--percent`, several names or NAMESPACE/NAME: the result is a
    /// fleet's document whatever the number of targets, with how they were chosen.
    pub chosen_by_flags: bool,
    pub duration: Duration,
    pub timeout: Duration,
    pub interrupt_wait: Duration,
    pub yes: bool,
    pub dry_run: Option<DryRun>,
    pub save_dir: Option<PathBuf>,
    pub allow_protected_namespace: bool,
    /// Switch Always/Once VMs to Manual for the outage, start them after `duration`, put the
    /// runStrategy back.
    pub keep_down: bool,
    /// `--fault`: delete the VMI, or crash it (its launcher pod deleted with no grace).
    pub fault: crate::plan::Fault,
    /// One target at a time, this long apart.
    pub serial_interval: Option<Duration>,
    /// `--probe`, `--abort-if` and their timing.
    pub probes: crate::probe::ProbeOptions,
    /// `--alerts[=SELECTOR]` and `--alerts-settle`: the alerts the outage sets off.
    pub alerts: Option<crate::probe::AlertOptions>,
    /// `--repeat N` with `--interval` (None: one trial).
    pub repeat: Option<crate::repeat::RepeatPlan>,
    /// `--baseline FILE` (read and checked already) with `--max-regression`.
    pub baseline: Option<Judged>,
    /// The global flags' connection (kubeconfig, context, -n, …).
    pub connection: crate::cluster::Connection,
    /// `-A`: names may be NAMESPACE/NAME, flags choose in every namespace.
    pub all_namespaces: bool,
}

/// A baseline to judge the run against.
#[derive(Debug, Clone)]
pub struct Judged {
    pub baseline: std::sync::Arc<crate::repeat::Baseline>,
    pub max_regression: crate::repeat::MaxRegression,
}

impl OutageConfig {
    /// What the targets' plans depend on besides the cluster.
    pub fn how(&self) -> super::preflight::How {
        super::preflight::How {
            keep_down: self.keep_down,
            fault: self.fault,
        }
    }

    /// How long an interrupted run waits for its targets to come back before it exits.
    pub const INTERRUPT_WAIT: Duration = Duration::from_secs(30);
}
