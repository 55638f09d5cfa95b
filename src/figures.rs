//! The figures of a run, as plain data shared by every document: milliseconds to each step of
//! a recovery, their spread over targets or trials, and what they belong to (no I/O, no words).

use serde::Serialize;

/// Milliseconds from the DELETE to each step of the recovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// `--fault crash`: when the old VMI was seen `Failed` (the launcher's death, as KubeVirt
    /// reported it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_ms: Option<u64>,
    pub gone_ms: Option<u64>,
    pub created_ms: Option<u64>,
    pub scheduling_ms: Option<u64>,
    pub scheduled_ms: Option<u64>,
    pub running_ms: Option<u64>,
    pub ready_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TargetRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// How many targets had this step.
    pub count: usize,
    pub min_ms: Option<u64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: Option<u64>,
}

impl Stats {
    /// Nearest-rank percentiles over the values present.
    pub fn of(values: impl IntoIterator<Item = Option<u64>>) -> Stats {
        let mut v: Vec<u64> = values.into_iter().flatten().collect();
        v.sort_unstable();
        let rank = |p: f64| -> Option<u64> {
            if v.is_empty() {
                return None;
            }
            let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            Some(v[i])
        };
        Stats {
            count: v.len(),
            min_ms: v.first().copied(),
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            max_ms: v.last().copied(),
        }
    }
}

/// What the figures of a target belong to, across trials and against a baseline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub namespace: String,
    /// The VMI's name, or the replica set's for a replica set's VMI.
    pub name: String,
    pub kind: SubjectKind,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum SubjectKind {
    Vmi,
    ReplicaSet,
}

impl Subject {
    /// `ns/name`, or `ns/vmirs/name` for a replica set.
    pub fn label(&self) -> String {
        match self.kind {
            SubjectKind::Vmi => format!("{}/{}", self.namespace, self.name),
            SubjectKind::ReplicaSet => format!("{}/vmirs/{}", self.namespace, self.name),
        }
    }
}
