//! The summary: a compact table on stdout, or the report as one JSON/YAML document.

use std::fmt::Write as _;

use console::Style;

use super::{format_duration, verdicts, Format as OutputFormat};
use crate::{
    error::Exit,
    kubevirt::Recovery,
    report::{FleetReport, Report, RunReport, Stats},
};

/// One target's summary, or a fleet's.
pub fn render_run(run: &RunReport, format: OutputFormat, color: bool) -> String {
    match run {
        RunReport::Single(r) => render(r, format, color),
        RunReport::Fleet(f) => match format {
            OutputFormat::Json => {
                let mut s = serde_json::to_string_pretty(f).unwrap_or_default();
                s.push('\n');
                s
            }
            OutputFormat::Yaml => serde_saphyr::to_string(f).unwrap_or_default(),
            OutputFormat::Text => fleet_table(f, color),
        },
    }
}

fn styler(color: bool) -> impl Fn(Style) -> Style {
    move |s: Style| {
        if color {
            s.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }
}

/// One row per target, then the aggregates and the verdict.
fn fleet_table(f: &FleetReport, color: bool) -> String {
    let style = styler(color);
    // With probes, the downtime users saw is the figure that matters.
    let probed = f.targets.iter().any(|r| !r.probes.is_empty());
    let mut head = vec!["TARGET", "PLAN", "RECOVERY", "GONE", "RUNNING", "READY"];
    if probed {
        head.push("USERS DOWN");
    }
    head.extend(["NODE", "VERDICT"]);
    let mut cells: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for r in &f.targets {
        let after = r.after.clone().unwrap_or_default();
        let target = match &after.name {
            Some(n) => format!("{}/{} → {n}", r.target.namespace, r.target.name),
            None => format!("{}/{}", r.target.namespace, r.target.name),
        };
        let mut row = vec![
            target,
            r.expected_recovery.as_str().to_string(),
            if r.dry_run.is_some() {
                "—".into()
            } else {
                r.recovery.as_str().to_string()
            },
            ms(r.timings.gone_ms),
            ms(r.timings.running_ms),
            ms(r.timings.ready_ms),
        ];
        if probed {
            row.push(users_down(r));
        }
        row.extend([
            format!("{} → {}", or_dash(&r.before.node), or_dash(&after.node)),
            verdicts::verdict_lead(&r.result.verdict).to_string(),
        ]);
        cells.push(row);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::from("\n");
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
    }
    if f.dry_run.is_none() {
        let _ = writeln!(out);
        let stats = |name: &str, s: &Stats| {
            format!(
                "  {:<8} min {} · p50 {} · p95 {} · max {}",
                name,
                ms(s.min_ms),
                ms(s.p50_ms),
                ms(s.p95_ms),
                ms(s.max_ms)
            )
        };
        let a = &f.aggregates;
        for (name, s) in [
            ("gone", &a.gone),
            ("created", &a.created),
            ("Running", &a.running),
            ("Ready", &a.ready),
        ] {
            let _ = writeln!(
                out,
                "{}",
                style(Style::new().dim()).apply_to(stats(name, s))
            );
        }
    }
    for r in &f.targets {
        for probe in &r.probes {
            if let Some(line) = super::alerts::prometheus_errors(probe) {
                let _ = writeln!(
                    out,
                    "  Prometheus {}/{}: {line}",
                    r.target.namespace, r.target.name
                );
            }
        }
    }
    if let Some(alerts) = &f.alerts {
        for (i, line) in super::alerts::section(alerts).into_iter().enumerate() {
            let _ = writeln!(out, "  {:<8} {line}", if i == 0 { "alerts" } else { "" });
        }
    }
    for r in &f.targets {
        for note in &r.notes {
            let _ = writeln!(
                out,
                "  note     {}/{}: {}",
                r.target.namespace,
                r.target.name,
                super::notes::note(note)
            );
        }
        if let Some(cmd) = &r.restore_command {
            let _ = writeln!(out, "  restore  {cmd}");
        }
    }
    let verdict_style = match f.exit() {
        Exit::Recovered => style(Style::new().green().bold()),
        Exit::NotRecovered | Exit::FailedAfterInject => style(Style::new().red().bold()),
        _ => style(Style::new().yellow().bold()),
    };
    out.push_str(&super::trials::text(&f.series));
    let verdict =
        super::trials::amended(verdicts::fleet_verdict(&f.result.verdict), &f.result.amends);
    let _ = writeln!(out, "  verdict  {}", verdict_style.apply_to(verdict));
    out
}

pub fn render(report: &Report, format: OutputFormat, color: bool) -> String {
    match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Yaml => serde_saphyr::to_string(report).unwrap_or_default(),
        OutputFormat::Text => table(report, color),
    }
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(
        || "—".into(),
        |ms| format_duration(std::time::Duration::from_millis(ms)),
    )
}

