//! Several targets in one run, --keep-down, --serial, Ctrl-C in the middle of a fleet: the real
//! binary against the real API server and the simulated KubeVirt.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Output, Stdio},
    time::Duration,
};

use common::{json, stderr, target, Env};
use serde_json::Value;

#[test]
fn a_fleet_recovers_each_target_its_own_way_over_one_watch() {
    let env = env_or_skip!();
    let ns = env.namespace("fleet");
    let a = env.vm(&ns, "web-a", "Always", &[]);
    let b = env.vm(&ns, "web-b", "Always", &[]);
    let m = env.vm(&ns, "batch", "Manual", &[]);
    let s = env.vmi(&ns, "alone", &[]);
    let out = env.outage(
        &ns,
        "web-a",
        &["web-b", "batch", "alone", "--duration", "1s"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["aggregates"]["targets"], 4, "{doc:#}");
    assert_eq!(doc["aggregates"]["recovered"], 4, "{doc:#}");
    assert_eq!(doc["exitCode"], 0);
    for (name, old, plan) in [
        ("web-a", &a, "automatic"),
        ("web-b", &b, "automatic"),
        ("batch", &m, "start"),
        ("alone", &s, "recreate"),
    ] {
        let t = target(&doc, name);
        assert_eq!(t["expectedRecovery"], plan, "{name}");
        assert_eq!(t["recovery"], plan, "{name}");
        assert_eq!(t["recovered"], true, "{name}");
        assert_eq!(t["before"]["uid"], old.as_str());
        assert_eq!(
            env.uid(&ns, name).as_deref(),
            t["after"]["uid"].as_str(),
            "{name}"
        );
        assert!(env.is_ready(&ns, name), "{name}");
    }
    for key in ["gone", "created", "running", "ready"] {
        let stats = &doc["aggregates"][key];
        assert_eq!(stats["count"], 4, "{key}: {doc:#}");
        assert!(stats["minMs"].as_u64() <= stats["p50Ms"].as_u64(), "{key}");
        assert!(stats["p95Ms"].as_u64() <= stats["maxMs"].as_u64(), "{key}");
    }
    // One watch for the whole namespace, whatever the number of targets.
    let watches: Vec<Value> = env
        .requests(&ns, "virtualmachineinstances")
        .into_iter()
        .filter(|e| {
            e["verb"] == "watch"
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
        })
        .collect();
    assert_eq!(watches.len(), 1, "{watches:#?}");
}

#[test]
fn keep_down_holds_an_always_vm_down_then_puts_always_back() {
    let env = env_or_skip!();
    let ns = env.namespace("keepdown");
    let uid = env.vm(&ns, "db", "Always", &[]);
    let out = env.outage(&ns, "db", &["--keep-down", "--duration", "2s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert_eq!(doc["recovery"], "start", "{doc:#}");
    assert_ne!(doc["after"]["uid"], uid.as_str());
    // KubeVirt kept it down for the whole --duration: the new VMI came after the tool's start.
    assert!(
        doc["timings"]["createdMs"].as_u64().unwrap() >= 2000,
        "{doc:#}"
    );
    assert_eq!(
        env.run_strategy(&ns, "db"),
        "Always",
        "runStrategy put back"
    );
    assert!(
        doc["notes"].to_string().contains("put back to Always"),
        "{doc:#}"
    );
    let snapshot = std::path::Path::new(doc["snapshot"].as_str().unwrap());
    let meta = std::fs::read_to_string(snapshot.join("snapshot.yaml")).unwrap();
    assert!(meta.contains("keptDown: Always"), "{meta}");
}

#[test]
fn keep_down_is_refused_where_kubevirt_leaves_the_vm_down_anyway() {
    let env = env_or_skip!();
    let ns = env.namespace("keepdown-manual");
    let uid = env.vm(&ns, "db", "Manual", &[]);
    let out = env.outage(&ns, "db", &["--keep-down"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--keep-down"), "{}", stderr(&out));
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    assert_eq!(env.run_strategy(&ns, "db"), "Manual");
}

#[test]
fn serial_takes_the_targets_down_one_after_the_other() {
    let env = env_or_skip!();
    let ns = env.namespace("serial");
    env.vm(&ns, "one", "Always", &[]);
    env.vm(&ns, "two", "Always", &[]);
    let out = env.outage(&ns, "one", &["two", "--serial", "--interval", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let at = |name: &str| {
        let t = target(&doc, name);
        let injected = humantime::parse_rfc3339(t["injectedAt"].as_str().unwrap()).unwrap();
        (
            injected,
            Duration::from_millis(t["timings"]["readyMs"].as_u64().unwrap()),
        )
    };
    let (first, first_ready) = at("one");
    let (second, _) = at("two");
    let gap = second.duration_since(first).expect("two after one");
    assert!(
        gap >= first_ready + Duration::from_secs(1),
        "{gap:?} vs {first_ready:?}"
    );
    // The progress says the truth: one delete at the start, the other waiting, then its turn.
    let progress = stderr(&out);
    assert!(
        progress.contains("one at a time (--serial): the first delete went out")
            && !progress.contains("the deletes went out"),
        "{progress}"
    );
    assert!(
        progress.contains("two: next: its delete goes out in 1s (--interval)"),
        "{progress}"
    );
}

/// Runs the tool with `args`, sends `signal` once `gone` old VMIs are gone, and returns its
/// output and the progress lines after the signal (for assertion messages).
fn signalled_after_gone(env: &Env, args: &[&str], gone: usize, signal: &str) -> (Output, String) {
    let mut child = env
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = 0;
    for line in lines.by_ref() {
        if line.unwrap().contains("old VMI gone") {
            seen += 1;
            if seen == gone {
                break;
            }
        }
    }
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    (child.wait_with_output().unwrap(), rest.join("\n"))
}

#[test]
fn ctrl_c_in_the_middle_of_a_fleet_brings_every_target_back() {
    let env = env_or_skip!();
    let ns = env.namespace("fleet-sigint");
    let uids: Vec<String> = ["m1", "m2", "m3"]
        .iter()
        .map(|n| env.vm(&ns, n, "Manual", &[]))
        .collect();
    let args = [
        "outage",
        "m1",
        "m2",
        "m3",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "10m",
    ];
    let (out, rest) = signalled_after_gone(&env, &args, 3, "-INT");
    assert_eq!(out.status.code(), Some(130), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["interrupted"], true);
    for (name, old) in ["m1", "m2", "m3"].iter().zip(&uids) {
        let now = env.wait_ready(&ns, name, Some(old), Duration::from_secs(60));
        assert_ne!(&now, old, "{name} is back under a new VMI");
        assert_eq!(target(&doc, name)["recovery"], "start", "{name}");
    }
}

/// SIGTERM (a CI job cancelled, a pod evicted) is handled like the first Ctrl-C: every target
/// brought back, the partial result printed, exit 143; a VM kept down gets its runStrategy back.
#[test]
fn sigterm_brings_every_kept_down_vm_back_and_exits_143() {
    let env = env_or_skip!();
    let ns = env.namespace("fleet-sigterm");
    let uids: Vec<String> = ["db-0", "db-1"]
        .iter()
        .map(|n| env.vm(&ns, n, "Always", &[]))
        .collect();
    let args = [
        "outage",
        "db-0",
        "db-1",
        "-n",
        &ns,
        "--yes",
        "-o",
        "json",
        "--duration",
        "10m",
        "--keep-down",
    ];
    let (out, rest) = signalled_after_gone(&env, &args, 2, "-TERM");
    assert_eq!(out.status.code(), Some(143), "{rest}");
    let doc = json(&out);
    assert_eq!(doc["interrupted"], true);
    for (name, old) in ["db-0", "db-1"].iter().zip(&uids) {
        let now = env.wait_ready(&ns, name, Some(old), Duration::from_secs(60));
        assert_ne!(&now, old, "{name} is back under a new VMI");
        let vm = env.cluster().vm(&ns, name).expect("the VM");
        assert_eq!(vm.data["spec"]["runStrategy"], "Always", "{name}");
    }
}

#[test]
fn every_outage_leaves_events_on_its_vm_or_vmi() {
    let env = env_or_skip!();
    let ns = env.namespace("events");
    env.vm(&ns, "db", "Always", &[]);
    env.vm(&ns, "batch", "Manual", &[]);
    env.vmi(&ns, "alone", &[]);
    let out = env.outage(&ns, "db", &["batch", "alone", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = env.kubectl(&["get", "events", "-n", &ns, "-o", "json"]);
    let doc: Value = serde_json::from_slice(&events.stdout).unwrap();
    let reasons = |kind: &str, name: &str| -> Vec<String> {
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["involvedObject"]["kind"] == kind && e["involvedObject"]["name"] == name)
            .filter(|e| e["reportingComponent"] == "kubectl-vmchaos")
            .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let db = reasons("VirtualMachine", "db");
    assert!(
        db.contains(&"OutageStarted".into()) && db.contains(&"Recovered".into()),
        "{db:?}"
    );
    let batch = reasons("VirtualMachine", "batch");
    assert!(batch.contains(&"ToolRecovered".into()), "{batch:?}");
    let alone = reasons("VirtualMachineInstance", "alone");
    assert!(
        alone.contains(&"OutageStarted".into()) && alone.contains(&"Recovered".into()),
        "{alone:?}"
    );
    // A user whose role has no `create events` still runs the outage; the tool only warns.
    env.grant(
        &ns,
        "bob",
        &["get", "list", "watch", "delete"],
        "kubevirt.io",
        "virtualmachineinstances",
    );
    env.grant(
        &ns,
        "bob",
        &["get", "list"],
        "kubevirt.io",
        "virtualmachines",
    );
    let out = env.run_as("bob", &["outage", "db", "-n", &ns, "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("create events"), "{}", stderr(&out));
}
