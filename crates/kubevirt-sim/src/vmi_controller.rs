//! The VMI controller (virt-controller + virt-handler in one): admits new VMIs, walks them
//! through Pending -> Scheduling -> Scheduled -> Running -> Ready with one write per step, and
//! on deletion simulates the guest shutdown, then removes the KubeVirt finalizer.

use std::{
    collections::HashMap,
    net::Ipv4Addr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    api::{Api, DynamicObject, Patch},
    runtime::{controller::Action, watcher, Controller},
    Client, ResourceExt,
};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    api_code, knobs,
    kubevirt::{condition_is_true, phase_of, vmi_resource, Phase, VMI_FINALIZER},
    launcher_pod,
    log::EventLog,
    retry::{Backoff, Error},
    vmi_lifecycle::{needs_launcher, next_step, Progress, Seen, Step, Timing},
    vmi_status, SimConfig,
};

pub struct VmiController {
    client: Client,
    config: Arc<SimConfig>,
    log: EventLog,
    memory: Mutex<HashMap<String, Progress>>,
    gone: Mutex<Tombstones>,
    backoff: Backoff,
    scheduled: AtomicUsize,
    addresses: AtomicUsize,
    /// The node the latest VMI of each namespace/name was scheduled onto.
    last_node: Mutex<HashMap<String, String>>,
}

/// Runs until the future is dropped.
pub async fn run(client: Client, config: Arc<SimConfig>, log: EventLog) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &vmi_resource());
    let ctx = Arc::new(VmiController {
        client,
        config,
        log,
        memory: Mutex::default(),
        gone: Mutex::default(),
        backoff: Backoff::default(),
        scheduled: AtomicUsize::new(0),
        addresses: AtomicUsize::new(0),
        last_node: Mutex::default(),
    });
    // A launcher pod that goes (a crash) wakes its VMI: virt-controller watches pods too.
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    Controller::new_with(api, watcher::Config::default(), vmi_resource())
        .owns(
            pods,
            watcher::Config::default().labels(launcher_pod::LAUNCHER_LABEL),
        )
        .trigger_backoff(crate::retry::Reconnect::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            crate::retry::report("VMI", result.map(|_| ()));
            std::future::ready(())
        })
        .await;
}

async fn reconcile(vmi: Arc<DynamicObject>, ctx: Arc<VmiController>) -> Result<Action, Error> {
    let key = vmi.uid().unwrap_or_default();
    let action = ctx.drive((*vmi).clone()).await?;
    ctx.backoff.reset(&key);
    Ok(action)
}

fn error_policy(vmi: Arc<DynamicObject>, error: &Error, ctx: Arc<VmiController>) -> Action {
    let delay = ctx.backoff.next(&vmi.uid().unwrap_or_default());
    tracing::warn!("{error}; retrying in {delay:?}");
    Action::requeue(delay)
}

/// What a write step left: the updated VMI, or None once it is gone.
type Written = Option<DynamicObject>;

