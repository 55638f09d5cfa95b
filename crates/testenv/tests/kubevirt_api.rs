//! KubeVirt's API on the control plane: the VM, VMI, VirtualMachineInstanceReplicaSet,
//! VirtualMachinePool and KubeVirt CRDs (KubeVirt's real ones where ../shared/kubevirt has
//! them), the KubeVirt install object, and VMIs the schema accepts.

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use testenv::{fixtures, Cluster, CrdSource};

fn real_crds_available() -> bool {
    match std::env::var_os("VMCHAOS_KUBEVIRT_CRDS") {
        Some(dir) => Path::new(&dir)
            .join("virtualmachineinstances.kubevirt.io.yaml")
            .is_file(),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/kubevirt/virtualmachineinstances.kubevirt.io.yaml")
            .is_file(),
    }
}

fn crd(cluster: &Cluster, name: &str) -> CustomResourceDefinition {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client());
    cluster.block_on(api.get(name)).unwrap()
}

#[test]
fn the_crds_are_installed_and_established() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    for name in [
        "virtualmachines.kubevirt.io",
        "virtualmachineinstances.kubevirt.io",
        "virtualmachineinstancereplicasets.kubevirt.io",
        "virtualmachinepools.pool.kubevirt.io",
        "kubevirts.kubevirt.io",
    ] {
        let crd = crd(cluster, name);
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        assert!(
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"),
            "{name}: {conditions:?}"
        );
    }
    let vmi = crd(cluster, "virtualmachineinstances.kubevirt.io");
    assert_eq!(
        vmi.spec.names.short_names,
        Some(vec!["vmi".into(), "vmis".into()])
    );
    let v1 = vmi.spec.versions.iter().find(|v| v.name == "v1").unwrap();
    assert!(v1.subresources.is_none(), "a VMI has no status subresource");
    let vm = crd(cluster, "virtualmachines.kubevirt.io");
    let vm_v1 = vm.spec.versions.iter().find(|v| v.name == "v1").unwrap();
    assert!(vm_v1
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some()));
    // Replica sets and pools: status and scale subresources, in the versions the simulator uses.
    for (name, version) in [
        ("virtualmachineinstancereplicasets.kubevirt.io", "v1"),
        ("virtualmachinepools.pool.kubevirt.io", "v1beta1"),
    ] {
        let crd = crd(cluster, name);
        let served = crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == version)
            .unwrap();
        let subresources = served.subresources.as_ref().unwrap();
        assert!(subresources.status.is_some(), "{name}");
        assert_eq!(
            subresources
                .scale
                .as_ref()
                .map(|s| s.spec_replicas_path.as_str()),
            Some(".spec.replicas"),
            "{name}"
        );
    }

    let domain_in_schema = v1
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| s.properties.as_ref())
        .and_then(|p| p.get("spec"))
        .and_then(|s| s.properties.as_ref())
        .is_some_and(|p| p.contains_key("domain"));
    if real_crds_available() {
        assert!(
            matches!(cluster.crds(), Some(CrdSource::Real(_))),
            "{:?}",
            cluster.crds()
        );
        assert!(domain_in_schema, "the real VMI CRD describes spec.domain");
    } else {
        assert_eq!(cluster.crds(), Some(&CrdSource::Minimal));
        assert!(!domain_in_schema);
    }
}

#[test]
fn the_kubevirt_install_reports_deployed_and_available() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client(),
        "kubevirt",
        &kube::api::ApiResource {
            group: "kubevirt.io".into(),
            version: "v1".into(),
            api_version: "kubevirt.io/v1".into(),
            kind: "KubeVirt".into(),
            plural: "kubevirts".into(),
        },
    );
    let kubevirt = cluster.block_on(api.get("kubevirt")).unwrap();
    let status = &kubevirt.data["status"];
    assert_eq!(status["phase"], "Deployed");
    assert_eq!(status["observedKubeVirtVersion"], testenv::KUBEVIRT_VERSION);
    let conditions = status["conditions"].as_array().unwrap();
    assert!(conditions
        .iter()
        .any(|c| c["type"] == "Available" && c["status"] == "True"));
}

#[test]
fn the_fixture_vmi_is_accepted_and_a_malformed_one_is_rejected_by_the_real_schema() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("schema");
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vmi_resource());
    let good: DynamicObject =
        serde_json::from_value(fixtures::vmi_manifest(&ns, "good", &[])).unwrap();
    let created = cluster
        .block_on(api.create(&PostParams::default(), &good))
        .unwrap();
    assert_eq!(
        created.data["spec"]["domain"]["devices"]["disks"][0]["name"],
        "containerdisk"
    );

    let vms: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vm_resource());
    let vm: DynamicObject =
        serde_json::from_value(fixtures::vm_manifest(&ns, "halted", "Halted", &[])).unwrap();
    cluster
        .block_on(vms.create(&PostParams::default(), &vm))
        .unwrap();

    let mut bad = fixtures::vmi_manifest(&ns, "bad", &[]);
    bad["spec"] = json!({"terminationGracePeriodSeconds": "thirty"});
    let bad: DynamicObject = serde_json::from_value(bad).unwrap();
    let result = cluster.block_on(api.create(&PostParams::default(), &bad));
    if real_crds_available() {
        match result {
            Err(kube::Error::Api(s)) => {
                assert_eq!(s.code, 422, "{s:?}");
                assert!(s.message.contains("spec.domain"), "{}", s.message);
            }
            other => panic!("KubeVirt's schema should reject a VMI without a domain: {other:?}"),
        }
    } else {
        result.expect("the minimal CRD accepts any spec");
    }
}

