//! `timeline.svg`: every target's outage on one time axis, from its DELETE through old VMI
//! gone, new VMI created, Running and Ready, as coloured segments; probe tracks under each VMI.
//! The layout is computed first ([`layout`], testable numbers), then drawn.

use std::{fmt::Write as _, time::UNIX_EPOCH};

use super::{
    cells::{escape, ms, parse_time},
    probes::TimelineProbe,
};
use crate::{
    error::Exit,
    render::leads::lead,
    repeat::series::Trial,
    report::{GameDayReport, Report, StepStatus, Timings},
};

/// A stretch of one target's outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Deleted, the old VMI still terminating.
    Down,
    /// No VMI at all.
    Gone,
    /// A new VMI exists, not Running yet (Pending, Scheduling, Scheduled).
    Created,
    /// Running, not Ready yet.
    Running,
    Ready,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Down => "down",
            Stage::Gone => "gone",
            Stage::Created => "created",
            Stage::Running => "Running",
            Stage::Ready => "Ready",
        }
    }

    pub fn color(self) -> &'static str {
        match self {
            Stage::Down => "#f59e0b",
            Stage::Gone => "#dc2626",
            Stage::Created => "#7c3aed",
            Stage::Running => "#2563eb",
            Stage::Ready => "#16a34a",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Stage::Down => "deleted, old VMI terminating",
            Stage::Gone => "no VMI",
            Stage::Created => "new VMI created, not Running yet",
            Stage::Running => "Running, not Ready yet",
            Stage::Ready => "Running and Ready",
        }
    }
}

const STAGES: [Stage; 5] = [
    Stage::Down,
    Stage::Gone,
    Stage::Created,
    Stage::Running,
    Stage::Ready,
];

/// One target's row: times in ms from the first DELETE of the game day.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub namespace: String,
    pub name: String,
    /// `--repeat`: the trial this row is (None without trials).
    pub trial: Option<u32>,
    /// The document's probes are this row's (the last trial's; not an earlier trial's record).
    pub probed: bool,
    /// None when nothing was deleted (dry run, not hit).
    pub segments: Option<Vec<(Stage, u64, u64)>>,
    /// Shown right of the bar: "Ready 4.78s", "NOT RECOVERED", "dry run"…
    pub outcome: String,
    pub ok: bool,
}

