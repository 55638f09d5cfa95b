//! Verdicts in a word or two (`RECOVERED`, `NOT RECOVERED`, …): a fleet's table rows, a trial's
//! line, and the lead of every verdict sentence.

use crate::{
    error::Exit,
    verdict::{Decides, RunVerdict, Verdict},
};

/// One target's verdict in a word or two (a fleet's table row).
pub fn verdict_lead(v: &Verdict) -> &'static str {
    match v {
        Verdict::DryRun { .. } => "DRY RUN",
        Verdict::Recovered { .. } if v.exit() == Exit::Recovered => "RECOVERED",
        Verdict::Recovered { .. } => "RECOVERED, runStrategy not put back",
        Verdict::NotRecovered { .. } => "NOT RECOVERED",
        Verdict::ToolFailed { .. } => "TOOL FAILED",
        Verdict::Interrupted { .. } => "INTERRUPTED",
        Verdict::NotDeleted(_) => "NOT DELETED",
        Verdict::Aborted { .. } => "ABORTED",
        Verdict::NotHit { .. } => "NOT HIT",
    }
}

/// A verdict's lead word by its exit.
pub fn lead(exit: Exit) -> &'static str {
    match exit {
        Exit::Recovered => "RECOVERED",
        Exit::NotRecovered => "NOT RECOVERED",
        Exit::FailedAfterInject => "TOOL FAILED",
        Exit::Interrupted | Exit::Terminated => "INTERRUPTED",
        Exit::NothingChanged => "NOTHING CHANGED",
    }
}

/// A trial's verdict in a word or two (`RECOVERED`, `NOT RECOVERED`, …).
pub fn run_verdict_lead(v: &RunVerdict) -> &'static str {
    match v {
        RunVerdict::Target(v) => verdict_lead(v),
        RunVerdict::Fleet(f) if f.dry_run.is_some() => "DRY RUN",
        RunVerdict::Fleet(f) if f.targets == 0 => "NOTHING CHANGED",
        RunVerdict::Fleet(f) => lead(f.exit()),
    }
}