#[test]
fn kubectl_shows_kubevirt_printer_columns_and_short_names() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("columns");
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vmi_resource());
    let vmi: DynamicObject =
        serde_json::from_value(fixtures::vmi_manifest(&ns, "shown", &[])).unwrap();
    cluster
        .block_on(api.create(&PostParams::default(), &vmi))
        .unwrap();
    let out = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args(["get", "vmi", "-n", &ns])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"],
        "{stdout}"
    );
    assert!(stdout.contains("shown"));
}

/// Shows the VMI CRD has no status subresource: a merge patch of `status` on the object itself
/// sticks, as the simulator (and KubeVirt's virt-handler) rely on.
fn assert_vmi_status_is_part_of_the_object(cluster: &Cluster, ns: &str) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), ns, &fixtures::vmi_resource());
    let vmi: DynamicObject = serde_json::from_value(fixtures::vmi_manifest(
        ns,
        "patched",
        &[(testenv::knobs::STUCK_IN, "Pending")],
    ))
    .unwrap();
    cluster
        .block_on(api.create(&PostParams::default(), &vmi))
        .unwrap();
    let patch = json!({"status": {"phase": "Scheduling", "nodeName": "node-x"}});
    let patched = cluster
        .block_on(api.patch(
            "patched",
            &Default::default(),
            &kube::api::Patch::Merge(&patch),
        ))
        .unwrap();
    assert_eq!(patched.data["status"]["nodeName"], "node-x");
}

#[test]
fn vmi_status_is_written_with_the_object() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("status");
    assert_vmi_status_is_part_of_the_object(cluster, &ns);
}

/// A fresh clone without ../shared/kubevirt gets the project's minimal CRDs: same names,
/// short names, categories and columns, and no schema to speak of.
#[test]
fn the_minimal_crds_serve_kubevirts_names_and_columns() {
    if Cluster::shared().is_none() {
        return;
    }
    let cluster = Cluster::builder()
        .crds(CrdSource::Minimal)
        .simulator(None)
        .start()
        .unwrap();
    assert_eq!(cluster.crds(), Some(&CrdSource::Minimal));
    let ns = cluster.namespace("minimal");
    let vms: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vm_resource());
    let vm: DynamicObject =
        serde_json::from_value(fixtures::vm_manifest(&ns, "vm-1", "Always", &[])).unwrap();
    cluster
        .block_on(vms.create(&PostParams::default(), &vm))
        .unwrap();
    assert_vmi_status_is_part_of_the_object(&cluster, &ns);

    let kubectl = |args: &[&str]| {
        let out = cluster
            .kubectl(&cluster.admin_kubeconfig())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let header = |text: &str| -> Vec<String> {
        text.lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(
        header(&kubectl(&["get", "vms", "-n", &ns])),
        ["NAME", "AGE", "STATUS", "READY"]
    );
    let vmis = kubectl(&["get", "vmis", "-n", &ns]);
    assert_eq!(
        header(&vmis),
        ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
    );
    assert!(
        vmis.contains("Scheduling") && vmis.contains("node-x"),
        "{vmis}"
    );
    let sets: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vmirs_resource());
    let set: DynamicObject =
        serde_json::from_value(fixtures::replica_set_manifest(&ns, "web", 0, &[])).unwrap();
    cluster
        .block_on(sets.create(&PostParams::default(), &set))
        .unwrap();
    let pools: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vm_pool_resource());
    let pool: DynamicObject =
        serde_json::from_value(fixtures::pool_manifest(&ns, "pool", 0, "Always", &[])).unwrap();
    cluster
        .block_on(pools.create(&PostParams::default(), &pool))
        .unwrap();
    for short in ["vmirs", "vmpool"] {
        assert_eq!(
            header(&kubectl(&["get", short, "-n", &ns])),
            ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
            "{short}"
        );
    }
    let all = kubectl(&["get", "all", "-n", &ns, "-o", "name"]);
    assert!(
        all.contains("virtualmachineinstancereplicaset.kubevirt.io/web"),
        "{all}"
    );
    assert!(
        all.contains("virtualmachinepool.pool.kubevirt.io/pool"),
        "{all}"
    );
    assert!(all.contains("virtualmachine.kubevirt.io/vm-1"), "{all}");
    assert!(
        all.contains("virtualmachineinstance.kubevirt.io/patched"),
        "{all}"
    );
    let kv = kubectl(&[
        "get",
        "kubevirt",
        "-n",
        "kubevirt",
        "kubevirt",
        "-o",
        "jsonpath={.status.phase}",
    ]);
    assert_eq!(kv, "Deployed");
    cluster.stop();
    assert!(
        !cluster.dir().exists(),
        "stop() removes a temporary directory"
    );
}
