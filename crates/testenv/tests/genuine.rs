//! The genuine tier itself: KubeVirt's own virt-api and virt-controller (v1.9.0) on
//! kube-apiserver 1.35 with the stand-in node agent, checked against the contract in
//! `../shared/GENUINE-KUBEVIRT.md` §3: the agent binds launcher pods and writes their status
//! with the readiness gate, moves Scheduled VMIs to Running, shuts a deleted VMI down to
//! Succeeded before its pod goes, keeps its Nodes fresh; KubeVirt's code does the rest
//! (finalizers, Ready, re-creation). Also: a crash (the launcher deleted with no grace) makes
//! the VMI Failed as KubeVirt sees it, and a component that exits is restarted.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use serde_json::Value;
use testenv::{fixtures, knobs, Cluster};

const TIMEOUT: Duration = Duration::from_secs(60);

fn cluster() -> Option<&'static Cluster> {
    let cluster = Cluster::genuine()?;
    assert!(cluster.is_genuine());
    Some(cluster)
}

fn wait<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn launcher_pods(cluster: &Cluster, ns: &str, vmi_uid: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(cluster.client(), ns);
    let selector = format!("kubevirt.io/created-by={vmi_uid}");
    cluster
        .block_on(pods.list(&ListParams::default().labels(&selector)))
        .expect("list launcher pods")
        .items
}

fn condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

fn vmi_condition(vmi: &DynamicObject, type_: &str) -> Option<String> {
    vmi.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}

fn phase(vmi: &DynamicObject) -> &str {
    vmi.data["status"]["phase"].as_str().unwrap_or_default()
}

fn delete_vmi(cluster: &Cluster, ns: &str, name: &str) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), ns, &fixtures::vmi_resource());
    cluster
        .block_on(api.delete(name, &DeleteParams::default()))
        .expect("delete the VMI");
}

/// The node agent's own log lines (`pod-bound`, `pod-running`, `phase` with `by: node-agent`).
fn agent_events(cluster: &Cluster, uid: &str) -> Vec<Value> {
    std::fs::read_to_string(cluster.sim_log())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["uid"] == uid)
        .collect()
}

#[test]
fn an_always_vm_runs_and_is_ready_through_kubevirts_own_controllers() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-up");
    let uid = cluster.running_vm(&ns, "vm-a", "Always", &[]);
    let vmi = cluster.vmi(&ns, "vm-a").expect("the VMI");
    assert_eq!(vmi.metadata.uid.as_deref(), Some(uid.as_str()));
    let finalizers = vmi.metadata.finalizers.clone().unwrap_or_default();
    // virt-api's mutating webhook and KubeVirt's VM controller put these on, not the agent.
    for finalizer in [
        "kubevirt.io/foregroundDeleteVirtualMachine",
        "kubevirt.io/virtualMachineControllerFinalize",
    ] {
        assert!(finalizers.iter().any(|f| f == finalizer), "{finalizers:?}");
    }
    let status = &vmi.data["status"];
    assert_eq!(status["phase"], "Running");
    let node = status["nodeName"].as_str().expect("nodeName").to_string();
    assert!(node.starts_with("node-"), "{node}");
    assert_eq!(
        vmi.metadata.labels.as_ref().unwrap()["kubevirt.io/nodeName"],
        node
    );
    // virt-controller renders the pod; the agent bound it and wrote its status.
    let pods = launcher_pods(cluster, &ns, &uid);
    assert_eq!(pods.len(), 1, "one launcher pod");
    let pod = &pods[0];
    assert_eq!(
        pod.spec.as_ref().unwrap().node_name.as_deref(),
        Some(node.as_str())
    );
    let gates = pod
        .spec
        .as_ref()
        .unwrap()
        .readiness_gates
        .clone()
        .unwrap_or_default();
    assert!(
        gates
            .iter()
            .any(|g| g.condition_type == "kubevirt.io/virtual-machine-unpaused"),
        "{gates:?}"
    );
    // The gate's condition is virt-controller's; Ready is the agent's, and needs the gate.
    assert_eq!(
        condition(pod, "kubevirt.io/virtual-machine-unpaused").as_deref(),
        Some("True")
    );
    assert_eq!(condition(pod, "Ready").as_deref(), Some("True"));
    let pod_ip = pod.status.as_ref().unwrap().pod_ip.clone().expect("pod IP");
    assert_eq!(status["interfaces"][0]["ipAddress"], pod_ip.as_str());
    // virt-controller mirrors the pod's Ready onto the VMI.
    assert_eq!(vmi_condition(&vmi, "Ready").as_deref(), Some("True"));
    assert!(status["launcherContainerImageVersion"].as_str().is_some());
}

