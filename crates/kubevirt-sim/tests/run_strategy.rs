//! The VM controller against a real API server: KubeVirt's runStrategy table after a VMI is
//! deleted, legacy `spec.running`, RerunOnFailure's restart of a failure, the re-create delay,
//! and a deleted VM taking its VMI along.

mod common;

use common::*;
use kube::api::{DeleteParams, DynamicObject, PostParams};
use kubevirt_sim::knobs;
use serde_json::json;

#[test]
fn always_and_once_recreate_a_deleted_vmi_with_a_new_uid_elsewhere() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("recreate");
    for strategy in ["Always", "Once"] {
        let name = strategy.to_lowercase();
        let old = cluster.running_vm(&ns, &name, strategy, &[]);
        let client = cluster.client();
        let old_node = cluster.vmi(&ns, &name).unwrap().data["status"]["nodeName"].clone();
        cluster.block_on(delete_vmi_and_wait(&client, &ns, &name));
        let new = cluster
            .wait_vmi_ready(&ns, &name, Some(&old), TIMEOUT)
            .unwrap();
        let vmi = cluster.vmi(&ns, &name).unwrap();
        assert_ne!(new, old, "{strategy}");
        let owner = &vmi.metadata.owner_references.as_ref().unwrap()[0];
        let vm = cluster.block_on(get_vm(&client, &ns, &name)).unwrap();
        assert_eq!(
            (owner.kind.as_str(), &owner.uid, owner.controller),
            (
                "VirtualMachine",
                vm.metadata.uid.as_ref().unwrap(),
                Some(true)
            )
        );
        assert_ne!(
            vmi.data["status"]["nodeName"], old_node,
            "{strategy}: a re-created VMI lands on another node"
        );
        let created = events(cluster, &ns, &name);
        assert!(
            find(&created, "created", Some(&new)).is_some(),
            "{strategy}: {created:?}"
        );
    }
}

#[test]
fn rerun_on_failure_and_manual_leave_a_deleted_vmi_deleted() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stays-down");
    let client = cluster.client();
    for strategy in ["RerunOnFailure", "Manual"] {
        let name = strategy.to_lowercase();
        let uid = cluster.running_vm(&ns, &name, strategy, &[]);
        cluster.block_on(async {
            wait_vm_status(&client, &ns, &name, "Running").await;
            delete_vmi_and_wait(&client, &ns, &name).await;
            // Written by the same reconcile that would have re-created the VMI.
            let vm = wait_vm_status(&client, &ns, &name, "Stopped").await;
            assert_eq!(vm.data["spec"]["runStrategy"], strategy);
            assert!(
                get_vmi(&client, &ns, &name).await.is_none(),
                "{strategy} re-created its VMI"
            );
        });
        assert!(find(&events(cluster, &ns, &name), "gone", Some(&uid)).is_some());
    }
}

fn legacy_vm(ns: &str, name: &str, running: bool) -> DynamicObject {
    serde_json::from_value(testenv::fixtures::legacy_vm_manifest(
        ns,
        name,
        running,
        &[],
    ))
    .unwrap()
}

#[test]
fn legacy_running_true_recreates_and_start_on_false_sets_running_true() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("legacy");
    let client = cluster.client();
    cluster.block_on(async {
        vms(&client, &ns)
            .create(&PostParams::default(), &legacy_vm(&ns, "on", true))
            .await
            .unwrap();
        vms(&client, &ns)
            .create(&PostParams::default(), &legacy_vm(&ns, "off", false))
            .await
            .unwrap();
    });
    let old = cluster.wait_vmi_ready(&ns, "on", None, TIMEOUT).unwrap();
    cluster.block_on(delete_vmi_and_wait(&client, &ns, "on"));
    cluster
        .wait_vmi_ready(&ns, "on", Some(&old), TIMEOUT)
        .unwrap();

    cluster.block_on(async {
        wait_vm_status(&client, &ns, "off", "Stopped").await;
        assert!(get_vmi(&client, &ns, "off").await.is_none());
        assert_eq!(
            subresource(&client, &ns, "off", "start").await,
            (202, String::new())
        );
        // virt-api writes the field the VM uses, never both.
        let vm = get_vm(&client, &ns, "off").await.unwrap();
        assert_eq!(vm.data["spec"]["running"], true);
        assert!(
            vm.data["spec"].get("runStrategy").is_none(),
            "start must not add a runStrategy to a legacy VM: {}",
            vm.data["spec"]
        );
    });
    cluster.wait_vmi_ready(&ns, "off", None, TIMEOUT).unwrap();
}

#[test]
fn rerun_on_failure_restarts_a_failed_vmi_then_a_deleted_vm_takes_it_along() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("rerun");
    let client = cluster.client();
    let first = cluster.running_vm(
        &ns,
        "flaky",
        "RerunOnFailure",
        &[(knobs::FAIL_AFTER, "300ms")],
    );
    let second = cluster
        .wait_vmi_ready(&ns, "flaky", Some(&first), TIMEOUT)
        .unwrap();
    let log = events(cluster, &ns, "flaky");
    let failed = log
        .iter()
        .position(|e| e["uid"] == first && e["phase"] == "Failed")
        .expect("the first VMI failed");
    let created = log
        .iter()
        .position(|e| e["uid"] == second && e["event"] == "created")
        .expect("a second VMI");
    assert!(failed < created, "{log:?}");

    cluster.block_on(async {
        vms(&client, &ns)
            .delete("flaky", &DeleteParams::default())
            .await
            .unwrap();
        wait_for("the VM and its VMI to go", || async {
            let vm = get_vm(&client, &ns, "flaky").await;
            let vmi = get_vmi(&client, &ns, "flaky").await;
            (vm.is_none() && vmi.is_none()).then_some(())
        })
        .await;
    });
}

#[test]
fn recreate_delay_holds_the_new_vmi_back() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("delay");
    let client = cluster.client();
    let old = cluster.running_vm(&ns, "slow", "Always", &[]);
    cluster.block_on(async {
        let patch = json!({"metadata": {"annotations": {knobs::RECREATE_DELAY: "1s"}}});
        vms(&client, &ns)
            .patch(
                "slow",
                &Default::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .unwrap();
        delete_vmi_and_wait(&client, &ns, "slow").await;
    });
    let new = cluster
        .wait_vmi_ready(&ns, "slow", Some(&old), TIMEOUT)
        .unwrap();
    let log = events(cluster, &ns, "slow");
    let gone = unix_ms(find(&log, "gone", Some(&old)).unwrap());
    let created = unix_ms(find(&log, "created", Some(&new)).unwrap());
    assert!(
        created - gone >= 1000.0,
        "re-created {:.0} ms after the old VMI went",
        created - gone
    );
}
