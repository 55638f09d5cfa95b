//! Service-level checks from a real Prometheus (Debian's), scraping the simulator's
//! `kubevirt_vmi_*` metrics every second: `--probe prom:…`, `--abort-if alert:…`, `--alerts`,
//! and Prometheus unreachable. The real binary, the real API server.

mod common;

use std::{sync::OnceLock, time::Duration};

use common::{json, stderr, Env};
use testenv::{knobs, Prometheus, VMI_NOT_RUNNING_ALERT};

/// One Prometheus for the whole test binary (the watchdog stops it when the binary ends).
fn prometheus(env: &Env) -> Option<&'static Prometheus> {
    static PROMETHEUS: OnceLock<Option<Prometheus>> = OnceLock::new();
    PROMETHEUS
        .get_or_init(|| env.cluster().start_prometheus())
        .as_ref()
}

/// Percent-encodes a PromQL expression for `/api/v1/query?query=`.
fn encode(expr: &str) -> String {
    expr.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Waits until Prometheus has a series for `expr`.
fn wait_scraped(prom: &Prometheus, expr: &str) {
    prom.wait_for(
        &format!("/api/v1/query?query={}", encode(expr)),
        "\"metric\"",
        Duration::from_secs(30),
    )
    .unwrap();
}

#[test]
fn a_prom_probe_fails_while_the_vmi_is_gone_and_recovers_and_one_that_holds_passes() {
    let env = env_or_skip!();
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-probe");
    env.vm(&ns, "db", "Always", &[]);
    let running = format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="db",phase="running"}}"#);
    wait_scraped(prom, &running);
    let holds = r#"up{job="kubevirt"} == 1"#;
    let out = env.outage(
        &ns,
        "db",
        &[
            "--prometheus",
            &prom.url(),
            "--probe",
            &format!("prom:{running}"),
            "--probe",
            &format!("prom:{holds}"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let vmi = &doc["probes"][0];
    assert_eq!(vmi["probe"], format!("prom:{running}"), "{doc:#}");
    assert!(vmi["downtimeMs"].as_u64().is_some(), "{doc:#}");
    assert_eq!(vmi["stillFailing"], false, "{doc:#}");
    assert_eq!(vmi["failure"]["kind"], "noResult", "{doc:#}");
    let up = &doc["probes"][1];
    assert!(up["downtimeMs"].is_null(), "{doc:#}");
    assert_eq!(up["failedAttempts"], 0, "{doc:#}");
}

#[test]
fn prometheus_unreachable_stops_before_anything_is_deleted() {
    let env = env_or_skip!();
    let ns = env.namespace("prom-unreachable");
    let uid = env.vm(&ns, "db", "Always", &[]);
    // Nothing listens on port 9 (discard) here.
    let out = env.outage(
        &ns,
        "db",
        &["--prometheus", "http://127.0.0.1:9", "--probe", "prom:up"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Prometheus error"), "{err}");
    assert!(err.contains("http://127.0.0.1:9 unreachable"), "{err}");
    assert!(
        err.contains("--prometheus"),
        "the hint names the flag: {err}"
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    // And without any Prometheus address: a usage error, before connecting anywhere.
    let out = env.outage(&ns, "db", &["--abort-if", "alert:severity=critical"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PROMETHEUS_URL"), "{}", stderr(&out));
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
}

#[test]
fn an_alert_that_fires_during_the_outage_aborts_and_every_vm_recovers() {
    let env = env_or_skip!();
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-alert");
    // The re-created VMI stays Pending/Scheduling/Scheduled for 6 s: the alert fires.
    let a = env.vm(&ns, "a", "Always", &[(knobs::BOOT_DELAY, "6s")]);
    let b = env.vm(&ns, "b", "Manual", &[]);
    wait_scraped(
        prom,
        &format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="a",phase="running"}}"#),
    );
    // a's own first boot fired the alert: wait until it is resolved.
    wait_scraped(prom, &format!(r#"absent(ALERTS{{namespace="{ns}"}})"#));
    let guard = format!("alert:{VMI_NOT_RUNNING_ALERT},namespace={ns}");
    let out = env.outage(
        &ns,
        "a",
        &[
            "b",
            "--duration",
            "10m",
            "--prometheus",
            &prom.url(),
            "--abort-if",
            &guard,
            &format!("--alerts=namespace={ns}"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    // One alert watch for the fleet: on its document, not on each target's.
    let new = doc["alerts"]["new"].as_array().expect("the fleet's alerts");
    assert!(
        new.iter().any(|a| a["labels"]["name"] == "a"),
        "the alert that aborted the run is listed: {doc:#}"
    );
    assert!(doc["targets"][0].get("alerts").is_none(), "{doc:#}");
    let text = doc["targets"].to_string();
    assert!(
        text.contains(&format!("ABORTED ({guard} failed")),
        "{doc:#}"
    );
    assert!(
        doc.to_string()
            .contains(&format!("firing: {VMI_NOT_RUNNING_ALERT}")),
        "{doc:#}"
    );
    for (vm, old) in [("a", &a), ("b", &b)] {
        let now = env.wait_ready(&ns, vm, Some(old), Duration::from_secs(60));
        assert_ne!(&now, old, "{vm} recovered");
    }
}

#[test]
fn krakens_alert_profile_aborts_a_run_step_and_its_targets_recover() {
    let env = env_or_skip!();
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-profile");
    let old = env.vm(&ns, "db", "Always", &[(knobs::BOOT_DELAY, "6s")]);
    let not_running = format!(r#"kubevirt_vmi_info{{namespace="{ns}",phase!="running"}}"#);
    let running = format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="db",phase="running"}}"#);
    wait_scraped(prom, &running);
    wait_scraped(prom, &format!("absent({not_running})"));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "outage.yaml",
        format!(
            "scenarios:\n  - name: db down\n    scenario: kubevirt_vm_outage\n    parameters:\n      \
             vm_name: db\n      namespace: {ns}\n      timeout: 120\n"
        ),
    );
    write(
        "alerts.yaml",
        format!(
            "- expr: up == 0\n  description: a scrape target is down\n  severity: warning\n\
             - expr: {not_running}\n  description: a VMI is not running\n  severity: critical\n"
        ),
    );
    write(
        "config.yaml",
        format!(
            "kraken:\n  chaos_scenarios:\n    - kubevirt_vm_outage:\n        - outage.yaml\n\
             performance_monitoring:\n  prometheus_url: {}\n  enable_alerts: True\n  \
             alert_profile: alerts.yaml\n  capture_metrics: False\n",
            prom.url()
        ),
    );
    let config = dir.path().join("config.yaml");
    let alerts = format!("--alerts=namespace={ns}");
    let out = env.run(&[
        "run",
        "-f",
        config.to_str().unwrap(),
        "--yes",
        "-o",
        "json",
        &alerts,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    // --alerts on run: the step's watch asks the config's Prometheus.
    let new = doc["steps"][0]["fleet"]["alerts"]["new"]
        .as_array()
        .expect("the step's alerts");
    assert!(
        new.iter().any(|a| a["labels"]["name"] == "db"),
        "the step's outage fired the alert: {doc:#}"
    );
    let text = doc.to_string();
    assert!(
        text.contains(r#"ABORTED (alert_profile \"a VMI is not running\" failed"#),
        "{doc:#}"
    );
    assert!(text.contains("1 critical alert(s)"), "{doc:#}");
    let now = env.wait_ready(&ns, "db", Some(&old), Duration::from_secs(60));
    assert_ne!(now, old);
    assert_eq!(env.run_strategy(&ns, "db"), "Always");
}

#[test]
fn alerts_that_fire_during_the_outage_are_listed_and_those_firing_before_are_not_new() {
    let env = env_or_skip!();
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-alerts");
    // The re-created VMI stays Pending/Scheduling/Scheduled for 6 s: the alert fires for it.
    let old = env.vm(&ns, "db", "Always", &[(knobs::BOOT_DELAY, "6s")]);
    // Never Running: its alert fires before the delete, and is not the outage's doing.
    env.vmi(&ns, "stuck", &[(knobs::STUCK_IN, "Scheduling")]);
    wait_scraped(
        prom,
        &format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="db",phase="running"}}"#),
    );
    // An alert is its labels, `phase` among them: wait until stuck's is the Scheduling one only.
    wait_scraped(
        prom,
        &format!(
            r#"ALERTS{{alertstate="firing",namespace="{ns}",name="stuck",phase="scheduling"}}"#
        ),
    );
    wait_scraped(
        prom,
        &format!(r#"absent(ALERTS{{namespace="{ns}",name="stuck",phase!="scheduling"}})"#),
    );
    // db's own first boot fired the alert: wait until it is resolved.
    wait_scraped(
        prom,
        &format!(r#"absent(ALERTS{{namespace="{ns}",name="db"}})"#),
    );
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let selector = format!("--alerts=namespace={ns}");
    let out = env.outage(
        &ns,
        "db",
        &[
            "--prometheus",
            &prom.url(),
            &selector,
            "--alerts-settle",
            "2s",
            "--report",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let alerts = &doc["alerts"];
    assert_eq!(alerts["selector"], format!("namespace={ns}"), "{doc:#}");
    assert_eq!(alerts["settleMs"], 2000, "{doc:#}");
    let before = alerts["before"].as_array().unwrap();
    assert_eq!(before.len(), 1, "{doc:#}");
    assert_eq!(before[0]["name"], VMI_NOT_RUNNING_ALERT, "{doc:#}");
    assert_eq!(before[0]["labels"]["name"], "stuck", "{doc:#}");
    let new = alerts["new"].as_array().unwrap();
    assert!(!new.is_empty(), "the slow boot fired the alert: {doc:#}");
    for alert in new {
        assert_eq!(alert["name"], VMI_NOT_RUNNING_ALERT, "{doc:#}");
        assert_eq!(
            alert["labels"]["name"], "db",
            "only db's alerts are new: {doc:#}"
        );
        assert_eq!(alert["labels"]["severity"], "critical", "{doc:#}");
        assert!(alert["firstSeenMs"].is_u64(), "{doc:#}");
        assert!(alert["stillFiring"].is_boolean(), "{doc:#}");
    }
    assert!(alerts["questions"].as_u64().unwrap() >= 2, "{doc:#}");
    // New alerts are information: the run still passed, and db is back.
    assert_eq!(doc["recovered"], true, "{doc:#}");
    let now = env.wait_ready(&ns, "db", Some(&old), Duration::from_secs(60));
    assert_ne!(now, old);
    // The reports say it too.
    let game_day: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        game_day["steps"][0]["fleet"]["alerts"]["new"], alerts["new"],
        "{game_day:#}"
    );
    let markdown = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(
        markdown.contains("Alerts: ") && markdown.contains("name=db"),
        "{markdown}"
    );
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains(&format!(
            r#"<property name="alerts.new" value="{}"/>"#,
            new.len()
        )),
        "{junit}"
    );
    let svg = std::fs::read_to_string(reports.join("timeline.svg")).unwrap();
    assert!(
        svg.contains(&format!("alert {VMI_NOT_RUNNING_ALERT}{{")),
        "a mark per new alert: {svg}"
    );
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("<strong>Alerts</strong>"), "{html}");
    // And a Warning Event on the VM names them.
    let events = env.kubectl(&[
        "get",
        "events",
        "-n",
        &ns,
        "--field-selector",
        "reason=AlertsFiring",
        "-o",
        "json",
    ]);
    let events: serde_json::Value = serde_json::from_slice(&events.stdout).unwrap();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{events:#}");
    assert_eq!(items[0]["type"], "Warning");
    assert_eq!(items[0]["involvedObject"]["kind"], "VirtualMachine");
    let message = items[0]["message"].as_str().unwrap();
    assert!(
        message.contains(VMI_NOT_RUNNING_ALERT) && message.contains("name=db"),
        "{message}"
    );
    assert!(!message.contains("name=stuck"), "{message}");
}

#[test]
fn alerts_without_a_reachable_prometheus_stop_before_anything_is_deleted() {
    let env = env_or_skip!();
    let ns = env.namespace("alerts-unreachable");
    let uid = env.vm(&ns, "db", "Always", &[]);
    // Nothing listens on port 9 (discard) here.
    let out = env.outage(
        &ns,
        "db",
        &["--prometheus", "http://127.0.0.1:9", "--alerts"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("firing alerts could not be read"), "{err}");
    assert!(err.contains("http://127.0.0.1:9 unreachable"), "{err}");
    assert!(
        err.contains("--prometheus"),
        "the hint names the flag: {err}"
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    // No Prometheus at all: a usage error before connecting anywhere.
    let out = env.outage(&ns, "db", &["--alerts=severity=critical"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PROMETHEUS_URL"), "{}", stderr(&out));
    // The selector after a space is not a VMI name: the hint says to join it with '='.
    let out = env.run(&[
        "outage",
        "db",
        "-n",
        &ns,
        "--yes",
        "--prometheus",
        "http://127.0.0.1:9",
        "--alerts",
        "severity=critical",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--alerts=severity=critical"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    // run -f --alerts: the same check before any step runs.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("outage.yaml");
    std::fs::write(
        &scenario,
        format!(
            "scenarios:\n  - name: db down\n    scenario: kubevirt_vm_outage\n    parameters:\n      \
             vm_name: db\n      namespace: {ns}\n"
        ),
    )
    .unwrap();
    let run = ["run", "-f", scenario.to_str().unwrap(), "--yes", "--alerts"];
    let out = env.run(&run);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PROMETHEUS_URL"), "{}", stderr(&out));
    let out = env
        .command(&run)
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("http://127.0.0.1:9 unreachable"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
}
