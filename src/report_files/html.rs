//! `report.html`: the write-up and the timeline in one self-contained page (inline CSS, the
//! SVG inline, no scripts, fonts or images from anywhere else).

use std::fmt::Write as _;

use super::cells::{
    aggregate_rows, escape, probe_rows, restore_commands, target_cells, AGGREGATE_COLUMNS,
    PROBE_COLUMNS, TARGET_COLUMNS,
};
use crate::{
    error::Exit,
    render::{notes::note, verdicts},
    report::{GameDayReport, StepStatus},
};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1160px;color:#111827;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #e5e7eb;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f9fafb}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:bold;padding:.5rem .8rem;border-radius:6px;display:inline-block}
.ok{background:#dcfce7;color:#14532d}.bad{background:#fee2e2;color:#7f1d1d}.meh{background:#fef3c7;color:#78350f}
.outcome-recovered{color:#15803d;font-weight:bold}.outcome-bad{color:#b91c1c;font-weight:bold}
.muted{color:#6b7280}pre{background:#f3f4f6;padding:.8rem;overflow-x:auto}
.timeline{overflow-x:auto;border:1px solid #e5e7eb;border-radius:6px;padding:.4rem}";

fn table<const N: usize>(
    out: &mut String,
    columns: [&str; N],
    rows: &[[String; N]],
    outcome_col: Option<usize>,
) {
    out.push_str("<table>\n<tr>");
    for c in columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let class = if Some(i) == outcome_col {
                if c == "recovered" || c == "dry run" {
                    " class=\"outcome-recovered\""
                } else {
                    " class=\"outcome-bad\""
                }
            } else if c.ends_with("ms")
                || c.ends_with('s') && c.chars().next().is_some_and(|ch| ch.is_ascii_digit())
            {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

pub fn html(r: &GameDayReport, svg: &str) -> String {
    let mut s = String::new();
    let title = format!(
        "Game day {} · {}",
        r.started_at.as_deref().unwrap_or(""),
        r.context
    );
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", escape(&title));
    let class = match r.exit() {
        Exit::Recovered => "ok",
        Exit::NotRecovered | Exit::FailedAfterInject => "bad",
        _ => "meh",
    };
    let _ = writeln!(
        s,
        "<p><span class=\"verdict {class}\">{}</span> <span class=\"muted\">exit code {}</span></p>",
        escape(&crate::render::trials::amended(
            verdicts::game_day_verdict(&r.result.verdict),
            &r.result.amends
        )),
        r.exit().code()
    );
    let _ = writeln!(
        s,
        "<p class=\"muted\">context <code>{}</code> ({}) · started {} · finished {}</p>",
        escape(&r.context),
        escape(&r.server),
        escape(r.started_at.as_deref().unwrap_or("—")),
        escape(r.finished_at.as_deref().unwrap_or("—"))
    );
    s.push_str("<h2>Timeline</h2>\n<div class=\"timeline\">\n");
    // The SVG document minus its XML prolog, if any, is valid inline HTML.
    s.push_str(svg.trim_start_matches(|c| c != '<').trim_start());
    s.push_str("</div>\n<h2>Steps</h2>\n");
    let rows: Vec<[String; 4]> = r
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
                format!("{}. {}", i + 1, step.name),
                step.scenario.clone(),
                place,
                outcome,
            ]
        })
        .collect();
    table(&mut s, ["step", "scenario", "file", "outcome"], &rows, None);
    for (i, step) in r.steps.iter().enumerate() {
        let Some(f) = &step.fleet else { continue };
        let _ = writeln!(s, "<h2>Step {}: {}</h2>", i + 1, escape(&step.name));
        let _ = writeln!(
            s,
            "<p class=\"muted\">From {} to {}; times are from each target's delete</p>",
            escape(f.started_at.as_deref().unwrap_or("—")),
            escape(f.finished_at.as_deref().unwrap_or("—"))
        );
        let rows: Vec<[String; 10]> = f.targets.iter().map(target_cells).collect();
        table(&mut s, TARGET_COLUMNS, &rows, Some(9));
        let probes = probe_rows(&f.targets);
        if !probes.is_empty() {
            table(&mut s, PROBE_COLUMNS, &probes, None);
        }
        s.push_str("<ul>\n");
        for t in &f.targets {
            let _ = write!(
                s,
                "<li><code>{}/{}</code>: {}",
                escape(&t.target.namespace),
                escape(&t.target.name),
                escape(&verdicts::verdict(&t.result.verdict))
            );
            for n in t.warnings.iter().chain(&t.notes) {
                let _ = write!(s, "<br><span class=\"muted\">{}</span>", escape(&note(n)));
            }
            s.push_str("</li>\n");
        }
        s.push_str("</ul>\n");
        if f.targets.len() > 1 {
            table(
                &mut s,
                AGGREGATE_COLUMNS,
                &aggregate_rows(&f.aggregates),
                None,
            );
        }
        if let Some(alerts) = &f.alerts {
            let mut lines = crate::render::alerts::section(alerts).into_iter();
            let _ = writeln!(
                s,
                "<p><strong>Alerts</strong>: {}</p>",
                escape(&lines.next().unwrap_or_default())
            );
            let rest: Vec<String> = lines.collect();
            if !rest.is_empty() {
                s.push_str("<ul>\n");
                for line in &rest {
                    let _ = writeln!(s, "<li><code>{}</code></li>", escape(line));
                }
                s.push_str("</ul>\n");
            }
        }
        if !f.notes.is_empty() {
            s.push_str("<ul class=\"muted\">\n");
            for n in &f.notes {
                let _ = writeln!(s, "<li>{}</li>", escape(&note(n)));
            }
            s.push_str("</ul>\n");
        }
        series(&mut s, &f.series);
    }
    if !r.series.is_empty() {
        s.push_str("<h2>Baseline</h2>\n");
        series(&mut s, &r.series);
    }
    let restores = restore_commands(r);
    if !restores.is_empty() {
        s.push_str("<h2>Restore commands</h2>\n<p>These VMIs may still be down; each command brings one back from its snapshot.</p>\n<pre>");
        for (target, cmd) in &restores {
            let _ = writeln!(s, "{}   # {}", escape(cmd), escape(target));
        }
        s.push_str("</pre>\n");
    }
    if !r.notes.is_empty() {
        s.push_str("<h2>Notes</h2>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(s, "<li>{}</li>", escape(&note(n)));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// `--repeat` and `--baseline`: the trials, the statistics and the comparison, as the summary
/// says them.
fn series(s: &mut String, series: &crate::repeat::Series) {
    if series.is_empty() {
        return;
    }
    s.push_str("<pre>");
    for line in crate::render::trials::series_lines(series) {
        let _ = writeln!(s, "{}", escape(&line));
    }
    s.push_str("</pre>\n");
}
