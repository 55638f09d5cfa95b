//! Every owner KubeVirt knows, end to end: the real binary against the real API server and the
//! simulated KubeVirt, which follows ../shared/KUBEVIRT.md (replica sets, pools, legacy
//! `running`, Halted, paused, migrating, start-failure back-off, ManualRecoveryRequired).

mod common;

use std::time::Duration;

use common::{json, stderr};
use testenv::knobs;

#[test]
fn a_replica_set_vmi_is_followed_to_its_replacement_and_never_recreated() {
    let env = env_or_skip!();
    let ns = env.namespace("rs");
    let vmis = env.running_replica_set(&ns, "web", 3, &[]);
    let victim = &vmis[0];
    let out = env.outage(&ns, &victim.name, &["--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["expectedRecovery"], "follow", "{doc:#}");
    assert_eq!(doc["recovery"], "follow", "{doc:#}");
    assert_eq!(doc["replicaSet"], "web", "{doc:#}");
    let replacement = doc["after"]["name"]
        .as_str()
        .expect("the replacement is named");
    assert_ne!(replacement, victim.name);
    assert!(replacement.starts_with("web"), "{replacement}");
    assert!(
        doc["verdict"].as_str().unwrap().contains(replacement),
        "{doc:#}"
    );
    // The replica set is whole again, with exactly its 3 replicas: the tool added none.
    let now = env
        .wait_replica_set_ready(&ns, "web", 3, Duration::from_secs(60))
        .unwrap();
    assert!(now.iter().any(|v| v.name == replacement));
    assert!(!now.iter().any(|v| v.name == victim.name));
    let creates: Vec<_> = env
        .requests(&ns, "virtualmachineinstances")
        .into_iter()
        .filter(|e| {
            e["verb"] == "create"
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
        })
        .collect();
    assert!(creates.is_empty(), "the tool created a VMI: {creates:#?}");
}

/// Two VMIs of one replica set in one outage: each is followed to its own replacement, both
/// recover, and the set ends with exactly its replicas.
#[test]
fn two_vmis_of_one_replica_set_each_follow_their_own_replacement() {
    let env = env_or_skip!();
    let ns = env.namespace("rs-two");
    let vmis = env.running_replica_set(&ns, "web", 3, &[]);
    let out = env.run(&[
        "outage",
        &vmis[0].name,
        &vmis[1].name,
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "1s",
        "--timeout",
        "1m",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let targets = doc["targets"].as_array().expect("a fleet document");
    let replacements: Vec<&str> = targets
        .iter()
        .map(|t| t["after"]["name"].as_str().expect("a replacement"))
        .collect();
    assert_eq!(replacements.len(), 2, "{doc:#}");
    assert_ne!(
        replacements[0], replacements[1],
        "one replacement each: {doc:#}"
    );
    let now = env
        .wait_replica_set_ready(&ns, "web", 3, Duration::from_secs(60))
        .unwrap();
    assert!(now
        .iter()
        .all(|v| v.name != vmis[0].name && v.name != vmis[1].name));
    // Their Events are on the replica set, where `kubectl describe vmirs web` shows them.
    let out = env.kubectl(&[
        "get",
        "events",
        "-n",
        &ns,
        "--field-selector",
        "involvedObject.kind=VirtualMachineInstanceReplicaSet,involvedObject.name=web",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    let reasons = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reasons.matches("OutageStarted").count(), 2, "{reasons}");
    assert_eq!(reasons.matches("Recovered").count(), 2, "{reasons}");
}

#[test]
fn a_pool_vm_and_a_legacy_running_vm_are_recovered_by_kubevirt() {
    let env = env_or_skip!();
    let ns = env.namespace("pool");
    let pool = env.running_pool(&ns, "pool", 2, "Always", &[]);
    let legacy = env.running_legacy_vm(&ns, "legacy", &[]);
    let out = env.outage(&ns, &pool[0].name, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["recovery"], "automatic", "{doc:#}");
    assert_eq!(doc["pool"], "pool", "{doc:#}");
    assert_ne!(doc["after"]["uid"], pool[0].uid.as_str());
    let out = env.outage(&ns, "legacy", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["recovery"], "automatic", "{doc:#}");
    assert_ne!(doc["after"]["uid"], legacy.as_str());
}

/// Refusals change nothing: same UID before and after, exit 2, the reason and a hint.
#[test]
fn refused_targets_change_nothing() {
    let env = env_or_skip!();
    if !env.simulated_only(
        "paused, migrating, manual-recovery-required and stop-delay knobs: states KubeVirt \
         reaches through virt-handler or a failed migration",
    ) {
        return;
    }
    let ns = env.namespace("refuse");
    let halted = env.halting_vm(&ns, "halted", Duration::from_secs(300), &[]);
    let paused = env.vm(&ns, "paused", "Always", &[(knobs::PAUSED, "true")]);
    let migrating = env.vm(&ns, "migrating", "Always", &[(knobs::MIGRATING, "true")]);
    let stuck = env.vm(&ns, "stuck", "Always", &[]);
    env.annotate_vm(&ns, "stuck", knobs::MANUAL_RECOVERY_REQUIRED, "true");
    // The controller sets the condition on its next pass.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !env
        .kubectl(&[
            "get",
            "vm",
            "stuck",
            "-n",
            &ns,
            "-o",
            "jsonpath={.status.conditions}",
        ])
        .stdout
        .windows(22)
        .any(|w| w == b"ManualRecoveryRequired")
    {
        assert!(std::time::Instant::now() < deadline, "condition never set");
        std::thread::sleep(Duration::from_millis(100));
    }
    for (name, uid, says) in [
        ("halted", &halted, "KubeVirt is already stopping this VMI"),
        ("paused", &paused, "paused"),
        ("migrating", &migrating, "live-migrated"),
        ("stuck", &stuck, "ManualRecoveryRequired"),
    ] {
        let out = env.outage(&ns, name, &[]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("hint:"), "{name}: {}", stderr(&out));
        assert_eq!(env.uid(&ns, name).as_deref(), Some(uid.as_str()), "{name}");
    }
    // `list` shows the same plans.
    let out = env.run(&["list", "-n", &ns, "-o", "json"]);
    let rows: serde_json::Value = json(&out);
    for name in ["halted", "paused", "migrating", "stuck"] {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {rows:#}"));
        assert!(row["refused"].is_string(), "{name}: {row:#}");
    }
}

#[test]
fn a_start_failure_back_off_is_said_before_the_delete() {
    let env = env_or_skip!();
    if !env.simulated_only("start-failure knob: KubeVirt records it for real failed starts only") {
        return;
    }
    let ns = env.namespace("backoff");
    env.vm(&ns, "flaky", "Always", &[]);
    env.annotate_vm(&ns, "flaky", knobs::START_FAILURE, "2,4s");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(
        &env.kubectl(&[
            "get",
            "vm",
            "flaky",
            "-n",
            &ns,
            "-o",
            "jsonpath={.status.startFailure}",
        ])
        .stdout,
    )
    .contains("retryAfterTimestamp")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "startFailure never set"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = env.outage(&ns, "flaky", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Said once (the issue saw it twice): a note before the permissions check.
    assert_eq!(
        stderr(&out).matches("start-failure back-off").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(json(&out)["warnings"]
        .to_string()
        .contains("2 failed starts"));
}

#[test]
fn a_server_dry_run_sends_the_recovery_start_too() {
    let env = env_or_skip!();
    let ns = env.namespace("dry-start");
    let uid = env.vm(&ns, "batch", "Manual", &[]);
    let log = env.sim_log();
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    let out = env.run(&[
        "outage",
        "batch",
        "-n",
        &ns,
        "--dry-run=server",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.uid(&ns, "batch").as_deref(), Some(uid.as_str()));
    if env.genuine() {
        // KubeVirt's own virt-api answered the start: "VM is already running" (409) comes
        // before the dry run, which the tool takes as authorized and served.
        // (The fixture's own start, which brought the Manual VM up, is not the tool's.)
        let starts: Vec<_> = env
            .requests(&ns, "/virtualmachines/batch/start")
            .into_iter()
            .filter(|e| {
                e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kubectl-vmchaos/"))
            })
            .collect();
        assert_eq!(starts.len(), 1, "{starts:#?}");
        assert_eq!(starts[0]["verb"], "update", "{starts:#?}");
        assert_eq!(starts[0]["responseStatus"]["code"], 409, "{starts:#?}");
        return;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let starts: Vec<serde_json::Value> = text[before..]
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["event"] == "start" && e["name"] == "batch")
        .collect();
    assert_eq!(starts.len(), 1, "{starts:#?}");
    assert_eq!(starts[0]["dryRun"], true, "{starts:#?}");
    // A start virt-api would refuse fails the dry run, before anything is deleted.
    env.annotate_vm(&ns, "batch", knobs::REJECT_START, "true");
    let out = env.run(&["outage", "batch", "-n", &ns, "--dry-run=server"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("start VM"), "{}", stderr(&out));
    assert_eq!(env.uid(&ns, "batch").as_deref(), Some(uid.as_str()));
}
