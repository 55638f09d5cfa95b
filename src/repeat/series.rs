//! Repeated trials as data: one record per trial, and per target the spread of each figure over
//! the trials (pure: no I/O, no words).
//!
//! A target is followed across trials as its *subject*: a VMI by namespace/name, a replica set's
//! VMI by its set (each trial hits a replacement with another name).

use serde::Serialize;

pub use crate::figures::{Subject, SubjectKind};
pub use crate::verdict::{Amends, Stopped};
use crate::{
    figures::{Stats, TargetRef, Timings},
    verdict::{Judged, RunVerdict},
};

/// One trial of a repeated outage.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Trial {
    /// 1, 2, …
    pub trial: u32,
    pub started_at: Option<String>,
    /// `verdict` (words), `outcome` and `exitCode`, as in every document (`render::verdicts`).
    #[serde(flatten)]
    pub result: Judged<RunVerdict>,
    pub targets: Vec<TrialTarget>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrialTarget {
    /// The VMI this trial deleted (a replica set's VMI changes name from trial to trial).
    pub target: TargetRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_set: Option<String>,
    pub recovered: bool,
    pub timings: Timings,
    /// With probes: the longest downtime any probe of the target saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_downtime_ms: Option<u64>,
}

/// One subject's figures over every trial (nearest-rank percentiles, see [`Stats::of`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetStats {
    #[serde(flatten)]
    pub subject: Subject,
    /// How many times it was hit (trials x its VMIs in each).
    pub hits: usize,
    pub recovered: usize,
    pub gone: Stats,
    pub running: Stats,
    pub ready: Stats,
    /// With probes: the longest downtime per hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_downtime: Option<Stats>,
}

/// Per subject, in the order first seen: its figures over all trials.
pub fn statistics(trials: &[Trial]) -> Vec<TargetStats> {
    let mut subjects: Vec<(Subject, Vec<&TrialTarget>)> = Vec::new();
    for t in trials.iter().flat_map(|t| &t.targets) {
        let subject = subject_of(t);
        match subjects.iter_mut().find(|(s, _)| *s == subject) {
            Some((_, hits)) => hits.push(t),
            None => subjects.push((subject, vec![t])),
        }
    }
    subjects
        .into_iter()
        .map(|(subject, hits)| {
            let stats =
                |f: fn(&Timings) -> Option<u64>| Stats::of(hits.iter().map(|h| f(&h.timings)));
            let probed = hits.iter().any(|h| h.user_downtime_ms.is_some());
            TargetStats {
                subject,
                hits: hits.len(),
                recovered: hits.iter().filter(|h| h.recovered).count(),
                gone: stats(|t| t.gone_ms),
                running: stats(|t| t.running_ms),
                ready: stats(|t| t.ready_ms),
                user_downtime: probed.then(|| Stats::of(hits.iter().map(|h| h.user_downtime_ms))),
            }
        })
        .collect()
}

fn subject_of(t: &TrialTarget) -> Subject {
    match &t.replica_set {
        Some(set) => Subject {
            namespace: t.target.namespace.clone(),
            name: set.clone(),
            kind: SubjectKind::ReplicaSet,
        },
        None => Subject {
            namespace: t.target.namespace.clone(),
            name: t.target.name.clone(),
            kind: SubjectKind::Vmi,
        },
    }
}

/// What a repeated run or a baseline adds to a document (flattened into it; all absent on a
/// plain run, so today's documents stay as they are).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// `--repeat`: every trial, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trials: Vec<Trial>,
    /// `--repeat`: per target, min/p50/p95/max over the trials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<TargetStats>,
    /// Why the trials stopped before `--repeat N` (typed; the renderers say it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
    /// KubeVirt's start back-off seen between trials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub back_off: Vec<BackOff>,
    /// `--baseline`: each figure beside the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<super::baseline::Comparison>,
}

impl Series {
    pub fn is_empty(&self) -> bool {
        *self == Series::default()
    }

