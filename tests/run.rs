//! `run -f`: Kraken's files end to end, the real binary against a real kube-apiserver with
//! KubeVirt's CRDs and the simulated KubeVirt (crates/testenv, crates/kubevirt-sim).

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::Stdio,
    time::Duration,
};

use common::{json, stderr};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The seed's combined file, names filled in.
fn seed_combined(ns: &str) -> String {
    format!(
        r#"scenarios:
  - name: "node outage with vm recovery test"
    scenario: node_stop_start_scenario
    parameters:
      # Node scenario parameters

  - name: "vm outage during node recovery"
    scenario: kubevirt_vm_outage
    parameters:
      vm_name: critical-vm
      namespace: {ns}
      duration: 120
"#
    )
}

#[test]
fn the_seeds_combined_file_refuses_then_skips_the_node_scenario() {
    let env = env_or_skip!();
    let ns = env.namespace("seed");
    let uid = env.vm(&ns, "critical-vm", "Always", &[]);
    let other = env.vm(&ns, "critical-vm-10", "Always", &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "seed.yaml", &seed_combined(&ns));

    let out = env.run(&["run", "-f", &file, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("node_stop_start_scenario \"node outage with vm recovery test\"")
            && err.contains("seed.yaml line 2")
            && err.contains("--skip-unsupported"),
        "{err}"
    );
    assert_eq!(env.uid(&ns, "critical-vm").as_deref(), Some(uid.as_str()));

    let report = dir.path().join("report");
    let out = env.run(&[
        "run",
        "-f",
        &file,
        "--skip-unsupported",
        "--yes",
        "-o",
        "json",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 0, "{doc:#}");
    assert_eq!(doc["steps"][0]["status"], "skipped");
    assert_eq!(doc["steps"][0]["scenario"], "node_stop_start_scenario");
    let step = &doc["steps"][1];
    assert_eq!(step["status"], "ran");
    assert_eq!(step["line"], 7);
    let targets = step["fleet"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc:#}");
    assert_eq!(targets[0]["target"]["name"], "critical-vm");
    assert_eq!(targets[0]["recovered"], true);
    assert_eq!(targets[0]["recovery"], "automatic");
    let notes = step["fleet"]["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "Kraken's prefix match would also have picked {ns}/critical-vm-10"
        )),
        "{notes}"
    );
    // A new VMI now, and the prefix match's extra VMI untouched.
    assert_ne!(env.uid(&ns, "critical-vm").as_deref(), Some(uid.as_str()));
    assert!(env.is_ready(&ns, "critical-vm"));
    assert_eq!(
        env.uid(&ns, "critical-vm-10").as_deref(),
        Some(other.as_str())
    );
    for name in [
        "report.json",
        "junit.xml",
        "report.md",
        "timeline.svg",
        "report.html",
    ] {
        assert!(report.join(name).is_file(), "{name} missing");
    }
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let case = xml
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("critical-vm"))
        .expect("a testcase for the VMI");
    assert_eq!(case.attribute("classname"), Some(ns.as_str()));
    assert!(case.children().all(|n| !n.has_tag_name("failure")));
}

