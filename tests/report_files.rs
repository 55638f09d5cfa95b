//! The report files of a multi-step, multi-target game day, read back the way their readers
//! read them: junit.xml and timeline.svg with a real XML parser, timeline.svg rendered to PNG by
//! librsvg (Debian's librsvg2-bin, installed by scripts/install-deps) and the pixels decoded.
//! No cluster needed.

use std::{collections::HashSet, path::PathBuf, process::Command, time::Duration};

use kubectl_vmchaos::{
    error::Exit,
    events::{NotRecovered, Note},
    kubevirt::Recovery,
    report::{
        Aggregates, Endpoint, FleetReport, GameDayReport, Report, StepReport, StepStatus,
        TargetRef, Timings,
    },
    report_files::{self, timeline, ProbeInterval, TimelineProbe},
    verdict::{FleetVerdict, GameDayVerdict, Judged, Verdict},
};

/// `at` seconds after 2026-11-25T10:00:00Z.
fn at(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_600_800_000 + ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn target(ns: &str, name: &str, injected_ms: u64, timings: [Option<u64>; 4], exit: Exit) -> Report {
    let [gone, created, running, ready] = timings;
    let recovered = exit == Exit::Recovered;
    Report {
        target: TargetRef {
            namespace: ns.into(),
            name: name.into(),
        },
        context: "game".into(),
        server: "https://127.0.0.1:6443".into(),
        vm: Some(name.into()),
        run_strategy: Some("Always".into()),
        replica_set: None,
        pool: None,
        fault: kubectl_vmchaos::plan::Fault::Delete,
        expected_recovery: Recovery::Automatic,
        recovery: if recovered {
            Recovery::Automatic
        } else {
            Recovery::None
        },
        recovered,
        dry_run: None,
        interrupted: false,
        before: Endpoint {
            name: None,
            uid: format!("old-{name}"),
            node: Some("node-a".into()),
            ip: Some("10.0.0.4".into()),
        },
        after: recovered.then(|| Endpoint {
            name: None,
            uid: format!("new-{name}"),
            node: Some("node-b".into()),
            ip: Some("10.0.0.9".into()),
        }),
        injected_at: Some(at(injected_ms)),
        timings: Timings {
            failed_ms: None,
            gone_ms: gone,
            created_ms: created,
            scheduling_ms: None,
            scheduled_ms: None,
            running_ms: running,
            ready_ms: ready,
        },
        timing_sources: Default::default(),
        snapshot: Some(PathBuf::from(format!("/tmp/snap/{name}"))),
        restore_command: (!recovered)
            .then(|| format!("kubectl vmchaos restore /tmp/snap/{name} --context game")),
        result: Judged::new(match exit {
            Exit::Recovered => Verdict::Recovered {
                by: Recovery::Automatic,
                planned: Recovery::Automatic,
                replaced_by: None,
                ready_after: ready.map(Duration::from_millis),
                probe_downtime: None,
                strategy_not_restored: false,
                crashed: false,
            },
            // Characters every format must escape, in a phase name.
            Exit::NotRecovered => Verdict::NotRecovered {
                why: NotRecovered::NotRunning {
                    phase: "<&\"'>".into(),
                },
                duration: Duration::from_secs(60),
                timeout: Duration::from_secs(300),
            },
            _ => Verdict::ToolFailed {
                reason: "start refused".into(),
            },
        }),
        group: None,
        warnings: Vec::new(),
        probes: Vec::new(),
        alerts: None,
        notes: Vec::new(),
        series: Default::default(),
    }
}

fn fleet(targets: Vec<Report>, start: u64, end: u64) -> FleetReport {
    FleetReport {
        context: "game".into(),
        server: "https://127.0.0.1:6443".into(),
        dry_run: None,
        started_at: Some(at(start)),
        finished_at: Some(at(end)),
        interrupted: false,
        selection: None,
        aggregates: Aggregates::of(&targets),
        alerts: None,
        result: Judged::new(FleetVerdict::of(
            targets.iter().map(|t| &t.result),
            None,
            None,
        )),
        notes: vec![Note::PrefixMatch {
            vm_name: "web-1".into(),
            extra: vec!["prod/web-10".into()],
        }],
        targets,
        series: Default::default(),
    }
}

fn step(name: &str, line: u64, status: StepStatus, fleet: Option<FleetReport>) -> StepReport {
    StepReport {
        name: name.into(),
        scenario: if status == StepStatus::Skipped {
            "node_stop_start_scenario".into()
        } else {
            "kubevirt_vm_outage".into()
        },
        file: Some(PathBuf::from("game.yaml")),
        line: Some(line),
        reason: match status {
            StepStatus::Ran => None,
            StepStatus::Skipped => Some("scenario kind node_stop_start_scenario is not run by kubectl-vmchaos (--skip-unsupported)".into()),
            StepStatus::NotRun => Some("step 3 \"db\" did not recover".into()),
        },
        status,
        fleet,
    }
}

fn game_day() -> GameDayReport {
    use Exit::*;
    let web = fleet(
        vec![
            target(
                "prod",
                "web-1",
                0,
                [Some(380), Some(420), Some(2900), Some(3400)],
                Recovered,
            ),
            target(
                "prod",
                "web-2",
                15,
                [Some(650), Some(700), Some(3600), Some(4780)],
                Recovered,
            ),
            target(
                "prod",
                "web-3",
                30,
                [Some(300), Some(2100), Some(4200), Some(5200)],
                Recovered,
            ),
        ],
        0,
        5400,
    );
    let db = fleet(
        vec![
            target(
                "db",
                "db-0",
                7000,
                [Some(500), Some(3100), Some(4600), Some(5100)],
                Recovered,
            ),
            target(
                "db",
                "db-1",
                7020,
                [Some(450), None, None, None],
                NotRecovered,
            ),
            target(
                "db",
                "db-2",
                7040,
                [Some(600), Some(3000), None, None],
                FailedAfterInject,
            ),
        ],
        7000,
        16000,
    );
    let steps = vec![
        step("node stop <&> \"start\"", 3, StepStatus::Skipped, None),
        step("web tier", 8, StepStatus::Ran, Some(web)),
        step("db", 16, StepStatus::Ran, Some(db)),
        step("after db", 24, StepStatus::NotRun, None),
    ];
    GameDayReport {
        context: "game".into(),
        server: "https://127.0.0.1:6443".into(),
        started_at: Some(at(0)),
        finished_at: Some(at(16000)),
        result: Judged::new(GameDayVerdict::of(&steps, false)),
        steps,
        notes: vec![Note::KrakenOwn {
            file: "config.yaml".into(),
            line: 18,
            key: "cerberus".into(),
        }],
        series: Default::default(),
    }
}

fn probes() -> Vec<TimelineProbe> {
    let base = 1_795_600_800_000;
    vec![TimelineProbe {
        namespace: "prod".into(),
        name: "web-2".into(),
        label: "tcp 10.0.0.4:22".into(),
        intervals: vec![
            ProbeInterval {
                start_unix_ms: base,
                end_unix_ms: base + 15,
                ok: true,
            },
            ProbeInterval {
                start_unix_ms: base + 15,
                end_unix_ms: base + 5100,
                ok: false,
            },
            ProbeInterval {
                start_unix_ms: base + 5100,
                end_unix_ms: base + 6000,
                ok: true,
            },
        ],
    }]
}

#[test]
fn junit_is_well_formed_and_shaped_for_ci_servers() {
    let xml = report_files::junit(&game_day());
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("8"));
    assert_eq!(root.attribute("failures"), Some("2"));
    assert_eq!(root.attribute("skipped"), Some("2"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 4, "one testsuite per step");
    // Escaped on the way out, read back as written.
    assert_eq!(suites[0].attribute("name"), Some("node stop <&> \"start\""));
    let skipped = suites[0]
        .descendants()
        .find(|n| n.has_tag_name("skipped"))
        .expect("a skipped step has <skipped/>");
    assert!(skipped
        .attribute("message")
        .unwrap()
        .starts_with("skipped: scenario kind node_stop_start_scenario"));
    assert!(suites[3]
        .descendants()
        .any(|n| n.has_tag_name("skipped")
            && n.attribute("message").unwrap().starts_with("not run:")));

    let cases: Vec<_> = suites[1]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[1].attribute("classname"), Some("prod"));
    assert_eq!(cases[1].attribute("name"), Some("web-2"));
    assert_eq!(cases[1].attribute("time"), Some("4.780"));
    assert!(cases
        .iter()
        .all(|c| c.children().all(|n| !n.has_tag_name("failure"))));

    let db: Vec<_> = suites[2]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(suites[2].attribute("failures"), Some("2"));
    let failure = |i: usize| {
        db[i]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("testcase {i} has no <failure>"))
    };
    assert_eq!(failure(1).attribute("type"), Some("NotRecovered"));
    assert_eq!(
        failure(1).attribute("message"),
        Some("NOT RECOVERED: the new VMI is still <&\"'> (not Running) (--duration 1m + --timeout 5m)")
    );
    assert!(failure(1)
        .text()
        .unwrap()
        .contains("restore: kubectl vmchaos restore /tmp/snap/db-1 --context game"));
    assert_eq!(failure(2).attribute("type"), Some("ToolFailed"));
    let props: Vec<(&str, &str)> = suites[2]
        .descendants()
        .filter(|n| n.has_tag_name("property"))
        .map(|p| (p.attribute("name").unwrap(), p.attribute("value").unwrap()))
        .collect();
    assert!(props.contains(&("file", "game.yaml:16")), "{props:?}");
}

