//! The genuine tier itself: KubeVirt's own virt-api and virt-controller with the stand-in node
//! agent bring VMs up, through every owner, and take them down as KubeVirt does.

use std::time::Duration;

use testenv::Cluster;

fn cluster() -> Option<&'static Cluster> {
    Cluster::genuine()
}

#[test]
fn an_always_vm_runs_and_is_ready_through_kubevirts_own_controllers() {
    let Some(cluster) = cluster() else { return };
    assert!(cluster.is_genuine());
    let ns = cluster.namespace("genuine-up");
    let uid = cluster.running_vm(&ns, "vm-a", "Always", &[]);
    let vmi = cluster.vmi(&ns, "vm-a").expect("the VMI");
    assert_eq!(vmi.metadata.uid.as_deref(), Some(uid.as_str()));
    let finalizers = vmi.metadata.finalizers.clone().unwrap_or_default();
    // virt-api's mutating webhook and KubeVirt's VM controller put these on, not us.
    assert!(
        finalizers.contains(&"kubevirt.io/foregroundDeleteVirtualMachine".to_string()),
        "{finalizers:?}"
    );
    assert!(
        finalizers.contains(&"kubevirt.io/virtualMachineControllerFinalize".to_string()),
        "{finalizers:?}"
    );
    let status = &vmi.data["status"];
    assert_eq!(status["phase"], "Running");
    assert!(status["nodeName"]
        .as_str()
        .is_some_and(|n| n.starts_with("node-")));
    assert!(status["interfaces"][0]["ipAddress"].as_str().is_some());
    assert!(status["launcherContainerImageVersion"].as_str().is_some());
    let _ = Duration::from_secs(1);
}