    /// Another batch's trials (a `run -f` step runs one batch per namespace).
    pub fn absorb(&mut self, other: Series) {
        self.trials.extend(other.trials);
        self.statistics.extend(other.statistics);
        self.back_off.extend(other.back_off);
        self.stopped = self.stopped.take().or(other.stopped);
    }
}

/// A VM whose VMIs failed before Running: KubeVirt waits until `retryAfter` before it creates
/// the next one (`status.startFailure`), which the next trial's times include.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackOff {
    pub after_trial: u32,
    pub namespace: String,
    pub vm: String,
    pub consecutive_fail_count: Option<u64>,
    pub retry_after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(
        ns: &str,
        name: &str,
        set: Option<&str>,
        ready: Option<u64>,
        down: Option<u64>,
    ) -> TrialTarget {
        TrialTarget {
            target: TargetRef {
                namespace: ns.into(),
                name: name.into(),
            },
            replica_set: set.map(str::to_string),
            recovered: ready.is_some(),
            timings: Timings {
                gone_ms: Some(100),
                running_ms: ready.map(|r| r / 2),
                ready_ms: ready,
                ..Default::default()
            },
            user_downtime_ms: down,
        }
    }

    fn trial(n: u32, targets: Vec<TrialTarget>) -> Trial {
        Trial {
            trial: n,
            started_at: None,
            result: Judged::new(RunVerdict::Fleet(crate::verdict::FleetVerdict {
                dry_run: None,
                signal: None,
                targets: targets.len(),
                recovered: targets.len(),
                running_again: targets.len(),
                worst: crate::error::Exit::Recovered,
            })),
            targets,
        }
    }

    #[test]
    fn a_single_trial_is_its_own_statistic() {
        let s = statistics(&[trial(1, vec![hit("a", "db", None, Some(3000), None)])]);
        assert_eq!(s.len(), 1);
        let r = &s[0].ready;
        assert_eq!(
            (r.count, r.min_ms, r.p50_ms, r.p95_ms, r.max_ms),
            (1, Some(3000), Some(3000), Some(3000), Some(3000))
        );
        assert_eq!(s[0].user_downtime, None, "no probes, no downtime figure");
    }

    #[test]
    fn figures_spread_per_subject_with_nearest_rank_percentiles() {
        let trials = [
            trial(
                1,
                vec![
                    hit("a", "db", None, Some(3000), Some(10)),
                    hit("a", "web-x", Some("web"), Some(1000), Some(0)),
                ],
            ),
            trial(
                2,
                vec![
                    hit("a", "db", None, Some(1000), Some(30)),
                    hit("a", "web-y", Some("web"), None, Some(0)),
                ],
            ),
            trial(
                3,
                vec![
                    hit("a", "db", None, Some(2000), Some(20)),
                    hit("a", "web-z", Some("web"), Some(5000), Some(0)),
                ],
            ),
        ];
        let s = statistics(&trials);
        assert_eq!(
            s.iter().map(|t| t.subject.label()).collect::<Vec<_>>(),
            ["a/db", "a/vmirs/web"],
            "a replica set's replacements are one subject"
        );
        let db = &s[0];
        assert_eq!((db.hits, db.recovered), (3, 3));
        assert_eq!(
            (
                db.ready.min_ms,
                db.ready.p50_ms,
                db.ready.p95_ms,
                db.ready.max_ms
            ),
            (Some(1000), Some(2000), Some(3000), Some(3000))
        );
        let down = db.user_downtime.as_ref().expect("probed");
        assert_eq!(
            (down.min_ms, down.p50_ms, down.max_ms),
            (Some(10), Some(20), Some(30))
        );
        let web = &s[1];
        assert_eq!((web.hits, web.recovered, web.ready.count), (3, 2, 2));
        assert_eq!(
            (web.ready.p50_ms, web.ready.p95_ms),
            (Some(1000), Some(5000))
        );
        assert_eq!(web.gone.count, 3);
    }
}
