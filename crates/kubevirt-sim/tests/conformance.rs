//! The simulator against `../shared/KUBEVIRT.md`, on a real API server: one case per row of
//! its runStrategy table and per rule the simulator follows, each named after the KubeVirt
//! behaviour it checks. Waits end on what the controller writes in the same reconcile as its
//! decision (a VM's printableStatus), so a "not re-created" is observed, not guessed.

mod common;

use std::time::Duration;

use common::*;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kubevirt_sim::knobs;
use serde_json::{json, Value};
use testenv::Cluster;

/// Quick VMIs: the rules don't depend on how long a boot takes.
const FAST: [(&str, &str); 2] = [(knobs::BOOT_DELAY, "150ms"), (knobs::READY_DELAY, "30ms")];
/// How long a failing guest runs: long enough that its VMI is seen Running and Ready first, even
/// on the genuine tier under load (virt-controller copies the pod's readiness onto the VMI).
const FAILS_AFTER: &str = "2s";

fn create_vm(cluster: &Cluster, manifest: Value) {
    let ns = manifest["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let object: DynamicObject = serde_json::from_value(manifest).unwrap();
    cluster
        .block_on(vms(&cluster.client(), &ns).create(&PostParams::default(), &object))
        .unwrap();
}

fn patch_vm(cluster: &Cluster, ns: &str, name: &str, patch: Value) {
    cluster
        .block_on(vms(&cluster.client(), ns).patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        ))
        .unwrap();
}

fn annotate_vm(cluster: &Cluster, ns: &str, name: &str, key: &str, value: &str) {
    patch_vm(
        cluster,
        ns,
        name,
        json!({"metadata": {"annotations": {key: value}}}),
    );
}

fn call(cluster: &Cluster, ns: &str, name: &str, verb: &str, body: &str) -> (u16, String) {
    cluster.block_on(subresource_with(&cluster.client(), ns, name, verb, body))
}

/// Waits for printableStatus Stopped with no VMI: written by the reconcile that decided not to
/// create one.
fn stays_stopped(cluster: &Cluster, ns: &str, name: &str) -> DynamicObject {
    let client = cluster.client();
    let vm = cluster.block_on(wait_vm_status(&client, ns, name, "Stopped"));
    assert!(
        cluster.vmi(ns, name).is_none(),
        "{ns}/{name} has a VMI: {:?}",
        events(cluster, ns, name)
    );
    vm
}

fn wait_gone(cluster: &Cluster, ns: &str, name: &str, uid: &str) {
    let client = cluster.client();
    cluster.block_on(wait_for(&format!("VMI {ns}/{name} {uid} to go"), || {
        let client = client.clone();
        async move {
            let now = get_vmi(&client, ns, name).await;
            (now.and_then(|v| v.metadata.uid).as_deref() != Some(uid)).then_some(())
        }
    }));
}

/// Waits until the VMI `uid` has phase `phase`.
fn wait_phase(cluster: &Cluster, ns: &str, name: &str, uid: &str, phase: &str) -> DynamicObject {
    let client = cluster.client();
    cluster.block_on(wait_for(&format!("VMI {ns}/{name} to be {phase}"), || {
        let client = client.clone();
        async move {
            get_vmi(&client, ns, name).await.filter(|v| {
                v.metadata.uid.as_deref() == Some(uid) && v.data["status"]["phase"] == phase
            })
        }
    }))
}

/// Whether the cluster logs its controllers' decisions (the simulator's event log). On the
/// genuine tier KubeVirt's own controllers decide and log nothing for us: the behaviour each
/// test waits for is checked there, the logged reason only here.
fn logs_decisions(cluster: &Cluster) -> bool {
    !cluster.is_genuine()
}

/// The simulator logged this reason for deleting the VMI (nothing to check on the genuine tier).
fn assert_deleted_why(cluster: &Cluster, ns: &str, name: &str, uid: &str, why: &str) {
    if logs_decisions(cluster) {
        assert_eq!(deleted_why(cluster, ns, name, uid).as_deref(), Some(why));
    }
}

fn deleted_why(cluster: &Cluster, ns: &str, name: &str, uid: &str) -> Option<String> {
    events(cluster, ns, name)
        .iter()
        .find(|e| e["event"] == "deleted" && e["uid"] == uid)
        .and_then(|e| e["why"].as_str().map(str::to_string))
}

// --- Always (running: true) ---------------------------------------------------------------

#[test]
fn always_recreates_a_deleted_vmi_with_the_same_name_and_a_new_uid() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-always");
    let old = cluster.running_vm(&ns, "db", "Always", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    let new = cluster
        .wait_vmi_ready(&ns, "db", Some(&old), TIMEOUT)
        .unwrap();
    assert_ne!(new, old);
    let vmi = cluster.vmi(&ns, "db").unwrap();
    let owner = &vmi.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("VirtualMachine", "db", Some(true))
    );
}