#[test]
fn the_nodes_are_registered_ready_with_a_fresh_heartbeat() {
    let Some(cluster) = cluster() else { return };
    let nodes: Api<Node> = Api::all(cluster.client());
    let list = cluster
        .block_on(nodes.list(&ListParams::default()))
        .expect("list nodes");
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    assert_eq!(names, ["node-a", "node-b", "node-c"]);
    for node in &list.items {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels["kubevirt.io/schedulable"], "true");
        let annotations = node.metadata.annotations.clone().unwrap_or_default();
        assert!(annotations.contains_key("kubevirt.io/heartbeat"));
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone());
        assert_eq!(ready.as_deref(), Some("True"));
    }
}

#[test]
fn a_deleted_vmi_shuts_down_to_succeeded_before_its_pod_goes_then_always_recreates_it() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-delete");
    let uid = cluster.running_vm(&ns, "vm-a", "Always", &[(knobs::SHUTDOWN_DELAY, "1s")]);
    delete_vmi(cluster, &ns, "vm-a");
    // Terminating while the guest shuts down: the finalizers hold the VMI.
    let vmi = wait("the VMI terminating", || {
        cluster
            .vmi(&ns, "vm-a")
            .filter(|v| v.metadata.deletion_timestamp.is_some())
    });
    assert_eq!(vmi.metadata.uid.as_deref(), Some(uid.as_str()));
    // The agent marks the VMI Succeeded (as virt-handler does) before the pod is gone.
    cluster
        .wait_vmi_ready(&ns, "vm-a", Some(&uid), TIMEOUT)
        .expect("the new VMI Running and Ready");
    let events = agent_events(cluster, &uid);
    let succeeded = events
        .iter()
        .position(|e| e["event"] == "phase" && e["phase"] == "Succeeded");
    assert!(succeeded.is_some(), "{events:#?}");
    assert!(
        launcher_pods(cluster, &ns, &uid).is_empty(),
        "the old pod is gone"
    );
}

#[test]
fn a_crash_the_launcher_deleted_with_no_grace_fails_the_vmi_and_always_restarts_it() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-crash");
    let uid = cluster.running_vm(&ns, "vm-a", "Always", &[]);
    let pod = launcher_pods(cluster, &ns, &uid)
        .pop()
        .expect("a launcher pod");
    let pods: Api<Pod> = Api::namespaced(cluster.client(), &ns);
    let name = pod.metadata.name.clone().unwrap();
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    cluster
        .block_on(pods.delete(&name, &now))
        .expect("delete the launcher");
    // virt-controller sees the launcher gone: Failed (or already replaced, if it was quick).
    let mut saw_failed = false;
    wait("a new VMI after the crash", || {
        let vmi = cluster.vmi(&ns, "vm-a")?;
        if vmi.metadata.uid.as_deref() == Some(uid.as_str()) {
            saw_failed |= phase(&vmi) == "Failed";
            return None;
        }
        vmi.metadata.uid
    });
    assert!(saw_failed, "the crashed VMI was seen Failed");
    cluster
        .wait_vmi_ready(&ns, "vm-a", Some(&uid), TIMEOUT)
        .expect("KubeVirt restarted it");
}

#[test]
fn rerun_on_failure_is_not_recreated_after_a_delete_and_start_brings_it_back() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-rerun");
    let uid = cluster.running_vm(&ns, "vm-r", "RerunOnFailure", &[]);
    delete_vmi(cluster, &ns, "vm-r");
    let client = cluster.client();
    let vm = cluster
        .block_on(fixtures::wait_vm_status(
            &client, &ns, "vm-r", "Stopped", TIMEOUT,
        ))
        .expect("the VM Stopped");
    // Under load virt-controller's status can say Stopped one write before `created` is
    // cleared: wait for both (bounded), then the VMI must still be absent.
    if !vm.data["status"]["created"].is_null() {
        wait("status.created cleared after Stopped", || {
            let vm = cluster.vm(&ns, "vm-r")?;
            (!vm.data["status"]["created"].as_bool().unwrap_or(false)).then_some(())
        });
    }
    assert!(cluster.vmi(&ns, "vm-r").is_none(), "not re-created");
    cluster.start_vm(&ns, "vm-r").expect("virt-api's start");
    cluster
        .wait_vmi_ready(&ns, "vm-r", Some(&uid), TIMEOUT)
        .expect("started");
}

