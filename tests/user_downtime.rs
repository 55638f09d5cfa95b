//! Downtime as users see it: `outage --probe` against the simulated guests and their stable
//! front addresses (like a Service), steady state before the delete, abort conditions. The real
//! binary, the real API server, the simulator's guest network.

mod common;

use std::time::{Duration, Instant};

use common::{json, stderr, Env};
use serde_json::Value;
use testenv::knobs;

/// The VM's stable front address (the simulator writes it on the VM).
fn front(env: &Env, ns: &str, vm: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = env.kubectl(&[
            "get",
            "vm",
            vm,
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.annotations.sim\\.vmchaos\\.dev/front-address}",
        ]);
        let ip = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !ip.is_empty() {
            return ip;
        }
        assert!(Instant::now() < deadline, "no front address on {ns}/{vm}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until something answers at `address` (a guest boots after its VMI is Ready).
fn wait_serving(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect_timeout(
        &address.parse().unwrap(),
        Duration::from_millis(200),
    )
    .is_err()
    {
        assert!(Instant::now() < deadline, "nothing serves at {address}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn probe(doc: &Value, i: usize) -> &Value {
    &doc["probes"][i]
}

#[test]
fn a_front_probe_measures_what_users_saw_over_always_and_manual_vms() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-front");
    for (vm, strategy, duration) in [("auto", "Always", "1m"), ("manual", "Manual", "2s")] {
        env.vm(&ns, vm, strategy, &[]);
        let address = front(&env, &ns, vm);
        let spec = format!("tcp://{address}:2222");
        let out = env.outage(
            &ns,
            vm,
            &[
                "--duration",
                duration,
                "--probe",
                &spec,
                "--probe-interval",
                "100ms",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{vm}: {}", stderr(&out));
        let doc = json(&out);
        let p = probe(&doc, 0);
        assert_eq!(p["probe"], spec.as_str(), "{doc:#}");
        let down = p["downtimeMs"].as_u64().expect("the probe saw the outage");
        assert!(p["failedAttempts"].as_u64().unwrap() >= 1, "{doc:#}");
        assert_eq!(p["stillFailing"], false, "{doc:#}");
        // Users could not be served before the new VMI was Ready (and its guest booted).
        let ready = doc["timings"]["readyMs"].as_u64().unwrap();
        assert!(
            down + 300 >= ready,
            "{vm}: down {down} ms, Ready after {ready} ms"
        );
        if strategy == "Manual" {
            assert!(down >= 2000, "kept down for --duration: {down} ms");
        }
        assert!(p["readyToSuccessMs"].is_u64(), "{doc:#}");
        assert!(
            doc["verdict"]
                .as_str()
                .unwrap()
                .contains("users served again"),
            "{doc:#}"
        );
        assert!(stderr(&out).contains("Probes"), "{}", stderr(&out));
    }
}

#[test]
fn a_guest_that_boots_late_keeps_the_outage_open_until_users_are_served() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-late");
    env.vm(&ns, "late", "Always", &[(knobs::GUEST_BOOT_DELAY, "3s")]);
    let address = front(&env, &ns, "late");
    wait_serving(&format!("{address}:8080"));
    let out = env.outage(
        &ns,
        "late",
        &["--probe", &format!("http://{address}:8080/")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let gap = probe(&doc, 0)["readyToSuccessMs"].as_u64().unwrap();
    assert!(gap >= 2500, "Ready → served {gap} ms");
}

#[test]
fn a_vmi_probe_follows_the_replacement_to_its_new_address() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-vmi");
    env.vm(&ns, "db", "Always", &[]);
    let out = env.outage(&ns, "db", &["--probe", "vmi:tcp:2222"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_ne!(doc["before"]["ip"], doc["after"]["ip"], "{doc:#}");
    assert!(probe(&doc, 0)["downtimeMs"].is_u64(), "{doc:#}");
}

#[test]
fn a_probe_that_fails_before_the_run_changes_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-steady");
    let uid = env.vm(&ns, "db", "Always", &[]);
    // Nothing listens there: refused at once.
    let out = env.outage(&ns, "db", &["--probe", "tcp://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not steady"), "{err}");
    assert!(err.contains("tcp://127.0.0.1:9"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
}

#[test]
fn an_abort_condition_in_a_fleet_recovers_everything_and_exits_1() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-abort");
    let a = env.vm(&ns, "a", "Manual", &[]);
    let b = env.vm(&ns, "b", "Manual", &[]);
    // Something that must stay up, which this very outage takes down: a's front.
    let guard = format!("tcp://{}:2222,for=500ms", front(&env, &ns, "a"));
    let started = Instant::now();
    let out = env.outage(&ns, "a", &["b", "--duration", "10m", "--abort-if", &guard]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "did not stop at once"
    );
    let doc = json(&out);
    // The rule that fired, said once (not "ABORTED (aborted: …"), and as data.
    let targets = doc["targets"].to_string();
    assert!(targets.contains("ABORTED (tcp://"), "{doc:#}");
    assert!(!targets.contains("aborted: tcp://"), "{doc:#}");
    let aborted = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["outcome"]["kind"] == "aborted");
    let aborted = aborted.unwrap_or_else(|| panic!("no target with outcome kind aborted: {doc:#}"));
    assert_eq!(aborted["outcome"]["cause"], "probeDown", "{doc:#}");
    for (vm, old) in [("a", &a), ("b", &b)] {
        let now = env.wait_ready(&ns, vm, Some(old), Duration::from_secs(60));
        assert_ne!(&now, old, "{vm} recovered by the tool");
    }
}

#[test]
fn an_outage_writes_its_game_day_report_with_a_probe_track() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-report");
    env.vm(&ns, "db", "Always", &[]);
    env.vm(&ns, "web", "Manual", &[]);
    let address = front(&env, &ns, "db");
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("tcp://{address}:2222");
    let out = env.outage(
        &ns,
        "db",
        &[
            "web",
            "--duration",
            "1s",
            "--probe",
            &spec,
            "--report",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in [
        "report.json",
        "junit.xml",
        "report.md",
        "timeline.svg",
        "report.html",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 2, "{junit}");
    let svg = std::fs::read_to_string(dir.path().join("timeline.svg")).unwrap();
    assert!(
        svg.contains(&spec),
        "the probe has its track in the timeline"
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("<svg"),
        "the timeline is embedded in the HTML"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains(&format!("{ns}/web")), "{md}");
}

#[test]
fn abort_if_unready_stops_when_a_bystander_goes_down() {
    let env = env_or_skip!();
    let ns = env.namespace("probe-unready");
    let a = env.vm(&ns, "target", "Manual", &[]);
    env.vm(&ns, "bystander", "Manual", &[]);
    let mut child = env
        .command(&[
            "outage",
            "target",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "10m",
            "--abort-if",
            "unready=0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr_pipe));
    for line in lines.by_ref() {
        if line.unwrap().contains("old VMI gone") {
            break;
        }
    }
    // Something the experiment must not break breaks: another VMI in scope goes down.
    env.delete_and_wait(&ns, "bystander");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", rest.join("\n"));
    let doc = json(&out);
    assert!(
        doc["verdict"]
            .as_str()
            .unwrap()
            .contains("ABORTED (1 other VMI is not Ready"),
        "{doc:#}"
    );
    assert_eq!(doc["outcome"]["kind"], "aborted", "{doc:#}");
    assert_eq!(doc["outcome"]["cause"], "unready", "{doc:#}");
    // The target was brought back at once, not after --duration.
    let now = env.wait_ready(&ns, "target", Some(&a), Duration::from_secs(60));
    assert_ne!(now, a);
}