#[test]
fn legacy_running_true_recreates_a_deleted_vmi_like_always() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-legacy-on");
    let old = cluster.running_legacy_vm(&ns, "db", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    cluster
        .wait_vmi_ready(&ns, "db", Some(&old), TIMEOUT)
        .unwrap();
}

#[test]
fn always_deletes_and_recreates_a_failed_vmi() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-always-failed");
    let mut fail = FAST.to_vec();
    fail.push((knobs::FAIL_AFTER, FAILS_AFTER));
    let first = cluster.running_vm(&ns, "flaky", "Always", &fail);
    let second = cluster
        .wait_vmi_ready(&ns, "flaky", Some(&first), TIMEOUT)
        .unwrap();
    assert_ne!(first, second);
    assert_deleted_why(cluster, &ns, "flaky", &first, "finished");
}

#[test]
fn always_refuses_start_with_409_does_not_support_manual_start_requests() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-always-start");
    cluster.running_vm(&ns, "db", "Always", &FAST);
    // Running: "already running" comes first, as in virt-api.
    let (code, message) = call(cluster, &ns, "db", "start", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("VM is already running"), "{message}");
    if !cluster.simulated_only("start-failure knob: holding back an Always VM's re-create") {
        return;
    }
    // Stopped (no VMI yet: the re-create is held back by a long back-off).
    annotate_vm(cluster, &ns, "db", knobs::START_FAILURE, "1,1h");
    cluster.block_on(wait_for("the start failure record", || async {
        get_vm(&cluster.client(), &ns, "db")
            .await
            .filter(|vm| vm.data["status"]["startFailure"].is_object())
    }));
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    let (code, message) = call(cluster, &ns, "db", "start", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(
        message.ends_with("\"db\": Always does not support manual start requests"),
        "{message}"
    );
}

#[test]
fn always_waits_out_the_start_failure_back_off_until_retry_after() {
    let cluster = cluster_or_skip!();
    if !cluster.simulated_only(
        "start-failure knob: KubeVirt records startFailure only for real failed starts",
    ) {
        return;
    }
    let ns = cluster.namespace("c-backoff");
    let client = cluster.client();
    let old = cluster.running_vm(&ns, "db", "Always", &FAST);
    annotate_vm(cluster, &ns, "db", knobs::START_FAILURE, "2,3s");
    let record = cluster.block_on(wait_for("the start failure record", || async {
        get_vm(&client, &ns, "db")
            .await
            .map(|vm| vm.data["status"]["startFailure"].clone())
            .filter(Value::is_object)
    }));
    assert_eq!(record["consecutiveFailCount"], 2);
    let retry_after = record["retryAfterTimestamp"].as_str().unwrap().to_string();
    assert!(
        retry_after.ends_with('Z') && !retry_after.contains('.'),
        "{retry_after}"
    );
    cluster.block_on(delete_vmi_and_wait(&client, &ns, "db"));
    // KubeVirt's printableStatus while a restarting VM backs off.
    cluster.block_on(wait_vm_status(&client, &ns, "db", "CrashLoopBackOff"));
    let new = cluster
        .wait_vmi_ready(&ns, "db", Some(&old), TIMEOUT)
        .unwrap();
    let created = unix_ms(find(&events(cluster, &ns, "db"), "created", Some(&new)).unwrap());
    let retry_ms = humantime::parse_rfc3339(&retry_after)
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    assert!(
        created >= retry_ms,
        "re-created {:.0} ms before retryAfterTimestamp",
        retry_ms - created
    );
    // The new VMI ran: KubeVirt clears the record.
    cluster.block_on(wait_for(
        "the start failure record to be cleared",
        || async {
            get_vm(&client, &ns, "db")
                .await
                .filter(|vm| vm.data["status"]["startFailure"].is_null())
        },
    ));
}

// --- Once ---------------------------------------------------------------------------------

#[test]
fn once_recreates_a_vmi_whenever_none_exists() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-once");
    let old = cluster.running_vm(&ns, "job", "Once", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "job"));
    cluster
        .wait_vmi_ready(&ns, "job", Some(&old), TIMEOUT)
        .unwrap();
}

