//! Service-level checks from a real Prometheus (Debian's), scraping the simulator's
//! `kubevirt_vmi_*` metrics every second: `--probe prom:…`, `--abort-if alert:…`, and
//! Prometheus unreachable. The real binary, the real API server.

mod common;

use std::time::Duration;

use common::{json, stderr, Env};
use testenv::{knobs, Prometheus, VMI_NOT_RUNNING_ALERT};

macro_rules! env_or_skip {
    () => {
        match Env::get() {
            Some(env) => env,
            None => return,
        }
    };
}

fn prometheus(env: &Env) -> Option<Prometheus> {
    env.cluster().start_prometheus()
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
    wait_scraped(&prom, &running);
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
    if !env.simulated_only("a slow boot is staged by a simulator knob") {
        return;
    }
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-alert");
    // The re-created VMI stays Pending/Scheduling/Scheduled for 6 s: the alert fires.
    let a = env.vm(&ns, "a", "Always", &[(knobs::BOOT_DELAY, "6s")]);
    let b = env.vm(&ns, "b", "Manual", &[]);
    wait_scraped(
        &prom,
        &format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="a",phase="running"}}"#),
    );
    // a's own first boot fired the alert: wait until it is resolved.
    wait_scraped(&prom, &format!(r#"absent(ALERTS{{namespace="{ns}"}})"#));
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
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let text = doc["targets"].to_string();
    assert!(text.contains(&format!("aborted: {guard}")), "{doc:#}");
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
    if !env.simulated_only("a slow boot is staged by a simulator knob") {
        return;
    }
    let Some(prom) = prometheus(&env) else { return };
    let ns = env.namespace("prom-profile");
    let old = env.vm(&ns, "db", "Always", &[(knobs::BOOT_DELAY, "6s")]);
    let not_running = format!(r#"kubevirt_vmi_info{{namespace="{ns}",phase!="running"}}"#);
    let running = format!(r#"kubevirt_vmi_info{{namespace="{ns}",name="db",phase="running"}}"#);
    wait_scraped(&prom, &running);
    wait_scraped(&prom, &format!("absent({not_running})"));
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
    let out = env.run(&["run", "-f", config.to_str().unwrap(), "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let text = doc.to_string();
    assert!(
        text.contains(r#"aborted: alert_profile \"a VMI is not running\""#),
        "{doc:#}"
    );
    assert!(text.contains("1 critical alert(s)"), "{doc:#}");
    let now = env.wait_ready(&ns, "db", Some(&old), Duration::from_secs(60));
    assert_ne!(now, old);
    assert_eq!(env.run_strategy(&ns, "db"), "Always");
}
