//! Snapshot tests of what people read: plain progress lines (fixed clock) and the summary in
//! each format.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use kubectl_vmchaos::{
    cli::OutputFormat,
    error::Exit,
    events::{Event, NotRecovered, Outcome, Phase, Renderer, Reporter, TargetEvent},
    kubevirt::Recovery,
    outage::tracker::Step,
    render::{summary, PlainLines},
    report::{Aggregates, Endpoint, FleetReport, Report, RunReport, TargetRef, Timings},
};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn report() -> Report {
    Report {
        target: TargetRef {
            namespace: "prod".into(),
            name: "db-0".into(),
        },
        context: "game-day".into(),
        server: "https://127.0.0.1:6443".into(),
        vm: Some("db-0".into()),
        run_strategy: Some("Always".into()),
        replica_set: None,
        pool: None,
        expected_recovery: Recovery::Automatic,
        recovery: Recovery::Automatic,
        recovered: true,
        dry_run: None,
        interrupted: false,
        before: Endpoint {
            name: None,
            uid: "11111111-aaaa".into(),
            node: Some("node-a".into()),
            ip: Some("10.244.0.5".into()),
        },
        after: Some(Endpoint {
            name: None,
            uid: "22222222-bbbb".into(),
            node: Some("node-b".into()),
            ip: Some("10.244.1.9".into()),
        }),
        injected_at: Some("2026-11-25T05:00:00.000Z".into()),
        timing_sources: Default::default(),
        timings: Timings {
            gone_ms: Some(312),
            created_ms: Some(318),
            scheduling_ms: Some(820),
            scheduled_ms: Some(1321),
            running_ms: Some(1822),
            ready_ms: Some(2025),
        },
        snapshot: Some("/state/kubectl-vmchaos/snapshots/prod_db-0_20261125T050000000Z".into()),
        restore_command: None,
        verdict: "RECOVERED: Running and Ready 2.02s after the delete; KubeVirt re-created it (as expected)".into(),
        exit_code: 0,
        group: None,
        warnings: vec![],
        probes: vec![],
        notes: vec![],
        series: Default::default(),
        exit: Exit::Recovered,
    }
}

#[test]
fn summary_table() {
    insta::assert_snapshot!(summary::render(&report(), OutputFormat::Text, false));
}

#[test]
fn summary_table_when_not_recovered() {
    let mut r = report();
    r.recovered = false;
    r.recovery = Recovery::None;
    r.after = None;
    r.timings = Timings {
        gone_ms: Some(300),
        ..Timings::default()
    };
    r.restore_command = Some("kubectl vmchaos restore '/state/snap' --context 'game-day'".into());
    r.verdict = "NOT RECOVERED: no new VMI appeared within --duration 1m + --timeout 5m".into();
    r.set_exit(Exit::NotRecovered);
    insta::assert_snapshot!(summary::render(&r, OutputFormat::Text, false));
}

#[test]
fn summary_json_has_the_documented_keys() {
    let text = summary::render(&report(), OutputFormat::Json, false);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "target",
        "expectedRecovery",
        "recovery",
        "recovered",
        "before",
        "after",
        "timings",
        "snapshot",
    ] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    for key in ["goneMs", "createdMs", "runningMs", "readyMs"] {
        assert!(v["timings"][key].is_u64(), "{key}");
    }
    assert_eq!(v["expectedRecovery"], "automatic");
    insta::assert_snapshot!(text);
}

