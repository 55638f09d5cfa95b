//! The result of an outage: one document per target (`Report`, printed as a table or as
//! JSON/YAML), one for a fleet of targets (`FleetReport`), and one for a game day of several
//! steps (`GameDayReport`, what `run -f` and `--report DIR` write).

use std::{collections::BTreeMap, path::PathBuf};

use serde::Serialize;

pub use crate::figures::{Stats, TargetRef, Timings};
use crate::{
    error::Exit,
    events::Note,
    kubevirt::Recovery,
    verdict::{FleetVerdict, GameDayVerdict, Judged, Verdict},
};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub target: TargetRef,
    pub context: String,
    pub server: String,
    /// The owner VM, if any.
    pub vm: Option<String>,
    pub run_strategy: Option<String>,
    /// The owning VirtualMachineInstanceReplicaSet or VirtualMachinePool, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `delete` (the VMI was deleted) or `crash` (its virt-launcher pod was deleted with no
    /// grace period).
    pub fault: crate::plan::Fault,
    pub expected_recovery: Recovery,
    /// What actually brought it back (`none` if nothing did).
    pub recovery: Recovery,
    pub recovered: bool,
    /// `client` or `server` for a dry run, absent for a real one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<crate::settings::DryRun>,
    pub interrupted: bool,
    pub before: Endpoint,
    pub after: Option<Endpoint>,
    /// When the DELETE was sent (RFC 3339, milliseconds); timings count from here.
    pub injected_at: Option<String>,
    pub timings: Timings,
    /// Where each timing came from: `watch` (seen live) or `server` (filled in from the VMI's
    /// phaseTransitionTimestamps / conditions after a gap in the watch; 1 s resolution).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub timing_sources: BTreeMap<String, String>,
    pub snapshot: Option<PathBuf>,
    /// The command that brings the VMI back, when it may still be needed.
    pub restore_command: Option<String>,
    /// `verdict` (words), `outcome` (the same as data) and `exitCode` (render::document).
    #[serde(flatten)]
    pub result: Judged<Verdict>,
    /// The replica set or pool this VMI is one replica of, as the target choice saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<crate::targets::Group>,
    /// The plan's warnings (`Note::Warning`), worded by `render::notes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Note>,
    /// `--probe`: user-visible downtime per probe (users served again decides "recovered").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::ProbeReport>,
    /// `--alerts`: the alerts firing before the delete and those that fired since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<crate::probe::AlertsReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// `--repeat` and `--baseline` (absent otherwise).
    #[serde(flatten)]
    pub series: crate::repeat::series::Series,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Endpoint {
    /// The VMI's name: only a replica set's replacement has another name than the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub uid: String,
    pub node: Option<String>,
    pub ip: Option<String>,
}

impl Report {
    /// The longest user-visible downtime any probe of the target measured (None without probes).
    pub fn user_downtime_ms(&self) -> Option<u64> {
        self.probes.iter().map(|p| p.downtime_ms.unwrap_or(0)).max()
    }

    pub fn exit(&self) -> Exit {
        self.result.exit()
    }
}

/// A finished outage: one target's document, or a fleet's.
#[derive(Debug, Clone, PartialEq)]
pub enum RunReport {
    Single(Box<Report>),
    Fleet(Box<FleetReport>),
}

impl RunReport {
    /// `--alerts`: the run's record, on the document that is printed.
    pub fn set_alerts(&mut self, alerts: Option<crate::probe::AlertsReport>) {
        match self {
            RunReport::Single(r) => r.alerts = alerts,
            RunReport::Fleet(f) => f.alerts = alerts,
        }
    }

    /// `--alerts`: the run's record.
    pub fn alerts(&self) -> Option<crate::probe::AlertsReport> {
        match self {
            RunReport::Single(r) => r.alerts.clone(),
            RunReport::Fleet(f) => f.alerts.clone(),
        }
    }