#[test]
fn once_leaves_a_failed_vmi_alone() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-once-failed");
    let mut fail = FAST.to_vec();
    fail.push((knobs::FAIL_AFTER, FAILS_AFTER));
    let uid = cluster.running_vm(&ns, "job", "Once", &fail);
    wait_phase(cluster, &ns, "job", &uid, "Failed");
    // printableStatus Stopped with the VMI still there: the controller saw it Failed and kept it.
    let client = cluster.client();
    cluster.block_on(wait_for("VM job Stopped with its failed VMI", || async {
        get_vm(&client, &ns, "job")
            .await
            .filter(|vm| vm.data["status"]["printableStatus"] == "Stopped")
    }));
    assert_eq!(cluster.vmi_uid(&ns, "job"), Some(uid.clone()));
    assert_eq!(deleted_why(cluster, &ns, "job", &uid), None);
}

#[test]
fn once_refuses_start_with_409_does_not_support_manual_start_requests() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-once-start");
    let mut fail = FAST.to_vec();
    fail.push((knobs::FAIL_AFTER, FAILS_AFTER));
    let uid = cluster.running_vm(&ns, "job", "Once", &fail);
    wait_phase(cluster, &ns, "job", &uid, "Failed");
    let (code, message) = call(cluster, &ns, "job", "start", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(
        message.ends_with("Once does not support manual start requests"),
        "{message}"
    );
    let (code, message) = call(cluster, &ns, "job", "restart", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(
        message.contains("RunStategy Once does not support manual restart requests"),
        "{message}"
    );
}

// --- RerunOnFailure -----------------------------------------------------------------------

#[test]
fn rerun_on_failure_starts_a_new_vm_without_a_start_request() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-rerun-new");
    create_vm(
        cluster,
        testenv::fixtures::vm_manifest(&ns, "db", "RerunOnFailure", &FAST),
    );
    cluster.wait_vmi_ready(&ns, "db", None, TIMEOUT).unwrap();
    let start_calls = events(cluster, &ns, "db")
        .iter()
        .filter(|e| e["event"] == "start")
        .count();
    assert_eq!(start_calls, 0);
}

#[test]
fn rerun_on_failure_does_not_recreate_a_vmi_deleted_through_the_api() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-rerun-deleted");
    cluster.running_vm(&ns, "db", "RerunOnFailure", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    stays_stopped(cluster, &ns, "db");
}

#[test]
fn rerun_on_failure_deletes_and_recreates_a_failed_vmi() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-rerun-failed");
    let mut fail = FAST.to_vec();
    fail.push((knobs::FAIL_AFTER, FAILS_AFTER));
    let first = cluster.running_vm(&ns, "db", "RerunOnFailure", &fail);
    let second = cluster
        .wait_vmi_ready(&ns, "db", Some(&first), TIMEOUT)
        .unwrap();
    assert_ne!(first, second);
    assert_deleted_why(cluster, &ns, "db", &first, "finished");
}

#[test]
fn rerun_on_failure_accepts_start_as_a_start_request() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-rerun-start");
    let old = cluster.running_vm(&ns, "db", "RerunOnFailure", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    stays_stopped(cluster, &ns, "db");
    assert_eq!(
        call(cluster, &ns, "db", "start", "{}"),
        (202, String::new())
    );
    cluster
        .wait_vmi_ready(&ns, "db", Some(&old), TIMEOUT)
        .unwrap();
    let vm = cluster.block_on(wait_vm_status(&cluster.client(), &ns, "db", "Running"));
    assert_eq!(vm.data["spec"]["runStrategy"], "RerunOnFailure");
    assert!(vm.data["status"]["stateChangeRequests"].is_null());
}

#[test]
fn rerun_on_failure_starts_a_vm_switched_to_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-rerun-switch");
    create_vm(
        cluster,
        testenv::fixtures::vm_manifest(&ns, "db", "Manual", &FAST),
    );
    stays_stopped(cluster, &ns, "db");
    patch_vm(
        cluster,
        &ns,
        "db",
        json!({"spec": {"runStrategy": "RerunOnFailure"}}),
    );
    cluster.wait_vmi_ready(&ns, "db", None, TIMEOUT).unwrap();
}

// --- Manual -------------------------------------------------------------------------------

#[test]
fn manual_does_not_recreate_a_deleted_vmi() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-manual");
    cluster.running_vm(&ns, "db", "Manual", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    stays_stopped(cluster, &ns, "db");
}

#[test]
fn manual_leaves_a_failed_vmi_alone() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-manual-failed");
    let mut fail = FAST.to_vec();
    fail.push((knobs::FAIL_AFTER, FAILS_AFTER));
    let uid = cluster.running_vm(&ns, "db", "Manual", &fail);
    wait_phase(cluster, &ns, "db", &uid, "Failed");
    let client = cluster.client();
    cluster.block_on(wait_for("VM db Stopped with its failed VMI", || async {
        get_vm(&client, &ns, "db")
            .await
            .filter(|vm| vm.data["status"]["printableStatus"] == "Stopped")
    }));
    assert_eq!(cluster.vmi_uid(&ns, "db"), Some(uid.clone()));
    assert_eq!(deleted_why(cluster, &ns, "db", &uid), None);
}