/// The longest downtime any probe of the target measured (`0ms`: never failed; `+` still
/// failing at the end).
fn users_down(r: &Report) -> String {
    if r.probes.is_empty() {
        return "—".into();
    }
    let worst = r.probes.iter().filter_map(|p| p.downtime_ms).max();
    let still = r.probes.iter().any(|p| p.still_failing);
    format!(
        "{}{}",
        ms(Some(worst.unwrap_or(0))),
        if still { "+" } else { "" }
    )
}

fn or_dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("—")
}

fn table(r: &Report, color: bool) -> String {
    let style = |s: Style| {
        if color {
            s.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    };
    let label = style(Style::new().dim());
    let verdict_style = match r.exit() {
        Exit::Recovered => style(Style::new().green().bold()),
        Exit::NotRecovered | Exit::FailedAfterInject => style(Style::new().red().bold()),
        _ => style(Style::new().yellow().bold()),
    };
    // A blank line between the progress above (stderr) and the summary (stdout).
    let mut out = String::from("\n");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "  {:<12} {value}", label.apply_to(name));
    };
    row(
        "target",
        format!(
            "{}/{} (context {})",
            r.target.namespace, r.target.name, r.context
        ),
    );
    let owner = match (&r.vm, &r.run_strategy, &r.replica_set) {
        (Some(vm), Some(s), _) => format!("VM {vm}, runStrategy {s}"),
        (_, _, Some(set)) => format!("VirtualMachineInstanceReplicaSet {set}"),
        _ => "standalone VMI".into(),
    };
    row("owner", owner);
    let actual = if r.dry_run.is_some() {
        "— (dry run)".to_string()
    } else if r.recovery == Recovery::None {
        "none".to_string()
    } else {
        r.recovery.as_str().to_string()
    };
    if r.fault == crate::plan::Fault::Crash {
        row(
            "fault",
            "crash: its virt-launcher pod deleted with no grace period".to_string(),
        );
    }
    row(
        "recovery",
        format!("expected {}, actual {actual}", r.expected_recovery.as_str()),
    );
    if r.injected_at.is_some() {
        let failed = match r.timings.failed_ms {
            Some(v) => format!("Failed {} · ", ms(Some(v))),
            None => String::new(),
        };
        row(
            "timeline",
            format!(
                "{failed}gone {} · created {} · Running {} · Ready {}",
                ms(r.timings.gone_ms),
                ms(r.timings.created_ms),
                ms(r.timings.running_ms),
                ms(r.timings.ready_ms)
            ),
        );
        let from_server: Vec<&str> = r
            .timing_sources
            .iter()
            .filter(|(_, source)| source.as_str() == "server")
            .map(|(k, _)| k.trim_end_matches("Ms"))
            .collect();
        if !from_server.is_empty() {
            row(
                "",
                format!(
                    "({} from KubeVirt's own timestamps, 1 s resolution: the watch missed them)",
                    from_server.join(", ")
                ),
            );
        }
        let after = r.after.clone().unwrap_or_default();
        if let Some(name) = &after.name {
            row("replaced by", format!("VMI {name}"));
        }
        row(
            "node",
            format!("{} → {}", or_dash(&r.before.node), or_dash(&after.node)),
        );
        row(
            "IP",
            format!("{} → {}", or_dash(&r.before.ip), or_dash(&after.ip)),
        );
        let new_uid = if after.uid.is_empty() {
            "—".into()
        } else {
            after.uid
        };
        row("UID", format!("{} → {new_uid}", r.before.uid));
    } else {
        row("node", or_dash(&r.before.node).to_string());
        row("UID", r.before.uid.clone());
    }
    if let Some(path) = &r.snapshot {
        row("snapshot", path.display().to_string());
    }
    for probe in &r.probes {
        if let Some(line) = super::alerts::prometheus_errors(probe) {
            row("Prometheus", line);
        }
    }
    if let Some(alerts) = &r.alerts {
        for (i, line) in super::alerts::section(alerts).into_iter().enumerate() {
            row(if i == 0 { "alerts" } else { "" }, line);
        }
    }
    for note in &r.notes {
        row("note", super::notes::note(note));
    }
    if let Some(cmd) = &r.restore_command {
        row("restore", cmd.clone());
    }
    out.push_str(&super::trials::text(&r.series));
    let _ = writeln!(
        out,
        "  {:<12} {}",
        label.apply_to("verdict"),
        verdict_style.apply_to(super::trials::amended(
            verdicts::verdict(&r.result.verdict),
            &r.result.amends,
        ))
    );
    out
}