#[test]
fn timeline_layout_puts_every_outage_on_one_axis() {
    let l = timeline::layout(&game_day());
    assert_eq!(l.origin_unix_ms, Some(1_795_600_800_000));
    assert_eq!(l.groups.len(), 4);
    assert_eq!(
        l.groups[0].reason.as_deref().map(|r| &r[..8]),
        Some("skipped:")
    );
    let web2 = &l.groups[1].rows[1];
    use timeline::Stage::*;
    assert_eq!(
        web2.segments.as_deref().unwrap(),
        [
            (Down, 15, 665),
            (Gone, 665, 715),
            (Created, 715, 3615),
            (Running, 3615, 4795),
            (Ready, 4795, 4796)
        ]
    );
    assert_eq!(web2.outcome, "Ready 4.78s");
    // Not recovered: its last stage runs to the end of its step.
    let db1 = &l.groups[2].rows[1];
    assert_eq!(
        db1.segments.as_deref().unwrap(),
        [(Down, 7020, 7470), (Gone, 7470, 16000)]
    );
    assert_eq!((db1.outcome.as_str(), db1.ok), ("NOT RECOVERED", false));
    assert_eq!(l.span_ms, 16000);
    assert_eq!(timeline::tick_ms(16000), 2000);
    assert_eq!(timeline::tick_ms(900), 100);
    assert_eq!(timeline::tick_ms(300_000), 50_000);
}

