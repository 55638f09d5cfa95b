//! How a run ended, as data: one verdict type per document kind (a target, a fleet, a game
//! day), and for each the one function that decides its exit. The words are the renderers'
//! (`render::words`); nothing here is a sentence.

use std::time::Duration;

use crate::{
    error::Exit,
    events::{NotDeleted, NotRecovered},
    kubevirt::Recovery,
    probe::AbortReason,
    signals::Signal,
};

/// A document's verdict, and whether the reports it promised (`--report DIR`) were written.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged<V> {
    pub verdict: V,
    /// `--report DIR` could not be written: the tool failed to leave what it promised.
    pub reports_not_written: bool,
    /// What `--repeat` and `--baseline` add: a stop between trials, regressions.
    pub amends: Amends,
}

impl<V: Decides> Judged<V> {
    pub fn new(verdict: V) -> Self {
        Judged {
            verdict,
            reports_not_written: false,
            amends: Default::default(),
        }
    }

    /// The document's exit: its verdict's, made exit 3 when the reports were not written
    /// (unless the run had already failed).
    pub fn exit(&self) -> Exit {
        let exit = Exit::worst(std::iter::once(self.verdict.exit()).chain(self.amends.exit()));
        match (exit, self.reports_not_written) {
            (Exit::Recovered, true) => Exit::FailedAfterInject,
            (e, _) => e,
        }
    }
}

/// One trial's verdict (`--repeat`): a target's, or a fleet's.
#[derive(Debug, Clone, PartialEq)]
pub enum RunVerdict {
    Target(Verdict),
    Fleet(FleetVerdict),
}

impl Decides for RunVerdict {
    fn exit(&self) -> Exit {
        match self {
            RunVerdict::Target(v) => v.exit(),
            RunVerdict::Fleet(f) => f.exit(),
        }
    }
}

/// Why a repeated run ran fewer trials than asked.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum Stopped {
    /// A trial did not recover (its own verdict says why).
    TrialFailed { trial: u32 },
    /// Between trials, a target was not Running and Ready within `--timeout`.
    NotReadyAgain {
        after_trial: u32,
        target: String,
        timeout_ms: u64,
    },
    /// Ctrl-C or SIGTERM between trials (nothing was down).
    Signal { after_trial: u32 },
    /// The next trial could not start (nothing of it was changed).
    NotStarted { trial: u32, error: String },
}

/// What `--repeat` and `--baseline` add to a document's verdict, and so to its exit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amends {
    /// The repetition stopped between trials (a failed trial is the verdict itself): why, and
    /// that stop's exit.
    pub stopped: Option<(Stopped, Exit)>,
    /// Figures worse than the baseline by more than `--max-regression` (exit 1).
    pub regressions: Vec<(crate::figures::Subject, crate::repeat::baseline::Figure)>,
    pub max_regression_percent: f64,
}

impl Amends {
    pub fn exit(&self) -> Option<Exit> {
        let regressed = (!self.regressions.is_empty()).then_some(Exit::NotRecovered);
        let stopped = self.stopped.as_ref().map(|(_, e)| *e);
        match (stopped, regressed) {
            (None, None) => None,
            (a, b) => Some(Exit::worst(a.into_iter().chain(b))),
        }
    }
}

/// A verdict decides its document's exit.
pub trait Decides {
    fn exit(&self) -> Exit;
}

/// How one target's outage ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// `--dry-run`: nothing was changed; `plan` is how it would have come back.
    DryRun {
        mode: crate::settings::DryRun,
        /// `namespace/name`.
        vmi: String,
        uid: String,
        plan: Recovery,
        /// `--fault crash`: the virt-launcher pod it would delete with no grace period.
        launcher: Option<String>,
    },
    /// Running and Ready again (and served, with probes).
    Recovered {
        /// What brought it back, and what the plan was.
        by: Recovery,
        planned: Recovery,
        /// A replica set's replacement has another name.
        replaced_by: Option<String>,
        ready_after: Option<Duration>,
        /// With probes: the longest user-visible downtime any of them measured.
        probe_downtime: Option<Duration>,
        /// The VM's runStrategy could not be put back afterwards (exit 3).
        strategy_not_restored: bool,
        /// `--fault crash`: its launcher was killed rather than the VMI deleted.
        crashed: bool,
    },
    /// Not back within the limits.
    NotRecovered {
        why: NotRecovered,
        duration: Duration,
        timeout: Duration,
    },
    /// The tool itself failed after the DELETE (free text: the failure).
    ToolFailed { reason: String },
    /// Ctrl-C or SIGTERM; `running`: a replacement was running at exit.
    Interrupted {
        signal: Option<Signal>,
        running: bool,
    },
    /// The DELETE never happened: nothing changed.
    NotDeleted(NotDeleted),
    /// An abort condition (`--abort-if`) fired.
    Aborted { reason: AbortReason, running: bool },
    /// An error stopped the step before this target was hit (free text: the error).
    NotHit {
        reason: String,
        signal: Option<Signal>,
    },
}

