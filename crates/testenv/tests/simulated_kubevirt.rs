//! The whole stack behaves like KubeVirt where the tool looks: a deleted VMI of an `Always` VM
//! comes back (same name, new UID), a `Manual` one doesn't until `start` goes through the API
//! server's aggregation layer, and a deleted VMI lingers through its simulated guest shutdown.

use std::time::{Duration, Instant};

use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Api, DeleteParams, DynamicObject};
use testenv::{fixtures, knobs, Cluster};

const TIMEOUT: Duration = Duration::from_secs(60);

fn vmis(cluster: &Cluster, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client(), ns, &fixtures::vmi_resource())
}

fn delete_vmi(cluster: &Cluster, ns: &str, name: &str) {
    let api = vmis(cluster, ns);
    cluster
        .block_on(api.delete(name, &DeleteParams::default()))
        .unwrap();
}

/// Waits until no VMI with this UID exists any more (a re-created one may have the name).
fn wait_gone(cluster: &Cluster, ns: &str, name: &str, uid: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while cluster.vmi_uid(ns, name).as_deref() == Some(uid) {
        assert!(
            Instant::now() < deadline,
            "the VMI {ns}/{name} ({uid}) is still there"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_run_strategy_fixture_gives_a_running_ready_vmi() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("strategies");
    let strategies = ["Always", "Once", "RerunOnFailure", "Manual"];
    let client = cluster.client();
    // All at once, on the cluster's runtime, as the async fixtures allow.
    let uids = cluster.block_on(futures::future::join_all(strategies.map(|strategy| {
        let (client, ns) = (client.clone(), ns.clone());
        async move {
            let name = format!("vm-{}", strategy.to_lowercase());
            let note = [("example.com/note", "kept")];
            fixtures::running_vm(&client, &ns, &name, strategy, &note, TIMEOUT).await
        }
    })));
    for (strategy, uid) in strategies.iter().zip(uids) {
        let uid = uid.unwrap();
        let name = format!("vm-{}", strategy.to_lowercase());
        let vmi = cluster.vmi(&ns, &name).unwrap();
        assert_eq!(vmi.metadata.uid.as_deref(), Some(uid.as_str()));
        assert!(
            fixtures::is_ready(&vmi),
            "{strategy}: {}",
            vmi.data["status"]
        );
        let annotations = vmi.metadata.annotations.unwrap_or_default();
        assert_eq!(
            annotations.get("example.com/note").map(String::as_str),
            Some("kept")
        );
        let vm = cluster
            .block_on(
                Api::<DynamicObject>::namespaced_with(
                    cluster.client(),
                    &ns,
                    &fixtures::vm_resource(),
                )
                .get(&name),
            )
            .unwrap();
        assert_eq!(vm.data["spec"]["runStrategy"], *strategy);
        assert!(
            vm.data["spec"].get("running").is_none(),
            "never spec.running"
        );
    }
    // KubeVirt runs no VMI for a Halted VM: the fixture says so instead of faking one.
    let halted = cluster.block_on(fixtures::running_vm(
        &client,
        &ns,
        "vm-halted",
        "Halted",
        &[],
        TIMEOUT,
    ));
    assert!(
        halted.unwrap_err().to_string().contains("halted_vm"),
        "running_vm(Halted) points at halted_vm"
    );
    cluster.halted_vm(&ns, "stopped", &[]);
    assert!(cluster.vmi(&ns, "stopped").is_none());
    assert_eq!(
        cluster.vm(&ns, "stopped").unwrap().data["status"]["printableStatus"],
        "Stopped"
    );
    let legacy = cluster.running_legacy_vm(&ns, "legacy", &[]);
    assert_eq!(cluster.vmi_uid(&ns, "legacy"), Some(legacy));
    let legacy_vm = cluster.vm(&ns, "legacy").unwrap();
    assert_eq!(
        (
            &legacy_vm.data["spec"]["running"],
            legacy_vm.data["spec"].get("runStrategy")
        ),
        (&serde_json::json!(true), None)
    );

    let uid = cluster.running_vmi(&ns, "standalone", &[]);
    let vmi = cluster.vmi(&ns, "standalone").unwrap();
    assert_eq!(vmi.metadata.uid, Some(uid));
    assert!(vmi.metadata.owner_references.unwrap_or_default().is_empty());
}

#[test]
fn deleting_the_vmi_of_an_always_vm_gives_a_new_one_with_the_same_name() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("always");
    let old = cluster.running_vm(&ns, "db-0", "Always", &[]);
    delete_vmi(cluster, &ns, "db-0");
    let new = cluster
        .wait_vmi_ready(&ns, "db-0", Some(&old), TIMEOUT)
        .unwrap();
    assert_ne!(new, old);
    let vmi = cluster.vmi(&ns, "db-0").unwrap();
    let owner = &vmi.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("VirtualMachine", "db-0")
    );
    assert_eq!(owner.controller, Some(true));
}