fn rsvg_convert() -> &'static str {
    let found = Command::new("rsvg-convert").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "rsvg-convert is missing: run scripts/install-deps (Debian package librsvg2-bin)"
    );
    "rsvg-convert"
}

#[test]
fn timeline_svg_renders_to_a_picture_that_is_not_blank() {
    let svg = report_files::svg(&game_day(), &probes());
    roxmltree::Document::parse(&svg).expect("timeline.svg is well-formed XML");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let svg_path = dir.join("timeline.svg");
    let png_path = dir.join("timeline.png");
    std::fs::write(&svg_path, &svg).unwrap();
    let out = Command::new(rsvg_convert())
        .args(["--format", "png", "--output"])
        .arg(&png_path)
        .arg(&svg_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rsvg-convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, 1100);
    assert!(info.height > 300, "height {}", info.height);
    let channels = info.color_type.samples();
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    let background = pixels.iter().filter(|p| **p == [255, 255, 255]).count();
    let drawn = pixels.len() - background;
    assert!(
        drawn * 20 > pixels.len(),
        "only {drawn} of {} pixels drawn",
        pixels.len()
    );
    let distinct: HashSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 20, "{} distinct colours", distinct.len());
    // Every stage's colour is on the picture, and the failing probe's red.
    let has = |hex: &str| {
        let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
        let want = [c(1), c(3), c(5)];
        pixels.iter().filter(|p| **p == want).count()
    };
    for (stage, hex) in [
        ("down", "#f59e0b"),
        ("gone", "#dc2626"),
        ("created", "#7c3aed"),
        ("Running", "#2563eb"),
        ("Ready", "#16a34a"),
        ("failing probe", "#fca5a5"),
    ] {
        assert!(
            has(hex) > 50,
            "{stage} ({hex}) is barely on the picture: {}",
            has(hex)
        );
    }
}

