//! `report.md`: the game-day write-up, ready to paste: what was hit and when, the plan and the
//! outcome of each target, timings, aggregates, notes and the commands that bring VMIs back.

use std::fmt::Write as _;

use super::cells::{
    aggregate_rows, probe_rows, restore_commands, target_cells, AGGREGATE_COLUMNS, PROBE_COLUMNS,
    TARGET_COLUMNS,
};
use crate::{
    render::{notes::note, verdicts},
    report::{GameDayReport, StepStatus},
};

/// A table cell: pipes and line breaks would break the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn table<const N: usize>(out: &mut String, columns: [&str; N], rows: &[[String; N]]) {
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

pub fn markdown(r: &GameDayReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Game day: {}\n",
        r.started_at.as_deref().unwrap_or("(not started)")
    );
    let _ = writeln!(
        s,
        "**{}** (exit code {})\n",
        crate::render::trials::amended(
            verdicts::game_day_verdict(&r.result.verdict),
            &r.result.amends
        ),
        r.exit().code()
    );
    let _ = writeln!(s, "- context: `{}` ({})", r.context, r.server);
    let _ = writeln!(s, "- started: {}", r.started_at.as_deref().unwrap_or("—"));
    let _ = writeln!(s, "- finished: {}", r.finished_at.as_deref().unwrap_or("—"));
    let _ = writeln!(s, "- steps: {}\n", r.steps.len());

    s.push_str("## Steps\n\n");
    let rows: Vec<[String; 5]> = r
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let place = match (&step.file, step.line) {
                (Some(f), Some(l)) => format!("{}:{l}", f.display()),
                (Some(f), None) => f.display().to_string(),
                _ => "—".into(),
            };
            let outcome = match (&step.status, &step.fleet) {
                (StepStatus::Ran, Some(f)) => crate::render::trials::amended(
                    verdicts::fleet_verdict(&f.result.verdict),
                    &f.result.amends,
                ),
                _ => crate::render::steps::not_run(step),
            };
            [
                (i + 1).to_string(),
                step.name.clone(),
                format!("`{}`", step.scenario),
                place,
                outcome,
            ]
        })
        .collect();
    table(&mut s, ["#", "step", "scenario", "file", "outcome"], &rows);

    for (i, step) in r.steps.iter().enumerate() {
        let Some(f) = &step.fleet else { continue };
        let _ = writeln!(s, "## Step {}: {}\n", i + 1, step.name);
        // The step's verdict is in the steps table above: here, only when it ran.
        let _ = writeln!(
            s,
            "From {} to {}.\n",
            f.started_at.as_deref().unwrap_or("—"),
            f.finished_at.as_deref().unwrap_or("—")
        );
        let rows: Vec<[String; 10]> = f.targets.iter().map(target_cells).collect();
        table(&mut s, TARGET_COLUMNS, &rows);
        s.push_str("Times are from each target's delete.\n\n");
        let probes = probe_rows(&f.targets);
        if !probes.is_empty() {
            table(&mut s, PROBE_COLUMNS, &probes);
        }
        for t in &f.targets {
            let _ = writeln!(
                s,
                "- `{}/{}`: {}{}",
                t.target.namespace,
                t.target.name,
                verdicts::verdict(&t.result.verdict),
                t.injected_at
                    .as_deref()
                    .map(|at| format!(" (deleted at {at})"))
                    .unwrap_or_default()
            );
            for n in t.warnings.iter().chain(&t.notes) {
                let _ = writeln!(s, "  - {}", note(n));
            }
        }
        s.push('\n');
        if f.targets.len() > 1 {
            table(&mut s, AGGREGATE_COLUMNS, &aggregate_rows(&f.aggregates));
        }
        if let Some(alerts) = &f.alerts {
            let mut lines = crate::render::alerts::section(alerts).into_iter();
            let _ = writeln!(s, "Alerts: {}\n", lines.next().unwrap_or_default());
            let mut any = false;
            for line in lines {
                let _ = writeln!(s, "- {line}");
                any = true;
            }
            if any {
                s.push('\n');
            }
        }
        if !f.notes.is_empty() {
            s.push_str("Notes:\n\n");
            for n in &f.notes {
                let _ = writeln!(s, "- {}", note(n));
            }
            s.push('\n');
        }
        s.push_str(&crate::render::trials::markdown(&f.series));
    }
    if !r.series.is_empty() {
        s.push_str("## Baseline\n");
        s.push_str(&crate::render::trials::markdown(&r.series));
        s.push('\n');
    }

    s.push_str("## Timeline\n\n![Every outage on one time axis](timeline.svg)\n\n");

    let restores = restore_commands(r);
    if !restores.is_empty() {
        s.push_str("## Restore commands\n\nThese VMIs may still be down; each command brings one back from its snapshot.\n\n```sh\n");
        for (target, cmd) in &restores {
            let _ = writeln!(s, "{cmd}   # {target}");
        }
        s.push_str("```\n\n");
    }
    if !r.notes.is_empty() {
        s.push_str("## Notes\n\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {}", note(n));
        }
        s.push('\n');
    }
    s
}
