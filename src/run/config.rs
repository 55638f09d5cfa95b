//! `run`'s flags, checked and resolved once (`cli::resolve`): the game day never sees clap.

use std::{path::PathBuf, time::Duration};

use crate::{
    cluster::Connection,
    outage::config::Judged,
    probe::AlertSelector,
    repeat::RepeatPlan,
    settings::{ColorChoice, DryRun},
};

#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `-f`: Kraken scenario files or Kraken's config.yaml, in order (`-` is stdin).
    pub files: Vec<PathBuf>,
    pub continue_on_failure: bool,
    /// Report kinds this tool does not run as skipped instead of refusing the files.
    pub skip_unsupported: bool,
    pub dry_run: Option<DryRun>,
    pub yes: bool,
    /// `kill_count`'s random choice (None: a new seed, printed).
    pub seed: Option<u64>,
    pub save_dir: Option<PathBuf>,
    pub no_progress: bool,
    pub allow_protected_namespace: bool,
    pub max_targets: usize,
    pub allow_full_outage: bool,
    /// `--fault`: every step's VMIs deleted (Kraken's outage), or their launchers crashed.
    pub fault: crate::plan::Fault,
    /// `--repeat N` with `--interval`, for every step (None: one trial).
    pub repeat: Option<RepeatPlan>,
    /// `--baseline FILE` (read and checked already) with `--max-regression`.
    pub baseline: Option<Judged>,
    /// `--alerts[=SELECTOR]`: each step's watch (Prometheus comes from the files or the
    /// environment, so it is resolved once they are read).
    pub alerts: Option<AlertSelector>,
    pub alerts_settle: Duration,
    /// The global flags' connection; each step sets its own namespace.
    pub connection: Connection,
    pub color: ColorChoice,
}