#[test]
fn html_is_self_contained_with_the_svg_inline() {
    let report = game_day();
    let svg = report_files::svg(&report, &[]);
    let html = report_files::html(&report, &svg);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for outside in ["<script", "<link", "<img", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in report.html");
    }
    // The only address is the SVG namespace, which is a name, not a fetch.
    let addresses = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(
        addresses,
        html.matches("http://www.w3.org/2000/svg").count()
            + html.matches("https://127.0.0.1:6443").count()
    );
    assert!(html.contains("<td>prod/web-2</td>"));
    assert!(html.contains("node stop &lt;&amp;&gt; &quot;start&quot;"));
    assert!(html.contains("kubectl vmchaos restore /tmp/snap/db-1 --context game"));
}

#[test]
fn markdown_is_a_write_up() {
    let md = report_files::markdown(&game_day());
    assert!(
        md.starts_with("# Game day: 2026-11-25T10:00:00.000Z\n"),
        "{md}"
    );
    assert!(
        md.contains("**TOOL FAILED: 4 of 6 targets recovered; see \"db\"; 1 step skipped; 1 step not run** (exit code 3)"),
        "{md}"
    );
    assert!(md.contains(
        "| 1 | node stop <&> \"start\" | `node_stop_start_scenario` | game.yaml:3 | skipped: "
    ));
    assert!(md.contains("| prod/web-2 | VM web-2 (Always) | node-a → node-b | automatic | automatic | 650ms | 700ms | 3.60s | 4.78s | recovered |"), "{md}");
    assert!(md.contains("| db/db-1 | VM db-1 (Always) | node-a → — | automatic | none | 450ms | — | — | — | not recovered |"));
    assert!(
        md.contains("| Ready | 3 | 3.40s | 4.78s | 5.20s | 5.20s |"),
        "{md}"
    );
    assert!(md.contains("the new VMI is still <&\"'> (not Running)"));
    assert!(md.contains("![Every outage on one time axis](timeline.svg)"));
    assert!(md.contains("kubectl vmchaos restore /tmp/snap/db-1 --context game   # db/db-1"));
    assert!(md.contains("- config.yaml line 18: cerberus is Kraken's own"));
    assert!(md.contains("Kraken's prefix match would also have picked prod/web-10"));
}

#[test]
fn write_reports_writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/report");
    let paths = report_files::write_reports(&out, &game_day(), &probes(), false).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "report.json",
            "junit.xml",
            "report.md",
            "timeline.svg",
            "report.html"
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["exitCode"], 3);
    assert_eq!(
        json["steps"][2]["fleet"]["targets"][1]["target"]["name"],
        "db-1"
    );
    assert_eq!(json["steps"][0]["status"], "skipped");
    assert_eq!(json["steps"][3]["status"], "not-run");
    assert_eq!(json["steps"][1]["line"], 8);
    for p in &paths {
        assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
    }
}

#[test]
fn probe_samples_become_merged_intervals() {
    let t = |ms: u64| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let p = TimelineProbe::from_samples(
        "prod",
        "web-2",
        "tcp :22",
        [
            (t(0), true),
            (t(500), true),
            (t(1000), false),
            (t(1500), false),
            (t(4000), true),
        ],
        t(6000),
    );
    assert_eq!(
        p.intervals,
        [
            ProbeInterval {
                start_unix_ms: 0,
                end_unix_ms: 1000,
                ok: true
            },
            ProbeInterval {
                start_unix_ms: 1000,
                end_unix_ms: 4000,
                ok: false
            },
            ProbeInterval {
                start_unix_ms: 4000,
                end_unix_ms: 6000,
                ok: true
            },
        ]
    );
    assert!(TimelineProbe::from_samples("a", "b", "c", [], t(1))
        .intervals
        .is_empty());
}

