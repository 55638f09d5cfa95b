//! `restore` end to end: the real binary against the real API server and the simulated (or
//! genuine) KubeVirt. It reads the owner now and adapts (a gone Manual VM is re-created and
//! started, a kept-down runStrategy is put back) or refuses (a replica set's VMI), says what it
//! changed, and exits 3 when it changed something and then failed.

mod common;

use std::time::{Duration, Instant};

use common::{json, stderr, Env};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes the VM (and so its VMI) and waits until both are gone.
fn delete_vm(env: &Env, ns: &str, name: &str) {
    let out = env.kubectl(&[
        "delete",
        "vm",
        name,
        "-n",
        ns,
        "--wait=true",
        "--timeout=60s",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.uid(ns, name).is_some() {
        assert!(Instant::now() < deadline, "VMI {ns}/{name} not gone");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The tool's own writes to VMIs and VMs in `ns` (from the API server's audit log).
fn tool_writes(env: &Env, ns: &str) -> Vec<serde_json::Value> {
    let mut writes = Vec::new();
    for resource in ["virtualmachineinstances", "virtualmachines"] {
        writes.extend(env.requests(ns, resource).into_iter().filter(|e| {
            matches!(
                e["verb"].as_str(),
                Some("create" | "update" | "patch" | "delete")
            ) && e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
        }));
    }
    writes
}

/// The critical case: a Manual VM deleted after the outage. Restore re-creates it from the
/// snapshot and starts it (it used to stay Stopped while restore waited 5 minutes, exit 1).
#[test]
fn a_gone_manual_vm_is_re_created_and_started() {
    let env = env_or_skip!();
    let ns = env.namespace("restore-manual");
    env.vm(&ns, "app", "Manual", &[]);
    let out = env.outage(&ns, "app", &["--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = json(&out)["snapshot"].as_str().unwrap().to_string();
    delete_vm(&env, &ns, "app");
    // Exit 0 within --timeout 2m is the bound: the VM came back Ready, not after the wait.
    let out = env.run(&["restore", &snapshot, "--timeout", "2m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("Running and Ready"), "{said}");
    assert!(
        said.contains("re-created VM app from the snapshot"),
        "{said}"
    );
    assert!(said.contains("started VM app"), "{said}");
    assert!(env.is_ready(&ns, "app"));
    assert_eq!(env.run_strategy(&ns, "app"), "Manual");
}

/// A replica set's VMI is never re-created by hand (with the set's ownerReference on it, it
/// would fight the controller): refused, exit 2, nothing written.
#[test]
fn a_replica_set_vmi_is_refused_and_nothing_is_written() {
    let env = env_or_skip!();
    let ns = env.namespace("restore-rs");
    let vmis = env.running_replica_set(&ns, "web", 2, &[]);
    let out = env.outage(&ns, &vmis[0].name, &["--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let snapshot = doc["snapshot"].as_str().unwrap().to_string();
    assert!(doc["restoreCommand"].is_null(), "{doc:#}");
    let before = tool_writes(&env, &ns).len();
    let out = env.run(&["restore", &snapshot]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("replica set web"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(err.contains("kubectl get vmirs web"), "{err}");
    assert_eq!(
        tool_writes(&env, &ns).len(),
        before,
        "restore wrote something"
    );
    env.wait_replica_set_ready(&ns, "web", 2, Duration::from_secs(60))
        .unwrap();
}

/// `--keep-down` left the VM at Manual and its VMI down (the tool was killed): restore puts
/// the runStrategy back, KubeVirt re-creates the VMI, and the output says what changed.
#[test]
fn a_kept_down_vm_gets_its_run_strategy_back() {
    let env = env_or_skip!();
    let ns = env.namespace("restore-kept");
    env.vm(&ns, "db", "Always", &[]);
    let out = env.outage(&ns, "db", &["--keep-down", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = json(&out)["snapshot"].as_str().unwrap().to_string();
    // What a killed run leaves: Manual, and no VMI.
    env.patch_vm(
        &ns,
        "db",
        serde_json::json!({"spec": {"runStrategy": "Manual"}}),
    );
    env.delete_and_wait(&ns, "db");
    let out = env.run(&["restore", &snapshot, "--timeout", "2m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("put VM db's runStrategy back to Always"),
        "{said}"
    );
    assert!(!said.contains("started VM"), "KubeVirt starts it: {said}");
    // What it changed, on stderr before the wait and on stdout after it.
    assert!(
        said.starts_with(&format!("restored VMI {ns}/db: Running and Ready on ")),
        "{said}"
    );
    assert!(
        said.trim_end()
            .ends_with("; changed: put VM db's runStrategy back to Always"),
        "{said}"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("restore: changed: put VM db's runStrategy back to Always; waiting up to 2m for VMI {ns}/db to be Running and Ready\n")),
        "{err}"
    );
    assert_eq!(env.run_strategy(&ns, "db"), "Always");
    assert!(env.is_ready(&ns, "db"));
}

/// Restore changed something (re-created the VM), then virt-api refused the start: exit 3, the
/// change said, never exit 2 ("nothing was changed").
#[test]
fn a_restore_that_changed_something_then_failed_exits_3() {
    let env = env_or_skip!();
    if !env.simulated_only("virt-api's start is refused by a simulator knob") {
        return;
    }
    let ns = env.namespace("restore-fail");
    env.vm(&ns, "broken", "Manual", &[]);
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "true");
    let out = env.outage(&ns, "broken", &["--duration", "500ms"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let snapshot = json(&out)["snapshot"].as_str().unwrap().to_string();
    delete_vm(&env, &ns, "broken");
    let out = env.run(&["restore", &snapshot, "--timeout", "1m"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("restore changed: re-created VM broken from the snapshot"),
        "{err}"
    );
    assert!(err.contains("start VM"), "{err}");
    assert!(err.contains("kubectl vmchaos restore '"), "{err}");
    // Once virt-api accepts the start again, the same command brings it back.
    env.annotate_vm(&ns, "broken", testenv::knobs::REJECT_START, "false");
    let out = env.run(&["restore", &snapshot, "--timeout", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("started VM broken"));
    assert!(env.is_ready(&ns, "broken"));
}