impl VmiController {
    /// Takes as many steps as are due now, each on the object the previous write returned.
    async fn drive(&self, mut vmi: DynamicObject) -> Result<Action, Error> {
        if self
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&vmi.uid().unwrap_or_default())
        {
            return Ok(Action::await_change());
        }
        let (namespace, name, uid) = (
            vmi.namespace().unwrap_or_default(),
            vmi.name_any(),
            vmi.uid().unwrap_or_default(),
        );
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &vmi_resource());
        let launcher_gone = self.launcher_gone(&vmi).await?;
        let mut retries = 0;
        loop {
            let (step, timing) = self.next_step(&vmi, launcher_gone);
            let result = match step {
                Step::WaitFor(delay) => return Ok(Action::requeue(delay)),
                Step::Idle => return Ok(Action::await_change()),
                step => self.write(&api, &vmi, step, &timing).await,
            };
            match result {
                Ok(Some(updated)) => vmi = updated,
                Ok(None) => return Ok(Action::await_change()),
                Err(e) if api_code(&e) == Some(404) => {
                    self.forget(&uid);
                    return Ok(Action::await_change());
                }
                // Someone else wrote first (or the name holds a newer VMI): look again.
                Err(e) if matches!(api_code(&e), Some(409 | 422)) && retries < 5 => {
                    retries += 1;
                    match api
                        .get_opt(&name)
                        .await
                        .map_err(|e| Error::new("read VMI", &namespace, &name, e))?
                    {
                        Some(fresh) if fresh.uid().as_deref() == Some(uid.as_str()) => vmi = fresh,
                        _ => {
                            self.forget(&uid);
                            return Ok(Action::await_change());
                        }
                    }
                }
                Err(e) => return Err(Error::new(step_name(step), &namespace, &name, e)),
            }
        }
    }

    /// A live VMI (not being deleted, in a phase that needs a launcher) whose launcher pod no
    /// longer exists: one list of its pods, only then.
    async fn launcher_gone(&self, vmi: &DynamicObject) -> Result<bool, Error> {
        let live = vmi.metadata.deletion_timestamp.is_none()
            && phase_of(vmi).is_some_and(needs_launcher)
            && vmi.finalizers().iter().any(|f| f == VMI_FINALIZER);
        if !live {
            return Ok(false);
        }
        let (namespace, uid) = (
            vmi.namespace().unwrap_or_default(),
            vmi.uid().unwrap_or_default(),
        );
        launcher_pod::exists(&self.client, &namespace, &uid)
            .await
            .map(|exists| !exists)
            .map_err(|e| {
                Error::new(
                    "look for the launcher pod of",
                    &namespace,
                    &vmi.name_any(),
                    e,
                )
            })
    }

    fn next_step(&self, vmi: &DynamicObject, launcher_gone: bool) -> (Step, Timing) {
        let now = Instant::now();
        let timing = Timing::of(
            vmi.annotations(),
            vmi.data["spec"]["terminationGracePeriodSeconds"].as_i64(),
            &self.config,
        );
        let finalizers = vmi.finalizers();
        let has_finalizer = finalizers.iter().any(|f| f == VMI_FINALIZER);
        let admitted = has_finalizer
            && (!timing.block_deletion
                || finalizers.iter().any(|f| f == knobs::BLOCKING_FINALIZER));
        let deleting = vmi.metadata.deletion_timestamp.is_some();
        let uid = vmi.uid().unwrap_or_default();
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        let progress = memory.entry(uid.clone()).or_default();
        let phase = if admitted || deleting {
            progress.observe(phase_of(vmi), now)
        } else {
            None
        };
        if deleting && progress.shutdown_since.is_none() {
            progress.shutdown_since = Some(now);
            self.record(vmi, "deleting", json!({}));
        }
        let seen = Seen {
            phase,
            ready: condition_is_true(&vmi.data, "Ready"),
            paused: condition_is_true(&vmi.data, "Paused"),
            migrating: vmi.data["status"]["migrationState"].is_object(),
            deleting,
            admitted,
            has_finalizer,
            launcher_gone,
        };
        (next_step(&seen, progress, &timing, now), timing)
    }

    async fn write(
        &self,
        api: &Api<DynamicObject>,
        vmi: &DynamicObject,
        step: Step,
        timing: &Timing,
    ) -> kube::Result<Written> {
        let namespace = vmi.namespace().unwrap_or_default();
        let uid = vmi.uid().unwrap_or_default();
        match step {
            Step::Admit => {
                let mut finalizers = vmi.finalizers().to_vec();
                for wanted in [
                    Some(VMI_FINALIZER),
                    timing.block_deletion.then_some(knobs::BLOCKING_FINALIZER),
                ]
                .into_iter()
                .flatten()
                {
                    if !finalizers.iter().any(|f| f == wanted) {
                        finalizers.push(wanted.to_string());
                    }
                }
                if vmi.finalizers().iter().any(|f| f == VMI_FINALIZER) {
                    // Admitted before; only the blocking finalizer was taken off.
                    return patch(api, vmi, vmi_status::finalizers(vmi, &finalizers))
                        .await
                        .map(Some);
                }
                let transitions = self.restart_progress(&uid, Phase::Pending);
                let updated =
                    patch(api, vmi, vmi_status::admit(vmi, &finalizers, &transitions)).await?;
                self.record(vmi, "phase", json!({"phase": "Pending"}));
                Ok(Some(updated))
            }
            Step::Advance(Phase::Scheduling) => {
                let node = self.node_for(vmi);
                launcher_pod::ensure(&self.client, vmi, &node).await?;
                self.advance(
                    api,
                    vmi,
                    Phase::Scheduling,
                    |t| vmi_status::phase(vmi, Phase::Scheduling, t),
                    json!({}),
                )
                .await
            }
            Step::Advance(Phase::Scheduled) => {
                // After a restart of the simulator, the pod knows the node.
                let known = self.with_progress(&uid, |p| p.node.clone());
                let node = match known {
                    Some(node) => node,
                    None => match launcher_pod::node(&self.client, &namespace, &uid).await? {
                        Some(node) => node,
                        None => self.node_for(vmi),
                    },
                };
                let ip = self.ip_for(&uid);
                launcher_pod::report(&self.client, &namespace, &uid, "Running", Some(&ip)).await?;
                self.advance(
                    api,
                    vmi,
                    Phase::Scheduled,
                    |t| vmi_status::scheduled(vmi, &node, t),
                    json!({"node": node}),
                )
                .await
            }
            Step::Advance(phase) => {
                let ip = self.ip_for(&uid);
                let mac = mac_for(&ip);
                self.advance(
                    api,
                    vmi,
                    phase,
                    |t| vmi_status::running(vmi, &ip, &mac, t),
                    json!({"ip": ip}),
                )
                .await
            }
            Step::BecomeReady => {
                let updated = patch(api, vmi, vmi_status::ready(vmi)).await?;
                self.with_progress(&uid, |p| p.ready = true);
                self.record(vmi, "ready", json!({}));
                Ok(Some(updated))
            }
            Step::Pause => {
                let updated = patch(api, vmi, vmi_status::paused(vmi)).await?;
                self.with_progress(&uid, |p| p.paused = true);
                self.record(vmi, "paused", json!({}));
                Ok(Some(updated))
            }
            Step::Migrate => {
                let source = vmi.data["status"]["nodeName"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| self.node_for(vmi));
                let target = pick_node(&self.config.nodes, 0, Some(&source));
                let target = if target == source {
                    pick_node(&self.config.nodes, 1, Some(&source))
                } else {
                    target
                };
                let updated = patch(api, vmi, vmi_status::migrating(vmi, &source, &target)).await?;
                self.with_progress(&uid, |p| p.migrating = true);
                self.record(
                    vmi,
                    "migrating",
                    json!({"sourceNode": source, "targetNode": target}),
                );
                Ok(Some(updated))
            }
            Step::Fail => {
                let updated = self
                    .advance(
                        api,
                        vmi,
                        Phase::Failed,
                        |t| vmi_status::ended(vmi, Phase::Failed, t),
                        json!({}),
                    )
                    .await?;
                launcher_pod::report(&self.client, &namespace, &uid, "Failed", None).await?;
                Ok(updated)
            }
            Step::LauncherGone => {
                self.advance(
                    api,
                    vmi,
                    Phase::Failed,
                    |t| vmi_status::launcher_gone(vmi, t),
                    json!({"reason": "launcher gone"}),
                )
                .await
            }
            Step::Finish => self.finish(api, vmi).await,
            Step::WaitFor(_) | Step::Idle => Ok(Some(vmi.clone())),
        }
    }

    /// Writes `phase` (with the transition timestamps so far) and records it.
    async fn advance(
        &self,
        api: &Api<DynamicObject>,
        vmi: &DynamicObject,
        phase: Phase,
        build: impl FnOnce(&[(Phase, String)]) -> Value,
        extra: Value,
    ) -> kube::Result<Written> {
        let uid = vmi.uid().unwrap_or_default();
        let mut transitions = self.with_progress(&uid, |p| p.transitions.clone());
        transitions.retain(|(p, _)| *p != phase);
        transitions.push((phase, vmi_status::now_rfc3339()));
        let updated = patch(api, vmi, build(&transitions)).await?;
        self.with_progress(&uid, |p| {
            p.transitions = transitions;
            p.phase = Some((phase, Instant::now()));
        });
        let mut line = json!({"phase": phase.as_str()});
        if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), extra) {
            line.extend(extra);
        }
        self.record(vmi, "phase", line);
        Ok(Some(updated))
    }

    /// The guest has shut down: Succeeded, launcher pod deleted, KubeVirt finalizer removed.
    async fn finish(&self, api: &Api<DynamicObject>, vmi: &DynamicObject) -> kube::Result<Written> {
        let namespace = vmi.namespace().unwrap_or_default();
        let uid = vmi.uid().unwrap_or_default();
        let mut vmi = vmi.clone();
        let remembered = self.with_progress(&uid, |p| p.phase.map(|(phase, _)| phase));
        if ![phase_of(&vmi), remembered]
            .into_iter()
            .flatten()
            .any(Phase::is_final)
        {
            let ended = |t: &[(Phase, String)]| vmi_status::ended(&vmi, Phase::Succeeded, t);
            if let Some(updated) = self
                .advance(api, &vmi, Phase::Succeeded, ended, json!({}))
                .await?
            {
                vmi = updated;
            }
        }
        launcher_pod::delete(&self.client, &namespace, &uid).await?;
        let kept: Vec<String> = vmi
            .finalizers()
            .iter()
            .filter(|f| *f != VMI_FINALIZER)
            .cloned()
            .collect();
        let updated = patch(api, &vmi, vmi_status::finalizers(&vmi, &kept)).await?;
        if kept.is_empty() {
            self.forget(&uid);
            self.record(&vmi, "gone", json!({}));
            Ok(None)
        } else {
            self.record(&vmi, "finalized", json!({"remainingFinalizers": kept}));
            Ok(Some(updated))
        }
    }

    fn record(&self, vmi: &DynamicObject, event: &str, extra: Value) {
        let (namespace, name, uid) = (
            vmi.namespace().unwrap_or_default(),
            vmi.name_any(),
            vmi.uid().unwrap_or_default(),
        );
        tracing::debug!(%namespace, %name, %uid, %extra, "VMI {event}");
        self.log.record(event, &namespace, &name, &uid, extra);
    }

    fn with_progress<T>(&self, uid: &str, f: impl FnOnce(&mut Progress) -> T) -> T {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        f(memory.entry(uid.to_string()).or_default())
    }

    /// A fresh start at `phase` (admission): returns the transition timestamps to write.
    fn restart_progress(&self, uid: &str, phase: Phase) -> Vec<(Phase, String)> {
        let transitions = vec![(phase, vmi_status::now_rfc3339())];
        self.with_progress(uid, |p| {
            *p = Progress {
                phase: Some((phase, Instant::now())),
                transitions: transitions.clone(),
                ..Progress::default()
            };
        });
        transitions
    }

    /// Drops what the simulator remembers about a VMI that is gone, and remembers that it is
    /// gone: the watch cache may still hand it over once more.
    fn forget(&self, uid: &str) {
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(uid);
        self.gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uid);
    }

    /// The node of this VMI, picked at Scheduling (see `pick_node`).
    fn node_for(&self, vmi: &DynamicObject) -> String {
        let uid = vmi.uid().unwrap_or_default();
        let key = format!("{}/{}", vmi.namespace().unwrap_or_default(), vmi.name_any());
        if let Some(node) = self.with_progress(&uid, |p| p.node.clone()) {
            return node;
        }
        let mut last = self.last_node.lock().unwrap_or_else(|p| p.into_inner());
        let turn = self.scheduled.fetch_add(1, Ordering::Relaxed);
        let node = pick_node(&self.config.nodes, turn, last.get(&key).map(String::as_str));
        last.insert(key, node.clone());
        self.with_progress(&uid, |p| p.node = Some(node.clone()));
        node
    }

    fn ip_for(&self, uid: &str) -> String {
        self.with_progress(uid, |p| {
            p.ip.get_or_insert_with(|| {
                let n = self.addresses.fetch_add(1, Ordering::Relaxed);
                let network = self.config.guest_network.unwrap_or(Ipv4Addr::LOCALHOST);
                crate::guest::address::vmi_address(network, n).to_string()
            })
            .clone()
        })
    }
}

