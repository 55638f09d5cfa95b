//! `start`, `stop` and `restart` through the API server's aggregation layer, as the tool and
//! virtctl call them: discovery, RBAC in front, virt-api's answers, the caller in the event log.
//! Also measures (prints, never asserts) the simulator's reaction times.

mod common;

use common::*;
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Patch, PatchParams, PostParams};
use kubevirt_sim::knobs;
use serde_json::{json, Value};

#[test]
fn discovery_through_the_api_server_names_the_vm_subresources() {
    let cluster = cluster_or_skip!();
    let client = cluster.client();
    let list: Value = cluster.block_on(async {
        let request = http::Request::get("/apis/subresources.kubevirt.io/v1")
            .body(Vec::new())
            .unwrap();
        serde_json::from_str(&client.request_text(request).await.unwrap()).unwrap()
    });
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for name in [
        "virtualmachines/start",
        "virtualmachines/stop",
        "virtualmachines/restart",
    ] {
        assert!(names.contains(&name), "{list}");
    }
}

#[test]
fn start_needs_rbac_and_the_simulator_logs_the_caller() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("rbac");
    let client = cluster.client();
    let vm = testenv::fixtures::vm_manifest(&ns, "manual", "Manual", &[]);
    cluster.block_on(async {
        vms(&client, &ns)
            .create(&PostParams::default(), &serde_json::from_value(vm).unwrap())
            .await
            .unwrap();
    });
    let alice = cluster.user_client("alice");
    let (code, message) = cluster.block_on(subresource(&alice, &ns, "manual", "start"));
    assert_eq!(code, 403, "{message}");
    let rule: PolicyRule = serde_json::from_value(json!({
        "apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachines/start"], "verbs": ["update"]
    }))
    .unwrap();
    cluster.bind_role(&ns, "alice", &[rule]);
    assert_eq!(
        cluster.block_on(subresource(&alice, &ns, "manual", "start")),
        (202, String::new())
    );
    cluster
        .wait_vmi_ready(&ns, "manual", None, TIMEOUT)
        .unwrap();
    let log = events(cluster, &ns, "manual");
    let start = find(&log, "start", None).unwrap();
    assert_eq!(
        (&start["user"], &start["code"]),
        (&json!("alice"), &json!(202)),
        "{log:?}"
    );
    assert!(start["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("system:authenticated")));
    assert_eq!(
        cluster
            .block_on(get_vm(&client, &ns, "manual"))
            .unwrap()
            .data["spec"]["runStrategy"],
        "Manual"
    );
}

#[test]
fn start_answers_like_virt_api() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("start");
    let client = cluster.client();
    cluster.running_vm(&ns, "up", "Manual", &[]);
    cluster.halted_vm(&ns, "halted", &[]);
    cluster.block_on(async {
        let (code, message) = subresource(&client, &ns, "up", "start").await;
        assert_eq!(
            (code, message.contains("VM is already running")),
            (409, true),
            "{message}"
        );
        let (code, message) = subresource(&client, &ns, "nope", "start").await;
        assert_eq!(
            (code, message.contains("\"nope\" not found")),
            (404, true),
            "{message}"
        );

        let patch = json!({"metadata": {"annotations": {knobs::REJECT_START: "true"}}});
        vms(&client, &ns)
            .patch("up", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        assert_eq!(subresource(&client, &ns, "up", "start").await.0, 500);

        // A Halted VM (no VMI): start switches it to Always.
        assert_eq!(
            subresource(&client, &ns, "halted", "start").await,
            (202, String::new())
        );
        assert_eq!(
            get_vm(&client, &ns, "halted").await.unwrap().data["spec"]["runStrategy"],
            "Always"
        );
    });
    cluster
        .wait_vmi_ready(&ns, "halted", None, TIMEOUT)
        .unwrap();
}

#[test]
fn stop_and_restart_follow_the_run_strategy() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stop");
    let client = cluster.client();
    let always = cluster.running_vm(&ns, "always", "Always", &[]);
    let manual = cluster.running_vm(&ns, "manual", "Manual", &[]);
    for (name, old) in [("always", &always), ("manual", &manual)] {
        assert_eq!(
            cluster.block_on(subresource(&client, &ns, name, "restart")),
            (202, String::new())
        );
        cluster
            .wait_vmi_ready(&ns, name, Some(old), TIMEOUT)
            .unwrap();
        let vm = cluster.block_on(wait_vm_status(&client, &ns, name, "Running"));
        assert_eq!(
            vm.data["status"]["stateChangeRequests"],
            Value::Null,
            "{name}: {}",
            vm.data["status"]
        );
    }
    cluster.block_on(async {
        for (name, strategy_after) in [("always", "Halted"), ("manual", "Manual")] {
            assert_eq!(
                subresource(&client, &ns, name, "stop").await,
                (202, String::new())
            );
            let vm = wait_vm_status(&client, &ns, name, "Stopped").await;
            assert_eq!(vm.data["spec"]["runStrategy"], strategy_after);
            let left = get_vmi(&client, &ns, name).await;
            assert!(
                left.is_none(),
                "{name}: {left:?}\n{:#?}\n{:?}",
                vm.data["status"],
                events(cluster, &ns, name)
            );
            let (code, message) = subresource(&client, &ns, name, "stop").await;
            assert_eq!(
                (code, message.contains("VM is not running")),
                (409, true),
                "{name}: {message}"
            );
        }
    });
}

fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    format!(
        "min {:.1} ms, median {median:.1} ms, max {:.1} ms (n={})",
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    )
}

/// Not a speed test (the machine is shared): prints what the event log and the clock say.
#[test]
fn measure_recreate_and_start_latency() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("measure");
    let client = cluster.client();
    let fast = [(knobs::BOOT_DELAY, "30ms"), (knobs::READY_DELAY, "10ms")];
    let mut uid = cluster.running_vm(&ns, "always", "Always", &fast);
    let mut recreate = vec![];
    for _ in 0..10 {
        cluster.block_on(delete_vmi_and_wait(&client, &ns, "always"));
        let new = cluster
            .wait_vmi_ready(&ns, "always", Some(&uid), TIMEOUT)
            .unwrap();
        let log = events(cluster, &ns, "always");
        let gone = unix_ms(find(&log, "gone", Some(&uid)).unwrap());
        let created = unix_ms(find(&log, "created", Some(&new)).unwrap());
        assert!(
            created >= gone,
            "a VMI was created before its predecessor was gone"
        );
        recreate.push(created - gone);
        uid = new;
    }
    cluster.running_vm(&ns, "manual", "Manual", &[]);
    let (mut to_sim, mut handled, mut round_trip) = (vec![], vec![], vec![]);
    for i in 0..20 {
        let sent = now_unix_ms();
        let (code, _) = cluster.block_on(subresource(&client, &ns, "manual", "start"));
        let answered = now_unix_ms();
        assert_eq!(code, 409);
        let log = events(cluster, &ns, "manual");
        let calls: Vec<&Value> = log.iter().filter(|e| e["event"] == "start").collect();
        assert_eq!(
            calls.len(),
            i + 2,
            "one logged call per PUT (and the fixture's start)"
        );
        let call = calls[calls.len() - 1];
        to_sim.push(call["receivedUnixMs"].as_f64().unwrap() - sent);
        handled.push(unix_ms(call) - sent);
        round_trip.push(answered - sent);
    }
    eprintln!(
        "Always: old VMI gone -> new VMI created: {}",
        summary(recreate)
    );
    eprintln!(
        "start: client PUT -> reached the simulator (through the API server): {}",
        summary(to_sim)
    );
    eprintln!(
        "start: client PUT -> simulator answered (after reading VM and VMI): {}",
        summary(handled)
    );
    eprintln!("start: client round trip (409): {}", summary(round_trip));
}
