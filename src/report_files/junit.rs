//! `junit.xml`: the structure Jenkins and GitLab read. A `<testsuite>` per step, a `<testcase>`
//! per target outage (classname = namespace, name = VMI, time in seconds), `<failure>` with the
//! reason when it did not recover or the tool failed, `<skipped/>` for steps that did not run.

use std::fmt::Write as _;

use super::cells::{escape, observed_ms};
use crate::{
    error::Exit,
    render::{notes::note, verdicts},
    report::{GameDayReport, Report, StepReport, StepStatus},
};

fn seconds(ms: Option<u64>) -> String {
    format!("{:.3}", ms.unwrap_or(0) as f64 / 1000.0)
}

/// `(type, message)` of a target that failed, None when it passed.
fn failure(r: &Report) -> Option<(&'static str, String)> {
    let kind = match r.exit() {
        Exit::Recovered => return None,
        Exit::NotRecovered => "NotRecovered",
        Exit::FailedAfterInject => "ToolFailed",
        Exit::Interrupted | Exit::Terminated => "Interrupted",
        Exit::NothingChanged => "NotHit",
    };
    Some((kind, verdicts::verdict(&r.result.verdict)))
}

struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
    ms: u64,
}

fn counts(step: &StepReport) -> Counts {
    match &step.fleet {
        Some(f) => {
            let regressions = f
                .series
                .baseline
                .as_ref()
                .map_or(0, |c| c.regressions.len());
            Counts {
                tests: f.targets.len() + regressions,
                failures: f.targets.iter().filter(|r| failure(r).is_some()).count() + regressions,
                skipped: 0,
                ms: f.targets.iter().filter_map(observed_ms).sum(),
            }
        }
        None => Counts {
            tests: 1,
            failures: 0,
            skipped: 1,
            ms: 0,
        },
    }
}

pub fn junit(report: &GameDayReport) -> String {
    let all: Vec<Counts> = report.steps.iter().map(counts).collect();
    let day_regressions = report
        .series
        .baseline
        .as_ref()
        .map_or(0, |c| c.regressions.len());
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        r#"<testsuites name="kubectl-vmchaos game day" tests="{}" failures="{}" errors="0" skipped="{}" time="{}">"#,
        all.iter().map(|c| c.tests).sum::<usize>() + day_regressions,
        all.iter().map(|c| c.failures).sum::<usize>() + day_regressions,
        all.iter().map(|c| c.skipped).sum::<usize>(),
        seconds(Some(all.iter().map(|c| c.ms).sum())),
    );
    for (step, c) in report.steps.iter().zip(&all) {
        let timestamp = step
            .fleet
            .as_ref()
            .and_then(|f| f.started_at.clone())
            .or_else(|| report.started_at.clone())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="{}" time="{}" timestamp="{}">"#,
            escape(&step.name),
            c.tests,
            c.failures,
            c.skipped,
            seconds(Some(c.ms)),
            escape(&timestamp)
        );
        s.push_str("    <properties>\n");
        let mut props = vec![
            ("scenario", step.scenario.clone()),
            ("context", report.context.clone()),
        ];
        if let Some(file) = &step.file {
            let place = match step.line {
                Some(l) => format!("{}:{l}", file.display()),
                None => file.display().to_string(),
            };
            props.push(("file", place));
        }
        let alerts = step.fleet.as_ref().and_then(|f| f.alerts.as_ref());
        if let Some(a) = alerts {
            props.push(("alerts.selector", a.selector.clone()));
            props.push(("alerts.before", a.before.len().to_string()));
            props.push(("alerts.new", a.new.len().to_string()));
            props.push(("alerts.errors", a.errors.to_string()));
        }
        for (k, v) in props {
            let _ = writeln!(s, r#"      <property name="{k}" value="{}"/>"#, escape(&v));
        }
        s.push_str("    </properties>\n");
        match &step.fleet {
            Some(f) => {
                for r in &f.targets {
                    let _ = write!(
                        s,
                        r#"    <testcase classname="{}" name="{}" time="{}""#,
                        escape(&r.target.namespace),
                        escape(&r.target.name),
                        seconds(observed_ms(r))
                    );
                    match failure(r) {
                        None => s.push_str("/>\n"),
                        Some((kind, message)) => {
                            let mut details = vec![message.to_string()];
                            details.extend(r.notes.iter().map(note));
                            if let Some(cmd) = &r.restore_command {
                                details.push(format!("restore: {cmd}"));
                            }
                            let _ = writeln!(
                                s,
                                ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>",
                                escape(&message),
                                escape(&details.join("\n"))
                            );
                        }
                    }
                }
            }
            None => {
                let why = match step.status {
                    StepStatus::Skipped => "skipped",
                    _ => "not run",
                };
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&step.scenario),
                    escape(&step.name),
                    escape(&format!(
                        "{why}: {}",
                        step.reason.as_deref().unwrap_or_default()
                    ))
                );
            }
        }
        if let Some(a) = alerts {
            let _ = writeln!(
                s,
                "    <system-out>alerts: {}</system-out>",
                escape(&crate::render::alerts::section(a).join("\n"))
            );
        }
        if let Some(c) = step.fleet.as_ref().and_then(|f| f.series.baseline.as_ref()) {
            regression_cases(&mut s, c);
        }
        s.push_str("  </testsuite>\n");
    }
    if let Some(c) = &report.series.baseline {
        let _ = writeln!(
            s,
            r#"  <testsuite name="baseline" tests="{}" failures="{}" errors="0" skipped="0" time="0.000">"#,
            c.regressions.len(),
            c.regressions.len()
        );
        regression_cases(&mut s, c);
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// A failed test case per regression against `--baseline`.
fn regression_cases(s: &mut String, c: &crate::repeat::baseline::Comparison) {
    for r in &c.regressions {
        let message = crate::render::trials::regression(r, c.max_regression_percent);
        let _ = writeln!(
            s,
            "    <testcase classname=\"{}\" name=\"regression of {} ({})\" time=\"0.000\">\n      <failure type=\"Regression\" message=\"{}\">{}</failure>\n    </testcase>",
            escape(&r.subject.namespace),
            escape(&r.subject.name),
            escape(crate::render::trials::figure(r.figure)),
            escape(&message),
            escape(&message)
        );
    }
}