#[test]
fn a_manual_vm_stays_down_until_start_goes_through_the_api_server() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("manual");
    let old = cluster.running_vm(&ns, "db-1", "Manual", &[]);
    delete_vmi(cluster, &ns, "db-1");
    wait_gone(cluster, &ns, "db-1", &old);
    // Several boot delays: long enough for a wrong re-create to show.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        cluster.vmi_uid(&ns, "db-1"),
        None,
        "a Manual VM is not restarted"
    );

    // As alice: RBAC at the API server guards the aggregated subresource.
    let alice = cluster.user_client("alice");
    let start = |client: kube::Client| {
        let ns = ns.clone();
        cluster.block_on(async move { fixtures::start_vm(&client, &ns, "db-1").await })
    };
    let denied = start(alice.clone()).unwrap_err();
    assert!(format!("{denied:?}").contains("403"), "{denied:?}");
    let rule: PolicyRule = serde_json::from_value(serde_json::json!({
        "apiGroups": ["subresources.kubevirt.io"],
        "resources": ["virtualmachines/start"],
        "verbs": ["update"]
    }))
    .unwrap();
    cluster.bind_role(&ns, "alice", &[rule]);
    start(alice).unwrap();
    let new = cluster
        .wait_vmi_ready(&ns, "db-1", Some(&old), TIMEOUT)
        .unwrap();
    assert_ne!(new, old);
}

#[test]
fn a_deleted_vmi_lingers_through_its_simulated_shutdown() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("shutdown");
    let uid = cluster.running_vmi(&ns, "web", &[(knobs::SHUTDOWN_DELAY, "4s")]);
    let started = Instant::now();
    delete_vmi(cluster, &ns, "web");
    let terminating = cluster
        .vmi(&ns, "web")
        .expect("still there during the guest shutdown");
    assert_eq!(terminating.metadata.uid.as_deref(), Some(uid.as_str()));
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert!(terminating
        .metadata
        .finalizers
        .unwrap_or_default()
        .iter()
        .any(|f| f == "kubevirt.io/foregroundDeleteVirtualMachine"));
    wait_gone(cluster, &ns, "web", &uid);
    // The finalizer goes only after the shutdown delay: a lower bound, not a speed assertion.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn kubectl_delete_waits_through_the_shutdown() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("kubectl-delete");
    let uid = cluster.running_vmi(&ns, "app", &[(knobs::SHUTDOWN_DELAY, "2s")]);
    let started = Instant::now();
    let out = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args(["delete", "vmi", "app", "-n", &ns, "--timeout=60s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_ne!(cluster.vmi_uid(&ns, "app").as_deref(), Some(uid.as_str()));
    assert_eq!(cluster.vmi_uid(&ns, "app"), None);
}

#[test]
fn replica_set_and_pool_fixtures_give_running_ready_vmis_owned_as_kubevirt_owns_them() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("owners");
    let set = cluster.running_replica_set(&ns, "web", 2, &[]);
    assert_eq!(set.len(), 2);
    for vmi in &set {
        assert!(
            vmi.name.starts_with("web") && vmi.name.len() == 8,
            "{}",
            vmi.name
        );
        let object = cluster.vmi(&ns, &vmi.name).unwrap();
        let owner = &object.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("VirtualMachineInstanceReplicaSet", "web")
        );
    }
    let pool = cluster.running_pool(&ns, "pool", 2, "Always", &[]);
    let names: Vec<&str> = pool.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["pool-0", "pool-1"]);
    let vm = cluster.vm(&ns, "pool-1").unwrap();
    let owner = &vm.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("VirtualMachinePool", "pool", Some(true))
    );
    let vmi = cluster.vmi(&ns, "pool-1").unwrap();
    assert_eq!(
        vmi.metadata.owner_references.unwrap()[0].kind,
        "VirtualMachine"
    );
}
