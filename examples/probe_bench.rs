//! The probe benchmark's driver (scripts/bench-probes runs it against the sandbox): for each run,
//! probes a VM's front address and its VMI's own address, waits for steady state, deletes the
//! VMI (and starts the VM when its runStrategy needs that, as the tool's `start` plan does),
//! waits until every probe passes again, and prints one JSON line per probe with the measured
//! outage on the wall clock. The script compares those with the simulator's log.
//!
//! Usage: probe_bench KUBECONFIG NAMESPACE VM RUNS [INTERVAL_MS]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use kube::{
    api::{Api, DeleteParams, DynamicObject},
    config::{KubeConfigOptions, Kubeconfig},
    Client,
};
use kubectl_vmchaos::probe::{spawn_probers, steady_state, ProbeSpec, ProbeTiming, ProbeTrack};
use serde_json::json;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

const FRONT_ADDRESS: &str = "sim.vmchaos.dev/front-address";
const WAIT: Duration = Duration::from_secs(120);

fn unix_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn resource(kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kubeconfig, ns, vm, runs, rest @ ..] = args.as_slice() else {
        bail!("usage: probe_bench KUBECONFIG NAMESPACE VM RUNS [INTERVAL_MS]");
    };
    let runs: usize = runs.parse().context("RUNS")?;
    let interval = Duration::from_millis(rest.first().map_or(Ok(250), |s| s.parse())?);
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig)?,
        &KubeConfigOptions::default(),
    )
    .await?;
    let client = Client::try_from(config)?;
    let vms: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &resource("VirtualMachine", "virtualmachines"),
    );
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &resource("VirtualMachineInstance", "virtualmachineinstances"),
    );
    let vm_object = vms.get(vm).await.with_context(|| format!("VM {ns}/{vm}"))?;
    let front = vm_object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(FRONT_ADDRESS))
        .context("the VM has no front address: is this the simulator's sandbox?")?
        .clone();
    let strategy = vm_object.data["spec"]["runStrategy"]
        .as_str()
        .unwrap_or("Always")
        .to_string();
    let needs_start = matches!(strategy.as_str(), "Manual" | "RerunOnFailure");
    let specs: Vec<ProbeSpec> = [
        format!("tcp://{front}:2222"),
        format!("http://{front}:8080/"),
        "vmi:tcp:2222".to_string(),
    ]
    .iter()
    .map(|s| s.parse())
    .collect::<Result<_, _>>()?;

    // The VMI's address, as the outage core would feed it from its watch.
    let (address_tx, address) = watch::channel(None);
    let follow = {
        let vmis = vmis.clone();
        let vm = vm.clone();
        tokio::spawn(async move {
            loop {
                let ip = vmis
                    .get_opt(&vm)
                    .await
                    .ok()
                    .flatten()
                    .filter(|v| v.metadata.deletion_timestamp.is_none())
                    .and_then(|v| {
                        v.data["status"]["interfaces"][0]["ipAddress"]
                            .as_str()
                            .map(String::from)
                    });
                address_tx.send_if_modified(|old| {
                    let changed = *old != ip;
                    *old = ip.clone();
                    changed
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    for run in 0..runs {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let probers = spawn_probers(
            &specs,
            ProbeTiming::new(interval, None),
            address.clone(),
            tx,
        );
        let mut tracks: Vec<ProbeTrack> = specs.iter().cloned().map(ProbeTrack::new).collect();
        steady_state(&mut rx, &mut tracks, 3, Instant::now() + WAIT)
            .await
            .map_err(|e| anyhow::anyhow!("{e} ({})", e.hint()))?;
        let old = vmis.get(vm).await?;
        let old_uid = old.metadata.uid.clone().unwrap_or_default();
        let deleted = Instant::now();
        let deleted_wall = SystemTime::now();
        vmis.delete(vm, &DeleteParams::default()).await?;
        if needs_start {
            loop {
                let now = vmis.get_opt(vm).await?;
                if now.and_then(|v| v.metadata.uid).as_deref() != Some(old_uid.as_str()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let path = format!(
                "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{vm}/start"
            );
            let request = http::Request::put(path)
                .header("content-type", "application/json")
                .body(b"{}".to_vec())?;
            client.request_text(request).await.context("start the VM")?;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let Ok(Some(s)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
                bail!("run {run}: the probes did not pass again within {WAIT:?}");
            };
            tracks[s.probe].record(s);
            let back = |t: &ProbeTrack| {
                t.outage_after(deleted).is_some_and(|o| o.is_over()) && t.successes_in_a_row() >= 3
            };
            if tracks.iter().all(back) {
                break;
            }
        }
        probers.stop();
        let new_uid = vmis.get(vm).await?.metadata.uid.unwrap_or_default();
        for track in &tracks {
            let o = track.outage_after(deleted).context("an outage")?;
            let wall = |s: Option<kubectl_vmchaos::probe::Stamp>| s.map(|s| unix_ms(s.wall));
            println!(
                "{}",
                json!({
                    "run": run + 1, "vm": vm, "runStrategy": strategy, "probe": track.spec.text,
                    "intervalMs": interval.as_millis() as u64,
                    "deleteUnixMs": unix_ms(deleted_wall), "oldUid": old_uid, "newUid": new_uid,
                    "lastSuccessUnixMs": wall(o.last_success),
                    "firstFailureUnixMs": unix_ms(o.first_failure.wall),
                    "firstSuccessUnixMs": wall(o.first_success),
                    "downtimeMs": o.downtime(Instant::now()).as_secs_f64() * 1000.0,
                    "failedAttempts": o.failed_attempts,
                    "firstFailure": o.first.detail,
                })
            );
        }
    }
    follow.abort();
    Ok(())
}
