//! The summary: a compact table on stdout, or the report as one JSON/YAML document.

use std::fmt::Write as _;

use console::Style;

use super::format_duration;
use crate::{cli::OutputFormat, error::Exit, kubevirt::Recovery, outage::report::Report};

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
    let verdict_style = match r.exit {
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
    let owner = match (&r.vm, &r.run_strategy) {
        (Some(vm), Some(s)) => format!("VM {vm}, runStrategy {s}"),
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
    row(
        "recovery",
        format!("expected {}, actual {actual}", r.expected_recovery.as_str()),
    );
    if r.injected_at.is_some() {
        row(
            "timeline",
            format!(
                "gone {} · created {} · Running {} · Ready {}",
                ms(r.timings.gone_ms),
                ms(r.timings.created_ms),
                ms(r.timings.running_ms),
                ms(r.timings.ready_ms)
            ),
        );
        let after = r.after.clone().unwrap_or_default();
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
    for note in &r.notes {
        row("note", note.clone());
    }
    if let Some(cmd) = &r.restore_command {
        row("restore", cmd.clone());
    }
    let _ = writeln!(
        out,
        "  {:<12} {}",
        label.apply_to("verdict"),
        verdict_style.apply_to(&r.verdict)
    );
    out
}
