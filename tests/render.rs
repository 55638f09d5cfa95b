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
    events::{
        Event, NotRecovered, Note, Outcome, Phase, Progress, Renderer, Reporter, TargetEvent,
    },
    kubevirt::Recovery,
    outage::tracker::Step,
    plan::Fault,
    probe::{AbortReason, ProbeReport},
    render::{summary, verdicts, PlainLines},
    report::{Aggregates, Endpoint, FleetReport, Report, RunReport, TargetRef, Timings},
    signals::Signal,
    verdict::{FleetVerdict, Judged, RunVerdict, Verdict},
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

fn not_recovered() -> Verdict {
    Verdict::NotRecovered {
        why: NotRecovered::NoReplacement,
        duration: Duration::from_secs(60),
        timeout: Duration::from_secs(300),
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
        fault: kubectl_vmchaos::plan::Fault::Delete,
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
            failed_ms: None,
            gone_ms: Some(312),
            created_ms: Some(318),
            scheduling_ms: Some(820),
            scheduled_ms: Some(1321),
            running_ms: Some(1822),
            ready_ms: Some(2025),
        },
        snapshot: Some("/state/kubectl-vmchaos/snapshots/prod_db-0_20261125T050000000Z".into()),
        restore_command: None,
        result: Judged::new(Verdict::Recovered {
            by: Recovery::Automatic,
            planned: Recovery::Automatic,
            replaced_by: None,
            ready_after: Some(Duration::from_millis(2025)),
            probe_downtime: None,
            strategy_not_restored: false,
            crashed: false,
        }),
        group: None,
        warnings: vec![],
        probes: vec![],
        alerts: None,
        notes: vec![],
        series: Default::default(),
    }
}

#[test]
fn summary_table() {
    insta::assert_snapshot!(summary::render(&report(), OutputFormat::Text, false));
}

