//! The verdicts in words (the terminal, the JSON/YAML `verdict`, the report files), the same as
//! data for machines (`outcome`), and every document's `exitCode` from its verdict.

use serde::{Serialize, Serializer};

use super::{format_duration, words};
use crate::{
    error::Exit,
    events::{NotDeleted, NotRecovered},
    kubevirt::Recovery,
    probe::AbortReason,
    signals::Signal,
    verdict::{Decides, FleetVerdict, GameDayVerdict, Judged, RunVerdict, Verdict},
};

use super::leads::lead;
pub use super::leads::verdict_lead;

/// One target's verdict, in full.
pub fn verdict(v: &Verdict) -> String {
    let state = |running: bool| {
        if running {
            "the VMI is Running again"
        } else {
            "the VMI may still be down"
        }
    };
    match v {
        Verdict::DryRun {
            mode,
            vmi,
            uid,
            plan,
            launcher: None,
        } => format!(
            "DRY RUN ({mode}): would delete VMI {vmi} (uid {uid}); plan: {}; nothing was changed",
            plan.describe()
        ),
        Verdict::DryRun {
            mode,
            vmi,
            uid,
            plan,
            launcher: Some(pod),
        } => format!(
            "DRY RUN ({mode}): would crash VMI {vmi} (uid {uid}) by deleting its virt-launcher pod {pod} with no grace period; plan: {}; nothing was changed",
            plan.describe()
        ),
        Verdict::Recovered {
            by,
            planned,
            replaced_by,
            ready_after,
            probe_downtime,
            strategy_not_restored,
            crashed,
        } => {
            let named = replaced_by
                .as_ref()
                .map(|n| format!(" as {n}"))
                .unwrap_or_default();
            // With probes, users served again decides; without, Ready does.
            let served = probe_downtime
                .map(|d| {
                    format!(
                        "users served again (probes; longest downtime {}); ",
                        format_duration(d)
                    )
                })
                .unwrap_or_default();
            let ready = ready_after.map(format_duration).unwrap_or_default();
            let how = match by {
                Recovery::Automatic if *crashed => "KubeVirt restarted it",
                Recovery::Automatic => "KubeVirt re-created it",
                Recovery::Start => "the tool started its VM",
                Recovery::Recreate => "the tool re-created it",
                Recovery::Follow => "its replica set replaced it",
                Recovery::None => "nothing brought it back",
            };
            let expectation = if by == planned {
                "as planned".to_string()
            } else {
                format!("planned: {}", planned.describe())
            };
            let but = if *strategy_not_restored {
                " — but the VM's runStrategy could not be put back (see notes)"
            } else {
                ""
            };
            let fault = if *crashed { "crash" } else { "delete" };
            format!("RECOVERED{named}: {served}Running and Ready {ready} after the {fault}; {how} ({expectation}){but}")
        }
        Verdict::NotRecovered {
            why,
            duration,
            timeout,
        } => format!(
            "NOT RECOVERED: {} (--duration {} + --timeout {})",
            words::not_recovered(why),
            format_duration(*duration),
            format_duration(*timeout)
        ),
        Verdict::ToolFailed { reason } => format!("TOOL FAILED after the delete: {reason}"),
        Verdict::Interrupted { running, .. } => format!("INTERRUPTED: {}", state(*running)),
        Verdict::NotDeleted(why) => format!(
            "NOT DELETED: {}; nothing was changed",
            words::not_deleted(why)
        ),
        Verdict::Aborted { reason, running } => format!(
            "ABORTED ({}): {}",
            words::abort_reason(reason),
            state(*running)
        ),
        Verdict::NotHit { reason, .. } => format!("NOT HIT: {reason}"),
    }
}

/// A trial's verdict (`--repeat`): a target's or a fleet's.
pub fn run_verdict(v: &RunVerdict) -> String {
    match v {
        RunVerdict::Target(v) => verdict(v),
        RunVerdict::Fleet(f) => fleet_verdict(f),
    }
}

/// A fleet's verdict (or one game-day step's).
pub fn fleet_verdict(f: &FleetVerdict) -> String {
    let vmis = words::count(f.targets, "VMI");
    match (&f.dry_run, f.exit()) {
        (Some(mode), _) => {
            format!("DRY RUN ({mode}): would delete {vmis}; nothing was changed")
        }
        (None, _) if f.targets == 0 => "NOTHING CHANGED: no VMI could be hit".into(),
        (None, e @ (Exit::Interrupted | Exit::Terminated)) => format!(
            "{}: {} of {vmis} Running again, {} checked to the end as recovered",
            lead(e),
            f.running_again,
            f.recovered
        ),
        (None, e) => format!("{}: {} of {vmis} recovered", lead(e), f.recovered),
    }
}

/// One sentence for the whole game day.
pub fn game_day_verdict(g: &GameDayVerdict) -> String {
    let steps = words::count(g.ran, "step");
    let targets = words::count(g.targets, "target");
    let mut tail = String::new();
    for (n, what) in [(g.skipped, "skipped"), (g.not_run, "not run")] {
        if n > 0 {
            tail.push_str(&format!("; {} {what}", words::count(n, "step")));
        }
    }
    let failed: Vec<String> = g.failed.iter().map(|n| format!("\"{n}\"")).collect();
    let failed = failed.join(", ");
    let recovered = g.recovered;
    match g.exit() {
        Exit::Recovered if g.dry_run => {
            format!("DRY RUN: {steps}, {targets} checked; nothing was changed{tail}")
        }
        Exit::Recovered => {
            format!("RECOVERED: all {targets} of {steps} came back Running and Ready{tail}")
        }
        Exit::NotRecovered => {
            format!("NOT RECOVERED: {recovered} of {targets} recovered; failed: {failed}{tail}")
        }
        Exit::FailedAfterInject => {
            format!("TOOL FAILED: {recovered} of {targets} recovered; see {failed}{tail}")
        }
        Exit::Interrupted | Exit::Terminated => format!(
            "INTERRUPTED: {recovered} of {targets} recovered before the stop, {} Running again{tail}",
            g.running_again
        ),
        Exit::NothingChanged => format!("NOTHING CHANGED: no target was hit{tail}"),
    }
}