// --- A crash: the launcher pod deleted with no grace ------------------------------------------

/// Deletes the VMI's virt-launcher pod with no grace period, as when its host or QEMU dies.
fn crash(cluster: &Cluster, ns: &str, vmi_uid: &str) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, DeleteParams, ListParams};
    let pods: Api<Pod> = Api::namespaced(cluster.client(), ns);
    let selector = format!("kubevirt.io=virt-launcher,kubevirt.io/created-by={vmi_uid}");
    let list = cluster
        .block_on(pods.list(&ListParams::default().labels(&selector)))
        .unwrap();
    assert!(!list.items.is_empty(), "VMI {vmi_uid} has a launcher pod");
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    for pod in list.items {
        cluster
            .block_on(pods.delete(pod.metadata.name.as_deref().unwrap(), &now))
            .unwrap();
    }
}

/// virt-controller (`lifecycle.go`, the Running case): the pod of a live VMI is gone, so the
/// VMI is Failed, not Ready (PodNotExists) — and Manual then leaves it alone until `start`,
/// which stops that VMI and starts a new one.
#[test]
fn a_launcher_deleted_with_no_grace_fails_the_vmi_and_manual_leaves_it_until_start() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-crash-manual");
    let uid = cluster.running_vm(&ns, "db", "Manual", &FAST);
    crash(cluster, &ns, &uid);
    let failed = wait_phase(cluster, &ns, "db", &uid, "Failed");
    assert_eq!(condition(&failed, "Ready").as_deref(), Some("False"));
    assert!(failed.metadata.deletion_timestamp.is_none());
    let client = cluster.client();
    cluster.block_on(wait_for("VM db Stopped with its crashed VMI", || async {
        get_vm(&client, &ns, "db")
            .await
            .filter(|vm| vm.data["status"]["printableStatus"] == "Stopped")
    }));
    assert_eq!(cluster.vmi_uid(&ns, "db"), Some(uid.clone()));
    let (code, body) = call(cluster, &ns, "db", "start", "{}");
    assert!(code < 300, "start: {code} {body}");
    let new = cluster
        .wait_vmi_ready(&ns, "db", Some(&uid), TIMEOUT)
        .unwrap();
    assert_ne!(new, uid);
}

/// Always and RerunOnFailure delete a crashed (Failed) VMI and create a new one themselves.
#[test]
fn a_crash_is_restarted_by_kubevirt_under_always_and_rerun_on_failure() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-crash-auto");
    let always = cluster.running_vm(&ns, "always", "Always", &FAST);
    let rerun = cluster.running_vm(&ns, "rerun", "RerunOnFailure", &FAST);
    crash(cluster, &ns, &always);
    crash(cluster, &ns, &rerun);
    for (name, uid) in [("always", &always), ("rerun", &rerun)] {
        let new = cluster
            .wait_vmi_ready(&ns, name, Some(uid), TIMEOUT)
            .unwrap();
        assert_ne!(&new, uid);
        assert_deleted_why(cluster, &ns, name, uid, "finished");
        if logs_decisions(cluster) {
            let failed = events(cluster, &ns, name).into_iter().any(|e| {
                e["event"] == "phase" && e["uid"] == uid.as_str() && e["phase"] == "Failed"
            });
            assert!(failed, "{name}: the crashed VMI was Failed first");
        }
    }
}

#[test]
fn manual_accepts_start_as_a_start_request() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-manual-start");
    let old = cluster.running_vm(&ns, "db", "Manual", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    stays_stopped(cluster, &ns, "db");
    assert_eq!(
        call(cluster, &ns, "db", "start", "{}"),
        (202, String::new())
    );
    cluster
        .wait_vmi_ready(&ns, "db", Some(&old), TIMEOUT)
        .unwrap();
    let vm = cluster.vm(&ns, "db").unwrap();
    assert_eq!(vm.data["spec"]["runStrategy"], "Manual");
}

// --- Halted (running: false) --------------------------------------------------------------

#[test]
fn halted_stops_a_vmi_that_was_running_when_the_vm_was_halted() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-halted");
    let uid = cluster.running_vm(&ns, "db", "Always", &FAST);
    patch_vm(
        cluster,
        &ns,
        "db",
        json!({"spec": {"runStrategy": "Halted"}}),
    );
    wait_gone(cluster, &ns, "db", &uid);
    assert_deleted_why(cluster, &ns, "db", &uid, "halted");
    stays_stopped(cluster, &ns, "db");
}

