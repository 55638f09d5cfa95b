//! The VMI controller against a real API server: the phases a watcher sees, what a Running VMI
//! carries, the launcher pod, the knobs, and deletion through the simulated guest shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::{
    api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams},
    runtime::watcher,
    Client, ResourceExt,
};
use kubevirt_sim::knobs;
use serde_json::json;

async fn create_vmi(
    client: &Client,
    ns: &str,
    name: &str,
    annotations: &[(&str, &str)],
) -> DynamicObject {
    let vmi: DynamicObject =
        serde_json::from_value(testenv::fixtures::vmi_manifest(ns, name, annotations)).unwrap();
    vmis(client, ns)
        .create(&PostParams::default(), &vmi)
        .await
        .expect("create VMI")
}

async fn launcher_pods(client: &Client, ns: &str, vmi_uid: &str) -> Vec<Pod> {
    let selector = format!("kubevirt.io=virt-launcher,kubevirt.io/created-by={vmi_uid}");
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items
}

/// (phase, Ready) as a watcher sees a VMI change, collapsed over repeats.
fn state(vmi: &DynamicObject) -> (String, bool) {
    let phase = vmi.data["status"]["phase"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (phase, condition(vmi, "Ready").as_deref() == Some("True"))
}

#[test]
fn a_watcher_sees_each_phase_then_ready_and_the_running_vmi_has_node_ip_and_pod() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("lifecycle");
    let client = cluster.client();
    cluster.block_on(async {
        let config = watcher::Config::default().fields("metadata.name=boot");
        let mut changes = watcher(vmis(&client, &ns), config).boxed();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        let mut next = async || {
            tokio::time::timeout_at(deadline, changes.try_next())
                .await
                .expect("in time")
                .unwrap()
                .unwrap()
        };
        // Watching before the VMI exists: no state is missed.
        while !matches!(next().await, watcher::Event::InitDone) {}
        let created = create_vmi(&client, &ns, "boot", &[]).await;
        let mut seen: Vec<(String, bool)> = vec![];
        while seen.last() != Some(&("Running".to_string(), true)) {
            if let watcher::Event::Apply(vmi) | watcher::Event::InitApply(vmi) = next().await {
                let now = state(&vmi);
                if seen.last() != Some(&now) && !now.0.is_empty() {
                    seen.push(now);
                }
            }
        }
        let phases: Vec<(&str, bool)> = seen.iter().map(|(p, r)| (p.as_str(), *r)).collect();
        assert_eq!(
            phases,
            [
                ("Pending", false),
                ("Scheduling", false),
                ("Scheduled", false),
                ("Running", false),
                ("Running", true)
            ]
        );

        let vmi = get_vmi(&client, &ns, "boot").await.unwrap();
        assert_eq!(vmi.uid(), created.uid());
        assert!(vmi
            .finalizers()
            .contains(&"kubevirt.io/foregroundDeleteVirtualMachine".to_string()));
        let node = vmi.data["status"]["nodeName"].as_str().unwrap();
        assert!(
            testenv::SimConfig::default()
                .nodes
                .iter()
                .any(|n| n == node),
            "{node}"
        );
        assert_eq!(
            vmi.labels().get("kubevirt.io/nodeName").map(String::as_str),
            Some(node)
        );
        let interface = &vmi.data["status"]["interfaces"][0];
        let ip = interface["ipAddress"].as_str().unwrap();
        assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
        assert_eq!(interface["ipAddresses"][0], ip);
        assert_eq!(condition(&vmi, "AgentConnected").as_deref(), Some("True"));

        let pods = launcher_pods(&client, &ns, &vmi.uid().unwrap()).await;
        assert_eq!(pods.len(), 1);
        let pod = &pods[0];
        assert!(
            pod.name_any().starts_with("virt-launcher-boot-"),
            "{}",
            pod.name_any()
        );
        assert_eq!(
            pod.labels().get("vm.kubevirt.io/name").map(String::as_str),
            Some("boot")
        );
        let owner = &pod.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), Some(owner.uid.clone())),
            ("VirtualMachineInstance", vmi.uid())
        );
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some(node));
        assert_eq!(spec.automount_service_account_token, Some(false));
        let status = pod.status.as_ref().unwrap();
        assert_eq!(
            (status.phase.as_deref(), status.pod_ip.as_deref()),
            (Some("Running"), Some(ip))
        );
    });
}

#[test]
fn a_delete_waits_through_the_guest_shutdown_then_the_vmi_and_its_pod_go() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("shutdown");
    let client = cluster.client();
    // terminationGracePeriodSeconds 30 x the default scale 0.01 = 300 ms; the knob says 1 s.
    let scaled = cluster.running_vmi(&ns, "scaled", &[]);
    let knob = cluster.running_vmi(&ns, "knob", &[(knobs::SHUTDOWN_DELAY, "1s")]);
    for (name, uid, shutdown_ms) in [("scaled", &scaled, 300.0), ("knob", &knob, 1000.0)] {
        cluster.block_on(async {
            vmis(&client, &ns)
                .delete(name, &DeleteParams::default())
                .await
                .unwrap();
            delete_vmi_and_wait(&client, &ns, name).await;
            assert!(
                launcher_pods(&client, &ns, uid).await.is_empty(),
                "{name}: the launcher pod is left"
            );
        });
        let log = events(cluster, &ns, name);
        let order: Vec<&str> = log
            .iter()
            .filter(|e| e["uid"] == uid.as_str())
            .filter_map(|e| match e["event"].as_str() {
                Some("phase") => e["phase"].as_str(),
                other => other,
            })
            .skip_while(|e| *e != "deleting")
            .collect();
        assert_eq!(order, ["deleting", "Succeeded", "gone"], "{name}: {log:?}");
        let deleting = unix_ms(find(&log, "deleting", Some(uid)).unwrap());
        let gone = unix_ms(find(&log, "gone", Some(uid)).unwrap());
        assert!(
            gone - deleting >= shutdown_ms,
            "{name}: gone {:.0} ms after the delete",
            gone - deleting
        );
    }
}