/// The machine-readable `outcome` of a document: `kind` always, the rest where it applies.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    kind: &'static str,
    /// Why (a camelCase code): not recovered, not deleted, aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'static str>,
    /// What brought the target back.
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<Recovery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<&'static str>,
    /// Interrupted or aborted: a replacement was running at exit.
    #[serde(skip_serializing_if = "Option::is_none")]
    running: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    targets: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    running_again: Option<usize>,
}

fn exit_kind(exit: Exit) -> &'static str {
    match exit {
        Exit::Recovered => "recovered",
        Exit::NotRecovered => "notRecovered",
        Exit::FailedAfterInject => "toolFailed",
        Exit::Interrupted | Exit::Terminated => "interrupted",
        Exit::NothingChanged => "nothingChanged",
    }
}

fn signal_name(s: Option<Signal>) -> Option<&'static str> {
    s.map(|s| match s {
        Signal::Interrupt => "SIGINT",
        Signal::Terminate => "SIGTERM",
    })
}

fn outcome(v: &Verdict) -> Outcome {
    match v {
        Verdict::DryRun { .. } => Outcome {
            kind: "dryRun",
            ..Outcome::default()
        },
        Verdict::Recovered {
            by,
            strategy_not_restored,
            ..
        } => Outcome {
            kind: "recovered",
            by: Some(*by),
            cause: strategy_not_restored.then_some("runStrategyNotRestored"),
            ..Outcome::default()
        },
        Verdict::NotRecovered { why, .. } => Outcome {
            kind: "notRecovered",
            cause: Some(match why {
                NotRecovered::NotReady => "notReady",
                NotRecovered::NotServed => "notServed",
                NotRecovered::NotRunning { .. } => "notRunning",
                NotRecovered::StillTerminating => "stillTerminating",
                NotRecovered::NoReplacement => "noReplacement",
            }),
            ..Outcome::default()
        },
        Verdict::ToolFailed { .. } => Outcome {
            kind: "toolFailed",
            ..Outcome::default()
        },
        Verdict::Interrupted { signal, running } => Outcome {
            kind: "interrupted",
            signal: signal_name(*signal),
            running: Some(*running),
            ..Outcome::default()
        },
        Verdict::NotDeleted(why) => Outcome {
            kind: "notDeleted",
            cause: Some(match why {
                NotDeleted::Refused(_) => "refused",
                NotDeleted::SwitchFailed(_) => "runStrategySwitchFailed",
                NotDeleted::InterruptedFirst => "interrupted",
                NotDeleted::AbortedFirst => "aborted",
                NotDeleted::AnswerLost => "answerLost",
            }),
            ..Outcome::default()
        },
        Verdict::Aborted { reason, running } => Outcome {
            kind: "aborted",
            cause: Some(match reason {
                AbortReason::ProbeDown { .. } => "probeDown",
                AbortReason::Unready { .. } => "unready",
            }),
            running: Some(*running),
            ..Outcome::default()
        },
        Verdict::NotHit { signal, .. } => Outcome {
            kind: "notHit",
            signal: signal_name(*signal),
            ..Outcome::default()
        },
    }
}

/// `verdict`, `outcome`, `exitCode`: flattened into each document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    verdict: String,
    outcome: Outcome,
    exit_code: u8,
}

impl Serialize for Judged<Verdict> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Document {
            verdict: super::trials::amended(verdict(&self.verdict), &self.amends),
            outcome: outcome(&self.verdict),
            exit_code: self.exit().code(),
        }
        .serialize(s)
    }
}

impl Serialize for Judged<FleetVerdict> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.verdict;
        Document {
            verdict: super::trials::amended(fleet_verdict(f), &self.amends),
            outcome: Outcome {
                kind: if f.dry_run.is_some() {
                    "dryRun"
                } else {
                    exit_kind(f.exit())
                },
                signal: signal_name(f.signal),
                targets: Some(f.targets),
                recovered: Some(f.recovered),
                running_again: Some(f.running_again),
                ..Outcome::default()
            },
            exit_code: self.exit().code(),
        }
        .serialize(s)
    }
}

impl Serialize for Judged<RunVerdict> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fn judged<V>(verdict: V, of: &Judged<RunVerdict>) -> Judged<V> {
            Judged {
                verdict,
                reports_not_written: of.reports_not_written,
                amends: of.amends.clone(),
            }
        }
        match &self.verdict {
            RunVerdict::Target(v) => judged(v.clone(), self).serialize(s),
            RunVerdict::Fleet(f) => judged(f.clone(), self).serialize(s),
        }
    }
}

impl Serialize for Judged<GameDayVerdict> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = &self.verdict;
        Document {
            verdict: super::trials::amended(game_day_verdict(g), &self.amends),
            outcome: Outcome {
                kind: if g.dry_run && g.exit() == Exit::Recovered {
                    "dryRun"
                } else {
                    exit_kind(g.exit())
                },
                targets: Some(g.targets),
                recovered: Some(g.recovered),
                running_again: Some(g.running_again),
                ..Outcome::default()
            },
            exit_code: self.exit().code(),
        }
        .serialize(s)
    }
}