/// The UIDs of the latest VMIs that went (bounded: old ones are long out of the watch cache).
#[derive(Default)]
struct Tombstones {
    uids: std::collections::HashSet<String>,
    order: std::collections::VecDeque<String>,
}

impl Tombstones {
    const KEEP: usize = 4096;

    fn insert(&mut self, uid: &str) {
        if self.uids.insert(uid.to_string()) {
            self.order.push_back(uid.to_string());
            if self.order.len() > Self::KEEP {
                if let Some(oldest) = self.order.pop_front() {
                    self.uids.remove(&oldest);
                }
            }
        }
    }

    fn contains(&self, uid: &str) -> bool {
        self.uids.contains(uid)
    }
}

/// Round robin over the fake nodes, skipping the node the VMI's predecessor (same name) ran on,
/// so that a re-created VMI lands elsewhere.
fn pick_node(nodes: &[String], turn: usize, previous: Option<&str>) -> String {
    let Some(first) = nodes.get(turn % nodes.len().max(1)) else {
        return "node-a".into();
    };
    if nodes.len() > 1 && previous == Some(first.as_str()) {
        nodes[(turn + 1) % nodes.len()].clone()
    } else {
        first.clone()
    }
}

fn mac_for(ip: &str) -> String {
    let octets: Vec<u8> = ip.split('.').filter_map(|o| o.parse().ok()).collect();
    let tail = octets.get(2..4).unwrap_or(&[0, 0]);
    format!("02:00:00:00:{:02x}:{:02x}", tail[0], tail[1])
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Admit => "admit VMI",
        Step::Advance(Phase::Scheduling) => "schedule VMI",
        Step::Advance(Phase::Scheduled) => "bind VMI to a node",
        Step::Advance(_) => "start VMI",
        Step::BecomeReady => "mark VMI Ready",
        Step::Pause => "pause VMI",
        Step::Migrate => "migrate VMI",
        Step::Fail => "fail VMI",
        Step::LauncherGone => "fail VMI whose launcher is gone",
        Step::Finish => "finish VMI shutdown",
        Step::WaitFor(_) | Step::Idle => "wait for VMI",
    }
}

