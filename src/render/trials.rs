//! The words for repeated trials, their statistics and the baseline comparison: used by the
//! summary, the progress lines and the report files.

use std::fmt::Write as _;

use super::format_duration;
use crate::{
    repeat::{
        baseline::{Comparison, Figure, Regression},
        series::{BackOff, Series, Stopped, Subject},
    },
    report::Stats,
};

fn ms(v: Option<u64>) -> String {
    v.map_or_else(
        || "—".into(),
        |ms| format_duration(std::time::Duration::from_millis(ms)),
    )
}

pub fn figure(f: Figure) -> &'static str {
    match f {
        Figure::Gone => "gone",
        Figure::Running => "Running",
        Figure::Ready => "Ready",
        Figure::UserDowntime => "user downtime",
    }
}

/// Said in the confirmation: one answer covers every trial.
pub fn repeat_question(count: u32) -> String {
    format!("(--repeat {count}: {count} trials, each once every target is Running and Ready again; this answer covers them all)")
}

pub fn back_off(b: &BackOff) -> String {
    let count = b
        .consecutive_fail_count
        .map(|c| format!(" after {c} failed start(s)"))
        .unwrap_or_default();
    let until = b
        .retry_after
        .as_deref()
        .map(|t| format!(" until {t}"))
        .unwrap_or_default();
    format!(
        "KubeVirt's start back-off is in play for VM {}/{}{count}: it creates no VMI{until} (status.startFailure), and the next trial's times include the wait",
        b.namespace, b.vm
    )
}

pub fn stopped(s: &Stopped) -> String {
    match s {
        Stopped::TrialFailed { trial } => {
            format!("trial {trial} did not recover: no more trials")
        }
        Stopped::NotReadyAgain {
            after_trial,
            target,
            timeout_ms,
        } => format!(
            "after trial {after_trial}, VMI {target} was not Running and Ready within --timeout {}: no more trials",
            ms(Some(*timeout_ms))
        ),
        Stopped::Signal { after_trial } => {
            format!("interrupted after trial {after_trial}, between trials (nothing was down)")
        }
        Stopped::NotStarted { trial, error } => {
            format!("trial {trial} did not start ({error}): no more trials")
        }
    }
}

/// The run's verdict when the repetition stopped between trials (a failed trial's own verdict
/// already says why).
pub fn stopped_verdict(verdict: &str, s: &Stopped) -> String {
    let lead = match s {
        Stopped::TrialFailed { .. } => return verdict.to_string(),
        Stopped::Signal { .. } => "INTERRUPTED",
        Stopped::NotReadyAgain { .. } => "NOT RECOVERED",
        Stopped::NotStarted { .. } => "STOPPED",
    };
    format!("{lead}: {}; the last trial: {verdict}", stopped(s))
}

fn stats(s: &Stats) -> String {
    format!(
        "min {} · p50 {} · p95 {} · max {}",
        ms(s.min_ms),
        ms(s.p50_ms),
        ms(s.p95_ms),
        ms(s.max_ms)
    )
}

fn change(p: Option<f64>) -> String {
    match p {
        Some(p) if p >= 0.0 => format!("+{p:.1}%"),
        Some(p) => format!("{p:.1}%"),
        None => "—".into(),
    }
}

/// `a/db: Ready p95 4.1s, baseline 1.2s (+241.7%, more than 20%)`.
pub fn regression(r: &Regression, max_percent: f64) -> String {
    format!(
        "{}: {} {} against {} in the baseline ({}, more than {max_percent}%)",
        r.subject.label(),
        figure(r.figure),
        ms(Some(r.current_ms)),
        ms(Some(r.baseline_ms)),
        change(r.change_percent)
    )
}

/// A document's verdict words with what `--repeat` and `--baseline` add: why the trials
/// stopped, and the regressions.
pub fn amended(words: String, a: &crate::repeat::series::Amends) -> String {
    let mut out = words;
    if let Some((s, _)) = &a.stopped {
        out = stopped_verdict(&out, s);
    }
    if !a.regressions.is_empty() {
        let subjects: Vec<String> = a
            .regressions
            .iter()
            .map(|(s, f)| format!("{} {}", s.label(), figure(*f)))
            .collect();
        out = format!(
            "REGRESSION against the baseline (more than {}% worse: {}); {out}",
            a.max_regression_percent,
            subjects.join(", ")
        );
    }
    out
}

fn listed(subjects: &[Subject]) -> String {
    subjects
        .iter()
        .map(Subject::label)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines a comparison adds (no styling): every figure beside the baseline's.
pub fn comparison_lines(c: &Comparison) -> Vec<String> {
    let mut lines = vec![format!(
        "against {} (p95 or single values; --max-regression {}%)",
        c.file.display(),
        c.max_regression_percent
    )];
    for t in &c.targets {
        for f in &t.figures {
            lines.push(format!(
                "  {:<24} {:<14} {:>8}  (baseline {}, {}){}",
                t.subject.label(),
                figure(f.figure),
                ms(f.current_ms),
                ms(f.baseline_ms),
                change(f.change_percent),
                if f.regression { "  REGRESSION" } else { "" }
            ));
        }
    }
    if !c.new.is_empty() {
        lines.push(format!("  new (not in the baseline): {}", listed(&c.new)));
    }
    if !c.gone.is_empty() {
        lines.push(format!(
            "  not in this run (in the baseline): {}",
            listed(&c.gone)
        ));
    }
    for r in &c.regressions {
        lines.push(format!(
            "REGRESSION {}",
            regression(r, c.max_regression_percent)
        ));
    }
    if c.regressions.is_empty() {
        lines.push("no regression".into());
    }
    lines
}

/// The lines trials and statistics add (no styling).
pub fn series_lines(s: &Series) -> Vec<String> {
    let mut lines = Vec::new();
    if !s.trials.is_empty() {
        lines.push(format!("{} trial(s):", s.trials.len()));
        for t in &s.trials {
            let figures: Vec<String> = t
                .targets
                .iter()
                .map(|x| {
                    format!(
                        "{}/{} Ready {}",
                        x.target.namespace,
                        x.target.name,
                        ms(x.timings.ready_ms)
                    )
                })
                .collect();
            let lead = super::leads::run_verdict_lead(&t.result.verdict);
            lines.push(format!(
                "  trial {:<3} {lead} — {}",
                t.trial,
                figures.join(", ")
            ));
        }
    }
    if let Some(why) = &s.stopped {
        lines.push(stopped(why));
    }
    for b in &s.back_off {
        lines.push(format!("after trial {}: {}", b.after_trial, back_off(b)));
    }
    if !s.statistics.is_empty() {
        lines.push("per target over the trials (nearest-rank percentiles):".into());
        for t in &s.statistics {
            lines.push(format!(
                "  {} ({} hit(s), {} recovered)",
                t.subject.label(),
                t.hits,
                t.recovered
            ));
            let mut rows = vec![
                ("gone", &t.gone),
                ("Running", &t.running),
                ("Ready", &t.ready),
            ];
            if let Some(d) = &t.user_downtime {
                rows.push(("user downtime", d));
            }
            for (name, st) in rows {
                lines.push(format!("    {name:<14} {}", stats(st)));
            }
        }
    }
    if let Some(c) = &s.baseline {
        lines.extend(comparison_lines(c));
    }
    lines
}

/// The summary's section (empty for a plain run), each line indented as the summary's rows.
pub fn text(s: &Series) -> String {
    let mut out = String::new();
    for line in series_lines(s) {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// The report file's Markdown section (empty for a plain run).
pub fn markdown(s: &Series) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n```text\n");
    for line in series_lines(s) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("```\n");
    out
}