impl Decides for Verdict {
    fn exit(&self) -> Exit {
        match self {
            Verdict::DryRun { .. } => Exit::Recovered,
            Verdict::Recovered {
                strategy_not_restored: false,
                ..
            } => Exit::Recovered,
            Verdict::Recovered { .. } | Verdict::ToolFailed { .. } => Exit::FailedAfterInject,
            Verdict::NotRecovered { .. } | Verdict::Aborted { .. } => Exit::NotRecovered,
            Verdict::Interrupted { signal, .. } => {
                signal.map_or(Exit::Interrupted, Exit::from_signal)
            }
            Verdict::NotDeleted(_) => Exit::NothingChanged,
            Verdict::NotHit { signal, .. } => {
                signal.map_or(Exit::NothingChanged, Exit::from_signal)
            }
        }
    }
}

impl Verdict {
    /// A replacement runs: recovered, or stopped (signal, abort) with the VMI up again.
    pub fn running_again(&self) -> bool {
        match self {
            Verdict::Recovered { .. } => true,
            Verdict::Interrupted { running, .. } | Verdict::Aborted { running, .. } => *running,
            _ => false,
        }
    }
}

/// How several targets hit in one run ended (a fleet, or one step of a game day).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetVerdict {
    /// `client` or `server` for a dry run.
    pub dry_run: Option<crate::settings::DryRun>,
    /// The signal that stopped the whole run, if one did.
    pub signal: Option<Signal>,
    pub targets: usize,
    pub recovered: usize,
    /// Targets with a replacement running (recovered, or stopped while up again).
    pub running_again: usize,
    /// The most serious of the targets' exits (nothing changed when there are none).
    pub worst: Exit,
}

impl FleetVerdict {
    pub fn of<'a>(
        targets: impl IntoIterator<Item = &'a Judged<Verdict>>,
        signal: Option<Signal>,
        dry_run: Option<crate::settings::DryRun>,
    ) -> FleetVerdict {
        let targets: Vec<&Judged<Verdict>> = targets.into_iter().collect();
        FleetVerdict {
            dry_run,
            signal,
            targets: targets.len(),
            recovered: targets
                .iter()
                .filter(|t| matches!(t.verdict, Verdict::Recovered { .. }))
                .count(),
            running_again: targets.iter().filter(|t| t.verdict.running_again()).count(),
            worst: if targets.is_empty() {
                Exit::NothingChanged
            } else {
                Exit::worst(targets.iter().map(|t| t.exit()))
            },
        }
    }
}

impl Decides for FleetVerdict {
    fn exit(&self) -> Exit {
        match self.signal {
            Some(s) => Exit::from_signal(s),
            None => self.worst,
        }
    }
}

/// How a game day (`run -f`, or `--report DIR`'s one step) ended.
#[derive(Debug, Clone, PartialEq)]
pub struct GameDayVerdict {
    pub dry_run: bool,
    /// Steps that ran.
    pub ran: usize,
    pub targets: usize,
    pub recovered: usize,
    pub running_again: usize,
    /// The names of the steps that ran and did not recover.
    pub failed: Vec<String>,
    pub skipped: usize,
    pub not_run: usize,
    /// A signal stopped the run between steps.
    pub interrupted_between_steps: bool,
    /// The most serious of the steps' exits (nothing changed when none ran).
    pub worst: Exit,
}

impl Decides for GameDayVerdict {
    fn exit(&self) -> Exit {
        if self.interrupted_between_steps {
            Exit::Interrupted
        } else {
            self.worst
        }
    }
}
