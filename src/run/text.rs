//! What `run` prints: the plan before anything runs (stderr) and the summary after (stdout).

use std::{fmt::Write as _, time::Duration};

use console::Style;

use super::resolve::PlannedStep;
use crate::{
    error::Exit,
    render::{format_duration, notes::note, verdicts, Format as OutputFormat},
    report::{GameDayReport, StepStatus},
};

fn styler(color: bool) -> impl Fn(Style) -> Style {
    move |s: Style| {
        if color {
            s.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }
}

fn place(file: &std::path::Path, line: Option<u64>) -> String {
    match line {
        Some(l) => format!("{}:{l}", file.display()),
        None => file.display().to_string(),
    }
}

/// Every step with its targets and their recovery plans.
pub fn plan(steps: &[PlannedStep], context: &str, seed: u64, dry_run: bool, color: bool) -> String {
    let style = styler(color);
    let bold = style(Style::new().bold());
    let dim = style(Style::new().dim());
    let yellow = style(Style::new().yellow());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} step(s) in context {context}{} (targets picked with --seed {seed})",
        bold.apply_to("Game day:"),
        steps.len(),
        if dry_run { ", dry run" } else { "" }
    );
    for step in steps {
        match step {
            PlannedStep::Skip(u) => {
                let number = steps
                    .iter()
                    .position(|s| std::ptr::eq(s, step))
                    .map_or(0, |i| i + 1);
                let _ = writeln!(
                    out,
                    "  {number}. {} {}  {}",
                    u.name,
                    dim.apply_to(format!("({})", place(&u.file, u.line))),
                    yellow.apply_to(format!("SKIP: {} is not run by kubectl-vmchaos", u.kind))
                );
            }
            PlannedStep::Outage(o) => {
                let _ = writeln!(
                    out,
                    "  {}. {} {}  duration {}, timeout {}{}",
                    o.number,
                    o.name,
                    dim.apply_to(format!("({})", place(&o.file, Some(o.line)))),
                    format_duration(o.duration),
                    format_duration(o.timeout),
                    if o.keep_down { ", kept down" } else { "" }
                );
                for t in &o.targets {
                    let owner = t.owner_words();
                    let _ = writeln!(
                        out,
                        "       {}/{}  on {}  {owner}  → {}",
                        t.namespace,
                        t.name,
                        t.node.as_deref().unwrap_or("an unknown node"),
                        t.expected_recovery.describe()
                    );
                }
                for n in &o.notes {
                    let _ = writeln!(out, "       {} {}", yellow.apply_to("note:"), note(n));
                }
            }
        }
    }
    out
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(
        || "—".into(),
        |ms| format_duration(Duration::from_millis(ms)),
    )
}

/// The summary on stdout: one document for -o json/yaml, else a few lines per step.
pub fn summary(r: &GameDayReport, format: OutputFormat, color: bool) -> String {
    match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
            s.push('\n');
            return s;
        }
        OutputFormat::Yaml => return serde_saphyr::to_string(r).unwrap_or_default(),
        OutputFormat::Text => {}
    }
    let style = styler(color);
    let green = style(Style::new().green().bold());
    let red = style(Style::new().red().bold());
    let yellow = style(Style::new().yellow().bold());
    let dim = style(Style::new().dim());
    let mut out = String::from("\n");
    for (i, s) in r.steps.iter().enumerate() {
        let head = format!("step {}  {} ", i + 1, s.name);
        match (&s.status, &s.fleet) {
            (StepStatus::Ran, Some(f)) => {
                let mark = match f.exit() {
                    Exit::Recovered => green.apply_to("✔"),
                    Exit::Interrupted | Exit::Terminated | Exit::NothingChanged => {
                        yellow.apply_to("!")
                    }
                    _ => red.apply_to("✘"),
                };
                let a = &f.aggregates;
                let ready = if a.ready.count > 0 {
                    format!(
                        "; Ready p50 {} max {}",
                        ms(a.ready.p50_ms),
                        ms(a.ready.max_ms)
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{mark} {head}— {}{ready}",
                    crate::render::trials::amended(
                        verdicts::fleet_verdict(&f.result.verdict),
                        &f.result.amends
                    )
                );
                for t in &f.targets {
                    let after = t.after.as_ref().and_then(|a| a.node.clone());
                    let _ = writeln!(
                        out,
                        "    {:<28} {:<9} → {:<9} Ready {:<8} {} → {}  {}",
                        format!("{}/{}", t.target.namespace, t.target.name),
                        t.expected_recovery.as_str(),
                        if t.dry_run.is_some() {
                            "—"
                        } else {
                            t.recovery.as_str()
                        },
                        ms(t.timings.ready_ms),
                        t.before.node.as_deref().unwrap_or("—"),
                        after.as_deref().unwrap_or("—"),
                        dim.apply_to(verdicts::verdict(&t.result.verdict))
                    );
                }
                if let Some(alerts) = &f.alerts {
                    for (i, line) in crate::render::alerts::section(alerts).iter().enumerate() {
                        let label = if i == 0 { "alerts:" } else { "       " };
                        let _ = writeln!(out, "    {} {line}", dim.apply_to(label));
                    }
                }
                for n in &f.notes {
                    let _ = writeln!(out, "    {} {}", dim.apply_to("note:"), note(n));
                }
                for line in crate::render::trials::series_lines(&f.series) {
                    let _ = writeln!(out, "    {line}");
                }
            }
            (StepStatus::Skipped, _) => {
                let _ = writeln!(
                    out,
                    "{} {head}— SKIPPED: {}",
                    yellow.apply_to("-"),
                    s.reason.as_deref().unwrap_or_default()
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{} {head}— NOT RUN: {}",
                    dim.apply_to("·"),
                    s.reason.as_deref().unwrap_or_default()
                );
            }
        }
    }
    let words = crate::render::trials::amended(
        verdicts::game_day_verdict(&r.result.verdict),
        &r.result.amends,
    );
    let verdict = match r.exit() {
        Exit::Recovered => green.apply_to(words),
        Exit::Interrupted | Exit::Terminated | Exit::NothingChanged => yellow.apply_to(words),
        _ => red.apply_to(words),
    };
    for line in crate::render::trials::series_lines(&r.series) {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "\n{verdict}");
    for s in &r.steps {
        for t in s.fleet.iter().flat_map(|f| &f.targets) {
            if let Some(cmd) = &t.restore_command {
                let _ = writeln!(
                    out,
                    "  restore {}/{}: {cmd}",
                    t.target.namespace, t.target.name
                );
            }
        }
    }
    out
}

/// The line before a step's batch runs: `step 2 "name": ns/a, ns/b`, after a blank line.
pub fn step_header(number: usize, name: &str, targets: &[&crate::targets::Target]) -> String {
    let names: Vec<String> = targets
        .iter()
        .map(|t| format!("{}/{}", t.namespace, t.name))
        .collect();
    format!("\nstep {number} \"{name}\": {}", names.join(", "))
}