    /// The reports could not be written (`why`): the document says so, and its exit code is the
    /// command's (see [`Judged::exit`]).
    pub fn reports_not_written(&mut self, why: &str) {
        let note = Note::ReportsNotWritten { why: why.into() };
        match self {
            RunReport::Single(r) => {
                r.result.reports_not_written = true;
                r.notes.push(note);
            }
            RunReport::Fleet(f) => {
                f.result.reports_not_written = true;
                f.notes.push(note);
            }
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            RunReport::Single(r) => r.exit(),
            RunReport::Fleet(f) => f.result.exit(),
        }
    }

    fn dry_run(&self) -> bool {
        self.targets().iter().any(|r| r.dry_run.is_some())
    }

    /// Every target's report.
    pub fn targets(&self) -> Vec<&Report> {
        match self {
            RunReport::Single(r) => vec![r],
            RunReport::Fleet(f) => f.targets.iter().collect(),
        }
    }

    /// A one-step game day around this outage (what `--report DIR` writes).
    pub fn game_day(&self, name: String) -> GameDayReport {
        let fleet = match self {
            RunReport::Fleet(f) => (**f).clone(),
            RunReport::Single(r) => FleetReport {
                context: r.context.clone(),
                server: r.server.clone(),
                dry_run: r.dry_run,
                started_at: r.injected_at.clone(),
                // Written as the run ends: the single outage's end is now.
                finished_at: Some(
                    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                ),
                interrupted: r.interrupted,
                selection: None,
                targets: vec![Report {
                    series: Default::default(),
                    ..(**r).clone()
                }],
                aggregates: Aggregates::of(std::slice::from_ref(r)),
                alerts: r.alerts.clone(),
                result: Judged {
                    amends: r.result.amends.clone(),
                    ..Judged::new(FleetVerdict::of([&r.result], None, r.dry_run))
                },
                notes: Vec::new(),
                series: r.series.clone(),
            },
        };
        let steps = vec![StepReport {
            name,
            scenario: "kubevirt_vm_outage".into(),
            file: None,
            line: None,
            status: StepStatus::Ran,
            reason: None,
            fleet: Some(fleet),
        }];
        GameDayReport {
            context: steps[0]
                .fleet
                .as_ref()
                .map(|f| f.context.clone())
                .unwrap_or_default(),
            server: steps[0]
                .fleet
                .as_ref()
                .map(|f| f.server.clone())
                .unwrap_or_default(),
            started_at: steps[0].fleet.as_ref().and_then(|f| f.started_at.clone()),
            finished_at: steps[0].fleet.as_ref().and_then(|f| f.finished_at.clone()),
            // One step: its stop between trials and its regressions are the day's.
            result: Judged {
                amends: steps[0]
                    .fleet
                    .as_ref()
                    .map(|f| f.result.amends.clone())
                    .unwrap_or_default(),
                ..Judged::new(GameDayVerdict::of(&steps, self.dry_run()))
            },
            notes: Vec::new(),
            series: Default::default(),
            steps,
        }
    }
}

/// Several targets hit in one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FleetReport {
    pub context: String,
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<crate::settings::DryRun>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub interrupted: bool,
    /// How the targets were chosen (`-l`, `--all`, `--count`/`--percent` and its seed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<crate::selection::Selection>,
    pub targets: Vec<Report>,
    pub aggregates: Aggregates,
    /// `--alerts`: one watch for the whole run (the targets' own documents have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<crate::probe::AlertsReport>,
    /// `verdict`, `outcome` and `exitCode` (render::document).
    #[serde(flatten)]
    pub result: Judged<FleetVerdict>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// `--repeat` and `--baseline` (absent otherwise).
    #[serde(flatten)]
    pub series: crate::repeat::series::Series,
}

impl FleetReport {
    pub fn exit(&self) -> Exit {
        self.result.exit()
    }
}

/// Figures over every target of a fleet, in milliseconds since each target's DELETE.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Aggregates {
    pub targets: usize,
    pub recovered: usize,
    pub gone: Stats,
    pub created: Stats,
    pub running: Stats,
    pub ready: Stats,
}

