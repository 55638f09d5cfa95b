//! The outage's probes: one prober per fixed-address probe, one per target for each `vmi:`
//! probe (following that target's VMI address), all on their own tasks. This holds their
//! tracks and answers the shell's questions: steady before the delete? are a target's users
//! served again? should the experiment abort? It never blocks the outage's own timing.

use std::collections::HashMap;

use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
    time::Instant,
};

use super::core::{Core, TargetId};
use crate::events::{ProbeChange, ProbeState};
use crate::probe::{
    check_steady, spawn_probers, steady_state, AbortReason, AbortRule, ProbeOptions, ProbeReport,
    ProbeSample, ProbeTrack, Probers, SteadyStateError, STEADY_IN_A_ROW,
};

/// One running probe: a spec, and the target whose VMI it follows (`vmi:` probes).
struct Instance {
    spec: usize,
    target: Option<TargetId>,
    track: ProbeTrack,
    passing: Option<bool>,
}

pub struct Probing {
    options: ProbeOptions,
    instances: Vec<Instance>,
    samples: mpsc::UnboundedReceiver<ProbeSample>,
    addresses: Vec<(TargetId, watch::Sender<Option<String>>)>,
    probers: Vec<Probers>,
    forwarders: Vec<JoinHandle<()>>,
    /// Other running VMIs of the targets' namespaces (uid → `ns/name`, Ready and running now),
    /// for `--abort-if unready=N`.
    others: HashMap<String, (String, bool)>,
}

impl Drop for Probing {
    fn drop(&mut self) {
        for f in &self.forwarders {
            f.abort();
        }
        for p in self.probers.drain(..) {
            p.stop();
        }
    }
}

impl Probing {
    /// Starts every prober. `ips`: each target's VMI address now.
    pub fn start(options: ProbeOptions, ips: &[Option<String>]) -> Probing {
        let (tx, samples) = mpsc::unbounded_channel();
        let mut probing = Probing {
            options,
            instances: Vec::new(),
            samples,
            addresses: Vec::new(),
            probers: Vec::new(),
            forwarders: Vec::new(),
            others: HashMap::new(),
        };
        let timing = probing.options.timing;
        let specs = probing.options.probes.clone();
        for (i, spec) in specs.iter().enumerate() {
            let targets: Vec<Option<TargetId>> = if spec.target.follows_the_vmi() {
                (0..ips.len()).map(Some).collect()
            } else {
                vec![None]
            };
            for target in targets {
                let index = probing.instances.len();
                let (address_tx, address_rx) = watch::channel(target.and_then(|t| ips[t].clone()));
                if let Some(t) = target {
                    probing.addresses.push((t, address_tx));
                }
                // Each prober numbers its samples 0: re-number them by instance.
                let (one_tx, mut one_rx) = mpsc::unbounded_channel::<ProbeSample>();
                probing.probers.push(spawn_probers(
                    std::slice::from_ref(spec),
                    timing,
                    address_rx,
                    one_tx,
                ));
                let tx = tx.clone();
                probing.forwarders.push(tokio::spawn(async move {
                    while let Some(mut sample) = one_rx.recv().await {
                        sample.probe = index;
                        if tx.send(sample).is_err() {
                            return;
                        }
                    }
                }));
                probing.instances.push(Instance {
                    spec: i,
                    target,
                    track: ProbeTrack::new(spec.clone()),
                    passing: None,
                });
            }
        }
        probing
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty() && self.options.abort.is_empty()
    }

    /// Whether target `t`'s recovery waits for probes ("recovered" = users served again).
    pub fn decides(&self, t: TargetId) -> bool {
        self.target_instances(t).next().is_some()
    }

    fn target_instances(&self, t: TargetId) -> impl Iterator<Item = &Instance> {
        let targets = self.options.targets;
        self.instances
            .iter()
            .filter(move |i| i.spec < targets && i.target.is_none_or(|x| x == t))
    }

    /// Every probe passes `STEADY_IN_A_ROW` times in a row before anything is deleted.
    pub async fn steady(&mut self) -> Result<(), SteadyStateError> {
        let timing = self.options.timing;
        let window = (timing.interval * (STEADY_IN_A_ROW as u32 + 2) + timing.timeout)
            .max(std::time::Duration::from_secs(3));
        let mut tracks: Vec<ProbeTrack> = self.instances.iter().map(|i| i.track.clone()).collect();
        let verdict = steady_state(
            &mut self.samples,
            &mut tracks,
            STEADY_IN_A_ROW,
            Instant::now() + window,
        )
        .await;
        for (instance, track) in self.instances.iter_mut().zip(tracks) {
            instance.passing = track.is_passing();
            instance.track = track;
        }
        verdict.and_then(|()| {
            check_steady(
                &self
                    .instances
                    .iter()
                    .map(|i| i.track.clone())
                    .collect::<Vec<_>>(),
                STEADY_IN_A_ROW,
            )
        })
    }

