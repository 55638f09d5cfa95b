//! `outage --fault crash`: the real binary deletes each target's virt-launcher pod with no grace
//! period, KubeVirt sees the launcher vanish and sets the VMI Failed, and each owner recovers by
//! KubeVirt's rules for a Failed VMI (../shared/KUBEVIRT.md, "VMI Failed"): Always and
//! RerunOnFailure restart it, Manual waits for the tool's start, a standalone VMI is re-created
//! by the tool, a replica set replaces it, and Once is refused. Runs on both tiers.

mod common;

use common::{json, stderr, target, Env};
use serde_json::Value;

/// The tool's own requests on this resource in the namespace, by verb.
fn tool_requests(env: &Env, ns: &str, resource: &str, verb: &str) -> Vec<Value> {
    env.requests(ns, resource)
        .into_iter()
        .filter(|e| {
            e["verb"] == verb
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
        })
        .collect()
}

/// One fleet, one watch: every owner and runStrategy KubeVirt restarts (or leaves to the tool)
/// after a crash, each its own way.
#[test]
fn a_crashed_fleet_recovers_each_target_by_kubevirts_rules_for_a_failed_vmi() {
    let env = env_or_skip!();
    let ns = env.namespace("crash");
    let always = env.vm(&ns, "always", "Always", &[]);
    let rerun = env.vm(&ns, "rerun", "RerunOnFailure", &[]);
    let manual = env.vm(&ns, "manual", "Manual", &[]);
    let alone = env.vmi(&ns, "alone", &[]);
    let set = env.running_replica_set(&ns, "web", 2, &[]);
    let member = set[0].name.clone();
    let names = ["always", "rerun", "manual", "alone", member.as_str()];
    let mut args = vec!["outage", "-n", &ns, "--yes", "-o", "json"];
    args.extend(names);
    args.extend(["--fault", "crash", "--duration", "2s", "--timeout", "2m"]);
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["aggregates"]["recovered"], 5, "{doc:#}");
    for (name, old, plan) in [
        ("always", &always, "automatic"),
        ("rerun", &rerun, "automatic"),
        ("manual", &manual, "start"),
        ("alone", &alone, "recreate"),
        (member.as_str(), &set[0].uid, "follow"),
    ] {
        let t = target(&doc, name);
        assert_eq!(t["fault"], "crash", "{name}");
        assert_eq!(t["expectedRecovery"], plan, "{name}: {t:#}");
        assert_eq!(t["recovery"], plan, "{name}: {t:#}");
        assert_eq!(t["recovered"], true, "{name}");
        assert_eq!(t["before"]["uid"], old.as_str(), "{name}");
        assert_ne!(t["after"]["uid"], old.as_str(), "{name}");
        // The timeline saw the crashed VMI Failed before it went.
        assert!(t["timings"]["failedMs"].is_u64(), "{name}: {t:#}");
        assert!(
            t["timings"]["failedMs"].as_u64() <= t["timings"]["goneMs"].as_u64(),
            "{name}: {t:#}"
        );
    }
    for name in ["always", "rerun", "manual", "alone"] {
        assert!(env.is_ready(&ns, name), "{name}");
    }
    // RerunOnFailure: KubeVirt restarted it; only Manual needed the tool's start.
    let starts = tool_requests(&env, &ns, "virtualmachines", "update");
    assert!(
        starts.iter().all(|e| e["requestURI"]
            .as_str()
            .unwrap_or("")
            .contains("/manual/start")),
        "{starts:#?}"
    );
    // The fault was five launcher pods deleted with no grace; the only VMI the tool deleted is
    // the standalone one, Failed, before re-creating it.
    let pod_deletes = tool_requests(&env, &ns, "pods", "delete");
    assert_eq!(pod_deletes.len(), 5, "{pod_deletes:#?}");
    let vmi_deletes = tool_requests(&env, &ns, "virtualmachineinstances", "delete");
    assert!(
        vmi_deletes
            .iter()
            .all(|e| e["objectRef"]["name"] == "alone"),
        "{vmi_deletes:#?}"
    );
}