/// `--fault crash`: the summary says which fault ran, and the timeline starts at Failed.
#[test]
fn summary_table_of_a_crash() {
    let mut r = report();
    r.fault = kubectl_vmchaos::plan::Fault::Crash;
    r.timings.failed_ms = Some(41);
    if let Verdict::Recovered { crashed, .. } = &mut r.result.verdict {
        *crashed = true;
    }
    let text = summary::render(&r, OutputFormat::Text, false);
    assert!(text.contains("Failed 41ms · gone"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn summary_table_when_not_recovered() {
    let mut r = report();
    r.recovered = false;
    r.recovery = Recovery::None;
    r.after = None;
    r.timings = Timings {
        failed_ms: None,
        gone_ms: Some(300),
        ..Timings::default()
    };
    r.restore_command = Some("kubectl vmchaos restore '/state/snap' --context 'game-day'".into());
    r.result = Judged::new(not_recovered());
    insta::assert_snapshot!(summary::render(&r, OutputFormat::Text, false));
}

#[test]
fn summary_json_has_the_documented_keys() {
    let text = summary::render(&report(), OutputFormat::Json, false);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "target",
        "fault",
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
    reporter.start(Phase::Connect, Progress::ReadingKubeconfig);
    reporter.finish(Progress::Connected {
        context: "game-day".into(),
        server: "https://127.0.0.1:6443".into(),
        version: "v1.20.2".into(),
    });
    let at = Duration::from_millis;
    let target = |ms: u64, what: TargetEvent| Event::Target {
        target: 0,
        at: at(ms),
        what,
    };
    reporter.emit(&Event::Targets {
        names: vec!["prod/db-0".into()],
    });
    reporter.start(
        Phase::Inject,
        Progress::Injecting {
            fault: Fault::Delete,
        },
    );
    for e in [
        target(
            4,
            TargetEvent::Deleted {
                uid: "11111111-aaaa".into(),
                node: Some("node-a".into()),
                launcher: None,
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
                old_terminating: false,
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

/// `--fault crash`: the fault names the launcher pod, and the timeline shows the VMI Failed.
#[test]
fn plain_progress_lines_of_a_crash() {
    let buf = Buffer::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let renderer = PlainLines::with_clock(Box::new(buf.clone()), Box::new(move || start));
    let mut reporter = Reporter::new(Box::new(renderer) as Box<dyn Renderer>);
    let target = |ms: u64, what: TargetEvent| Event::Target {
        target: 0,
        at: Duration::from_millis(ms),
        what,
    };
    reporter.emit(&Event::Targets {
        names: vec!["prod/db-0".into()],
    });
    reporter.start(
        Phase::Inject,
        Progress::Injecting {
            fault: Fault::Crash,
        },
    );
    for e in [
        target(
            3,
            TargetEvent::Deleted {
                uid: "11111111-aaaa".into(),
                node: Some("node-a".into()),
                launcher: Some("virt-launcher-db-0-x7k2p".into()),
            },
        ),
        target(
            3,
            TargetEvent::Waiting {
                recovery: Recovery::Start,
                vm: Some("db-0".into()),
                wait: Duration::from_secs(60),
            },
        ),
        target(41, TargetEvent::Step(Step::OldFailed)),
    ] {
        reporter.emit(&e);
    }
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let text = regex_lite_redact(&text);
    assert!(text.contains("old VMI Failed"), "{text}");
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
        failed_ms: None,
        gone_ms: Some(290),
        ..Timings::default()
    };
    slow.result = Judged::new(not_recovered());
    slow.restore_command =
        Some("kubectl vmchaos restore '/state/prod_db-1' --context 'game-day'".into());
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
        alerts: None,
        result: Judged::new(FleetVerdict::of(
            targets.iter().map(|t| &t.result),
            None,
            None,
        )),
        targets,
        notes: vec![],
        series: Default::default(),
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

fn fleet_of(targets: Vec<Report>, signal: Option<Signal>) -> RunReport {
    RunReport::Fleet(Box::new(FleetReport {
        context: "game-day".into(),
        server: "https://127.0.0.1:6443".into(),
        dry_run: None,
        started_at: Some("2026-11-25T05:00:00.000Z".into()),
        finished_at: Some("2026-11-25T05:06:00.000Z".into()),
        interrupted: signal.is_some(),
        selection: None,
        aggregates: Aggregates::of(&targets),
        alerts: None,
        result: Judged::new(FleetVerdict::of(
            targets.iter().map(|t| &t.result),
            signal,
            None,
        )),
        targets,
        notes: vec![],
        series: Default::default(),
    }))
}

fn named(name: &str, verdict: Verdict) -> Report {
    let mut r = report();
    r.target.name = name.into();
    r.recovered = matches!(verdict, Verdict::Recovered { .. });
    r.result = Judged::new(verdict);
    r
}

#[test]
fn an_aborted_target_says_the_rule_once_in_words_and_as_data() {
    let aborted = Verdict::Aborted {
        reason: AbortReason::Unready {
            max: 0,
            vmis: vec!["prod/web-1".into()],
        },
        running: true,
    };
    let single = named("db-0", aborted.clone());
    let text = summary::render(&single, OutputFormat::Text, false);
    assert!(
        text.contains(
            "ABORTED (1 other VMI is not Ready (more than 0): prod/web-1): the VMI is Running again"
        ),
        "{text}"
    );
    assert!(!text.contains("aborted: "), "{text}");
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render(&single, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["outcome"]["kind"], "aborted");
    assert_eq!(doc["outcome"]["cause"], "unready");
    assert_eq!(doc["outcome"]["running"], true);
    assert_eq!(doc["exitCode"], 1);
    let run = fleet_of(vec![named("db-0", aborted), report()], None);
    let table = summary::render_run(&run, OutputFormat::Text, false);
    let row = table.lines().find(|l| l.contains("prod/db-0")).unwrap();
    assert!(row.trim_end().ends_with("ABORTED"), "{table}");
    assert!(!table.contains("ABORTED (aborted"), "{table}");
}

#[test]
fn an_interrupted_fleet_counts_the_vmis_running_again() {
    let interrupted = |name: &str| {
        named(
            name,
            Verdict::Interrupted {
                signal: Some(Signal::Interrupt),
                running: true,
            },
        )
    };
    let run = fleet_of(
        vec![interrupted("db-0"), interrupted("db-1"), report()],
        Some(Signal::Interrupt),
    );
    assert_eq!(run.exit(), Exit::Interrupted);
    let table = summary::render_run(&run, OutputFormat::Text, false);
    assert!(
        table.contains(
            "verdict  INTERRUPTED: 3 of 3 VMIs Running again, 1 checked to the end as recovered"
        ),
        "{table}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render_run(&run, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["exitCode"], 130);
    assert_eq!(doc["outcome"]["kind"], "interrupted");
    assert_eq!(doc["outcome"]["signal"], "SIGINT");
    assert_eq!(doc["outcome"]["runningAgain"], 3);
    assert_eq!(doc["targets"][0]["outcome"]["signal"], "SIGINT");
}

#[test]
fn counts_are_pluralised() {
    let one = fleet_of(vec![report()], None);
    let text = summary::render_run(&one, OutputFormat::Text, false);
    assert!(text.contains("RECOVERED: 1 of 1 VMI recovered"), "{text}");
    let mut dry = fleet_of(vec![report()], None);
    if let RunReport::Fleet(f) = &mut dry {
        f.dry_run = Some(kubectl_vmchaos::settings::DryRun::Server);
        f.result = Judged::new(FleetVerdict::of(
            f.targets.iter().map(|t| &t.result),
            None,
            Some(kubectl_vmchaos::settings::DryRun::Server),
        ));
    }
    let text = summary::render_run(&dry, OutputFormat::Text, false);
    assert!(
        text.contains("DRY RUN (server): would delete 1 VMI; nothing was changed"),
        "{text}"
    );
}

#[test]
fn a_fleet_with_probes_shows_the_downtime_users_saw() {
    let probe = |downtime_ms: Option<u64>, still_failing: bool| ProbeReport {
        probe: "tcp://db:5432".into(),
        downtime_ms,
        still_failing,
        failed_attempts: 3,
        attempts: 20,
        last_success_before: None,
        first_failure: None,
        first_success_after: None,
        ready_to_success_ms: None,
        failure: None,
        prometheus_errors: 0,
    };
    let mut a = report();
    a.probes = vec![probe(Some(2400), false), probe(Some(900), false)];
    let mut b = named("db-1", not_recovered());
    b.probes = vec![probe(Some(61_000), true)];
    let table = summary::render_run(&fleet_of(vec![a, b], None), OutputFormat::Text, false);
    assert!(table.contains("USERS DOWN"), "{table}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap()
            .to_string()
    };
    assert!(row("prod/db-0").contains(" 2.40s "), "{table}");
    assert!(row("prod/db-1").contains(" 1m01s+ "), "{table}");
    // Without probes the table keeps its columns.
    let plain = summary::render_run(&fleet(), OutputFormat::Text, false);
    assert!(!plain.contains("USERS DOWN"));
}

#[test]
fn reports_not_written_make_a_recovered_run_exit_3_and_the_document_says_so() {
    let mut run = RunReport::Single(Box::new(report()));
    assert_eq!(run.exit(), Exit::Recovered);
    run.reports_not_written("disk full");
    assert_eq!(run.exit(), Exit::FailedAfterInject);
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render_run(&run, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["exitCode"], 3);
    assert_eq!(
        doc["outcome"]["kind"], "recovered",
        "the outage itself recovered"
    );
    assert!(doc["notes"].to_string().contains("disk full"));
    // A failed run keeps its own exit.
    let mut failed = fleet();
    failed.reports_not_written("disk full");
    assert_eq!(failed.exit(), Exit::NotRecovered);
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
            result: Judged::new(RunVerdict::Target(r.result.verdict.clone())),
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
    r.result.amends = kubectl_vmchaos::repeat::Amends {
        stopped: None,
        regressions: comparison
            .regressions
            .iter()
            .map(|x| (x.subject.clone(), x.figure))
            .collect(),
        max_regression_percent: comparison.max_regression_percent,
    };
    r.series.baseline = Some(comparison);
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
    // Each trial's verdict is typed data, worded like every document's: words, outcome, exit.
    let trial = &doc["trials"][0];
    assert_eq!(trial["exitCode"], 0, "{trial:#}");
    assert_eq!(trial["outcome"]["kind"], "recovered", "{trial:#}");
    assert_eq!(
        trial["verdict"],
        verdicts::verdict(&r.result.verdict),
        "{trial:#}"
    );
    assert_eq!(doc["statistics"][0]["ready"]["p95Ms"], 6000);
    assert_eq!(doc["statistics"][0]["userDowntime"]["p50Ms"], 1200);
    assert_eq!(doc["baseline"]["regressions"][0]["figure"], "ready");
    assert_eq!(doc["baseline"]["gone"][0]["name"], "db-9");
    assert_eq!(doc["backOff"][0]["vm"], "db-0");
    // Today's keys are all still there.
    assert_eq!(doc["target"]["name"], "db-0");
    assert!(doc["timings"]["readyMs"].is_u64());
}

fn alerts_report() -> kubectl_vmchaos::probe::AlertsReport {
    use kubectl_vmchaos::probe::{Alert, AlertsReport, NewAlert};
    let alert = |name: &str, labels: &[(&str, &str)]| Alert {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    AlertsReport {
        selector: "namespace=prod".into(),
        query: r#"ALERTS{alertstate="firing",namespace="prod"}"#.into(),
        before: vec![alert(
            "DiskFilling",
            &[("namespace", "prod"), ("severity", "warning")],
        )],
        new: vec![
            NewAlert {
                alert: alert(
                    "KubeVirtVMINotRunning",
                    &[
                        ("name", "db-0"),
                        ("namespace", "prod"),
                        ("severity", "critical"),
                    ],
                ),
                first_seen_ms: 1520,
                first_seen_at: "2026-11-25T05:00:01.520Z".into(),
                still_firing: false,
            },
            NewAlert {
                alert: alert("ShopErrorBudgetBurn", &[("namespace", "prod")]),
                first_seen_ms: 41_000,
                first_seen_at: "2026-11-25T05:00:41.000Z".into(),
                still_firing: true,
            },
        ],
        questions: 48,
        errors: 2,
        last_error: Some("Prometheus at http://127.0.0.1:9090 did not answer within 1s".into()),
        settle_ms: 30_000,
    }
}

#[test]
fn summary_table_with_new_alerts_and_prometheus_errors() {
    let mut r = report();
    r.probes = vec![kubectl_vmchaos::probe::ProbeReport {
        probe: "prom:up{job=\"shop\"} == 1".into(),
        downtime_ms: None,
        still_failing: false,
        failed_attempts: 0,
        attempts: 40,
        last_success_before: None,
        first_failure: None,
        first_success_after: None,
        ready_to_success_ms: None,
        failure: None,
        prometheus_errors: 3,
    }];
    r.alerts = Some(alerts_report());
    insta::assert_snapshot!(summary::render(&r, OutputFormat::Text, false));
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render(&r, OutputFormat::Json, false)).unwrap();
    assert_eq!(doc["alerts"]["before"][0]["name"], "DiskFilling");
    assert_eq!(doc["alerts"]["new"][1]["stillFiring"], true);
    assert_eq!(doc["alerts"]["errors"], 2);
    // Without a settle, an alert still firing right after recovery may be Prometheus' lag.
    let mut hasty = alerts_report();
    hasty.settle_ms = 0;
    r.alerts = Some(hasty);
    let text = summary::render(&r, OutputFormat::Text, false);
    assert!(
        text.contains("--alerts-settle 1m watches them resolve"),
        "{text}"
    );
    // No alert watch: no section, no key.
    let plain = summary::render(&report(), OutputFormat::Text, false);
    assert!(!plain.contains("alerts"), "{plain}");
}

#[test]
fn fleet_summary_lists_the_run_s_alerts_once() {
    let RunReport::Fleet(mut f) = fleet() else {
        unreachable!()
    };
    let mut quiet = alerts_report();
    quiet.new.truncate(0);
    quiet.errors = 0;
    f.alerts = Some(quiet);
    insta::assert_snapshot!(summary::render_run(
        &RunReport::Fleet(f),
        OutputFormat::Text,
        false
    ));
}

/// The documents' `warnings` and `notes` are the typed notes' words: the same strings the JSON
/// and YAML always had, and the same words on the terminal.
#[test]
fn a_document_with_notes_serialises_to_the_strings_it_always_had() {
    let mut r = report();
    r.warnings = vec![Note::Warning(
        kubectl_vmchaos::plan::Warning::StartBackoff {
            consecutive: 2,
            retry_after: Some("2026-11-25T05:05:00Z".into()),
        },
    )];
    r.notes = vec![
        Note::Target(TargetEvent::StrategyRestoreFailed {
            vm: "db-0".into(),
            to: "Always".into(),
            reason: "conflict".into(),
        }),
        Note::ReplacementExists {
            namespace: "prod".into(),
            name: "db-0".into(),
        },
    ];
    let mut run = RunReport::Single(Box::new(r));
    run.reports_not_written("disk full");
    let json = summary::render_run(&run, OutputFormat::Json, false);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["warnings"],
        serde_json::json!([
            "KubeVirt's start-failure back-off is active (2 failed starts): the VM will not start again before 2026-11-25T05:05:00Z"
        ])
    );
    assert_eq!(
        doc["notes"],
        serde_json::json!([
            "could not put VM db-0's runStrategy back to Always (conflict): run `kubectl patch vm db-0 --type merge -p '{\"spec\":{\"runStrategy\":\"Always\"}}'`",
            "VMI prod/db-0 exists but is not Running and Ready: `kubectl describe vmi db-0 -n prod` says why (no restore: it exists)",
            "the reports were not written: disk full"
        ])
    );
    let yaml = summary::render_run(&run, OutputFormat::Yaml, false);
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, doc);

    // A fleet's and a game day's own notes too.
    let mut fleet = fleet();
    fleet.reports_not_written("disk full");
    let doc: serde_json::Value =
        serde_json::from_str(&summary::render_run(&fleet, OutputFormat::Json, false)).unwrap();
    assert_eq!(
        doc["notes"],
        serde_json::json!(["the reports were not written: disk full"])
    );
    let mut day = run.game_day("db-0".into());
    day.notes.push(Note::Seed(7));
    let doc = serde_json::to_value(&day).unwrap();
    assert_eq!(
        doc["notes"],
        serde_json::json!(["targets picked with --seed 7 (the same seed picks the same VMIs)"])
    );

    // The terminal words a note the same way.
    let buf = Buffer::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let renderer = PlainLines::with_clock(Box::new(buf.clone()), Box::new(move || start));
    let mut reporter = Reporter::new(Box::new(renderer) as Box<dyn Renderer>);
    reporter.note(Note::WatchBack {
        namespace: "prod".into(),
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.trim_end()
            .ends_with("note        the watch on namespace prod is back"),
        "{text}"
    );
}
