//! The words for `--alerts` (the summary's section, the progress line, the Event) and for a
//! probe's Prometheus errors.

use std::time::Duration;

use super::format_duration;
use crate::probe::{Alert, AlertsReport, ProbeReport};

/// Which alerts are watched: `every alert` or `--alerts=SELECTOR`.
fn scope(report: &AlertsReport) -> String {
    if report.selector.is_empty() {
        "every alert".into()
    } else {
        format!("--alerts={}", report.selector)
    }
}

fn since(ms: u64) -> String {
    format!("+{}", format_duration(Duration::from_millis(ms)))
}

/// The progress line once the alerts firing before the delete are read.
pub fn before(selector: &str, before: &[Alert]) -> String {
    let noun = if before.len() == 1 { "alert" } else { "alerts" };
    let scope = if selector.is_empty() {
        noun.to_string()
    } else {
        format!("{noun} matching {selector}")
    };
    match before {
        [] => format!("no {scope} firing before the delete"),
        some => format!(
            "{} {scope} firing before the delete (not counted as new): {}",
            some.len(),
            names(some)
        ),
    }
}

fn names(alerts: &[Alert]) -> String {
    alerts
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary's section: a headline, then one line per new alert, then Prometheus errors.
pub fn section(report: &AlertsReport) -> Vec<String> {
    let before = match report.before.len() {
        0 => "none firing before".to_string(),
        n => format!("{n} firing before, not counted"),
    };
    let mut lines = vec![match report.new.len() {
        0 => format!("none new since the delete ({}; {before})", scope(report)),
        n => format!(
            "{n} new since the delete ({}; {before}) — information, not a failure",
            scope(report)
        ),
    }];
    for new in &report.new {
        lines.push(format!(
            "{}  {}, {}",
            new.alert,
            since(new.first_seen_ms),
            if new.still_firing {
                "still firing"
            } else {
                "resolved"
            }
        ));
    }
    if report.settle_ms == 0 && report.new.iter().any(|n| n.still_firing) {
        lines.push(
            "(still firing right after recovery: Prometheus scrapes and evaluates with a lag; \
             --alerts-settle 1m watches them resolve)"
                .to_string(),
        );
    }
    if !report.before.is_empty() {
        lines.push(format!(
            "firing before the delete: {}",
            names(&report.before)
        ));
    }
    if report.errors > 0 {
        lines.push(format!(
            "{} of {} questions could not reach Prometheus{}",
            report.errors,
            report.questions,
            report
                .last_error
                .as_deref()
                .map(|e| format!(" (last: {e})"))
                .unwrap_or_default()
        ));
    }
    lines
}

/// The Warning Event's message (None when no alert is new).
pub fn event_message(report: &AlertsReport) -> Option<String> {
    if report.new.is_empty() {
        return None;
    }
    Some(format!(
        "{} alert(s) fired during the outage that were not firing before it ({}): {}",
        report.new.len(),
        scope(report),
        report
            .new
            .iter()
            .map(|n| format!(
                "{} ({}{})",
                n.alert,
                since(n.first_seen_ms),
                if n.still_firing { ", still firing" } else { "" }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A probe whose attempts could not ask Prometheus: `prom:up: 3 attempts could not reach
/// Prometheus`.
pub fn prometheus_errors(probe: &ProbeReport) -> Option<String> {
    match probe.prometheus_errors {
        0 => None,
        1 => Some(format!(
            "{}: 1 attempt could not reach Prometheus (not counted as downtime)",
            probe.probe
        )),
        n => Some(format!(
            "{}: {n} attempts could not reach Prometheus (not counted as downtime)",
            probe.probe
        )),
    }
}