#[test]
fn summary_yaml_round_trips_to_the_same_document() {
    let yaml = summary::render(&report(), OutputFormat::Yaml, false);
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let from_json: serde_json::Value =
        serde_json::from_str(&summary::render(&report(), OutputFormat::Json, false)).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn plain_progress_lines() {
    let buf = Buffer::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let renderer = PlainLines::with_clock(Box::new(buf.clone()), Box::new(move || start));
    let mut reporter = Reporter::new(Box::new(renderer) as Box<dyn Renderer>);
    reporter.start(Phase::Connect, "reading the kubeconfig");
    reporter.finish("context game-day, https://127.0.0.1:6443 (v1.20.2)");
    let at = Duration::from_millis;
    let target = |ms: u64, what: TargetEvent| Event::Target {
        target: 0,
        at: at(ms),
        what,
    };
    reporter.emit(&Event::Targets {
        names: vec!["prod/db-0".into()],
    });
    reporter.start(Phase::Inject, "deleting");
    for e in [
        target(
            4,
            TargetEvent::Deleted {
                uid: "11111111-aaaa".into(),
                node: Some("node-a".into()),
            },
        ),
        target(
            4,
            TargetEvent::Waiting {
                recovery: Recovery::Automatic,
                vm: Some("db-0".into()),
                wait: Duration::from_secs(60),
            },
        ),
        target(312, TargetEvent::Step(Step::OldGone)),
        target(
            60_000,
            TargetEvent::KubeVirtSlow {
                waited: Duration::from_secs(60),
            },
        ),
        target(
            360_000,
            TargetEvent::Done {
                outcome: Outcome::NotRecovered(NotRecovered::NoReplacement),
                ready_after: None,
            },
        ),
    ] {
        reporter.emit(&e);
    }
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    // Phase durations depend on the machine: redact them.
    let text = regex_lite_redact(&text);
    assert!(!text.contains('\u{1b}'), "no control codes in plain mode");
    insta::assert_snapshot!(text);
}

/// Replaces `(123ms)` / `(1.23s)` with `([duration])`.
fn regex_lite_redact(text: &str) -> String {
    text.lines()
        .map(|l| match (l.rfind(" ("), l.ends_with(')')) {
            (Some(i), true)
                if l[i + 2..l.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_digit() || ".msh".contains(c)) =>
            {
                format!("{} ([duration])", &l[..i])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fleet() -> RunReport {
    let ok = report();
    let mut slow = report();
    slow.target.name = "db-1".into();
    slow.recovered = false;
    slow.recovery = Recovery::None;
    slow.after = None;
    slow.timings = Timings {
        gone_ms: Some(290),
        ..Timings::default()
    };
    slow.verdict = "NOT RECOVERED: no new VMI appeared (--duration 1m + --timeout 5m)".into();
    slow.restore_command =
        Some("kubectl vmchaos restore '/state/prod_db-1' --context 'game-day'".into());
    slow.set_exit(Exit::NotRecovered);
    let targets = vec![ok, slow];
    RunReport::Fleet(Box::new(FleetReport {
        context: "game-day".into(),
        server: "https://127.0.0.1:6443".into(),
        dry_run: None,
        started_at: Some("2026-11-25T05:00:00.000Z".into()),
        finished_at: Some("2026-11-25T05:06:00.000Z".into()),
        interrupted: false,
        selection: None,
        aggregates: Aggregates::of(&targets),
        targets,
        verdict: "NOT RECOVERED: 1 of 2 VMIs recovered".into(),
        exit_code: 1,
        notes: vec![],
        series: Default::default(),
        exit: Exit::NotRecovered,
    }))
}

#[test]
fn fleet_summary_table_and_document() {
    let run = fleet();
    insta::assert_snapshot!(summary::render_run(&run, OutputFormat::Text, false));
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render_run(&run, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["targets"][0]["target"]["name"], "db-0",
        "each target keeps the one-VMI keys"
    );
    assert_eq!(doc["aggregates"]["recovered"], 1);
    assert_eq!(doc["aggregates"]["gone"]["count"], 2);
    assert_eq!(doc["exitCode"], 1);
    assert_eq!(run.exit(), Exit::NotRecovered);
}

/// Three trials of db-0 (one of them slower), judged against a baseline where db-0 was faster
/// and db-9 was hit too.
fn repeated() -> Report {
    use kubectl_vmchaos::repeat::{
        baseline::{compare, Baseline, Figure, Figures},
        series::{statistics, BackOff, Subject, SubjectKind, Trial, TrialTarget},
        MaxRegression,
    };
    let mut r = report();
    let trials: Vec<Trial> = [(1, 2100), (2, 2400), (3, 6000)]
        .into_iter()
        .map(|(n, ready)| Trial {
            trial: n,
            started_at: Some(format!("2026-11-25T05:0{n}:00.000Z")),
            verdict: "RECOVERED: Running and Ready".into(),
            exit_code: 0,
            targets: vec![TrialTarget {
                target: r.target.clone(),
                replica_set: None,
                recovered: true,
                timings: Timings {
                    gone_ms: Some(300 + n as u64),
                    running_ms: Some(ready - 200),
                    ready_ms: Some(ready),
                    ..Timings::default()
                },
                user_downtime_ms: Some(ready / 2),
            }],
            exit: Exit::Recovered,
        })
        .collect();
    r.series.statistics = statistics(&trials);
    r.series.trials = trials;
    r.series.back_off = vec![BackOff {
        after_trial: 2,
        namespace: "prod".into(),
        vm: "db-0".into(),
        consecutive_fail_count: Some(2),
        retry_after: Some("2026-11-25T05:02:40Z".into()),
    }];
    let subject = |name: &str| Subject {
        namespace: "prod".into(),
        name: name.into(),
        kind: SubjectKind::Vmi,
    };
    let figures = |ready: u64, down: u64| {
        std::collections::BTreeMap::from([
            (Figure::Gone, 310),
            (Figure::Running, ready - 200),
            (Figure::Ready, ready),
            (Figure::UserDowntime, down),
        ])
    };
    let baseline = Baseline {
        file: "last-quarter/report.json".into(),
        figures: Figures::from([
            (subject("db-0"), figures(2500, 3000)),
            (subject("db-9"), figures(1000, 0)),
        ]),
    };
    let now = Figures::from([(subject("db-0"), figures(6000, 3000))]);
    let comparison = compare(&baseline, &now, MaxRegression::DEFAULT);
    r.verdict = kubectl_vmchaos::render::trials::regressed_verdict(&r.verdict, &comparison);
    r.series.baseline = Some(comparison);
    r.set_exit(Exit::NotRecovered);
    r
}

#[test]
fn repeated_trials_against_a_baseline_summary() {
    let r = repeated();
    insta::assert_snapshot!(summary::render(&r, OutputFormat::Text, false));
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render(&r, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["exitCode"], 1);
    assert_eq!(doc["trials"].as_array().unwrap().len(), 3);
    assert_eq!(doc["statistics"][0]["ready"]["p95Ms"], 6000);
    assert_eq!(doc["statistics"][0]["userDowntime"]["p50Ms"], 1200);
    assert_eq!(doc["baseline"]["regressions"][0]["figure"], "ready");
    assert_eq!(doc["baseline"]["gone"][0]["name"], "db-9");
    assert_eq!(doc["backOff"][0]["vm"], "db-0");
    // Today's keys are all still there.
    assert_eq!(doc["target"]["name"], "db-0");
    assert!(doc["timings"]["readyMs"].is_u64());
}