#[test]
fn the_game_day_document_prints_as_yaml_too() {
    let yaml = serde_saphyr::to_string(&game_day()).unwrap();
    assert!(yaml.contains("exitCode: 3"), "{yaml}");
    assert!(yaml.contains("status: not-run"), "{yaml}");
}

/// Reports of an earlier run are never replaced without `overwrite`; the check before a dry
/// run creates nothing, the one before a real run creates the folder.
#[test]
fn reports_are_never_overwritten_unless_asked_and_a_dry_run_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/report");
    report_files::check_dir(&out, false, false).unwrap();
    assert!(!out.exists(), "a dry run's check creates nothing");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "and leaves nothing behind"
    );
    report_files::check_dir(&out, false, true).unwrap();
    assert!(out.is_dir(), "a real run's check creates the folder");
    report_files::write_reports(&out, &game_day(), &probes(), false).unwrap();
    let err = report_files::check_dir(&out, false, true).unwrap_err();
    assert!(
        err.to_string().contains(
            "it already holds report.json, junit.xml, report.md, timeline.svg, report.html of an earlier run"
        ),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("--overwrite"));
    assert_eq!(err.exit().code(), 2);
    let err = report_files::write_reports(&out, &game_day(), &probes(), false).unwrap_err();
    assert!(err.to_string().contains("report.json"), "{err}");
    report_files::check_dir(&out, true, true).unwrap();
    std::fs::write(out.join("report.md"), "old").unwrap();
    report_files::write_reports(&out, &game_day(), &probes(), true).unwrap();
    assert_ne!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        "old"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_time_axis_reaches_past_every_bar_and_probe_colours_have_a_legend() {
    let svg = report_files::svg(&game_day(), &probes());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
    let last_tick = doc
        .descendants()
        .filter(|n| n.has_tag_name("line"))
        .filter_map(|n| num(n, "x1"))
        .fold(0.0, f64::max);
    let stage_colours = ["#f59e0b", "#dc2626", "#7c3aed", "#2563eb", "#16a34a"];
    let bar_end = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("16"))
        .filter(|n| stage_colours.contains(&n.attribute("fill").unwrap_or_default()))
        .filter_map(|n| Some(num(n, "x")? + num(n, "width")?))
        .fold(0.0, f64::max);
    assert!(bar_end > 0.0);
    assert!(
        last_tick >= bar_end,
        "last tick at x={last_tick}, a bar ends at x={bar_end}"
    );
    assert!(svg.contains(">probe passing</text>") && svg.contains(">probe failing</text>"));
}

#[test]
fn a_single_outage_s_report_has_its_end_and_a_probe_table() {
    use kubectl_vmchaos::{probe::ProbeReport, report::RunReport};
    let mut r = target(
        "prod",
        "db-0",
        0,
        [Some(400), Some(900), Some(3000), Some(3400)],
        Exit::Recovered,
    );
    r.probes = vec![ProbeReport {
        probe: "tcp 10.0.0.4:5432".into(),
        downtime_ms: Some(4100),
        still_failing: false,
        failed_attempts: 16,
        attempts: 40,
        last_success_before: None,
        first_failure: None,
        first_success_after: None,
        ready_to_success_ms: Some(700),
        failure: None,
        prometheus_errors: 0,
    }];
    let day = RunReport::Single(Box::new(r)).game_day("outage prod/db-0".into());
    assert!(day.finished_at.is_some());
    let md = report_files::markdown(&day);
    assert!(!md.contains("finished: —"), "{md}");
    assert!(
        md.contains("| prod/db-0 | tcp 10.0.0.4:5432 | 4.10s | 16 / 40 | — | 700ms |"),
        "{md}"
    );
    let html = report_files::html(&day, "");
    assert!(html.contains("<td>tcp 10.0.0.4:5432</td>"), "{html}");
}