#[test]
fn a_failed_step_stops_the_rest_unless_continue_on_failure() {
    let env = env_or_skip!();
    let ns = env.namespace("steps");
    env.vm(&ns, "sick", "Always", &[]);
    env.annotate_template(&ns, "sick", testenv::knobs::NEVER_READY, "true");
    let web = env.vm(&ns, "web", "Always", &[]);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "scenarios:\n  - name: sick first\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: sick\n      namespace: {ns}\n      timeout: 2\n  - name: then web\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: web\n      namespace: {ns}\n"
    );
    let file = write(dir.path(), "steps.yaml", &text);
    let out = env.run(&["run", "-f", &file, "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["steps"][0]["fleet"]["targets"][0]["recovered"], false);
    assert_eq!(doc["steps"][1]["status"], "not-run");
    assert!(doc["steps"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("--continue-on-failure"));
    assert_eq!(env.uid(&ns, "web").as_deref(), Some(web.as_str()));

    // Now sick runs but is not Ready: the next game day refuses it before anything changes,
    // rather than blaming its outage for it.
    let out = env.run(&["run", "-f", &file, "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{ns}/sick: the VMI is Running but not Ready")),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&out)["changed"], false);
    assert_eq!(env.uid(&ns, "web").as_deref(), Some(web.as_str()));

    // The same steps from stdin, on fresh VMs, going on after the failure.
    let ns = env.namespace("steps");
    env.vm(&ns, "sick", "Always", &[]);
    env.annotate_template(&ns, "sick", testenv::knobs::NEVER_READY, "true");
    let web = env.vm(&ns, "web", "Always", &[]);
    let text = format!(
        "scenarios:\n  - name: sick first\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: sick\n      namespace: {ns}\n      timeout: 2\n  - name: then web\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: web\n      namespace: {ns}\n"
    );
    let mut child = env
        .command(&[
            "run",
            "-f",
            "-",
            "--yes",
            "-o",
            "json",
            "--continue-on-failure",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["steps"][1]["status"], "ran", "{doc:#}");
    assert_eq!(doc["steps"][1]["fleet"]["targets"][0]["recovered"], true);
    assert_ne!(env.uid(&ns, "web").as_deref(), Some(web.as_str()));
}

#[test]
fn kill_count_hits_distinct_vmis_and_nothing_matching_is_an_error() {
    let env = env_or_skip!();
    let ns = env.namespace("kill");
    let uids: Vec<String> = ["db-0", "db-1", "db-2"]
        .iter()
        .map(|n| env.vm(&ns, n, "Always", &[]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let nothing = write(
        dir.path(),
        "nothing.yaml",
        &format!("scenarios:\n  - name: typo\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db\n      namespace: {ns}\n"),
    );
    let out = env.run(&["run", "-f", &nothing, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("step \"typo\"")
            && err.contains("line 2) matches no running VMI: vm_name db")
            && err.contains("Kraken passes when nothing matches"),
        "{err}"
    );
    let file = write(
        dir.path(),
        "kill.yaml",
        &format!("scenarios:\n  - name: two dbs\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-[0-9]\n      namespace: {ns}\n      kill_count: 2\n"),
    );
    // A dry run shows the picks; the real run with the same seed hits the same VMIs. It
    // writes no reports.
    let reports = dir.path().join("dry-reports");
    let out = env.run(&[
        "run",
        "-f",
        &file,
        "--dry-run",
        "--seed",
        "42",
        "-o",
        "json",
        "--report",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!reports.exists(), "a dry run writes nothing");
    assert!(
        stderr(&out).contains("dry run: no reports will be written"),
        "{}",
        stderr(&out)
    );
    let dry = json(&out);
    let picked = |doc: &serde_json::Value| -> Vec<String> {
        doc["steps"][0]["fleet"]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["target"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(picked(&dry).len(), 2);
    assert!(dry["verdict"].as_str().unwrap().starts_with("DRY RUN"));
    for (name, uid) in ["db-0", "db-1", "db-2"].iter().zip(&uids) {
        assert_eq!(env.uid(&ns, name).as_deref(), Some(uid.as_str()));
    }
    let out = env.run(&["run", "-f", &file, "--seed", "42", "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(picked(&doc), picked(&dry));
    let changed: Vec<&str> = ["db-0", "db-1", "db-2"]
        .iter()
        .zip(&uids)
        .filter(|(name, uid)| env.uid(&ns, name).as_deref() != Some(uid.as_str()))
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(changed, picked(&doc));
}

/// The real binary with nothing to reach: file problems are found before any connection.
fn offline(home: &Path, args: &[&str]) -> std::process::Output {
    offline_command(home, args).output().unwrap()
}

fn offline_command(home: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", home.join("missing-kubeconfig"))
        .args(args);
    cmd
}

/// `-f` reads regular files and stdin only, at most 1 MiB of either: a device, a FIFO or an
/// endless pipe is refused at once (exit 2, before any connection), and Ctrl-C ends a read
/// that waits (exit 130). With `-o json` the failure is the error document on stdout.
#[test]
fn input_is_bounded_and_ctrl_c_stops_a_waiting_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline(dir.path(), &["run", "-f", "/dev/zero", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: /dev/zero: is not a regular file but a character device"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("-f -"), "{err}");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = offline(dir.path(), &["run", "-f", fifo.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a regular file but a FIFO"),
        "{}",
        stderr(&out)
    );
    // An endless stdin stops at the bound, at once.
    let started = std::time::Instant::now();
    let out = offline_command(dir.path(), &["run", "-f", "-", "--yes", "-o", "json"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: -: holds more than 1 MiB: not a scenario file"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 2);
    assert_eq!(doc["changed"], false);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("holds more than 1 MiB"),
        "{doc:#}"
    );
    assert!(doc["hint"].is_string(), "{doc:#}");
    // A stdin nobody writes to: Ctrl-C ends the wait, nothing changed.
    let mut child = offline_command(dir.path(), &["run", "-f", "-", "--yes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _writer = child.stdin.take();
    std::thread::sleep(Duration::from_millis(1000));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "Ctrl-C did not stop the read"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted: nothing was changed"),
        "{}",
        stderr(&out)
    );
}

/// `--report DIR` is checked before anything else: not a folder, not creatable, or holding an
/// earlier run's reports (without --overwrite) is exit 2 with the error document.
#[test]
fn a_report_folder_that_cannot_take_the_reports_stops_before_anything() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kraken");
    let file = fixtures.join("multi-vm.yaml");
    let file = file.to_str().unwrap();
    let plain = write(dir.path(), "plain.txt", "not a folder");
    let below = format!("{plain}/reports");
    for (report, want) in [
        (plain.as_str(), "it exists and is not a folder"),
        (
            below.as_str(),
            "it cannot be used as a folder: Not a directory",
        ),
    ] {
        let out = offline(
            dir.path(),
            &["run", "-f", file, "--yes", "--report", report, "-o", "json"],
        );
        assert_eq!(out.status.code(), Some(2), "{report}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("error: --report {report}: {want}")),
            "{err}"
        );
        assert!(
            !err.contains("kubeconfig"),
            "checked before the cluster: {err}"
        );
        assert_eq!(json(&out)["exitCode"], 2);
    }
    let earlier = dir.path().join("earlier");
    std::fs::create_dir(&earlier).unwrap();
    std::fs::write(earlier.join("junit.xml"), "<testsuites/>").unwrap();
    let out = offline(
        dir.path(),
        &[
            "run",
            "-f",
            file,
            "--yes",
            "--report",
            earlier.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("it already holds junit.xml of an earlier run"),
        "{err}"
    );
    assert!(err.contains("--overwrite"), "{err}");
    assert_eq!(
        std::fs::read_to_string(earlier.join("junit.xml")).unwrap(),
        "<testsuites/>"
    );
    // --overwrite passes the check (and the run goes on to the cluster, which is missing here).
    let out = offline(
        dir.path(),
        &[
            "run",
            "-f",
            file,
            "--yes",
            "--report",
            earlier.to_str().unwrap(),
            "--overwrite",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("--report"), "{}", stderr(&out));
    let out = offline(dir.path(), &["run", "-f", file, "--yes", "--overwrite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--report"), "{}", stderr(&out));
}

#[test]
fn file_problems_stop_before_the_cluster_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kraken");
    let f = |name: &str| fixtures.join(name).to_string_lossy().into_owned();
    let cases = [
        (
            f("kubevirt-vm-outage.yaml"),
            "kubevirt-vm-outage.yaml line 6: vm_name is still the placeholder <vm-name>",
        ),
        (
            f("seed-combined.yaml"),
            "node_stop_start_scenario \"node outage with vm recovery test\"",
        ),
        (
            write(
                dir.path(),
                "typo.yaml",
                "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: a\n      kil_count: 2\n",
            ),
            "typo.yaml line 6: unknown parameter kil_count for kubevirt_vm_outage",
        ),
        (
            write(
                dir.path(),
                "count.yaml",
                "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: a\n      kill_count: -1\n",
            ),
            "count.yaml line 6: kill_count must be a positive integer",
        ),
    ];
    for (file, want) in cases {
        let out = offline(dir.path(), &["run", "-f", &file, "--yes"]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{file}: {err}");
        assert!(
            !err.contains("kubeconfig"),
            "{file}: reached for the cluster: {err}"
        );
    }
    // Kraken's config: the unsupported kinds are listed with the config's line.
    let out = offline(dir.path(), &["run", "-f", &f("config.yaml"), "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hog_scenarios \"scenarios/kube/cpu-hog.yml\"")
            && err.contains("config.yaml line 11"),
        "{err}"
    );
    // No terminal, no --yes: refused before reading anything.
    let out = offline(dir.path(), &["run", "-f", &f("multi-vm.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("add --yes"), "{}", stderr(&out));
}

#[test]
fn label_selectors_are_parsed_by_the_api_server() {
    let env = env_or_skip!();
    let ns = env.namespace("labels");
    let web = env.vm(&ns, "web-a", "Always", &[]);
    let db = env.vm(&ns, "db-a", "Always", &[]);
    let out = env.kubectl(&["label", "vmi", "-n", &ns, "web-a", "tier=web"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!("scenarios:\n  - name: web\n    scenario: kubevirt_vm_outage\n    parameters:\n      namespace: {ns}\n      label_selector: \"tier in (web\"\n"),
    );
    let out = env.run(&["run", "-f", &bad, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("bad.yaml line 6: label_selector tier in (web is not a valid label selector"),
        "{}",
        stderr(&out)
    );
    let good = write(
        dir.path(),
        "good.yaml",
        &format!("scenarios:\n  - name: web\n    scenario: kubevirt_vm_outage\n    parameters:\n      namespace: {ns}\n      label_selector: tier=web\n      kill_count: 5\n"),
    );
    let out = env.run(&["run", "-f", &good, "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let targets = doc["steps"][0]["fleet"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["target"]["name"], "web-a");
    assert_ne!(env.uid(&ns, "web-a").as_deref(), Some(web.as_str()));
    assert_eq!(env.uid(&ns, "db-a").as_deref(), Some(db.as_str()));
}

#[test]
fn disable_auto_restart_keeps_an_always_vm_down_for_the_duration() {
    let env = env_or_skip!();
    let ns = env.namespace("kraken-keep");
    env.vm(&ns, "db-0", "Always", &[]);
    env.vm(&ns, "db-1", "Always", &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "keep.yaml",
        &format!("scenarios:\n  - name: keep down\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-.\n      namespace: {ns}\n      duration: 2\n      kill_count: 2\n      disable_auto_restart: true\n"),
    );
    let out = env.run(&["run", "-f", &file, "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let targets = doc["steps"][0]["fleet"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{doc:#}");
    for t in targets {
        assert_eq!(t["recovered"], true, "{t:#}");
        assert_eq!(t["recovery"], "start", "{t:#}");
        assert!(t["timings"]["createdMs"].as_u64().unwrap() >= 2000, "{t:#}");
        let name = t["target"]["name"].as_str().unwrap();
        assert_eq!(
            env.run_strategy(&ns, name),
            "Always",
            "{name}: runStrategy put back"
        );
    }
}

#[test]
fn ctrl_c_during_a_step_recovers_it_and_stops_the_game_day() {
    let env = env_or_skip!();
    let ns = env.namespace("kraken-sigint");
    let old = env.vm(&ns, "m1", "Manual", &[]);
    let web = env.vm(&ns, "web", "Always", &[]);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let file = write(
        dir.path(),
        "two.yaml",
        &format!("scenarios:\n  - name: long\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: m1\n      namespace: {ns}\n      duration: 600\n  - name: next\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: web\n      namespace: {ns}\n"),
    );
    let mut child = env
        .command(&[
            "run",
            "-f",
            &file,
            "--yes",
            "-o",
            "json",
            "--continue-on-failure",
            "--report",
            report.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("old VMI gone") {
            break;
        }
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", rest.join("\n"));
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 130);
    assert_eq!(doc["steps"][0]["fleet"]["interrupted"], true, "{doc:#}");
    assert_eq!(doc["steps"][1]["status"], "not-run");
    let now = env.wait_ready(&ns, "m1", Some(&old), Duration::from_secs(60));
    assert_ne!(now, old, "m1 is back under a new VMI");
    assert_eq!(env.uid(&ns, "web").as_deref(), Some(web.as_str()));
    assert!(
        report.join("junit.xml").is_file(),
        "reports are written for an interrupted run"
    );
}

/// The README's example files run as they are against the sandbox's `demo` namespace.
#[test]
fn the_shipped_kraken_examples_run_against_the_demo_namespace() {
    let env = env_or_skip!();
    env.cluster().ensure_namespace("demo");
    env.vm("demo", "vm-always", "Always", &[]);
    env.vm("demo", "vm-manual", "Manual", &[]);
    let root = env!("CARGO_MANIFEST_DIR");
    for file in [
        "examples/kraken/scenarios/kubevirt/kubevirt-vm-outage.yaml",
        "examples/kraken/config.yaml",
    ] {
        let path = format!("{root}/{file}");
        let out = env.run(&[
            "run",
            "-f",
            &path,
            "--skip-unsupported",
            "--dry-run",
            "-o",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            text.contains("vm-always") && text.contains("vm-manual"),
            "{file}: {text}"
        );
    }
}
