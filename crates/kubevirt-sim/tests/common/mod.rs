//! What the simulator's integration tests share: the cluster (crates/testenv, one per test
//! binary), API handles, waits, the `start`/`stop`/`restart` calls and the event log.
#![allow(dead_code)]

use std::{
    future::Future,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use kube::{
    api::{Api, DeleteParams, DynamicObject},
    Client,
};
use serde_json::Value;
use testenv::Cluster;

/// Generous: the machine is shared.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The shared cluster, or None (the test is skipped, testenv says why). With
/// `VMCHAOS_TIER=genuine` it is the genuine tier: the same rules checked against KubeVirt's own
/// controllers, which is how the simulator is kept a witness.
pub fn cluster() -> Option<&'static Cluster> {
    let cluster = Cluster::shared()?;
    assert!(
        cluster.has_simulator() || cluster.is_genuine(),
        "the shared cluster runs without the simulator (VMCHAOS_NO_SIM?)"
    );
    Some(cluster)
}

#[macro_export]
macro_rules! cluster_or_skip {
    () => {
        match common::cluster() {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

pub fn vms(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &testenv::fixtures::vm_resource())
}

pub fn vmis(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &testenv::fixtures::vmi_resource())
}

/// Polls `check` until it returns Some, or panics with `what` after `TIMEOUT`.
pub async fn wait_for<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn get_vm(client: &Client, ns: &str, name: &str) -> Option<DynamicObject> {
    vms(client, ns).get_opt(name).await.expect("read VM")
}

pub async fn get_vmi(client: &Client, ns: &str, name: &str) -> Option<DynamicObject> {
    vmis(client, ns).get_opt(name).await.expect("read VMI")
}

/// Deletes the VMI and waits until it is gone; returns its UID.
pub async fn delete_vmi_and_wait(client: &Client, ns: &str, name: &str) -> String {
    let uid = get_vmi(client, ns, name)
        .await
        .and_then(|v| v.metadata.uid)
        .expect("a VMI to delete");
    vmis(client, ns)
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete VMI");
    let old = uid.as_str();
    wait_for(&format!("VMI {ns}/{name} {uid} to go"), || async move {
        let now = get_vmi(client, ns, name).await;
        (now.and_then(|v| v.metadata.uid).as_deref() != Some(old)).then_some(())
    })
    .await;
    uid
}

/// Waits until the VM's printableStatus is `status` ("Stopped": and no VMI in `created`,
/// which the reconcile that saw the VMI gone writes); returns the VM.
pub async fn wait_vm_status(client: &Client, ns: &str, name: &str, status: &str) -> DynamicObject {
    wait_for(&format!("VM {ns}/{name} to be {status}"), || async move {
        get_vm(client, ns, name).await.filter(|vm| {
            let s = &vm.data["status"];
            s["printableStatus"] == status && (status != "Stopped" || s["created"].is_null())
        })
    })
    .await
}

/// `PUT .../virtualmachines/{name}/{verb}` through the API server: the HTTP status code and the
/// message of a failure.
pub async fn subresource(client: &Client, ns: &str, name: &str, verb: &str) -> (u16, String) {
    subresource_with(client, ns, name, verb, "{}").await
}

/// `subresource` with this JSON body (KubeVirt's StartOptions, StopOptions, RestartOptions).
pub async fn subresource_with(
    client: &Client,
    ns: &str,
    name: &str,
    verb: &str,
    body: &str,
) -> (u16, String) {
    let path =
        format!("/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/{verb}");
    let request = http::Request::put(path)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap();
    match client.request_text(request).await {
        Ok(_) => (202, String::new()),
        Err(kube::Error::Api(status)) => (status.code, status.message.clone()),
        Err(e) => panic!("{verb} {ns}/{name}: {e}"),
    }
}

/// The simulator's event log lines about `ns/name`.
pub fn events(cluster: &Cluster, ns: &str, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(cluster.sim_log()).expect("read the simulator's event log");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an event log line is JSON"))
        .filter(|e| e["namespace"] == ns && e["name"] == name)
        .collect()
}

/// The first event `event` (with `uid`, when given) in `events`.
pub fn find<'a>(events: &'a [Value], event: &str, uid: Option<&str>) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == event && uid.is_none_or(|u| e["uid"] == u))
}

/// The first event `event` (with `uid`, when given) once the simulator has logged it: an event
/// it logs on seeing a change (`gone`) may come after the test saw that change itself.
pub async fn logged(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    event: &str,
    uid: Option<&str>,
) -> Value {
    wait_for(
        &format!("the simulator to log {event} of {ns}/{name}"),
        || async { find(&events(cluster, ns, name), event, uid).cloned() },
    )
    .await
}

pub fn unix_ms(event: &Value) -> f64 {
    event["unixMs"].as_f64().expect("unixMs")
}

pub fn now_unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

pub fn condition(obj: &DynamicObject, type_: &str) -> Option<String> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}
