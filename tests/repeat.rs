//! `--repeat N` and `--baseline FILE`: the real binary against the real API server and the
//! simulated KubeVirt (boot times staged with the simulator's boot-delay knob).

mod common;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Output, Stdio},
    time::Duration,
};

use common::{json, stderr, Env};
use serde_json::Value;
use testenv::knobs::{BOOT_DELAY, NEVER_READY, START_FAILURE};

const FAST: &str = "300ms";
const SLOW: &str = "5s";

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Nearest rank, as the README defines it.
fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[test]
fn three_trials_of_a_fleet_give_per_target_statistics_in_every_output() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat");
    env.vm(&ns, "web-a", "Always", &[(BOOT_DELAY, FAST)]);
    env.vm(&ns, "web-b", "Always", &[(BOOT_DELAY, FAST)]);
    let set = env.running_replica_set(&ns, "rs", 2, &[(BOOT_DELAY, FAST)]);
    let replica = set[0].name.clone();
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("reports");
    let out = env.outage(
        &ns,
        "web-a",
        &[
            "web-b",
            &replica,
            "--duration",
            "1s",
            "--repeat",
            "3",
            "--interval",
            "1s",
            "--probe",
            "vmi:tcp:2222",
            "--report",
            report_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 0, "{doc:#}");
    let trials = doc["trials"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(trials.len(), 3, "{doc:#}");
    // Per subject, every trial's time to Ready (a replica set's VMIs are one subject).
    let mut ready: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut replicas = Vec::new();
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(t["trial"], i + 1);
        assert_eq!(t["exitCode"], 0, "{t:#}");
        let targets = t["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 3, "{t:#}");
        for x in targets {
            assert_eq!(x["recovered"], true, "{x:#}");
            let key = match x["replicaSet"].as_str() {
                Some(set) => {
                    replicas.push(x["target"]["name"].as_str().unwrap().to_string());
                    format!("replicaSet/{set}")
                }
                None => format!("vmi/{}", x["target"]["name"].as_str().unwrap()),
            };
            ready
                .entry(key)
                .or_default()
                .push(x["timings"]["readyMs"].as_u64().unwrap());
        }
    }
    // Each trial hit the VMI the previous one left: the set's replacement, by its new name.
    assert_eq!(replicas[0], replica);
    assert_ne!(replicas[1], replicas[0], "{doc:#}");
    assert_ne!(replicas[2], replicas[1], "{doc:#}");
    let stats = doc["statistics"].as_array().unwrap();
    assert_eq!(stats.len(), 3, "{doc:#}");
    for s in stats {
        let key = format!(
            "{}/{}",
            s["kind"].as_str().unwrap(),
            s["name"].as_str().unwrap()
        );
        let mut values = ready
            .remove(&key)
            .unwrap_or_else(|| panic!("{key}: {doc:#}"));
        values.sort_unstable();
        assert_eq!(
            (s["hits"].as_u64(), s["recovered"].as_u64()),
            (Some(3), Some(3))
        );
        let r = &s["ready"];
        assert_eq!(r["count"], 3, "{key}");
        assert_eq!(r["minMs"].as_u64(), Some(values[0]), "{key}");
        assert_eq!(
            r["p50Ms"].as_u64(),
            Some(nearest_rank(&values, 0.5)),
            "{key}"
        );
        assert_eq!(
            r["p95Ms"].as_u64(),
            Some(nearest_rank(&values, 0.95)),
            "{key}"
        );
        assert_eq!(r["maxMs"].as_u64(), Some(values[2]), "{key}");
        for figure in ["gone", "running", "userDowntime"] {
            assert_eq!(s[figure]["count"], 3, "{key} {figure}");
        }
        // Each hit's user downtime is the longest of its probes' (one here).
        let mut down: Vec<u64> = trials
            .iter()
            .flat_map(|t| t["targets"].as_array().unwrap())
            .filter(|x| match s["kind"].as_str() {
                Some("replicaSet") => x["replicaSet"] == s["name"],
                _ => x["replicaSet"].is_null() && x["target"]["name"] == s["name"],
            })
            .map(|x| x["userDowntimeMs"].as_u64().unwrap())
            .collect();
        down.sort_unstable();
        assert_eq!(
            s["userDowntime"]["maxMs"].as_u64(),
            down.last().copied(),
            "{key}"
        );
        assert_eq!(
            s["userDowntime"]["p50Ms"].as_u64(),
            Some(nearest_rank(&down, 0.5)),
            "{key}"
        );
    }
    // The last trial's targets are today's documents' targets, still valid for old readers.
    assert_eq!(doc["aggregates"]["recovered"], 3, "{doc:#}");
    for name in ["web-a", "web-b"] {
        assert!(env.is_ready(&ns, name), "{name}");
    }

    let day: Value = serde_json::from_str(&read(&report_dir, "report.json")).unwrap();
    let fleet = &day["steps"][0]["fleet"];
    assert_eq!(fleet["trials"].as_array().map(Vec::len), Some(3), "{day:#}");
    assert_eq!(fleet["statistics"], doc["statistics"]);
    // junit.xml: a testcase per target per trial, every one passed.
    let junit = read(&report_dir, "junit.xml");
    let xml = roxmltree::Document::parse(&junit).expect("junit.xml is well-formed XML");
    let cases: Vec<&str> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    for n in 1..=3 {
        let in_trial = cases
            .iter()
            .filter(|c| c.ends_with(&format!(" (trial {n})")))
            .count();
        assert_eq!(in_trial, 3, "trial {n}: {cases:?}\n{junit}");
    }
    assert!(!junit.contains("<failure"), "{junit}");
    let svg = read(&report_dir, "timeline.svg");
    for n in 1..=3 {
        assert!(
            svg.contains(&format!("{ns}/web-a (trial {n})")),
            "trial {n} drawn"
        );
    }
    for file in ["report.md", "report.html"] {
        let text = read(&report_dir, file);
        assert!(text.contains("3 trial(s)"), "{file}: {text}");
        assert!(
            text.contains("per target over the trials"),
            "{file}: {text}"
        );
        assert!(text.contains(&format!("{ns}/vmirs/rs")), "{file}: {text}");
    }
}

#[test]
fn a_baseline_passes_regresses_on_slower_boots_and_lists_new_and_gone_targets() {
    let env = env_or_skip!();
    let ns = env.namespace("baseline");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    env.vm(&ns, "old", "Always", &[(BOOT_DELAY, FAST)]);
    env.vm(&ns, "new", "Always", &[(BOOT_DELAY, FAST)]);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    // A: fast boots, a fleet's -o json document.
    let a = env.outage(&ns, "db", &["old", "--duration", "1s"]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    std::fs::write(path("a.json"), &a.stdout).unwrap();

    // B: db boots slower: a regression (exit 1), named in every output; old is not hit.
    env.annotate_template(&ns, "db", BOOT_DELAY, SLOW);
    let b = env.run(&[
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "--duration",
        "1s",
        "--baseline",
        &path("a.json"),
        "--max-regression",
        "20%",
        "--report",
        &path("b"),
    ]);
    let text = String::from_utf8_lossy(&b.stdout).into_owned();
    assert_eq!(b.status.code(), Some(1), "{text}\n{}", stderr(&b));
    assert!(text.contains("REGRESSION"), "{text}");
    assert!(text.contains(&format!("{ns}/db")), "{text}");
    assert!(
        text.contains(&format!("not in this run (in the baseline): {ns}/old")),
        "{text}"
    );
    let day: Value = serde_json::from_str(&read(&dir.path().join("b"), "report.json")).unwrap();
    assert_eq!(day["exitCode"], 1, "{day:#}");
    let comparison = &day["steps"][0]["fleet"]["baseline"];
    let regressions = comparison["regressions"].as_array().unwrap();
    assert!(
        regressions
            .iter()
            .any(|r| r["name"] == "db" && r["figure"] == "ready" && r["kind"] == "vmi"),
        "{comparison:#}"
    );
    assert_eq!(comparison["gone"][0]["name"], "old", "{comparison:#}");
    assert!(
        day["verdict"].as_str().unwrap().contains("REGRESSION"),
        "{day:#}"
    );
    let junit = read(&dir.path().join("b"), "junit.xml");
    assert!(junit.contains("type=\"Regression\""), "{junit}");
    for file in ["report.md", "report.html"] {
        let text = read(&dir.path().join("b"), file);
        assert!(text.contains("REGRESSION"), "{file}: {text}");
    }
    assert!(
        env.is_ready(&ns, "db"),
        "the regression changes no recovery"
    );

    // C: fast again, against B's report.json (a game day): faster passes; new and gone are
    // listed, not failed.
    env.annotate_template(&ns, "db", BOOT_DELAY, FAST);
    let c = env.outage(
        &ns,
        "db",
        &[
            "new",
            "--duration",
            "1s",
            "--baseline",
            &path("b/report.json"),
        ],
    );
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let doc = json(&c);
    let comparison = &doc["baseline"];
    assert_eq!(comparison["regressions"], serde_json::json!([]), "{doc:#}");
    assert_eq!(comparison["new"][0]["name"], "new", "{comparison:#}");
    let db = &comparison["targets"][0];
    assert_eq!(db["name"], "db", "{comparison:#}");
    let ready = db["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["figure"] == "ready")
        .unwrap_or_else(|| panic!("{comparison:#}"));
    assert!(ready["changePercent"].as_f64().unwrap() < 0.0, "{ready:#}");
    assert!(
        ready["baselineMs"].as_u64() > ready["currentMs"].as_u64(),
        "{ready:#}"
    );
}

#[test]
fn a_bad_baseline_or_repeat_changes_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("badbaseline");
    let uid = env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.json");
    std::fs::write(&pod, r#"{"kind": "Pod", "metadata": {"name": "x"}}"#).unwrap();
    let missing = dir.path().join("missing.json");
    for (extra, words) in [
        (
            vec!["--baseline", pod.to_str().unwrap()],
            "is not a baseline",
        ),
        (
            vec!["--baseline", missing.to_str().unwrap()],
            "cannot read the baseline",
        ),
        (vec!["--repeat", "0"], "--repeat"),
        (vec!["--repeat", "100000"], "--repeat"),
        (
            vec!["--baseline", pod.to_str().unwrap(), "--max-regression=-5"],
            "--max-regression",
        ),
        (
            vec![
                "--baseline",
                pod.to_str().unwrap(),
                "--max-regression",
                "5000x",
            ],
            "not a percentage",
        ),
        (vec!["--max-regression", "20"], "--baseline"),
        (vec!["--interval", "1s"], "--interval"),
        (
            vec!["--repeat", "2", "--interval", "8d"],
            "longest duration allowed",
        ),
    ] {
        let out = env.outage(&ns, "db", &extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{extra:?}: {}", stderr(&out));
    }
    assert_eq!(
        env.uid(&ns, "db").as_deref(),
        Some(uid.as_str()),
        "nothing was deleted"
    );
}

/// Runs the tool with `args` and calls `at` on each progress line until it returns true; then
/// lets it finish. Returns its output and the progress lines after that moment.
fn run_until(env: &Env, args: &[&str], at: impl FnMut(&str) -> bool) -> (Output, String) {
    run_until_then(env, args, at, None)
}

/// As [`run_until`], sending `signal` (`-INT`, `-TERM`) to the tool at that moment.
fn run_until_then(
    env: &Env,
    args: &[&str],
    mut at: impl FnMut(&str) -> bool,
    signal: Option<&str>,
) -> (Output, String) {
    let mut child = env
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if at(&line.unwrap()) {
            break;
        }
    }
    if let Some(signal) = signal {
        kill(child.id(), signal);
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    (child.wait_with_output().unwrap(), rest.join("\n"))
}

fn kill(out_pid: u32, signal: &str) {
    std::process::Command::new("kill")
        .args([signal, &out_pid.to_string()])
        .status()
        .unwrap();
}

#[test]
fn ctrl_c_between_trials_ends_the_repetition_with_the_trials_so_far() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat-sigint");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let args = [
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "1s",
        "--repeat",
        "3",
        "--interval",
        "10m",
    ];
    let (out, rest) = run_until_then(
        &env,
        &args,
        |line| line.contains("trial 2 of 3: waiting"),
        Some("-INT"),
    );
    assert_eq!(out.status.code(), Some(130), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["interrupted"], true, "{doc:#}");
    assert_eq!(doc["trials"].as_array().map(Vec::len), Some(1), "{doc:#}");
    assert_eq!(doc["stopped"]["reason"], "signal", "{doc:#}");
    assert!(
        doc["verdict"].as_str().unwrap().starts_with("INTERRUPTED"),
        "{doc:#}"
    );
    assert_eq!(doc["statistics"][0]["hits"], 1, "{doc:#}");
    assert!(env.is_ready(&ns, "db"));
}

#[test]
fn sigterm_during_a_trial_recovers_it_and_keeps_the_earlier_trials() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat-sigterm");
    let first = env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let args = [
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "1s",
        "--repeat",
        "3",
    ];
    let mut gone = 0;
    let (out, rest) = run_until_then(
        &env,
        &args,
        |line| {
            if line.contains("trial 2 of 3: waiting") {
                // Trial 2's VMI boots slowly: the signal comes while it is down.
                env.annotate_template(&ns, "db", BOOT_DELAY, "6s");
            }
            if line.contains("old VMI gone") {
                gone += 1;
            }
            gone == 2
        },
        Some("-TERM"),
    );
    assert_eq!(out.status.code(), Some(143), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["interrupted"], true, "{doc:#}");
    let trials = doc["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2, "{doc:#}");
    assert_eq!(trials[0]["exitCode"], 0, "{doc:#}");
    assert_eq!(trials[1]["exitCode"], 143, "{doc:#}");
    let now = env.wait_ready(&ns, "db", Some(&first), Duration::from_secs(60));
    assert_ne!(now, first);
}

#[test]
fn kubevirt_start_back_off_between_trials_is_warned_and_waited_for() {
    let env = env_or_skip!();
    if !env.simulated_only("the start back-off is staged with the simulator's start-failure knob") {
        return;
    }
    let ns = env.namespace("repeat-backoff");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let args = [
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "1s",
        "--repeat",
        "2",
        "--interval",
        "2s",
    ];
    let (out, rest) = run_until(&env, &args, |line| {
        if line.contains("trial 2 of 2: waiting") {
            // Its VMIs failed before Running (staged): KubeVirt holds the next one back 6s.
            env.annotate_vm(&ns, "db", START_FAILURE, "2,6s");
            let deleted = env.kubectl(&["delete", "vmi", "db", "-n", &ns, "--wait=false"]);
            assert!(deleted.status.success(), "{}", stderr(&deleted));
            return true;
        }
        false
    });
    assert_eq!(out.status.code(), Some(0), "{rest}");
    assert!(rest.contains("start back-off is in play for VM"), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["trials"].as_array().map(Vec::len), Some(2), "{doc:#}");
    let b = &doc["backOff"][0];
    assert_eq!(
        (b["vm"].as_str(), b["afterTrial"].as_u64()),
        (Some("db"), Some(1)),
        "{doc:#}"
    );
    assert_eq!(b["consecutiveFailCount"], 2, "{doc:#}");
}

#[test]
fn run_f_repeats_each_step_and_judges_the_game_day_against_a_baseline() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat-run");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    env.vm(&ns, "web", "Always", &[(BOOT_DELAY, FAST)]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("day.yaml");
    std::fs::write(
        &file,
        format!(
            "scenarios:\n  - name: db\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db\n      namespace: {ns}\n  - name: web\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: web\n      namespace: {ns}\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let first = dir.path().join("first");
    let out = env.run(&[
        "run",
        "-f",
        file,
        "--yes",
        "-o",
        "json",
        "--repeat",
        "2",
        "--interval",
        "1s",
        "--report",
        first.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let day = json(&out);
    for (i, name) in ["db", "web"].iter().enumerate() {
        let fleet = &day["steps"][i]["fleet"];
        assert_eq!(fleet["trials"].as_array().map(Vec::len), Some(2), "{day:#}");
        assert_eq!(fleet["statistics"][0]["name"], *name, "{day:#}");
        assert_eq!(fleet["statistics"][0]["hits"], 2, "{day:#}");
    }
    env.annotate_template(&ns, "web", BOOT_DELAY, SLOW);
    let second = dir.path().join("second");
    let baseline = first.join("report.json");
    let out = env.run(&[
        "run",
        "-f",
        file,
        "--yes",
        "-o",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
        "--report",
        second.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let day = json(&out);
    let regressions = day["baseline"]["regressions"].as_array().unwrap();
    assert_eq!(regressions.len(), 1, "{day:#}");
    assert_eq!(
        (
            regressions[0]["name"].as_str(),
            regressions[0]["figure"].as_str()
        ),
        (Some("web"), Some("ready")),
        "{day:#}"
    );
    assert!(
        day["verdict"].as_str().unwrap().contains("REGRESSION"),
        "{day:#}"
    );
    let junit = read(&second, "junit.xml");
    assert!(
        junit.contains("<testsuite name=\"baseline\" tests=\"1\" failures=\"1\""),
        "{junit}"
    );
    assert!(read(&second, "report.md").contains("REGRESSION"));
    env.annotate_template(&ns, "web", BOOT_DELAY, FAST);
}

#[test]
fn a_target_not_ready_again_between_trials_ends_the_repetition_with_exit_1() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat-unready");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let args = [
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "1s",
        "--timeout",
        "3s",
        "--repeat",
        "3",
        "--interval",
        "2s",
    ];
    let (out, rest) = run_until(&env, &args, |line| {
        if line.contains("trial 2 of 3: waiting") {
            // Something else takes db down, and its next VMI never gets Ready.
            env.annotate_template(&ns, "db", NEVER_READY, "true");
            let deleted = env.kubectl(&["delete", "vmi", "db", "-n", &ns, "--wait=false"]);
            assert!(deleted.status.success(), "{}", stderr(&deleted));
            return true;
        }
        false
    });
    assert_eq!(out.status.code(), Some(1), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["trials"].as_array().map(Vec::len), Some(1), "{doc:#}");
    assert_eq!(doc["trials"][0]["exitCode"], 0, "{doc:#}");
    assert_eq!(doc["stopped"]["reason"], "notReadyAgain", "{doc:#}");
    assert!(
        doc["verdict"]
            .as_str()
            .unwrap()
            .starts_with("NOT RECOVERED"),
        "{doc:#}"
    );
    assert_eq!(doc["stopped"]["target"], format!("{ns}/db"), "{doc:#}");
    assert!(
        rest.contains("was not Running and Ready within --timeout 3s"),
        "{rest}"
    );
}

#[test]
fn each_trial_can_crash_the_targets_instead_of_deleting_them() {
    let env = env_or_skip!();
    let ns = env.namespace("repeat-crash");
    env.vm(&ns, "db", "Always", &[(BOOT_DELAY, FAST)]);
    let out = env.outage(
        &ns,
        "db",
        &["--fault", "crash", "--duration", "2s", "--repeat", "2"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["fault"], "crash", "{doc:#}");
    assert_eq!(doc["trials"].as_array().map(Vec::len), Some(2), "{doc:#}");
    assert_eq!(doc["statistics"][0]["recovered"], 2, "{doc:#}");
    assert!(env.is_ready(&ns, "db"));
}