#[test]
fn legacy_running_false_stops_a_running_vmi() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-legacy-off");
    let uid = cluster.running_legacy_vm(&ns, "db", &FAST);
    patch_vm(cluster, &ns, "db", json!({"spec": {"running": false}}));
    wait_gone(cluster, &ns, "db", &uid);
    let vm = stays_stopped(cluster, &ns, "db");
    assert!(vm.data["spec"].get("runStrategy").is_none());
}

#[test]
fn halted_does_not_recreate_and_a_busy_controller_stops_the_vmi_after_the_stop_delay() {
    let cluster = cluster_or_skip!();
    if !cluster
        .simulated_only("stop-delay knob: the real VM controller stops a Halted VM's VMI at once")
    {
        return;
    }
    let ns = cluster.namespace("c-halting");
    let uid = cluster.halting_vm(&ns, "db", Duration::from_secs(3), &FAST);
    // Running under a Halted VM: the state the tool must refuse.
    let vmi = cluster.vmi(&ns, "db").unwrap();
    let vm = cluster.vm(&ns, "db").unwrap();
    assert_eq!(
        (
            &vm.data["spec"]["runStrategy"],
            &vmi.data["status"]["phase"]
        ),
        (&json!("Halted"), &json!("Running"))
    );
    wait_gone(cluster, &ns, "db", &uid);
    let log = events(cluster, &ns, "db");
    let deleted = log
        .iter()
        .find(|e| e["event"] == "deleted" && e["uid"] == uid)
        .unwrap();
    assert_eq!(deleted["why"], "halted");
    stays_stopped(cluster, &ns, "db");
}

#[test]
fn halted_start_switches_the_vm_to_always() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-halted-start");
    cluster.halted_vm(&ns, "db", &FAST);
    assert_eq!(
        call(cluster, &ns, "db", "start", "{}"),
        (202, String::new())
    );
    let vm = cluster.vm(&ns, "db").unwrap();
    assert_eq!(vm.data["spec"]["runStrategy"], "Always");
    assert!(
        vm.data["spec"].get("running").is_none(),
        "{}",
        vm.data["spec"]
    );
    cluster.wait_vmi_ready(&ns, "db", None, TIMEOUT).unwrap();
}

#[test]
fn legacy_running_false_start_sets_running_true_and_never_both() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-legacy-start");
    create_vm(
        cluster,
        testenv::fixtures::legacy_vm_manifest(&ns, "db", false, &FAST),
    );
    stays_stopped(cluster, &ns, "db");
    assert_eq!(
        call(cluster, &ns, "db", "start", "{}"),
        (202, String::new())
    );
    let vm = cluster.vm(&ns, "db").unwrap();
    assert_eq!(vm.data["spec"]["running"], true);
    assert!(
        vm.data["spec"].get("runStrategy").is_none(),
        "{}",
        vm.data["spec"]
    );
    cluster.wait_vmi_ready(&ns, "db", None, TIMEOUT).unwrap();
}

#[test]
fn halted_refuses_restart() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-halted-restart");
    cluster.halted_vm(&ns, "db", &FAST);
    let (code, message) = call(cluster, &ns, "db", "restart", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(
        message.contains("RunStategy Halted does not support manual restart requests"),
        "{message}"
    );
}

// --- virt-api: dry run, stop with a grace period, manual recovery -------------------------

#[test]
fn start_with_dry_run_answers_as_a_real_start_and_changes_nothing() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-dry-run");
    let dry = r#"{"dryRun":["All"]}"#;
    create_vm(
        cluster,
        testenv::fixtures::vm_manifest(&ns, "manual", "Manual", &FAST),
    );
    stays_stopped(cluster, &ns, "manual");
    assert_eq!(
        call(cluster, &ns, "manual", "start", dry),
        (202, String::new())
    );
    let vm = cluster.vm(&ns, "manual").unwrap();
    assert!(
        vm.data["status"]["stateChangeRequests"].is_null(),
        "{}",
        vm.data["status"]
    );
    assert!(cluster.vmi(&ns, "manual").is_none());
    if logs_decisions(cluster) {
        let logged = find(&events(cluster, &ns, "manual"), "start", None)
            .cloned()
            .unwrap();
        assert_eq!(
            (&logged["dryRun"], &logged["code"]),
            (&json!(true), &json!(202))
        );
    }

    cluster.halted_vm(&ns, "halted", &FAST);
    assert_eq!(
        call(cluster, &ns, "halted", "start", dry),
        (202, String::new())
    );
    assert_eq!(
        cluster.vm(&ns, "halted").unwrap().data["spec"]["runStrategy"],
        "Halted"
    );

    cluster.running_vm(&ns, "always", "Always", &FAST);
    let (code, message) = call(cluster, &ns, "always", "start", dry);
    assert_eq!(code, 409, "{message}");
    // The real start still works afterwards.
    assert_eq!(
        call(cluster, &ns, "manual", "start", "{}"),
        (202, String::new())
    );
    cluster
        .wait_vmi_ready(&ns, "manual", None, TIMEOUT)
        .unwrap();
}

