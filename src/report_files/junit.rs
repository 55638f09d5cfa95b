//! `junit.xml`: the structure Jenkins and GitLab read. A `<testsuite>` per step, a `<testcase>`
//! per target outage (classname = namespace, name = VMI, time in seconds), `<failure>` with the
//! reason when it did not recover or the tool failed, `<skipped/>` for steps that did not run.
//! With `--repeat`, a `<testcase>` per target per trial, named `VMI (trial N)`: the earlier
//! trials from their records, the last one from the full document (notes, restore command).

use std::fmt::Write as _;

use super::cells::{escape, observed_ms, timings_ms};
use crate::{
    error::Exit,
    render::{notes::note, verdicts},
    repeat::series::Trial,
    report::{FleetReport, GameDayReport, Report, StepReport},
    verdict::Decides,
};

fn seconds(ms: Option<u64>) -> String {
    format!("{:.3}", ms.unwrap_or(0) as f64 / 1000.0)
}

/// `(type, message)` of a target that failed, None when it passed.
fn failure(r: &Report) -> Option<(&'static str, String)> {
    Some((kind(r.exit())?, verdicts::verdict(&r.result.verdict)))
}

/// The `<failure type>` of an exit (None: passed).
fn kind(exit: Exit) -> Option<&'static str> {
    Some(match exit {
        Exit::Recovered => return None,
        Exit::NotRecovered => "NotRecovered",
        Exit::FailedAfterInject => "ToolFailed",
        Exit::Interrupted | Exit::Terminated => "Interrupted",
        Exit::NothingChanged => "NotHit",
    })
}

/// `--repeat`: the trials before the last (the last is the document's own targets).
fn earlier_trials(f: &FleetReport) -> &[Trial] {
    let trials = &f.series.trials;
    &trials[..trials.len().saturating_sub(1)]
}

/// `(type, message)` of one target in an earlier trial that failed, None when it passed.
fn trial_failure(t: &Trial, recovered: bool) -> Option<(&'static str, String)> {
    let exit = match (recovered, t.result.verdict.exit()) {
        (false, Exit::Recovered) => Exit::NotRecovered,
        (false, e) => e,
        (true, _) => Exit::Recovered,
    };
    let words = verdicts::run_verdict(&t.result.verdict);
    Some((kind(exit)?, format!("trial {}: {words}", t.trial)))
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
            let earlier = earlier_trials(f).iter().flat_map(|t| {
                t.targets
                    .iter()
                    .map(move |x| (trial_failure(t, x.recovered), timings_ms(&x.timings)))
            });
            let (mut tests, mut failures, mut ms) = (0, 0, 0);
            for (failed, took) in earlier {
                tests += 1;
                failures += usize::from(failed.is_some());
                ms += took.unwrap_or(0);
            }
            Counts {
                tests: tests + f.targets.len() + regressions,
                failures: failures
                    + f.targets.iter().filter(|r| failure(r).is_some()).count()
                    + regressions,
                skipped: 0,
                ms: ms + f.targets.iter().filter_map(observed_ms).sum::<u64>(),
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
                for t in earlier_trials(f) {
                    for x in &t.targets {
                        let _ = write!(
                            s,
                            r#"    <testcase classname="{}" name="{} (trial {})" time="{}""#,
                            escape(&x.target.namespace),
                            escape(&x.target.name),
                            t.trial,
                            seconds(timings_ms(&x.timings))
                        );
                        match trial_failure(t, x.recovered) {
                            None => s.push_str("/>\n"),
                            Some((kind, message)) => {
                                let _ = writeln!(
                                    s,
                                    ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>",
                                    escape(&message),
                                    escape(&message)
                                );
                            }
                        }
                    }
                }
                let last = f.series.trials.last().map(|t| t.trial);
                for r in &f.targets {
                    let name = match last {
                        Some(n) => format!("{} (trial {n})", r.target.name),
                        None => r.target.name.clone(),
                    };
                    let _ = write!(
                        s,
                        r#"    <testcase classname="{}" name="{}" time="{}""#,
                        escape(&r.target.namespace),
                        escape(&name),
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
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&step.scenario),
                    escape(&step.name),
                    escape(&crate::render::steps::not_run(step))
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
