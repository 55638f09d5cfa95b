//! The outage scenario end to end: the real binary against a real kube-apiserver with KubeVirt's
//! CRDs and the simulated KubeVirt (crates/testenv, crates/kubevirt-sim).

mod common;

use std::time::{Duration, Instant};

use common::{json, stderr, Env};
use serde_json::Value;

/// Checks the JSON document of a recovered run against the cluster.
fn assert_recovered(
    env: &Env,
    ns: &str,
    name: &str,
    old_uid: &str,
    doc: &Value,
    expected: &str,
    actual: &str,
) {
    assert_eq!(doc["target"]["namespace"], ns);
    assert_eq!(doc["target"]["name"], name);
    assert_eq!(doc["expectedRecovery"], expected, "{doc:#}");
    assert_eq!(doc["recovery"], actual, "{doc:#}");
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert_eq!(doc["before"]["uid"], old_uid);
    let new_uid = doc["after"]["uid"].as_str().unwrap();
    assert_ne!(new_uid, old_uid);
    assert_eq!(
        env.uid(ns, name).as_deref(),
        Some(new_uid),
        "the summary names the VMI that runs now"
    );
    assert!(env.is_ready(ns, name), "the VMI is Running and Ready");
    let t = &doc["timings"];
    let ms = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing: {doc:#}"))
    };
    assert!(ms("goneMs") <= ms("createdMs"), "{t}");
    assert!(ms("createdMs") <= ms("runningMs"), "{t}");
    assert!(ms("runningMs") <= ms("readyMs"), "{t}");
    assert!(
        doc["after"]["node"].is_string() && doc["after"]["ip"].is_string(),
        "{doc:#}"
    );
    let snapshot = std::path::Path::new(doc["snapshot"].as_str().unwrap());
    let saved = std::fs::read_to_string(snapshot.join("vmi.yaml")).unwrap();
    assert!(
        saved.contains(old_uid),
        "the snapshot holds the deleted VMI"
    );
    assert_eq!(doc["exitCode"], 0);
}