impl Aggregates {
    pub fn of(targets: &[Report]) -> Aggregates {
        let t = |f: fn(&Timings) -> Option<u64>| Stats::of(targets.iter().map(|r| f(&r.timings)));
        Aggregates {
            targets: targets.len(),
            recovered: targets.iter().filter(|r| r.recovered).count(),
            gone: t(|t| t.gone_ms),
            created: t(|t| t.created_ms),
            running: t(|t| t.running_ms),
            ready: t(|t| t.ready_ms),
        }
    }
}

impl GameDayReport {
    pub fn exit(&self) -> Exit {
        self.result.exit()
    }

    /// See [`RunReport::reports_not_written`].
    pub fn reports_not_written(&mut self, why: &str) {
        self.result.reports_not_written = true;
        self.notes.push(Note::ReportsNotWritten { why: why.into() });
    }
}

/// A game day: the steps of `run -f` (one step for a plain `outage`), in order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GameDayReport {
    pub context: String,
    pub server: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub steps: Vec<StepReport>,
    /// `verdict`, `outcome` and `exitCode` (render::document).
    #[serde(flatten)]
    pub result: Judged<GameDayVerdict>,
    /// What the reader should know about the whole run (e.g. Kraken keys read past, the seed
    /// that picked the targets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// `--repeat` and `--baseline` (absent otherwise).
    #[serde(flatten)]
    pub series: crate::repeat::series::Series,
}

/// The reason of a step Ctrl-C stopped before it began.
pub const INTERRUPTED_BEFORE_STEP: &str = "interrupted before this step";

impl GameDayVerdict {
    /// The whole run's verdict from its steps: nothing ran is 2; Ctrl-C between steps is 130;
    /// else the most serious of the steps' exits.
    pub fn of(steps: &[StepReport], dry_run: bool) -> GameDayVerdict {
        let fleets: Vec<(&StepReport, &FleetReport)> = steps
            .iter()
            .filter_map(|s| s.fleet.as_ref().map(|f| (s, f)))
            .collect();
        let count = |status: StepStatus| steps.iter().filter(|s| s.status == status).count();
        GameDayVerdict {
            dry_run,
            ran: fleets.len(),
            targets: fleets.iter().map(|(_, f)| f.result.verdict.targets).sum(),
            recovered: fleets.iter().map(|(_, f)| f.result.verdict.recovered).sum(),
            running_again: fleets
                .iter()
                .map(|(_, f)| f.result.verdict.running_again)
                .sum(),
            failed: fleets
                .iter()
                .filter(|(_, f)| f.exit() != Exit::Recovered)
                .map(|(s, _)| s.name.clone())
                .collect(),
            skipped: count(StepStatus::Skipped),
            not_run: count(StepStatus::NotRun),
            interrupted_between_steps: steps
                .iter()
                .any(|s| s.reason.as_deref() == Some(INTERRUPTED_BEFORE_STEP)),
            worst: if fleets.is_empty() {
                Exit::NothingChanged
            } else {
                Exit::worst(fleets.iter().map(|(_, f)| f.exit()))
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The scenario's `name` (or the outage's targets for a plain `outage`).
    pub name: String,
    /// The scenario kind, e.g. `kubevirt_vm_outage`.
    pub scenario: String,
    /// The scenario file it came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The step's line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub status: StepStatus,
    /// Why a step was skipped, refused or not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetReport>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// It ran; the fleet report says how it went.
    Ran,
    /// An unsupported scenario kind, skipped with --skip-unsupported.
    Skipped,
    /// An earlier step failed (and no --continue-on-failure).
    NotRun,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_nearest_rank_percentiles_over_present_values() {
        let s = Stats::of([Some(30), None, Some(10), Some(20)]);
        assert_eq!(
            s,
            Stats {
                count: 3,
                min_ms: Some(10),
                p50_ms: Some(20),
                p95_ms: Some(30),
                max_ms: Some(30),
            }
        );
        let hundred = Stats::of((1..=100).map(Some));
        assert_eq!((hundred.p50_ms, hundred.p95_ms), (Some(50), Some(95)));
        assert_eq!(Stats::of([None]), Stats::default());
    }
}
