//! What every report file shows the same way: escaped text, durations, a target's table row,
//! the probes' rows, the aggregates, the restore commands.

use std::time::{Duration, SystemTime};

use crate::{
    render::format_duration,
    report::{GameDayReport, Report},
};

/// `&`, `<`, `>`, `"` and `'` as XML entities (XML, SVG and HTML alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn ms(v: Option<u64>) -> String {
    v.map_or_else(
        || "—".into(),
        |ms| format_duration(Duration::from_millis(ms)),
    )
}

pub(super) fn parse_time(text: Option<&str>) -> Option<SystemTime> {
    text.and_then(|t| humantime::parse_rfc3339_weak(t).ok())
}

/// How long a target's outage lasted as far as it was seen: to Ready, else to the last step.
pub(super) fn observed_ms(r: &Report) -> Option<u64> {
    timings_ms(&r.timings)
}

/// [`observed_ms`] of one trial's timings.
pub(super) fn timings_ms(t: &crate::report::Timings) -> Option<u64> {
    t.ready_ms.or_else(|| {
        [
            t.running_ms,
            t.scheduled_ms,
            t.scheduling_ms,
            t.created_ms,
            t.gone_ms,
        ]
        .into_iter()
        .flatten()
        .max()
    })
}

/// What happened to a target, in one word for tables.
pub(super) fn outcome(r: &Report) -> &'static str {
    use crate::error::Exit;
    match r.exit() {
        _ if r.dry_run.is_some() && r.exit() == Exit::Recovered => "dry run",
        Exit::Recovered => "recovered",
        Exit::NotRecovered => "not recovered",
        Exit::FailedAfterInject => "tool failed",
        Exit::Interrupted | Exit::Terminated => "interrupted",
        Exit::NothingChanged => "not hit",
    }
}

/// The columns of the per-target table (Markdown and HTML alike).
pub(super) const TARGET_COLUMNS: [&str; 10] = [
    "VMI",
    "owner",
    "node before → after",
    "plan",
    "actual",
    "gone",
    "created",
    "Running",
    "Ready",
    "outcome",
];

pub(super) fn target_cells(r: &Report) -> [String; 10] {
    let owner = match (&r.vm, &r.run_strategy, &r.replica_set) {
        (Some(vm), Some(s), _) => format!("VM {vm} ({s})"),
        (_, _, Some(set)) => format!("VirtualMachineInstanceReplicaSet {set}"),
        _ => "standalone VMI".into(),
    };
    let after = r.after.as_ref().and_then(|a| a.node.clone());
    let t = &r.timings;
    [
        format!("{}/{}", r.target.namespace, r.target.name),
        owner,
        format!(
            "{} → {}",
            r.before.node.as_deref().unwrap_or("—"),
            after.as_deref().unwrap_or("—")
        ),
        r.expected_recovery.as_str().to_string(),
        if r.dry_run.is_some() {
            "—".into()
        } else {
            r.recovery.as_str().to_string()
        },
        ms(t.gone_ms),
        ms(t.created_ms),
        ms(t.running_ms),
        ms(t.ready_ms),
        outcome(r).to_string(),
    ]
}

/// One row per probe of each target: what the users saw.
pub(super) const PROBE_COLUMNS: [&str; 6] = [
    "VMI",
    "probe",
    "downtime",
    "attempts (failed / all)",
    "first failure",
    "Ready → first success",
];

pub(super) fn probe_rows(targets: &[Report]) -> Vec<[String; 6]> {
    targets
        .iter()
        .flat_map(|r| {
            r.probes.iter().map(move |p| {
                let downtime = match (p.downtime_ms, p.still_failing) {
                    (_, true) => format!("{} (still failing)", ms(p.downtime_ms)),
                    (None, false) => "none".into(),
                    (Some(d), false) => ms(Some(d)),
                };
                [
                    format!("{}/{}", r.target.namespace, r.target.name),
                    p.probe.clone(),
                    downtime,
                    format!("{} / {}", p.failed_attempts, p.attempts),
                    p.failure
                        .as_ref()
                        .map_or("—".into(), |f| format!("{}: {}", f.kind, f.detail)),
                    ms(p.ready_to_success_ms),
                ]
            })
        })
        .collect()
}

pub(super) const AGGREGATE_COLUMNS: [&str; 6] =
    ["from the delete to", "targets", "min", "p50", "p95", "max"];

pub(super) fn aggregate_rows(a: &crate::report::Aggregates) -> Vec<[String; 6]> {
    [
        ("old VMI gone", &a.gone),
        ("new VMI created", &a.created),
        ("Running", &a.running),
        ("Ready", &a.ready),
    ]
    .into_iter()
    .map(|(name, s)| {
        [
            name.to_string(),
            s.count.to_string(),
            ms(s.min_ms),
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.max_ms),
        ]
    })
    .collect()
}

/// Every restore command still worth knowing, as `(ns/name, command)`.
pub(super) fn restore_commands(report: &GameDayReport) -> Vec<(String, String)> {
    report
        .steps
        .iter()
        .flat_map(|s| s.fleet.iter().flat_map(|f| &f.targets))
        .filter_map(|r| {
            r.restore_command.as_ref().map(|c| {
                (
                    format!("{}/{}", r.target.namespace, r.target.name),
                    c.clone(),
                )
            })
        })
        .collect()
}