async fn patch(
    api: &Api<DynamicObject>,
    vmi: &DynamicObject,
    body: Value,
) -> kube::Result<DynamicObject> {
    api.patch(
        &vmi.name_any(),
        &crate::patch_params(),
        &Patch::Merge(&body),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recreated_vmi_lands_on_another_node() {
        let nodes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(pick_node(&nodes, 3, None), "a");
        assert_eq!(pick_node(&nodes, 3, Some("a")), "b");
        assert_eq!(pick_node(&nodes, 5, Some("b")), "c");
        assert_eq!(pick_node(&nodes[..1], 1, Some("a")), "a");
        assert_eq!(pick_node(&[], 0, None), "node-a");
    }

    #[test]
    fn tombstones_keep_the_latest_uids() {
        let mut t = Tombstones::default();
        for i in 0..=Tombstones::KEEP {
            t.insert(&i.to_string());
        }
        t.insert("1");
        assert!(!t.contains("0") && t.contains("1") && t.contains(&Tombstones::KEEP.to_string()));
        assert_eq!(t.order.len(), Tombstones::KEEP);
    }

    #[test]
    fn mac_follows_the_ip() {
        assert_eq!(mac_for("10.244.1.17"), "02:00:00:00:01:11");
        assert_eq!(mac_for("bogus"), "02:00:00:00:00:00");
    }
}