#[test]
fn a_blocking_finalizer_keeps_the_vmi_terminating_until_someone_removes_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("blocked");
    let client = cluster.client();
    let uid = cluster.running_vmi(&ns, "stuck", &[(knobs::BLOCK_DELETION, "true")]);
    cluster.block_on(async {
        vmis(&client, &ns)
            .delete("stuck", &DeleteParams::default())
            .await
            .unwrap();
        let vmi = wait_for("the KubeVirt finalizer to go", || async {
            get_vmi(&client, &ns, "stuck")
                .await
                .filter(|v| v.finalizers() == [knobs::BLOCKING_FINALIZER])
        })
        .await;
        assert!(vmi.metadata.deletion_timestamp.is_some());
        assert_eq!(vmi.data["status"]["phase"], "Succeeded");
        assert_eq!(condition(&vmi, "Ready").as_deref(), Some("False"));
        assert!(launcher_pods(&client, &ns, &uid).await.is_empty());
        let patch = json!({"metadata": {"finalizers": null}});
        vmis(&client, &ns)
            .patch("stuck", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        wait_for("the VMI to go", || async {
            get_vmi(&client, &ns, "stuck").await.is_none().then_some(())
        })
        .await;
    });
}

/// Waits until the VMI is in `phase`, then a while longer (`settle`) and returns it again: for
/// knobs that stop progress, whose effect is that nothing more happens.
async fn phase_then_settle(
    client: &Client,
    ns: &str,
    name: &str,
    phase: &str,
    settle: Duration,
) -> DynamicObject {
    wait_for(&format!("VMI {ns}/{name} to be {phase}"), || async {
        get_vmi(client, ns, name)
            .await
            .filter(|v| v.data["status"]["phase"] == phase)
    })
    .await;
    tokio::time::sleep(settle).await;
    get_vmi(client, ns, name).await.unwrap()
}

#[test]
fn knobs_stage_stuck_never_ready_and_failing_vmis() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("knobs");
    let client = cluster.client();
    cluster.block_on(async {
        let fast = [(knobs::BOOT_DELAY, "150ms"), (knobs::READY_DELAY, "50ms")];
        create_vmi(
            &client,
            &ns,
            "stuck",
            &[fast[0], fast[1], (knobs::STUCK_IN, "Scheduling")],
        )
        .await;
        create_vmi(
            &client,
            &ns,
            "sick",
            &[fast[0], fast[1], (knobs::NEVER_READY, "true")],
        )
        .await;
        let failing = create_vmi(
            &client,
            &ns,
            "failing",
            &[fast[0], fast[1], (knobs::FAIL_AFTER, "200ms")],
        )
        .await;

        // Ten times what the next step would take.
        let stuck = phase_then_settle(
            &client,
            &ns,
            "stuck",
            "Scheduling",
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(stuck.data["status"]["phase"], "Scheduling");
        assert_eq!(
            launcher_pods(&client, &ns, &stuck.uid().unwrap())
                .await
                .len(),
            1
        );
        let sick =
            phase_then_settle(&client, &ns, "sick", "Running", Duration::from_millis(500)).await;
        assert_eq!(condition(&sick, "Ready").as_deref(), Some("False"));

        let failed = phase_then_settle(&client, &ns, "failing", "Failed", Duration::ZERO).await;
        assert_eq!(failed.uid(), failing.uid());
        assert_eq!(condition(&failed, "Ready").as_deref(), Some("False"));
        let pods = launcher_pods(&client, &ns, &failed.uid().unwrap()).await;
        assert_eq!(
            pods[0].status.as_ref().unwrap().phase.as_deref(),
            Some("Failed")
        );
    });
    let log = events(cluster, &ns, "failing");
    assert!(
        find(&log, "ready", None).is_some(),
        "FAIL_AFTER 200 ms comes after Ready (50 ms): {log:?}"
    );
}

#[test]
fn a_vmi_created_from_a_copied_manifest_with_status_starts_afresh() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("copied");
    let client = cluster.client();
    let mut manifest = testenv::fixtures::vmi_manifest(&ns, "copy", &[]);
    manifest["status"] = json!({"phase": "Running", "nodeName": "elsewhere", "interfaces": [{"ipAddress": "192.0.2.1"}]});
    let created = cluster.block_on(async {
        let vmi: DynamicObject = serde_json::from_value(manifest).unwrap();
        vmis(&client, &ns)
            .create(&PostParams::default(), &vmi)
            .await
            .unwrap()
    });
    let uid = cluster.wait_vmi_ready(&ns, "copy", None, TIMEOUT).unwrap();
    assert_eq!(Some(uid.clone()), created.uid());
    let vmi = cluster.vmi(&ns, "copy").unwrap();
    assert_ne!(vmi.data["status"]["nodeName"], "elsewhere");
    assert_ne!(
        vmi.data["status"]["interfaces"][0]["ipAddress"],
        "192.0.2.1"
    );
    let phases: Vec<String> = events(cluster, &ns, "copy")
        .iter()
        .filter(|e| e["event"] == "phase" && e["uid"] == uid.as_str())
        .map(|e| e["phase"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(phases, ["Pending", "Scheduling", "Scheduled", "Running"]);
}
