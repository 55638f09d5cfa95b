//! `--baseline FILE`: an earlier run's document, and today's figures beside it (pure).
//!
//! Any document the tool writes is a baseline: a single target's `-o json`, a fleet's, a game
//! day's `report.json`, each with or without `--repeat` statistics. Per subject (see
//! [`Subject`]) the figure compared is the p95 of its statistics when the document has them,
//! else the p95 over its targets' values (a single value is its own p95).

use std::{collections::BTreeMap, path::PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::figures::{Subject, SubjectKind};

/// The figures a run is judged by, and the ones shown beside the baseline's.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum Figure {
    Gone,
    Running,
    Ready,
    UserDowntime,
}

impl Figure {
    pub const ALL: [Figure; 4] = [
        Figure::Gone,
        Figure::Running,
        Figure::Ready,
        Figure::UserDowntime,
    ];

    /// A regression in this figure fails the run (the others are shown only).
    pub fn judged(self) -> bool {
        matches!(self, Figure::Ready | Figure::UserDowntime)
    }

    fn stats_key(self) -> &'static str {
        match self {
            Figure::Gone => "gone",
            Figure::Running => "running",
            Figure::Ready => "ready",
            Figure::UserDowntime => "userDowntime",
        }
    }

    fn timing_key(self) -> Option<&'static str> {
        match self {
            Figure::Gone => Some("goneMs"),
            Figure::Running => Some("runningMs"),
            Figure::Ready => Some("readyMs"),
            Figure::UserDowntime => None,
        }
    }
}

/// `--max-regression`: a percentage, 0 to [`MaxRegression::LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaxRegression(pub f64);

impl MaxRegression {
    pub const DEFAULT: MaxRegression = MaxRegression(20.0);
    pub const LIMIT: f64 = 10_000.0;
}

impl std::str::FromStr for MaxRegression {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let number = text.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=Self::LIMIT).contains(&p) => Ok(MaxRegression(p)),
            Ok(_) => Err(format!(
                "{text:?} is out of range: use a percentage from 0 to {} (e.g. 20 or 20%)",
                Self::LIMIT
            )),
            Err(_) => Err(format!(
                "{text:?} is not a percentage: use a number such as 20 or 20%"
            )),
        }
    }
}

/// Per subject, its p95 (or single value) of each figure present.
pub type Figures = BTreeMap<Subject, BTreeMap<Figure, u64>>;

/// A baseline as read: where from, and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub file: PathBuf,
    pub figures: Figures,
}

impl Baseline {
    /// Reads a document the tool wrote; anything else is refused with the reason.
    pub fn parse(file: PathBuf, text: &str) -> Result<Baseline, String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("it is not a JSON document ({e})"))?;
        let figures = figures_of(&doc).ok_or_else(|| {
            "it is not a kubectl-vmchaos report (expected an outage's -o json document or a report.json)".to_string()
        })?;
        Ok(Baseline { file, figures })
    }
}

/// The figures of any document the tool writes (None: not one of ours).
pub fn figures_of(doc: &Value) -> Option<Figures> {
    let mut figures = Figures::new();
    if let Some(steps) = doc.get("steps").and_then(Value::as_array) {
        doc.get("verdict")?;
        for fleet in steps.iter().filter_map(|s| s.get("fleet")) {
            merge(&mut figures, run_figures(fleet)?);
        }
        return Some(figures);
    }
    if doc.get("targets").is_some_and(Value::is_array)
        || doc.get("target").is_some_and(Value::is_object)
    {
        doc.get("verdict")?;
        return run_figures(doc);
    }
    None
}

fn merge(into: &mut Figures, from: Figures) {
    for (subject, figures) in from {
        let entry = into.entry(subject).or_default();
        for (figure, value) in figures {
            let v = entry.entry(figure).or_insert(value);
            *v = (*v).max(value);
        }
    }
}