/// Once: KubeVirt leaves a Failed Once VMI down and refuses start, so a crash is refused before
/// anything changes; --keep-down holds an Always VM down through the crash (Manual), then starts
/// it and puts Always back.
#[test]
fn once_is_refused_and_keep_down_holds_a_crashed_always_vm_down() {
    let env = env_or_skip!();
    let ns = env.namespace("crash-once");
    let once = env.vm(&ns, "once", "Once", &[]);
    let kept = env.vm(&ns, "kept", "Always", &[]);
    // `list --fault crash` shows the same plans: Once refused, Always automatic.
    let out = env.run(&["list", "-n", &ns, "--fault", "crash", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json(&out);
    let row = |name: &str| {
        rows.as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed: {rows:#}"))
    };
    assert_eq!(row("once")["expectedRecovery"], "none", "{rows:#}");
    assert!(
        row("once")["refused"]
            .as_str()
            .unwrap_or("")
            .contains("Once"),
        "{rows:#}"
    );
    assert_eq!(row("kept")["expectedRecovery"], "automatic", "{rows:#}");
    let out = env.outage(&ns, "once", &["--fault", "crash"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runStrategy Once"), "{err}");
    assert!(err.contains("--fault delete"), "{err}");
    assert_eq!(env.uid(&ns, "once").as_deref(), Some(once.as_str()));
    let out = env.outage(
        &ns,
        "kept",
        &["--fault", "crash", "--keep-down", "--duration", "2s"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["fault"], "crash", "{doc:#}");
    assert_eq!(doc["recovery"], "start", "{doc:#}");
    assert_ne!(doc["after"]["uid"], kept.as_str());
    assert_eq!(env.run_strategy(&ns, "kept"), "Always");
    assert!(env.is_ready(&ns, "kept"));
}

/// Dry runs (client and server: the API server checks the pod delete with dryRun=All) change
/// nothing; without `delete pods` the pre-flight stops before anything changes.
#[test]
fn dry_runs_and_a_missing_pod_permission_change_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("crash-dry");
    let uid = env.vm(&ns, "db", "Always", &[]);
    for mode in ["--dry-run=client", "--dry-run=server"] {
        let out = env.run(&[
            "outage", "db", "-n", &ns, mode, "--fault", "crash", "-o", "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["fault"], "crash", "{doc:#}");
        let verdict = doc["verdict"].as_str().unwrap();
        assert!(verdict.contains("virt-launcher pod"), "{verdict}");
        assert!(verdict.contains("no grace period"), "{verdict}");
    }
    // The server saw the dry-run pod delete, and the VMI still runs under the same UID.
    let deletes = tool_requests(&env, &ns, "pods", "delete");
    assert_eq!(deletes.len(), 1, "{deletes:#?}");
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    assert!(env.is_ready(&ns, "db"));
    // alice may delete VMIs but not pods: a crash is refused before anything changes.
    env.grant(
        &ns,
        "alice",
        &["get", "list", "watch", "delete"],
        "kubevirt.io",
        "virtualmachineinstances",
    );
    env.grant(
        &ns,
        "alice",
        &["get", "list"],
        "kubevirt.io",
        "virtualmachines",
    );
    env.grant(&ns, "alice", &["list"], "", "pods");
    let out = env.run_as(
        "alice",
        &["outage", "db", "-n", &ns, "--yes", "--fault", "crash"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot delete pods"), "{err}");
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
}

/// Every crashed target ends recovered or with the command that brings it back: a Manual VM
/// whose start fails is left Failed, and the printed `restore` starts it (stopping the Failed
/// VMI) once virt-api accepts starts again.
#[test]
fn a_crashed_vm_whose_start_fails_is_brought_back_by_the_printed_restore() {
    let env = env_or_skip!();
    if !env.simulated_only("reject-start knob: virt-api answering 500 to start") {
        return;
    }
    let ns = env.namespace("crash-restore");
    let uid = env.vm(&ns, "broken", "Manual", &[]);
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "true");
    let out = env.outage(&ns, "broken", &["--fault", "crash", "--duration", "500ms"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["fault"], "crash", "{doc:#}");
    let restore = doc["restoreCommand"].as_str().expect("a restore command");
    assert!(
        restore.starts_with("kubectl vmchaos restore '"),
        "{restore}"
    );
    // Still the crashed VMI, Failed.
    assert_eq!(env.uid(&ns, "broken").as_deref(), Some(uid.as_str()));
    env.wait_phase(&ns, "broken", "Failed");
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "false");
    let snapshot = doc["snapshot"].as_str().unwrap();
    let out = env.run(&["restore", snapshot, "--timeout", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(env.is_ready(&ns, "broken"));
    assert_ne!(env.uid(&ns, "broken").as_deref(), Some(uid.as_str()));
}

/// `run -f --fault crash`: Kraken's scenario file as it is, every step's VMIs crashed instead of
/// deleted; a Once VM the step's regex matches is not hit (KubeVirt would leave it Failed), and
/// the plan, the document and the audit log say so.
#[test]
fn run_f_crashes_every_steps_vmis_and_leaves_once_out() {
    let env = env_or_skip!();
    let ns = env.namespace("crash-run");
    let always = env.vm(&ns, "db-always", "Always", &[]);
    let once = env.vm(&ns, "db-once", "Once", &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.yaml");
    std::fs::write(
        &file,
        format!(
            "scenarios:\n  - name: crash the databases\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-.*\n      namespace: {ns}\n      kill_count: 2\n      duration: 2\n      timeout: 120\n"
        ),
    )
    .unwrap();
    let out = env.run(&[
        "run",
        "-f",
        file.to_str().unwrap(),
        "--fault",
        "crash",
        "--yes",
        "-o",
        "json",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let day = json(&out);
    let fleet = &day["steps"][0]["fleet"];
    let targets = fleet["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{day:#}");
    let t = &targets[0];
    assert_eq!(t["target"]["name"], "db-always", "{t:#}");
    assert_eq!(t["fault"], "crash", "{t:#}");
    assert_eq!(t["recovery"], "automatic", "{t:#}");
    assert_ne!(t["after"]["uid"], always.as_str(), "{t:#}");
    assert!(t["timings"]["failedMs"].is_u64(), "{t:#}");
    // Once is named as not hit, with the reason, in the plan and the step's notes.
    assert!(err.contains("db-once"), "{err}");
    assert!(
        fleet["notes"].to_string().contains(&format!(
            "not hitting {ns}/db-once: VM db-once has runStrategy Once"
        )),
        "{day:#}"
    );
    assert_eq!(env.uid(&ns, "db-once").as_deref(), Some(once.as_str()));
    // The fault was one launcher pod deleted; no VMI was deleted by the tool.
    assert_eq!(tool_requests(&env, &ns, "pods", "delete").len(), 1);
    assert!(tool_requests(&env, &ns, "virtualmachineinstances", "delete").is_empty());
    assert!(env.is_ready(&ns, "db-always"));
}