#[test]
fn always_is_recovered_by_kubevirt() {
    let env = env_or_skip!();
    let ns = env.namespace("always");
    let uid = env.vm(&ns, "db-0", "Always", &[]);
    let out = env.outage(&ns, "db-0", &["--duration", "5m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_recovered(
        &env,
        &ns,
        "db-0",
        &uid,
        &json(&out),
        "automatic",
        "automatic",
    );
}

#[test]
fn once_is_recovered_by_kubevirt() {
    let env = env_or_skip!();
    let ns = env.namespace("once");
    let uid = env.vm(&ns, "batch-0", "Once", &[]);
    let out = env.outage(&ns, "batch-0", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_recovered(
        &env,
        &ns,
        "batch-0",
        &uid,
        &json(&out),
        "automatic",
        "automatic",
    );
}

#[test]
fn manual_and_rerunonfailure_are_started_by_the_tool_after_the_duration() {
    let env = env_or_skip!();
    for strategy in ["Manual", "RerunOnFailure"] {
        let ns = env.namespace(&strategy.to_lowercase());
        let uid = env.vm(&ns, "app", strategy, &[]);
        let out = env.outage(&ns, "app", &["--duration", "1s"]);
        assert_eq!(out.status.code(), Some(0), "{strategy}: {}", stderr(&out));
        let doc = json(&out);
        assert_recovered(&env, &ns, "app", &uid, &doc, "start", "start");
        // KubeVirt did nothing during the outage: the new VMI came after the tool's start.
        assert!(
            doc["timings"]["createdMs"].as_u64().unwrap() >= 1000,
            "{doc:#}"
        );
        assert_eq!(env.run_strategy(&ns, "app"), strategy);
    }
}

/// KubeVirt's VM controller stops every VMI of a Halted VM (or one with `running: false`):
/// such a VMI is already being stopped, so the plan refuses it and nothing is deleted.
#[test]
fn halted_and_running_false_are_refused_and_nothing_changes() {
    let env = env_or_skip!();
    let ns = env.namespace("halted");
    for (name, patch) in [
        (
            "halted",
            serde_json::json!({"spec": {"runStrategy": "Halted"}}),
        ),
        (
            "legacy",
            serde_json::json!({"spec": {"runStrategy": null, "running": false}}),
        ),
    ] {
        let uid = env.vm(&ns, name, "Manual", &[]);
        env.patch_vm(&ns, name, patch);
        let out = env.outage(&ns, name, &["--duration", "1s"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        // Refused by the plan, or (if KubeVirt was quicker) no longer Running, or already gone:
        // refused either way.
        assert!(
            err.contains("KubeVirt is already stopping this VMI")
                || err.contains("being deleted")
                || err.contains("not Running")
                || err.contains(&format!("no VMI named {name}")),
            "{name}: {err}"
        );
        if err.contains("already stopping") {
            assert_eq!(
                env.uid(&ns, name).as_deref(),
                Some(uid.as_str()),
                "{name}: the tool deleted nothing"
            );
        }
        assert!(!err.contains("deleted VMI"), "{name}: {err}");
    }
}

#[test]
fn standalone_vmi_is_recreated_from_the_snapshot() {
    let env = env_or_skip!();
    let ns = env.namespace("standalone");
    let uid = env.vmi(&ns, "lonely", &[("example.com/keep", "me")]);
    let out = env.outage(&ns, "lonely", &["--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_recovered(
        &env,
        &ns,
        "lonely",
        &uid,
        &json(&out),
        "recreate",
        "recreate",
    );
    assert_eq!(
        env.annotation(&ns, "lonely", "example.com/keep").as_deref(),
        Some("me")
    );
}

#[test]
fn automatic_recovery_ends_the_wait_early() {
    let env = env_or_skip!();
    let ns = env.namespace("early");
    env.vm(&ns, "web", "Always", &[]);
    let started = Instant::now();
    // A 10-minute --duration: the run only ends in time if recovery ends the wait.
    let out = env.outage(&ns, "web", &["--duration", "10m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "waited for the whole --duration"
    );
}

#[test]
fn slow_kubevirt_is_still_automatic_when_it_comes_after_the_duration() {
    let env = env_or_skip!();
    if !env.simulated_only("recreate-delay knob: a slow VM controller") {
        return;
    }
    let ns = env.namespace("slow");
    env.vm(&ns, "slow", "Always", &[]);
    env.annotate_vm(&ns, "slow", testenv::knobs::RECREATE_DELAY, "2s");
    let out = env.outage(&ns, "slow", &["--duration", "500ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["recovery"], "automatic",
        "the tool must not start an Always VM: {doc:#}"
    );
    assert!(
        doc["notes"].to_string().contains("has not re-created"),
        "{doc:#}"
    );
}

#[test]
fn never_ready_is_not_recovered_exit_1() {
    let env = env_or_skip!();
    let ns = env.namespace("notready");
    let uid = env.vm(&ns, "sick", "Always", &[]);
    // Only the re-created VMI gets the knob (KubeVirt copies the template's annotations).
    env.annotate_template(&ns, "sick", testenv::knobs::NEVER_READY, "true");
    let out = env.outage(&ns, "sick", &["--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["recovered"], false);
    assert_eq!(doc["exitCode"], 1);
    assert!(
        doc["verdict"].as_str().unwrap().contains("not Ready"),
        "{doc:#}"
    );
    // The replacement exists, so `restore` would refuse it: no restore command, but what to
    // look at instead.
    assert!(doc["restoreCommand"].is_null(), "{doc:#}");
    assert!(
        doc["notes"]
            .to_string()
            .contains(&format!("kubectl describe vmi sick -n {ns}")),
        "{doc:#}"
    );
    assert_ne!(env.uid(&ns, "sick").as_deref(), Some(uid.as_str()));
}

#[test]
fn blocked_deletion_is_reported_not_hung() {
    let env = env_or_skip!();
    let ns = env.namespace("blocked");
    env.vmi(&ns, "stuck", &[(testenv::knobs::BLOCK_DELETION, "true")]);
    let out = env.outage(&ns, "stuck", &["--duration", "500ms", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert!(
        doc["verdict"]
            .as_str()
            .unwrap()
            .contains("still terminating"),
        "{doc:#}"
    );
    assert!(
        stderr(&out).contains(testenv::knobs::BLOCKING_FINALIZER),
        "{}",
        stderr(&out)
    );
    env.unblock(&ns, "stuck");
}

#[test]
fn bad_targets_change_nothing_and_exit_2() {
    let env = env_or_skip!();
    let ns = env.namespace("bad");
    let uid = env.vm(&ns, "good", "Always", &[]);
    env.vmi(&ns, "booting", &[(testenv::knobs::STUCK_IN, "Scheduling")]);
    env.wait_phase(&ns, "booting", "Scheduling");
    let out = env.run(&["outage", "nope", "-n", &ns, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no VMI named nope in namespace") && err.contains("running VMIs there: good"),
        "{err}"
    );
    let out = env.run(&["outage", "booting", "-n", &ns, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is Scheduling, not Running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.uid(&ns, "good").as_deref(), Some(uid.as_str()));
}

#[test]
fn protected_namespace_needs_the_flag() {
    let env = env_or_skip!();
    let ns = "kubevirt";
    let uid = env.vmi(ns, "infra-vmi", &[]);
    let out = env.run(&["outage", "infra-vmi", "-n", ns, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("protected"));
    assert_eq!(env.uid(ns, "infra-vmi").as_deref(), Some(uid.as_str()));
    let out = env.run(&[
        "outage",
        "infra-vmi",
        "-n",
        ns,
        "--yes",
        "--dry-run=server",
        "--allow-protected-namespace",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_missing_permission_stops_before_anything_changes() {
    let env = env_or_skip!();
    let ns = env.namespace("rbac");
    let uid = env.vm(&ns, "guarded", "Manual", &[]);
    // alice may look and delete but not start the VM: the Manual recovery would fail later.
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
    let out = env.run_as("alice", &["outage", "guarded", "-n", &ns, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot update virtualmachines/start.subresources.kubevirt.io"),
        "{err}"
    );
    assert_eq!(env.uid(&ns, "guarded").as_deref(), Some(uid.as_str()));
    // bob may do nothing at all: the first GET is refused.
    let out = env.run_as("bob", &["outage", "guarded", "-n", &ns, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("403") || stderr(&out).contains("forbidden"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.uid(&ns, "guarded").as_deref(), Some(uid.as_str()));
}

#[test]
fn dry_runs_change_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("dry");
    let uid = env.vm(&ns, "db", "Always", &[]);
    for mode in ["--dry-run=client", "--dry-run=server", "--dry-run"] {
        let out = env.run(&["outage", "db", "-n", &ns, mode, "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
        let doc = json(&out);
        assert!(doc["dryRun"].is_string(), "{doc:#}");
        assert_eq!(doc["recovered"], false);
        assert!(doc["snapshot"].is_null());
        assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()), "{mode}");
    }
    // Server-side dry run is authorized like the real thing.
    env.grant(
        &ns,
        "carol",
        &["get", "list", "watch"],
        "kubevirt.io",
        "virtualmachineinstances",
    );
    env.grant(&ns, "carol", &["get"], "kubevirt.io", "virtualmachines");
    let out = env.run_as("carol", &["outage", "db", "-n", &ns, "--dry-run=server"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot delete"), "{}", stderr(&out));
}

#[test]
fn kubevirt_missing_is_said_plainly() {
    let Some(bare) = common::bare_cluster() else {
        return;
    };
    let out = bare.run(&["outage", "db-0", "-n", "default", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("KubeVirt is not installed in"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn restore_brings_back_a_standalone_vmi_and_refuses_a_running_one() {
    let env = env_or_skip!();
    let ns = env.namespace("restore");
    env.vmi(&ns, "pet", &[]);
    let out = env.outage(&ns, "pet", &["--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = json(&out)["snapshot"].as_str().unwrap().to_string();
    let out = env.run(&["restore", &snapshot]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a running VMI must not be replaced"
    );
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    env.delete_and_wait(&ns, "pet");
    let out = env.run(&["restore", &snapshot, "--timeout", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Running and Ready"));
    assert!(env.is_ready(&ns, "pet"));
}

#[test]
fn list_shows_targets_and_their_recovery() {
    let env = env_or_skip!();
    let ns = env.namespace("list");
    env.vm(&ns, "a-always", "Always", &[]);
    env.vm(&ns, "b-manual", "Manual", &[]);
    env.vmi(&ns, "c-alone", &[]);
    let out = env.run(&["list", "-n", &ns, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json(&out);
    let got: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["expectedRecovery"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("a-always", "automatic"),
        ("b-manual", "start"),
        ("c-alone", "recreate"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let out = env.run(&["list", "-n", &ns]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("NAME") && table.contains("b-manual") && table.contains("Manual"),
        "{table}"
    );
}

#[test]
fn plain_progress_lines_snapshot() {
    let env = env_or_skip!();
    let ns = env.namespace("lines");
    env.vm(&ns, "db-0", "Always", &[]);
    let out = env.run(&["outage", "db-0", "-n", &ns, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        !text.contains('\u{1b}'),
        "no control codes without a terminal"
    );
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[time]"),
        (r"\(\d+(\.\d+)?(ms|s|m)\)", "([duration])"),
        (r"\+\d+\.\d{3}s", "+[offset]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uid]",
        ),
        (r"https://127\.0\.0\.1:\d+", "https://[server]"),
        (r"node-[a-z]", "[node]"),
        (r"lines-[a-z0-9]+", "[ns]"),
        (r"saved to \S+", "saved to [path]"),
        (
            r"\d+(\.\d+)?(ms|s) after the delete",
            "[t] after the delete",
        ),
        (
            r"KubeVirt kubevirt/kubevirt \S+ \(\S+\)",
            "KubeVirt [object]",
        ),
        (r"context \S+,", "context [context],"),
        (r"\(v1\.\d+\.\d+\)", "([version])"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    // Which intermediate phases the watch sees depends on timing: keep the stable lines.
    let stable: String = text
        .lines()
        .filter(|l| !l.contains("+[offset]") && !l.contains(" +"))
        .collect::<Vec<_>>()
        .join("\n");
    settings.bind(|| insta::assert_snapshot!(stable));
    for step in ["old VMI gone", "new VMI db-0 created", "Running", "Ready"] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
}

#[test]
fn the_shipped_role_is_enough_for_every_recovery_path() {
    let env = env_or_skip!();
    env.apply_yaml(include_str!("../deploy/rbac.yaml"));
    let ns = env.namespace("role");
    env.bind_cluster_role(&ns, "carol", "vmchaos");
    let manual = env.vm(&ns, "manual", "Manual", &[]);
    let alone = env.vmi(&ns, "alone", &[]);
    let always = env.vm(&ns, "always", "Always", &[]);
    for (name, uid, recovery) in [
        ("manual", &manual, "start"),
        ("alone", &alone, "recreate"),
        ("always", &always, "automatic"),
    ] {
        let out = env.run_as(
            "carol",
            &[
                "outage",
                name,
                "-n",
                &ns,
                "--yes",
                "-o",
                "json",
                "--duration",
                "1s",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_recovered(&env, &ns, name, uid, &json(&out), recovery, recovery);
    }
    assert_eq!(env.run_strategy(&ns, "manual"), "Manual");
    // Every rule of the role means something through the documented RoleBinding (the
    // cluster-wide reads live in their own ClusterRole, bound cluster-wide).
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(include_str!("../deploy/rbac.yaml")).unwrap();
    let role = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "vmchaos")
        .expect("the vmchaos ClusterRole");
    let carol = env.cluster().user_client("carol");
    let reviews: kube::Api<k8s_openapi::api::authorization::v1::SelfSubjectAccessReview> =
        kube::Api::all(carol);
    for rule in role["rules"].as_array().unwrap() {
        let group = rule["apiGroups"][0].as_str().unwrap();
        for resource in rule["resources"].as_array().unwrap() {
            let resource = resource.as_str().unwrap();
            let (plural, sub) = resource.split_once('/').unwrap_or((resource, ""));
            for verb in rule["verbs"].as_array().unwrap() {
                // As the tool asks: namespaces and KubeVirt's install object cluster-wide.
                let scope = if ["namespaces", "kubevirts"].contains(&plural) {
                    ""
                } else {
                    ns.as_str()
                };
                let review = serde_json::from_value(serde_json::json!({
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": {
                        "namespace": scope, "verb": verb, "group": group,
                        "resource": plural, "subresource": sub,
                    }},
                }))
                .unwrap();
                let answer = env
                    .cluster()
                    .block_on(reviews.create(&Default::default(), &review))
                    .unwrap();
                assert!(
                    answer.status.is_some_and(|s| s.allowed),
                    "{verb} {resource} does nothing through a RoleBinding"
                );
            }
        }
    }
    // The role is namespaced by its binding: elsewhere carol may do nothing.
    let other = env.namespace("role-other");
    env.vm(&other, "x", "Always", &[]);
    let out = env.run_as("carol", &["outage", "x", "-n", &other, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_failed_start_is_exit_3_with_the_restore_command() {
    let env = env_or_skip!();
    if !env.simulated_only("reject-start knob: virt-api answering 500 to start") {
        return;
    }
    let ns = env.namespace("reject");
    env.vm(&ns, "broken", "Manual", &[]);
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "true");
    let out = env.run(&[
        "outage",
        "broken",
        "-n",
        &ns,
        "--yes",
        "-o",
        "yaml",
        "--duration",
        "500ms",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc: Value = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(doc["exitCode"], 3);
    assert_eq!(doc["recovered"], false);
    assert!(
        doc["verdict"]
            .as_str()
            .unwrap()
            .contains("failed to start VM"),
        "{doc:#}"
    );
    let restore = doc["restoreCommand"].as_str().unwrap();
    assert!(
        restore.starts_with("kubectl vmchaos restore '"),
        "{restore}"
    );
    // The command it prints really brings the VM back once virt-api accepts the start again.
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "false");
    let snapshot = doc["snapshot"].as_str().unwrap();
    let out = env.run(&["restore", snapshot, "--timeout", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(env.is_ready(&ns, "broken"));
}

#[test]
fn completion_through_kubectl_lists_running_vmis() {
    let env = env_or_skip!();
    let ns = env.namespace("complete");
    env.vm(&ns, "web-1", "Always", &[]);
    env.vmi(&ns, "web-2", &[]);
    let bin_dir = std::path::Path::new(common::BIN)
        .parent()
        .unwrap()
        .to_path_buf();
    let helper_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let path = std::env::join_paths(
        [bin_dir, helper_dir]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = env
        .kubectl_command(&["__complete", "vmchaos", "outage", "-n", &ns, ""])
        .env("PATH", &path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert!(
        names.contains(&"web-1") && names.contains(&"web-2"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(text.lines().last().unwrap().starts_with(':'), "{text}");
    // Namespaces for -n come from the cluster too.
    let out = env
        .kubectl_command(&["__complete", "vmchaos", "list", "-n", "complete-"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&ns),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A dead cluster: no candidates, no error, quickly.
    let out = env
        .kubectl_command(&[
            "__complete",
            "vmchaos",
            "outage",
            "--kubeconfig",
            "/nonexistent",
            "",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with(':'))
            .count(),
        0
    );
}

/// The API server ignores a DELETE's grace period for custom resources: the flag is gone, and
/// using it says why and changes nothing.
#[test]
fn grace_period_is_refused_because_the_server_would_ignore_it() {
    let env = env_or_skip!();
    let ns = env.namespace("grace");
    let uid = env.vm(&ns, "fast", "Always", &[]);
    let out = env.outage(&ns, "fast", &["--grace-period", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ignores a DELETE's grace period"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.uid(&ns, "fast").as_deref(), Some(uid.as_str()));
}

/// `--report DIR` is checked before anything is deleted: a folder that can't be made stops the
/// run with exit 2, the VMI untouched and the error document saying so (not a good recovery
/// turned into exit 3 afterwards); a dry run writes no reports; an earlier run's reports are
/// kept unless --overwrite, which replaces them after the outage.
#[test]
fn the_report_folder_is_checked_before_the_delete() {
    let env = env_or_skip!();
    let ns = env.namespace("report");
    let uid = env.vm(&ns, "db", "Always", &[]);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "a file").unwrap();
    let below = plain.join("reports");
    let out = env.outage(&ns, "db", &["--report", below.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 2, "{doc:#}");
    assert_eq!(doc["changed"], false);
    assert!(
        doc["error"].as_str().unwrap().starts_with("--report "),
        "{doc:#}"
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));

    let dry = dir.path().join("dry");
    let out = env.run(&[
        "outage",
        "db",
        "-n",
        &ns,
        "--dry-run",
        "--report",
        dry.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!dry.exists(), "a dry run writes nothing");

    let earlier = dir.path().join("earlier");
    std::fs::create_dir(&earlier).unwrap();
    std::fs::write(earlier.join("report.json"), "{}").unwrap();
    let report = earlier.to_str().unwrap();
    let out = env.outage(&ns, "db", &["--report", report]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--overwrite"), "{}", stderr(&out));
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
    assert_eq!(
        std::fs::read_to_string(earlier.join("report.json")).unwrap(),
        "{}"
    );

    let out = env.outage(&ns, "db", &["--report", report, "--overwrite"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["exitCode"], 0);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(earlier.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(written["exitCode"], 0, "{written:#}");
    assert!(earlier.join("junit.xml").is_file());
    assert_ne!(env.uid(&ns, "db").as_deref(), Some(uid.as_str()));
}

/// `-v` logs each API request as kubectl's `-v=6` does (method, URL, status, latency) and no
/// HTTP/2 internals.
#[test]
fn verbose_logs_each_api_request_like_kubectl() {
    let env = env_or_skip!();
    let ns = env.namespace("verbose");
    env.vm(&ns, "db-0", "Always", &[]);
    let out = env.run(&["list", "-n", &ns, "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let listed = format!("/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances");
    let line = err
        .lines()
        .find(|l| l.contains("GET https://127.0.0.1:") && l.contains(&listed))
        .unwrap_or_else(|| panic!("no request line for the VMI list:\n{err}"));
    assert!(line.contains(" 200 OK in "), "{line}");
    assert!(line.trim_end().ends_with(" milliseconds"), "{line}");
    assert!(!err.contains("h2::"), "HTTP/2 frames at -v:\n{err}");
    // Without -v: nothing of the kind.
    let quiet = env.run(&["list", "-n", &ns]);
    assert!(
        !stderr(&quiet).contains(" milliseconds"),
        "{}",
        stderr(&quiet)
    );
}