/// A fleet's or a single target's document: its statistics if it has them, else its targets.
fn run_figures(doc: &Value) -> Option<Figures> {
    let mut figures = Figures::new();
    if let Some(stats) = doc.get("statistics").and_then(Value::as_array) {
        for s in stats {
            let subject = subject_of_stats(s)?;
            let entry: &mut BTreeMap<Figure, u64> = figures.entry(subject).or_default();
            for figure in Figure::ALL {
                if let Some(p95) = s
                    .get(figure.stats_key())
                    .and_then(|f| f.get("p95Ms"))
                    .and_then(Value::as_u64)
                {
                    entry.insert(figure, p95);
                }
            }
        }
        return Some(figures);
    }
    let targets: Vec<&Value> = match (doc.get("targets"), doc.get("target")) {
        (Some(Value::Array(targets)), _) => targets.iter().collect(),
        (_, Some(Value::Object(_))) => vec![doc],
        _ => return None,
    };
    let mut values: BTreeMap<Subject, BTreeMap<Figure, Vec<Option<u64>>>> = BTreeMap::new();
    for t in targets {
        let subject = subject_of_report(t)?;
        let entry = values.entry(subject).or_default();
        let timings = t.get("timings");
        for figure in Figure::ALL {
            let value = match figure.timing_key() {
                Some(key) => timings.and_then(|t| t.get(key)).and_then(Value::as_u64),
                None => t
                    .get("probes")
                    .and_then(Value::as_array)
                    .and_then(|probes| {
                        probes
                            .iter()
                            .map(|p| p.get("downtimeMs").and_then(Value::as_u64).unwrap_or(0))
                            .max()
                    }),
            };
            entry.entry(figure).or_default().push(value);
        }
    }
    for (subject, by_figure) in values {
        let entry = figures.entry(subject).or_default();
        for (figure, v) in by_figure {
            if let Some(p95) = crate::figures::Stats::of(v).p95_ms {
                entry.insert(figure, p95);
            }
        }
    }
    Some(figures)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn subject_of_stats(s: &Value) -> Option<Subject> {
    let kind = match s.get("kind").and_then(Value::as_str)? {
        "replicaSet" => SubjectKind::ReplicaSet,
        _ => SubjectKind::Vmi,
    };
    Some(Subject {
        namespace: text(s, "namespace")?,
        name: text(s, "name")?,
        kind,
    })
}

fn subject_of_report(r: &Value) -> Option<Subject> {
    let target = r.get("target")?;
    let namespace = text(target, "namespace")?;
    Some(match text(r, "replicaSet") {
        Some(set) => Subject {
            namespace,
            name: set,
            kind: SubjectKind::ReplicaSet,
        },
        None => Subject {
            namespace,
            name: text(target, "name")?,
            kind: SubjectKind::Vmi,
        },
    })
}

/// Today's figures beside the baseline's.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub file: PathBuf,
    /// `--max-regression`, in percent.
    pub max_regression_percent: f64,
    /// Every subject in both runs, each figure beside the baseline's.
    pub targets: Vec<SubjectComparison>,
    /// Subjects this run hit that the baseline did not (listed, not judged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new: Vec<Subject>,
    /// Subjects of the baseline this run did not hit (listed, not judged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<Subject>,
    /// The judged figures worse than the baseline by more than `--max-regression`: exit 1.
    pub regressions: Vec<Regression>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubjectComparison {
    #[serde(flatten)]
    pub subject: Subject,
    pub figures: Vec<FigureChange>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FigureChange {
    pub figure: Figure,
    /// p95 (or single value), milliseconds.
    pub baseline_ms: Option<u64>,
    pub current_ms: Option<u64>,
    /// (current - baseline) / baseline x 100, one decimal; absent when either is missing or the
    /// baseline is 0.
    pub change_percent: Option<f64>,
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Regression {
    #[serde(flatten)]
    pub subject: Subject,
    pub figure: Figure,
    pub baseline_ms: u64,
    pub current_ms: u64,
    pub change_percent: Option<f64>,
}

/// A judged figure regressed when it is worse than the baseline by more than `max` percent;
/// from a baseline of 0, any downtime at all is worse.
fn regressed(baseline: u64, current: u64, max: MaxRegression) -> bool {
    current > baseline && (current - baseline) as f64 * 100.0 > baseline as f64 * max.0
}

pub fn compare(baseline: &Baseline, current: &Figures, max: MaxRegression) -> Comparison {
    let mut targets = Vec::new();
    let mut regressions = Vec::new();
    let mut new = Vec::new();
    for (subject, now) in current {
        let Some(before) = baseline.figures.get(subject) else {
            new.push(subject.clone());
            continue;
        };
        let mut figures = Vec::new();
        for figure in Figure::ALL {
            let (b, c) = (before.get(&figure).copied(), now.get(&figure).copied());
            if b.is_none() && c.is_none() {
                continue;
            }
            let change_percent = match (b, c) {
                (Some(b), Some(c)) if b > 0 => {
                    Some(((c as f64 - b as f64) * 1000.0 / b as f64).round() / 10.0)
                }
                _ => None,
            };
            let regression = match (b, c) {
                (Some(b), Some(c)) => figure.judged() && regressed(b, c, max),
                _ => false,
            };
            if let (true, Some(b), Some(c)) = (regression, b, c) {
                regressions.push(Regression {
                    subject: subject.clone(),
                    figure,
                    baseline_ms: b,
                    current_ms: c,
                    change_percent,
                });
            }
            figures.push(FigureChange {
                figure,
                baseline_ms: b,
                current_ms: c,
                change_percent,
                regression,
            });
        }
        targets.push(SubjectComparison {
            subject: subject.clone(),
            figures,
        });
    }
    let gone = baseline
        .figures
        .keys()
        .filter(|s| !current.contains_key(*s))
        .cloned()
        .collect();
    Comparison {
        file: baseline.file.clone(),
        max_regression_percent: max.0,
        targets,
        new,
        gone,
        regressions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vmi(ns: &str, name: &str) -> Subject {
        Subject {
            namespace: ns.into(),
            name: name.into(),
            kind: SubjectKind::Vmi,
        }
    }

    fn single(ready: u64, downtime: Option<u64>) -> Value {
        let mut doc = json!({
            "target": {"namespace": "a", "name": "db"},
            "timings": {"goneMs": 100, "runningMs": ready / 2, "readyMs": ready},
            "verdict": "RECOVERED",
        });
        if let Some(d) = downtime {
            doc["probes"] = json!([{"downtimeMs": d}, {"downtimeMs": null}]);
        }
        doc
    }

    #[test]
    fn max_regression_reads_a_bounded_percentage() {
        assert_eq!("20".parse::<MaxRegression>(), Ok(MaxRegression(20.0)));
        assert_eq!("12.5%".parse::<MaxRegression>(), Ok(MaxRegression(12.5)));
        assert_eq!("0".parse::<MaxRegression>(), Ok(MaxRegression(0.0)));
        for bad in ["-1", "10001", "NaN", "inf", "twenty", ""] {
            assert!(bad.parse::<MaxRegression>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_document_kind_gives_its_figures() {
        let one = figures_of(&single(3000, Some(700))).expect("single");
        assert_eq!(
            one[&vmi("a", "db")],
            BTreeMap::from([
                (Figure::Gone, 100),
                (Figure::Running, 1500),
                (Figure::Ready, 3000),
                (Figure::UserDowntime, 700)
            ])
        );
        let fleet = json!({
            "targets": [
                single(1000, None),
                {"target": {"namespace": "a", "name": "web-1"}, "replicaSet": "web",
                 "timings": {"readyMs": 4000}, "verdict": "x"},
                {"target": {"namespace": "a", "name": "web-2"}, "replicaSet": "web",
                 "timings": {"readyMs": 2000}, "verdict": "x"},
            ],
            "verdict": "RECOVERED",
        });
        let f = figures_of(&fleet).expect("fleet");
        let web = Subject {
            namespace: "a".into(),
            name: "web".into(),
            kind: SubjectKind::ReplicaSet,
        };
        assert_eq!(f[&web][&Figure::Ready], 4000, "p95 over the set's VMIs");
        assert!(!f[&vmi("a", "db")].contains_key(&Figure::UserDowntime));
        let day = json!({"steps": [{"fleet": fleet}, {"status": "not-run"}], "verdict": "x"});
        assert_eq!(figures_of(&day).expect("game day"), f);
        let repeated = json!({
            "targets": [single(1, None)],
            "statistics": [{"namespace": "a", "name": "db", "kind": "vmi",
                            "ready": {"p95Ms": 5000}, "userDowntime": {"p95Ms": 900}}],
            "verdict": "x",
        });
        let r = figures_of(&repeated).expect("repeated");
        assert_eq!(
            r[&vmi("a", "db")],
            BTreeMap::from([(Figure::Ready, 5000), (Figure::UserDowntime, 900)]),
            "the statistics win over the last trial's values"
        );
        for not_ours in [
            json!({"kind": "Pod"}),
            json!([1, 2]),
            json!({"targets": []}),
        ] {
            assert_eq!(figures_of(&not_ours), None, "{not_ours}");
        }
        assert!(Baseline::parse("x".into(), "not json").is_err());
    }

    #[test]
    fn regressions_are_judged_on_ready_and_downtime_only() {
        let baseline = Baseline {
            file: "b.json".into(),
            figures: figures_of(&single(1000, Some(100))).unwrap(),
        };
        // Ready 1200 is +20% exactly: not more than 20%. Running doubled: shown, not judged.
        let mut now = figures_of(&single(1200, Some(100))).unwrap();
        now.get_mut(&vmi("a", "db"))
            .unwrap()
            .insert(Figure::Running, 5000);
        let c = compare(&baseline, &now, MaxRegression::DEFAULT);
        assert!(c.regressions.is_empty(), "{c:?}");
        let ready = &c.targets[0].figures[2];
        assert_eq!(
            (ready.figure, ready.change_percent),
            (Figure::Ready, Some(20.0))
        );

        let slower = figures_of(&single(1201, Some(121))).unwrap();
        let c = compare(&baseline, &slower, MaxRegression::DEFAULT);
        assert_eq!(
            c.regressions.iter().map(|r| r.figure).collect::<Vec<_>>(),
            [Figure::Ready, Figure::UserDowntime]
        );
        assert_eq!(c.regressions[0].change_percent, Some(20.1));
        let c = compare(&baseline, &slower, MaxRegression(50.0));
        assert!(c.regressions.is_empty());
    }

    #[test]
    fn new_and_gone_targets_are_listed_not_failed() {
        let baseline = Baseline {
            file: "b.json".into(),
            figures: Figures::from([(vmi("a", "old"), BTreeMap::from([(Figure::Ready, 1)]))]),
        };
        let now = Figures::from([(vmi("a", "new"), BTreeMap::from([(Figure::Ready, 99_000)]))]);
        let c = compare(&baseline, &now, MaxRegression(0.0));
        assert_eq!(
            (c.new, c.gone),
            (vec![vmi("a", "new")], vec![vmi("a", "old")])
        );
        assert!(c.regressions.is_empty() && c.targets.is_empty());
    }

    #[test]
    fn from_zero_any_downtime_regresses() {
        assert!(regressed(0, 1, MaxRegression::DEFAULT));
        assert!(!regressed(0, 0, MaxRegression(0.0)));
        assert!(regressed(100, 101, MaxRegression(0.0)));
    }
}