#[test]
fn stop_with_a_grace_period_shortens_the_vmi_shutdown() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-stop-grace");
    // 100000 s scaled by 0.01: a shutdown of 1000 s, far beyond the test's timeout.
    let mut vm = testenv::fixtures::vm_manifest(&ns, "db", "Manual", &FAST);
    vm["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(100000);
    create_vm(cluster, vm);
    assert_eq!(
        call(cluster, &ns, "db", "start", "{}"),
        (202, String::new())
    );
    let uid = cluster.wait_vmi_ready(&ns, "db", None, TIMEOUT).unwrap();
    let (code, message) = call(cluster, &ns, "db", "stop", r#"{"gracePeriod":0}"#);
    assert_eq!(code, 202, "{message}");
    wait_gone(cluster, &ns, "db", &uid);
    stays_stopped(cluster, &ns, "db");
}

#[test]
fn manual_recovery_required_starts_nothing_and_start_is_409() {
    let cluster = cluster_or_skip!();
    if !cluster
        .simulated_only("manual-recovery-required knob: reached only by a failed volume migration")
    {
        return;
    }
    let ns = cluster.namespace("c-recovery");
    let client = cluster.client();
    for strategy in ["Always", "Manual"] {
        let name = strategy.to_lowercase();
        cluster.running_vm(&ns, &name, strategy, &FAST);
        annotate_vm(cluster, &ns, &name, knobs::MANUAL_RECOVERY_REQUIRED, "true");
        cluster.block_on(wait_for("condition ManualRecoveryRequired", || async {
            get_vm(&client, &ns, &name)
                .await
                .filter(|vm| condition(vm, "ManualRecoveryRequired").as_deref() == Some("True"))
        }));
        cluster.block_on(delete_vmi_and_wait(&client, &ns, &name));
        stays_stopped(cluster, &ns, &name);
    }
    let (code, message) = call(cluster, &ns, "manual", "start", "{}");
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("VM recovery required"), "{message}");
}

// --- VirtualMachineInstanceReplicaSet -----------------------------------------------------

#[test]
fn replica_set_replaces_a_deleted_vmi_under_a_new_generated_name_without_waiting_for_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-vmirs");
    let client = cluster.client();
    // A long guest shutdown: the old VMI is still terminating when the replacement comes.
    let mut slow_stop = FAST.to_vec();
    slow_stop.push((knobs::SHUTDOWN_DELAY, "3s"));
    let before = cluster.running_replica_set(&ns, "web", 3, &slow_stop);
    for vmi in &before {
        let tail = vmi.name.strip_prefix("web").unwrap();
        assert!(
            tail.len() == 5
                && tail
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{}",
            vmi.name
        );
    }
    let victim = before[0].clone();
    cluster
        .block_on(vmis(&client, &ns).delete(&victim.name, &Default::default()))
        .unwrap();
    let replacement = cluster.block_on(wait_for("a replacement VMI", || async {
        let all = testenv::fixtures::replica_set_vmis(&client, &ns, "web")
            .await
            .unwrap();
        all.into_iter().find(|v| {
            before
                .iter()
                .all(|b| Some(&b.name) != v.metadata.name.as_ref())
        })
    }));
    let name = replacement.metadata.name.clone().unwrap();
    assert!(name.starts_with("web") && name.len() == 8, "{name}");
    // Without waiting: the old VMI still shuts down (3 s) when the replacement exists.
    let victim_now = cluster.vmi(&ns, &victim.name);
    assert!(
        victim_now.is_some_and(|v| v.metadata.deletion_timestamp.is_some()),
        "the replacement came only after the old VMI was gone"
    );
    if !logs_decisions(cluster) {
        cluster
            .wait_replica_set_ready(&ns, "web", 3, TIMEOUT)
            .unwrap();
        return;
    }
    let created = unix_ms(find(&events(cluster, &ns, &name), "created", None).unwrap());
    let after = cluster
        .wait_replica_set_ready(&ns, "web", 3, TIMEOUT)
        .unwrap();
    assert!(after.iter().all(|v| v.name != victim.name));
    let gone = unix_ms(
        find(
            &events(cluster, &ns, &victim.name),
            "gone",
            Some(&victim.uid),
        )
        .unwrap(),
    );
    assert!(
        created < gone,
        "the replacement came {:.0} ms after the old VMI was gone",
        created - gone
    );
}