#[test]
fn once_is_recreated_after_a_delete() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-once");
    let uid = cluster.running_vm(&ns, "vm-o", "Once", &[]);
    delete_vmi(cluster, &ns, "vm-o");
    cluster
        .wait_vmi_ready(&ns, "vm-o", Some(&uid), TIMEOUT)
        .expect("re-created");
}

#[test]
fn knobs_never_ready_and_fail_after_shape_what_kubevirt_sees() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-knobs");
    let client = cluster.client();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &fixtures::vmi_resource());
    cluster
        .block_on(fixtures::ensure_namespace(&client, &ns))
        .unwrap();
    let sick = fixtures::vmi_manifest(&ns, "sick", &[(knobs::NEVER_READY, "true")]);
    let crashy = fixtures::vmi_manifest(&ns, "crashy", &[(knobs::FAIL_AFTER, "1s")]);
    for manifest in [sick, crashy] {
        let object: DynamicObject = serde_json::from_value(manifest).unwrap();
        cluster
            .block_on(api.create(&Default::default(), &object))
            .expect("create the VMI");
    }
    // never-ready: Running, and Ready stays False (the compute container never turns ready).
    let sick = wait("sick Running", || {
        cluster.vmi(&ns, "sick").filter(|v| phase(v) == "Running")
    });
    std::thread::sleep(Duration::from_secs(2));
    let sick = cluster.vmi(&ns, "sick").unwrap_or(sick);
    assert_ne!(vmi_condition(&sick, "Ready").as_deref(), Some("True"));
    // fail-after: the domain crashes, the VMI is Failed and its launcher pod terminal.
    let crashy = wait("crashy Failed", || {
        cluster.vmi(&ns, "crashy").filter(|v| phase(v) == "Failed")
    });
    let uid = crashy.metadata.uid.clone().unwrap();
    wait("the launcher pod terminal", || {
        launcher_pods(cluster, &ns, &uid)
            .into_iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
    });
}

#[test]
fn a_replica_set_replaces_a_deleted_vmi_under_a_generated_name() {
    let Some(cluster) = cluster() else { return };
    let ns = cluster.namespace("genuine-rs");
    let before = cluster.running_replica_set(&ns, "web", 2, &[]);
    delete_vmi(cluster, &ns, &before[0].name);
    let after = cluster
        .wait_replica_set_ready(&ns, "web", 2, TIMEOUT)
        .expect("two Ready replicas again");
    assert!(after.iter().all(|v| v.name.starts_with("web")));
    assert!(after.iter().all(|v| v.uid != before[0].uid));
    assert!(
        after.iter().any(|v| v.uid == before[1].uid),
        "the other one untouched"
    );
}

#[test]
fn a_virt_controller_that_exits_is_restarted_by_its_supervisor() {
    let Some(cluster) = cluster() else { return };
    let log = cluster.component_log("virt-controller");
    let pid = std::process::Command::new("pgrep")
        .args(["-f", "^[^ ]*/virt-controller "])
        .output()
        .expect("pgrep");
    let pids = String::from_utf8_lossy(&pid.stdout).to_string();
    // Only this cluster's: its command line names this cluster's kubeconfig.
    let dir = cluster.dir().display().to_string();
    let ours = pids
        .lines()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.contains(&dir))
        })
        .expect("this cluster's virt-controller")
        .to_string();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &ours])
        .status()
        .expect("kill");
    assert!(status.success());
    wait("the supervisor's restart line", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("vmchaos-supervisor: virt-controller exited"))
    });
    // And KubeVirt still works: a new VM comes up.
    let ns = cluster.namespace("genuine-restart");
    cluster.running_vm(&ns, "after", "Always", &[]);
}

/// A bad set-up fails loudly, naming the component and its log, and never hangs: a virt-api
/// that exits at once is given up on after its third restart.
#[test]
fn a_component_that_cannot_start_fails_the_start_naming_it_and_its_log() {
    let Some(files) = testenv::genuine_files() else {
        return;
    };
    let dir = tempfile_dir();
    for entry in std::fs::read_dir(&files).expect("the genuine tier's folder") {
        let entry = entry.unwrap();
        if entry.file_name() != "virt-api" {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let fake = dir.join("virt-api");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'virt-api: cannot start (a test)' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let error = match Cluster::builder().genuine_dir(&dir).start() {
        Ok(_) => panic!("a genuine tier without a working virt-api started"),
        Err(e) => format!("{e:?}"),
    };
    assert!(error.contains("virt-api"), "{error}");
    assert!(error.contains("virt-api.log"), "{error}");
    assert!(error.contains("cannot start (a test)"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "it gave up quickly"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vmchaos-genuine-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