#[test]
fn a_game_day_s_recovered_probe_stays_green_to_the_end_of_the_axis() {
    use kubectl_vmchaos::probe::ProbeReport;
    let mut day = game_day();
    // web-2 (deleted at 15 ms): its probe failed from 20 ms and passed again at 5.1 s.
    day.steps[1].fleet.as_mut().unwrap().targets[1].probes = vec![ProbeReport {
        probe: "tcp 10.0.0.4:22".into(),
        downtime_ms: Some(5100),
        still_failing: false,
        failed_attempts: 20,
        attempts: 30,
        last_success_before: Some(at(0)),
        first_failure: Some(at(20)),
        first_success_after: Some(at(5100)),
        ready_to_success_ms: Some(300),
        failure: None,
        prometheus_errors: 0,
    }];
    let tracks = report_files::game_day_probe_tracks(&day);
    assert_eq!(tracks.len(), 1);
    let oks: Vec<bool> = tracks[0].intervals.iter().map(|i| i.ok).collect();
    assert_eq!(oks, [true, false, true]);
    let svg = report_files::svg(&day, &tracks);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let width = |fill: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("8"))
            .filter(|n| n.attribute("fill") == Some(fill))
            .filter_map(|n| n.attribute("width")?.parse::<f64>().ok())
            .collect::<Vec<_>>()
    };
    // After passing again it stays green through the rest of the game day (not one pixel),
    // and no track runs off the axis.
    let green = width("#86efac");
    assert!(green.iter().any(|w| *w > 100.0), "{green:?}");
    let last_tick = doc
        .descendants()
        .filter(|n| n.has_tag_name("line"))
        .filter_map(|n| n.attribute("x1")?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    let track_end = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("8"))
        .filter_map(|n| {
            Some(
                n.attribute("x")?.parse::<f64>().ok()?
                    + n.attribute("width")?.parse::<f64>().ok()?,
            )
        })
        .fold(0.0, f64::max);
    assert!(track_end <= last_tick + 0.5, "{track_end} > {last_tick}");
}