    /// The next sample (pending forever when nothing probes).
    pub async fn next(&mut self) -> ProbeSample {
        match self.samples.recv().await {
            Some(s) if !self.instances.is_empty() => s,
            _ => std::future::pending().await,
        }
    }

    /// Records a sample; returns the change when a probe starts failing or passes again.
    pub fn record(&mut self, sample: ProbeSample, now: Instant) -> Option<ProbeChange> {
        let instance = self.instances.get_mut(sample.probe)?;
        let ok = sample.ok();
        let detail = sample.failure.as_ref().map(|f| f.detail.clone());
        instance.track.record(sample);
        let was = instance.passing.replace(ok);
        let change = match (was, ok) {
            (Some(true) | None, false) => ProbeState::Failing(detail.unwrap_or_default()),
            (Some(false), true) => ProbeState::PassingAgain(
                instance
                    .track
                    .outages()
                    .last()
                    .map(|o| o.downtime(now))
                    .unwrap_or_default(),
            ),
            _ => return None,
        };
        Some(ProbeChange {
            probe: instance.track.spec.text.clone(),
            target: instance.target,
            state: change,
        })
    }

    /// Each `vmi:` probe follows its target's current VMI (the replacement once there is one).
    pub fn follow_addresses(&self, core: &Core) {
        for (t, tx) in &self.addresses {
            let run = &core.runs()[*t];
            let ip = match run.tracker.current() {
                Some(vmi) if !vmi.terminating => vmi.ip.clone(),
                Some(_) => None,
                None if run.deleted_at.is_some() => None,
                None => tx.borrow().clone(),
            };
            tx.send_if_modified(|current| {
                if *current != ip {
                    *current = ip;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// Target `t`'s users are served again: every probe of it succeeded since `ready` and
    /// passes now.
    pub fn served(&self, t: TargetId, ready: Instant) -> bool {
        self.target_instances(t).all(|i| {
            i.track.first_success_after(ready).is_some() && i.track.is_passing() == Some(true)
        })
    }

    /// The other running VMIs of the scope, as the watch sees them.
    pub fn watch_others(&mut self, uid: &str, label: String, ok: bool) {
        self.others.insert(uid.to_string(), (label, ok));
    }

    pub fn other_changed(&mut self, uid: &str, ok: bool) {
        if let Some(entry) = self.others.get_mut(uid) {
            entry.1 = ok;
        }
    }

    /// An abort condition that fires now.
    pub fn abort(&self, now: Instant) -> Option<AbortReason> {
        let tracks = self.tracks_by_spec();
        let unready: Vec<String> = {
            let mut v: Vec<String> = self
                .others
                .values()
                .filter(|(_, ok)| !ok)
                .map(|(l, _)| l.clone())
                .collect();
            v.sort();
            v
        };
        self.options
            .abort
            .iter()
            .find_map(|rule| rule.check(&tracks, &unready, now))
    }

    /// When an abort rule that is counting down must be looked at again.
    pub fn next_check(&self, now: Instant) -> Option<Instant> {
        let tracks = self.tracks_by_spec();
        self.options
            .abort
            .iter()
            .filter_map(|rule: &AbortRule| rule.next_check(&tracks, now))
            .min()
    }

    /// Abort probes are fixed-address probes: one instance each, found by spec index.
    fn tracks_by_spec(&self) -> Vec<ProbeTrack> {
        self.options
            .probes
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                self.instances
                    .iter()
                    .find(|inst| inst.spec == i)
                    .map(|inst| inst.track.clone())
                    .unwrap_or_else(|| ProbeTrack::new(spec.clone()))
            })
            .collect()
    }

    /// Target `t`'s probes in its report: downtime since its DELETE, Ready → first success.
    pub fn reports(
        &self,
        t: TargetId,
        since: Instant,
        ready: Option<Instant>,
        now: Instant,
    ) -> Vec<ProbeReport> {
        self.target_instances(t)
            .map(|i| i.track.report(since, ready, now))
            .collect()
    }

    /// Every probe's track with the target it follows (for the report's timeline).
    pub fn tracks(&self) -> Vec<(Option<TargetId>, &ProbeTrack)> {
        self.instances
            .iter()
            .map(|i| (i.target, &i.track))
            .collect()
    }
}