impl Row {
    /// `ns/name`, and `(trial N)` with `--repeat`.
    pub fn label(&self) -> String {
        match self.trial {
            Some(n) => format!("{}/{} (trial {n})", self.namespace, self.name),
            None => format!("{}/{}", self.namespace, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub title: String,
    /// Why there are no rows (skipped, not run).
    pub reason: Option<String>,
    pub rows: Vec<Row>,
    /// `--alerts`: each newly firing alert, at its first sighting (ms from the axis' zero).
    pub alerts: Vec<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Unix ms of the first DELETE (the axis' zero), if anything was deleted.
    pub origin_unix_ms: Option<u64>,
    pub groups: Vec<Group>,
    /// The axis' length in ms.
    pub span_ms: u64,
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// The rows and the axis of a game day.
pub fn layout(report: &GameDayReport) -> Layout {
    let injected = |r: &Report| parse_time(r.injected_at.as_deref()).map(unix_ms);
    let trial_start = |t: &Trial| parse_time(t.started_at.as_deref()).map(unix_ms);
    let fleets = || report.steps.iter().flat_map(|s| s.fleet.iter());
    let origin = fleets()
        .flat_map(|f| &f.targets)
        .filter_map(injected)
        .chain(
            fleets()
                .flat_map(|f| &f.series.trials)
                .filter_map(trial_start),
        )
        .min();
    let mut groups = Vec::new();
    let mut span = 0u64;
    for (i, step) in report.steps.iter().enumerate() {
        let title = format!("Step {} · {}", i + 1, step.name);
        let reason = match step.status {
            StepStatus::Ran => None,
            StepStatus::Skipped | StepStatus::NotRun => Some(crate::render::steps::not_run(step)),
        };
        let fleet_end = step
            .fleet
            .as_ref()
            .and_then(|f| parse_time(f.finished_at.as_deref()))
            .map(unix_ms);
        let mut rows = Vec::new();
        // `--repeat`: the earlier trials' rows first, from their records (each from its
        // trial's start), then the last trial's from the documents.
        let trials = step.fleet.iter().flat_map(|f| &f.series.trials);
        let last_trial = step
            .fleet
            .as_ref()
            .and_then(|f| f.series.trials.last())
            .map(|t| t.trial);
        for t in trials.filter(|t| Some(t.trial) != last_trial) {
            for x in &t.targets {
                let segments = trial_start(t).zip(origin).map(|(at, origin)| {
                    let segs = segments(&x.timings, at.saturating_sub(origin), None);
                    if let Some(last) = segs.last() {
                        span = span.max(last.2);
                    }
                    segs
                });
                let (outcome, ok) = match (x.recovered, x.timings.ready_ms) {
                    (true, Some(ready)) => (format!("Ready {}", ms(Some(ready))), true),
                    (true, None) => ("recovered".into(), true),
                    (false, _) => (lead(Exit::NotRecovered).into(), false),
                };
                rows.push(Row {
                    namespace: x.target.namespace.clone(),
                    name: x.target.name.clone(),
                    trial: Some(t.trial),
                    probed: false,
                    segments,
                    outcome,
                    ok,
                });
            }
        }
        for r in step.fleet.iter().flat_map(|f| &f.targets) {
            let segments = match (injected(r), origin) {
                (Some(at), Some(origin)) => {
                    let start = at.saturating_sub(origin);
                    let end = fleet_end.map(|e| e.saturating_sub(origin));
                    let segs = segments(&r.timings, start, end);
                    if let Some(last) = segs.last() {
                        span = span.max(last.2);
                    }
                    Some(segs)
                }
                _ => None,
            };
            let (outcome, ok) = match (r.exit(), r.timings.ready_ms) {
                _ if r.dry_run.is_some() && r.exit() == Exit::Recovered => ("dry run".into(), true),
                (Exit::Recovered, Some(ready)) => (format!("Ready {}", ms(Some(ready))), true),
                (Exit::Recovered, None) => ("recovered".into(), true),
                (e @ (Exit::NotRecovered | Exit::FailedAfterInject), _) => (lead(e).into(), false),
                (e @ (Exit::Interrupted | Exit::Terminated), _) => (lead(e).into(), false),
                (Exit::NothingChanged, _) => ("not hit".into(), false),
            };
            rows.push(Row {
                namespace: r.target.namespace.clone(),
                name: r.target.name.clone(),
                trial: last_trial,
                probed: true,
                segments,
                outcome,
                ok,
            });
        }
        let alerts = match (step.fleet.as_ref().and_then(|f| f.alerts.as_ref()), origin) {
            (Some(a), Some(origin)) => a
                .new
                .iter()
                .filter_map(|n| {
                    let at = unix_ms(parse_time(Some(&n.first_seen_at))?).saturating_sub(origin);
                    span = span.max(at);
                    Some((at, n.alert.to_string()))
                })
                .collect(),
            _ => Vec::new(),
        };
        groups.push(Group {
            title,
            reason,
            rows,
            alerts,
        });
    }
    Layout {
        origin_unix_ms: origin,
        groups,
        span_ms: span.max(1000),
    }
}

/// A target's stages from its DELETE at `start`. The last stage before Ready runs to the
/// step's end when the target did not come back.
fn segments(t: &Timings, start: u64, step_end: Option<u64>) -> Vec<(Stage, u64, u64)> {
    let marks: Vec<(Stage, u64)> = [
        (Stage::Down, Some(0)),
        (Stage::Gone, t.gone_ms),
        (Stage::Created, t.created_ms),
        (Stage::Running, t.running_ms),
        (Stage::Ready, t.ready_ms),
    ]
    .into_iter()
    .filter_map(|(s, at)| at.map(|at| (s, start + at)))
    .collect();
    let last_seen = marks.last().map_or(start, |m| m.1);
    let mut out = Vec::new();
    for (i, (stage, from)) in marks.iter().enumerate() {
        let to = match marks.get(i + 1) {
            Some((_, next)) => (*next).max(*from),
            // Ready is a moment; draw it as a short stretch so it shows.
            None if *stage == Stage::Ready => from + 1,
            None => step_end
                .filter(|e| *e > last_seen)
                .unwrap_or(last_seen + 1000),
        };
        out.push((*stage, *from, to));
    }
    out
}

/// A tick every 1, 2 or 5 × 10ⁿ ms: at most about 10 over the axis.
pub fn tick_ms(span_ms: u64) -> u64 {
    let mut unit = 100u64;
    loop {
        for m in [1, 2, 5] {
            if span_ms / (unit * m) <= 10 {
                return unit * m;
            }
        }
        unit *= 10;
    }
}

fn tick_label(ms_at: u64, tick: u64) -> String {
    if tick < 1000 {
        format!("{:.1}s", ms_at as f64 / 1000.0)
    } else if ms_at >= 120_000 && tick % 60_000 == 0 {
        format!("{}m", ms_at / 60_000)
    } else {
        format!("{}s", ms_at / 1000)
    }
}

const PROBE_OK: &str = "#86efac";
const PROBE_FAILING: &str = "#fca5a5";
const WIDTH: f64 = 1100.0;
const LABEL_W: f64 = 250.0;
const OUTCOME_W: f64 = 150.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 16.0;
const PROBE_H: f64 = 12.0;
const GROUP_H: f64 = 24.0;

/// Long names would run into the plot: keep `max` characters.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The picture, as a standalone SVG document.
pub fn svg(report: &GameDayReport, probes: &[TimelineProbe]) -> String {
    let l = layout(report);
    let plot_w = WIDTH - LABEL_W - OUTCOME_W - 20.0;
    // Leave room right of the longest bar for Ready's marker, and end the axis on a tick so
    // the scale reaches past every bar.
    let wanted = ((l.span_ms as f64 * 1.04) as u64).max(1);
    let tick = tick_ms(wanted);
    let span = (wanted.div_ceil(tick) * tick) as f64;
    let x = |at: u64| LABEL_W + (at as f64 / span) * plot_w;
    let probes_of = |r: &Row| -> Vec<&TimelineProbe> {
        probes
            .iter()
            .filter(|p| r.probed && p.namespace == r.namespace && p.name == r.name)
            .collect()
    };
    let rows_h: f64 = l
        .groups
        .iter()
        .map(|g| {
            GROUP_H
                + g.rows
                    .iter()
                    .map(|r| ROW_H + probes_of(r).len() as f64 * PROBE_H)
                    .sum::<f64>()
                + if g.rows.is_empty() { 6.0 } else { 0.0 }
        })
        .sum();
    // A second legend line for the probe tracks' colours.
    let top = if probes.is_empty() { 104.0 } else { 120.0 };
    let height = top + rows_h + 46.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="16" y="26" font-size="16" font-weight="bold" fill="#111827">{}</text>"##,
        escape(&format!("Game day timeline · {}", report.context))
    );
    let _ = writeln!(
        s,
        r##"<text x="16" y="46" fill="#4b5563">{}</text>"##,
        escape(&crate::render::verdicts::game_day_verdict(
            &report.result.verdict
        ))
    );
    // Legend.
    let mut lx = 16.0;
    for stage in STAGES {
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="58" width="14" height="12" rx="2" fill="{}"><title>{}</title></rect>"#,
            stage.color(),
            stage.meaning()
        );
        let text = format!("{} ({})", stage.label(), stage.meaning());
        let _ = writeln!(
            s,
            r##"<text x="{}" y="68.5" fill="#374151" font-size="11">{}</text>"##,
            lx + 18.0,
            escape(&text)
        );
        lx += 18.0 + text.len() as f64 * 6.1 + 14.0;
    }
    if !probes.is_empty() {
        lx = 16.0;
        for (color, words) in [
            (PROBE_OK, "probe passing"),
            (PROBE_FAILING, "probe failing"),
        ] {
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="78" width="14" height="8" fill="{color}"><title>{words}</title></rect>"#
            );
            let _ = writeln!(
                s,
                r##"<text x="{}" y="86.5" fill="#374151" font-size="11">{words}</text>"##,
                lx + 18.0
            );
            lx += 18.0 + words.len() as f64 * 6.1 + 14.0;
        }
    }
    let bottom = top + rows_h;
    // Grid and time scale.
    let mut at = 0;
    while (at as f64) <= span {
        let gx = x(at);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{bottom}" stroke="#e5e7eb" stroke-width="1"/>"##,
            top - 8.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{gx:.1}" y="{}" text-anchor="middle" fill="#6b7280" font-size="11">{}</text>"##,
            top - 12.0,
            tick_label(at, tick)
        );
        let _ = writeln!(
            s,
            r##"<text x="{gx:.1}" y="{}" text-anchor="middle" fill="#6b7280" font-size="11">{}</text>"##,
            bottom + 16.0,
            tick_label(at, tick)
        );
        at += tick;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#6b7280" font-size="11">time since the first delete{}</text>"##,
        LABEL_W + plot_w / 2.0,
        bottom + 34.0,
        l.origin_unix_ms
            .map(|o| format!(
                " ({})",
                humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_millis(o))
            ))
            .unwrap_or_else(|| " (nothing was deleted)".into())
    );
    let mut y = top;
    for g in &l.groups {
        let _ = writeln!(
            s,
            r##"<text x="16" y="{}" font-weight="bold" fill="#111827">{}</text>"##,
            y + 16.0,
            escape(&clip(&g.title, 34))
        );
        if let Some(reason) = &g.reason {
            let _ = writeln!(
                s,
                r##"<text x="{LABEL_W}" y="{}" fill="#9ca3af" font-style="italic">{}</text>"##,
                y + 16.0,
                escape(reason)
            );
        }
        // Newly firing alerts: a mark on the step's title line at each first sighting.
        for (at, name) in &g.alerts {
            let ax = x(*at);
            let _ = writeln!(
                s,
                r##"<path d="M{ax:.1} {} l5 -9 h-10 z" fill="#f97316"><title>{}</title></path>"##,
                y + 20.0,
                escape(&format!("alert {name} first firing at {}", ms(Some(*at))))
            );
        }
        y += GROUP_H;
        for r in &g.rows {
            let _ = writeln!(
                s,
                r##"<text x="28" y="{}" fill="#1f2937">{}</text>"##,
                y + 13.0,
                escape(&clip(&r.label(), 34))
            );
            match &r.segments {
                Some(segs) => {
                    for (stage, from, to) in segs {
                        let (x1, x2) = (x(*from), x(*to));
                        let w = (x2 - x1).max(if *stage == Stage::Ready { 4.0 } else { 1.5 });
                        let _ = writeln!(
                            s,
                            r#"<rect x="{x1:.1}" y="{}" width="{w:.1}" height="{BAR_H}" fill="{}"><title>{}</title></rect>"#,
                            y + 1.0,
                            stage.color(),
                            escape(&format!(
                                "{}: {} from {} to {}",
                                r.label(),
                                stage.meaning(),
                                ms(Some(*from)),
                                ms(Some(*to))
                            ))
                        );
                        let label = stage.label();
                        if *stage != Stage::Ready && w > label.len() as f64 * 6.5 + 6.0 {
                            let _ = writeln!(
                                s,
                                r##"<text x="{:.1}" y="{}" fill="#ffffff" font-size="10">{label}</text>"##,
                                x1 + 4.0,
                                y + 13.0
                            );
                        }
                    }
                    let end = segs.last().map_or(LABEL_W, |l| x(l.2));
                    let color = if r.ok { "#15803d" } else { "#b91c1c" };
                    let _ = writeln!(
                        s,
                        r#"<text x="{:.1}" y="{}" fill="{color}" font-weight="bold" font-size="11">{}</text>"#,
                        end + 8.0,
                        y + 13.0,
                        escape(&r.outcome)
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{LABEL_W}" y="{}" fill="#9ca3af" font-style="italic">{}</text>"##,
                        y + 13.0,
                        escape(&r.outcome)
                    );
                }
            }
            y += ROW_H;
            for p in probes_of(r) {
                let _ = writeln!(
                    s,
                    r##"<text x="40" y="{}" fill="#6b7280" font-size="10">{}</text>"##,
                    y + 9.0,
                    escape(&p.label)
                );
                if let Some(origin) = l.origin_unix_ms {
                    for iv in &p.intervals {
                        // A track runs until the report was written: keep it on the axis.
                        let axis_end = span as u64;
                        let from = iv.start_unix_ms.saturating_sub(origin).min(axis_end);
                        let to = iv.end_unix_ms.saturating_sub(origin).clamp(from, axis_end);
                        let _ = writeln!(
                            s,
                            r#"<rect x="{:.1}" y="{}" width="{:.1}" height="8" fill="{}"><title>{}</title></rect>"#,
                            x(from),
                            y + 1.0,
                            (x(to) - x(from)).max(1.0),
                            if iv.ok { PROBE_OK } else { PROBE_FAILING },
                            escape(&format!(
                                "{}: {} from {} to {}",
                                p.label,
                                if iv.ok { "ok" } else { "failing" },
                                ms(Some(from)),
                                ms(Some(to))
                            ))
                        );
                    }
                }
                y += PROBE_H;
            }
        }
        if g.rows.is_empty() {
            y += 6.0;
        }
    }
    s.push_str("</svg>\n");
    s
}