#[test]
fn replica_set_vmis_are_owned_by_the_set_and_carry_kubevirts_finalizer() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-vmirs-owner");
    let set = cluster.running_replica_set(&ns, "web", 2, &FAST);
    let owner_uid = cluster
        .block_on(
            kube::Api::<DynamicObject>::namespaced_with(
                cluster.client(),
                &ns,
                &testenv::fixtures::vmirs_resource(),
            )
            .get("web"),
        )
        .unwrap()
        .metadata
        .uid;
    for vmi in &set {
        let object = cluster.vmi(&ns, &vmi.name).unwrap();
        let owner = &object.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.controller,
                owner.block_owner_deletion,
                Some(&owner.uid)
            ),
            (
                "VirtualMachineInstanceReplicaSet",
                Some(true),
                Some(true),
                owner_uid.as_ref()
            )
        );
        assert!(object
            .metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"kubevirt.io/foregroundDeleteVirtualMachine".to_string()));
    }
}

#[test]
fn replica_set_reports_replicas_through_the_status_subresource_and_scales() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-vmirs-scale");
    let client = cluster.client();
    cluster.running_replica_set(&ns, "web", 3, &FAST);
    let sets = kube::Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &testenv::fixtures::vmirs_resource(),
    );
    let status = |want: u64| {
        let sets = sets.clone();
        async move {
            sets.get("web").await.ok().filter(|s| {
                let st = &s.data["status"];
                st["replicas"] == want && st["readyReplicas"] == want
            })
        }
    };
    let set = cluster.block_on(wait_for("status 3/3", || status(3)));
    assert_eq!(set.data["status"]["labelSelector"], "app=web");
    cluster
        .block_on(sets.patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 1}})),
        ))
        .unwrap();
    cluster
        .wait_replica_set_ready(&ns, "web", 1, TIMEOUT)
        .unwrap();
    cluster.block_on(wait_for("status 1/1", || status(1)));
}

// --- Standalone VMIs and other owners -----------------------------------------------------

/// No controller re-creates these: wait a few fast boots' worth, then look.
fn never_comes_back(cluster: &Cluster, ns: &str, name: &str) {
    std::thread::sleep(Duration::from_millis(1500));
    assert!(cluster.vmi(ns, name).is_none(), "{ns}/{name} came back");
    let created = events(cluster, ns, name)
        .iter()
        .filter(|e| e["event"] == "created")
        .count();
    assert_eq!(created, 0);
}

#[test]
fn a_standalone_vmi_is_never_recreated() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-standalone");
    cluster.running_vmi(&ns, "solo", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "solo"));
    never_comes_back(cluster, &ns, "solo");
}

#[test]
fn a_vmi_with_another_controller_owner_is_left_to_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-foreign");
    let mut vmi = testenv::fixtures::vmi_manifest(&ns, "owned", &FAST);
    vmi["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
        "uid": "00000000-0000-0000-0000-000000000001", "controller": true
    }]);
    let object: DynamicObject = serde_json::from_value(vmi).unwrap();
    cluster
        .block_on(vmis(&cluster.client(), &ns).create(&PostParams::default(), &object))
        .unwrap();
    cluster.wait_vmi_ready(&ns, "owned", None, TIMEOUT).unwrap();
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "owned"));
    never_comes_back(cluster, &ns, "owned");
}

// --- VirtualMachinePool -------------------------------------------------------------------

#[test]
fn pool_owns_vms_named_pool_dash_n_whose_vmis_follow_the_run_strategy() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-pool");
    let always = cluster.running_pool(&ns, "pool", 2, "Always", &FAST);
    assert_eq!(
        always.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["pool-0", "pool-1"]
    );
    for index in 0..2 {
        let vm = cluster.vm(&ns, &format!("pool-{index}")).unwrap();
        let owner = &vm.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (
                owner.api_version.as_str(),
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.controller
            ),
            (
                "pool.kubevirt.io/v1beta1",
                "VirtualMachinePool",
                "pool",
                Some(true)
            )
        );
    }
    let old = &always[0];
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, &old.name));
    cluster
        .wait_vmi_ready(&ns, &old.name, Some(&old.uid), TIMEOUT)
        .unwrap();
    let vmi = cluster.vmi(&ns, &old.name).unwrap();
    assert_eq!(
        vmi.metadata.owner_references.unwrap()[0].kind,
        "VirtualMachine"
    );

    let manual = cluster.running_pool(&ns, "manual", 1, "Manual", &FAST);
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, &manual[0].name));
    stays_stopped(cluster, &ns, &manual[0].name);
}