#[test]
fn new_alerts_are_in_every_report_file_and_marked_on_the_timeline() {
    use kubectl_vmchaos::probe::{Alert, AlertsReport, NewAlert};
    let mut day = game_day();
    let alert = Alert {
        name: "KubeVirtVMINotRunning".into(),
        labels: [("name", "db-1"), ("severity", "critical")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let fleet = day.steps[2].fleet.as_mut().unwrap();
    fleet.alerts = Some(AlertsReport {
        selector: "severity=critical".into(),
        query: r#"ALERTS{alertstate="firing",severity="critical"}"#.into(),
        before: vec![],
        new: vec![NewAlert {
            alert,
            first_seen_ms: 2000,
            first_seen_at: at(9000),
            still_firing: true,
        }],
        questions: 16,
        errors: 1,
        last_error: Some("Prometheus at http://p:9090 did not answer within 1s".into()),
        settle_ms: 0,
    });
    let md = report_files::markdown(&day);
    assert!(
        md.contains(
            "Alerts: 1 new since the delete (--alerts=severity=critical; none firing before)"
        ),
        "{md}"
    );
    assert!(
        md.contains("- KubeVirtVMINotRunning{name=db-1,severity=critical}  +2s, still firing"),
        "{md}"
    );
    let junit = report_files::junit(&day);
    assert!(
        junit.contains(r#"<property name="alerts.new" value="1"/>"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<property name="alerts.errors" value="1"/>"#),
        "{junit}"
    );
    assert!(junit.contains("<system-out>alerts: 1 new since"), "{junit}");
    assert_eq!(
        junit.matches("alerts.new").count(),
        1,
        "only the step that watched alerts: {junit}"
    );
    let svg = report_files::svg(&day, &[]);
    // 9 s after the game day's first delete.
    assert!(
        svg.contains("alert KubeVirtVMINotRunning{name=db-1,severity=critical} first firing at 9s"),
        "{svg}"
    );
    let html = report_files::html(&day, &svg);
    assert!(
        html.contains("<strong>Alerts</strong>: 1 new since"),
        "{html}"
    );
    assert!(html.contains("could not reach Prometheus"), "{html}");
}

/// The game day with its web step run three times (`--repeat 3`): trial N started N × 10 s in,
/// each target with the documents' timings; `lost` names the (trial, VMI) that did not recover.
fn three_trials(lost: Option<(u32, &str)>) -> GameDayReport {
    use kubectl_vmchaos::{
        repeat::series::{Trial, TrialTarget},
        verdict::RunVerdict,
    };
    let mut day = game_day();
    let web = day.steps[1].fleet.as_mut().unwrap();
    let trial = |n: u32| Trial {
        trial: n,
        started_at: Some(at(u64::from(n) * 10_000)),
        result: Judged::new(RunVerdict::Fleet(web.result.verdict.clone())),
        targets: web
            .targets
            .iter()
            .map(|r| TrialTarget {
                target: r.target.clone(),
                replica_set: None,
                recovered: lost != Some((n, r.target.name.as_str())),
                timings: r.timings.clone(),
                user_downtime_ms: None,
            })
            .collect(),
    };
    web.series.trials = vec![trial(1), trial(2), trial(3)];
    day
}

#[test]
fn junit_has_a_testcase_per_target_per_trial() {
    // Trial 2's web-2 did not come back (the record says so even if a later trial ran).
    let day = three_trials(Some((2, "web-2")));
    let xml = report_files::junit(&day);
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is well-formed XML");
    let suite = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .nth(1)
        .unwrap();
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "web-1 (trial 1)",
            "web-2 (trial 1)",
            "web-3 (trial 1)",
            "web-1 (trial 2)",
            "web-2 (trial 2)",
            "web-3 (trial 2)",
            "web-1 (trial 3)",
            "web-2 (trial 3)",
            "web-3 (trial 3)",
        ]
    );
    assert_eq!(suite.attribute("tests"), Some("9"), "{xml}");
    assert_eq!(suite.attribute("failures"), Some("1"), "{xml}");
    assert_eq!(cases[4].attribute("time"), Some("4.780"));
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ["web-2 (trial 2)"]);
    let failure = cases[4]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("NotRecovered"));
    // The whole document's counts add the trials too.
    assert_eq!(doc.root_element().attribute("tests"), Some("14"));
    assert_eq!(doc.root_element().attribute("failures"), Some("3"));
}

#[test]
fn the_timeline_draws_every_trial() {
    let day = three_trials(None);
    let l = timeline::layout(&day);
    let rows = &l.groups[1].rows;
    let names: Vec<String> = rows.iter().map(|r| r.label()).collect();
    assert_eq!(
        names,
        [
            "prod/web-1 (trial 1)",
            "prod/web-2 (trial 1)",
            "prod/web-3 (trial 1)",
            "prod/web-1 (trial 2)",
            "prod/web-2 (trial 2)",
            "prod/web-3 (trial 2)",
            "prod/web-1 (trial 3)",
            "prod/web-2 (trial 3)",
            "prod/web-3 (trial 3)",
        ]
    );
    // The probes (the last trial's documents') are drawn under the last trial's rows only.
    assert_eq!(
        rows.iter().map(|r| r.probed).collect::<Vec<_>>(),
        [false, false, false, false, false, false, true, true, true]
    );
    // Each earlier trial from its own start; the last from the documents' DELETEs.
    let start = |i: usize| rows[i].segments.as_ref().unwrap()[0].1;
    assert_eq!(
        (start(0), start(3), start(6), start(7)),
        (10_000, 20_000, 0, 15)
    );
    assert_eq!(rows[4].outcome, "Ready 4.78s");
    assert!(rows.iter().all(|r| r.ok));
    // The axis reaches the last trial drawn.
    assert!(l.span_ms >= 20_000 + 4_780, "{}", l.span_ms);
    let svg = timeline::svg(&day, &[]);
    assert!(svg.contains("prod/web-2 (trial 2)"), "{svg}");
}
