//! Kubernetes Events for outages (src/cluster_events.rs) against the real API server: the Event is
//! there, about the right object; without `create events` the caller gets a warning, never an
//! error; the shipped role (deploy/rbac.yaml) includes the permission.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use kubectl_vmchaos::{
    cluster_events::{record, EventKind, EventObject, COMPONENT},
    events::{EventFailure, Note},
    render::notes::note,
};
use testenv::{fixtures, Cluster};

macro_rules! cluster_or_skip {
    () => {
        match Cluster::shared() {
            Some(c) => c,
            None => return,
        }
    };
}

fn get(cluster: &Cluster, ns: &str, name: &str, vm: bool) -> DynamicObject {
    let resource = if vm {
        fixtures::vm_resource()
    } else {
        fixtures::vmi_resource()
    };
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), ns, &resource);
    cluster.block_on(api.get(name)).unwrap()
}

/// The tool's Events about the object with this UID (on the genuine tier, KubeVirt's own
/// controllers record theirs on the same objects: SuccessfulCreate, SuccessfulDelete).
fn events_about(cluster: &Cluster, ns: &str, uid: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(cluster.client(), ns);
    let params = ListParams::default().fields(&format!("involvedObject.uid={uid}"));
    let mut events = cluster.block_on(api.list(&params)).unwrap().items;
    events.retain(|e| e.source.as_ref().and_then(|s| s.component.as_deref()) == Some(COMPONENT));
    events
}

#[test]
fn an_outage_event_lands_on_the_vm_with_its_uid() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("events");
    cluster.running_vm(&ns, "db-0", "Always", &[]);
    let vm = get(cluster, &ns, "db-0", true);
    let vmi = get(cluster, &ns, "db-0", false);
    let object = EventObject::of_target(&vmi, Some(&vm));
    assert_eq!(object.kind, "VirtualMachine");
    let client = cluster.client();
    for (kind, message) in [
        (
            EventKind::OutageStarted,
            "outage of VMI db-0 (plan: automatic, KubeVirt re-creates it)",
        ),
        (EventKind::NotRecovered, "not Ready within 5m (gone 0.4s)"),
    ] {
        let warning = cluster.block_on(record(&client, &object, kind, message.into()));
        assert_eq!(warning, None, "{kind:?}");
    }
    let events = events_about(cluster, &ns, vm.metadata.uid.as_deref().unwrap());
    assert_eq!(events.len(), 2, "{events:#?}");
    let started = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("OutageStarted"))
        .expect("an OutageStarted event");
    let io = &started.involved_object;
    assert_eq!(io.kind.as_deref(), Some("VirtualMachine"));
    assert_eq!(io.api_version.as_deref(), Some("kubevirt.io/v1"));
    assert_eq!(io.name.as_deref(), Some("db-0"));
    assert_eq!(io.namespace.as_deref(), Some(ns.as_str()));
    assert_eq!(started.type_.as_deref(), Some("Normal"));
    assert_eq!(started.action.as_deref(), Some("DeleteVMI"));
    assert_eq!(started.reporting_component.as_deref(), Some(COMPONENT));
    assert_eq!(
        started.source.as_ref().and_then(|s| s.component.as_deref()),
        Some(COMPONENT)
    );
    assert!(started
        .message
        .as_deref()
        .unwrap()
        .contains("plan: automatic"));
    let not_recovered = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("NotRecovered"))
        .unwrap();
    assert_eq!(not_recovered.type_.as_deref(), Some("Warning"));

    // What a user reads: `kubectl get events` lists them with reason and object.
    let out = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args([
            "get",
            "events",
            "-n",
            &ns,
            "--field-selector",
            "involvedObject.name=db-0,reportingComponent=kubectl-vmchaos",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OutageStarted") && text.contains("virtualmachine/db-0"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_standalone_vmi_gets_the_event_itself() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("events-vmi");
    let uid = cluster.running_vmi(&ns, "alone", &[]);
    let vmi = get(cluster, &ns, "alone", false);
    let object = EventObject::of_target(&vmi, None);
    let warning = cluster.block_on(record(
        &cluster.client(),
        &object,
        EventKind::ToolRecovered,
        "the tool re-created VMI alone from its snapshot".into(),
    ));
    assert_eq!(warning, None);
    let events = events_about(cluster, &ns, &uid);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].involved_object.kind.as_deref(),
        Some("VirtualMachineInstance")
    );
    assert_eq!(events[0].reason.as_deref(), Some("ToolRecovered"));
}

#[test]
fn without_the_permission_it_is_a_warning_and_the_shipped_role_has_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("events-rbac");
    cluster.running_vm(&ns, "web", "Always", &[]);
    let vm = get(cluster, &ns, "web", true);
    let object = EventObject::of(&vm);
    let uid = vm.metadata.uid.clone().unwrap();

    // alice may do nothing: the Event is not created, the caller gets a sentence to show.
    let alice = cluster.user_client("alice");
    let warning = cluster
        .block_on(record(
            &alice,
            &object,
            EventKind::OutageStarted,
            "x".into(),
        ))
        .expect("a warning without `create events`");
    assert!(
        matches!(
            &warning,
            Note::EventNotRecorded {
                reason: "OutageStarted",
                failure: EventFailure::NoPermission,
                ..
            }
        ),
        "{warning:?}"
    );
    let warning = note(&warning);
    assert!(
        warning.contains("OutageStarted")
            && warning.contains(&format!("VirtualMachine {ns}/web"))
            && warning.contains("create events"),
        "{warning}"
    );
    assert!(events_about(cluster, &ns, &uid).is_empty());

    // carol, bound to deploy/rbac.yaml's ClusterRole in this namespace, may.
    cluster.apply_yaml(include_str!("../deploy/rbac.yaml"));
    cluster.bind_cluster_role_in(&ns, "carol", "vmchaos");
    let carol = cluster.user_client("carol");
    let warning = cluster.block_on(record(
        &carol,
        &object,
        EventKind::Recovered,
        "Running and Ready 2.1s after the delete".into(),
    ));
    assert_eq!(warning, None);
    assert_eq!(events_about(cluster, &ns, &uid).len(), 1);
}

#[test]
fn a_re_created_standalone_vmi_shows_the_outage_s_events_in_describe() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("events-recreated");
    let old = cluster.running_vmi(&ns, "alone", &[]);
    let out = cluster
        .command(
            env!("CARGO_BIN_EXE_kubectl-vmchaos").as_ref(),
            &cluster.admin_kubeconfig(),
        )
        .args([
            "outage",
            "alone",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = cluster.vmi_uid(&ns, "alone").expect("re-created");
    assert_ne!(new, old);
    let reasons = |uid: &str| {
        let mut r: Vec<String> = events_about(cluster, &ns, uid)
            .into_iter()
            .filter_map(|e| e.reason)
            .collect();
        r.sort();
        r
    };
    // The delete is about the deleted VMI; the recovery about the one `kubectl describe vmi
    // alone` now shows (it lists the Events of its own UID only).
    assert_eq!(reasons(&old), ["OutageStarted"]);
    assert_eq!(reasons(&new), ["Recovered", "ToolRecovered"]);
    let described = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args(["describe", "vmi", "alone", "-n", &ns])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&described.stdout);
    assert!(
        text.contains("ToolRecovered") && text.contains("Recovered"),
        "{text}"
    );
}