// --- VMI status as KubeVirt writes it -----------------------------------------------------

#[test]
fn phase_transition_timestamps_are_appended_per_phase_with_whole_seconds() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-timestamps");
    cluster.running_vmi(&ns, "solo", &FAST);
    let vmi = cluster.vmi(&ns, "solo").unwrap();
    let list = vmi.data["status"]["phaseTransitionTimestamps"]
        .as_array()
        .unwrap()
        .clone();
    let phases: Vec<&str> = list.iter().map(|t| t["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["Pending", "Scheduling", "Scheduled", "Running"]);
    let times: Vec<std::time::SystemTime> = list
        .iter()
        .map(|t| {
            let at = t["phaseTransitionTimestamp"].as_str().unwrap();
            assert!(at.ends_with('Z') && !at.contains('.'), "{at}");
            humantime::parse_rfc3339(at).unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{list:?}");
}

#[test]
fn a_paused_vmi_has_condition_paused_true_by_user_and_its_vm_shows_paused() {
    let cluster = cluster_or_skip!();
    if !cluster.simulated_only("paused knob: a real pause goes through virt-handler") {
        return;
    }
    let ns = cluster.namespace("c-paused");
    let mut paused = FAST.to_vec();
    paused.push((knobs::PAUSED, "true"));
    cluster.running_vm(&ns, "solo", "Always", &paused);
    let client = cluster.client();
    let vmi = cluster.block_on(wait_for("condition Paused", || async {
        get_vmi(&client, &ns, "solo")
            .await
            .filter(|v| condition(v, "Paused").as_deref() == Some("True"))
    }));
    cluster.block_on(wait_vm_status(&client, &ns, "solo", "Paused"));
    let paused = vmi.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Paused")
        .unwrap();
    assert_eq!(paused["reason"], "PausedByUser");
    assert_eq!(condition(&vmi, "Ready").as_deref(), Some("True"));
}

#[test]
fn a_migrating_vmi_has_a_migration_state_not_completed_and_its_vm_shows_migrating() {
    let cluster = cluster_or_skip!();
    if !cluster.simulated_only("migrating knob: a real migration needs two virt-handlers") {
        return;
    }
    let ns = cluster.namespace("c-migrating");
    let mut migrating = FAST.to_vec();
    migrating.push((knobs::MIGRATING, "true"));
    cluster.running_vm(&ns, "solo", "Always", &migrating);
    let client = cluster.client();
    let vmi = cluster.block_on(wait_for("status.migrationState", || async {
        get_vmi(&client, &ns, "solo")
            .await
            .filter(|v| v.data["status"]["migrationState"].is_object())
    }));
    cluster.block_on(wait_vm_status(&client, &ns, "solo", "Migrating"));
    let state = &vmi.data["status"]["migrationState"];
    assert_eq!(state["completed"], false);
    assert_eq!(state["sourceNode"], vmi.data["status"]["nodeName"]);
    assert_ne!(state["targetNode"], state["sourceNode"]);
}

#[test]
fn a_vm_created_vmi_carries_both_kubevirt_finalizers_and_still_goes() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-finalizers");
    let uid = cluster.running_vm(&ns, "db", "Manual", &FAST);
    let finalizers = cluster.vmi(&ns, "db").unwrap().metadata.finalizers.unwrap();
    for f in [
        "kubevirt.io/virtualMachineControllerFinalize",
        "kubevirt.io/foregroundDeleteVirtualMachine",
    ] {
        assert!(finalizers.contains(&f.to_string()), "{finalizers:?}");
    }
    cluster.block_on(delete_vmi_and_wait(&cluster.client(), &ns, "db"));
    if logs_decisions(cluster) {
        cluster.block_on(logged(cluster, &ns, "db", "gone", Some(&uid)));
    }
}

// --- virt-api's admission --------------------------------------------------------------------

#[test]
fn a_vmi_created_with_kubevirts_reserved_labels_is_refused() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("c-reserved");
    let mut manifest = testenv::fixtures::vmi_manifest(&ns, "copy", &FAST);
    manifest["metadata"]["labels"]["kubevirt.io/nodeName"] = json!("node-a");
    let object: DynamicObject = serde_json::from_value(manifest).unwrap();
    let refused = cluster
        .block_on(vmis(&cluster.client(), &ns).create(&PostParams::default(), &object))
        .expect_err("a VMI with kubevirt.io/nodeName is refused");
    let message = refused.to_string();
    assert!(
        message.contains("reserved kubevirt.io/ labels on a VMI object is prohibited"),
        "{message}"
    );
    assert!(cluster.vmi(&ns, "copy").is_none());
}
