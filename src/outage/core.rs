//! The outage as a pure state machine: `handle(input, now) -> effects`. Inputs are watch
//! observations, the results of the effects the shell carried out, signals and deadlines;
//! effects are requests to the cluster (delete, start, re-create, switch a runStrategy) and
//! events for the renderers. No I/O, no clock of its own: `now` comes in, so tests run every
//! timing path in microseconds under tokio's paused clock.
//!
//! One `Run` per target; one namespace watch feeds them all.

use std::{
    collections::HashSet,
    time::{Duration, SystemTime},
};

use tokio::time::Instant;

use super::tracker::{Step, Tracker};
use crate::{
    events::{Event, NotRecovered, Outcome, TargetEvent},
    kubevirt::{Recovery, Timestamp, Vmi},
};

pub type TargetId = usize;

/// What the core needs to know about one target, decided before anything is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: Option<String>,
    /// The plan: how KubeVirt (or the tool) brings it back.
    pub recovery: Recovery,
    /// The owner VM (Start, Automatic).
    pub vm: Option<String>,
    /// The owning replica set's UID (Follow).
    pub replica_set_uid: Option<String>,
    /// `--keep-down`: the VM's runStrategy, switched to Manual for the outage and put back.
    pub keep_down: Option<String>,
    pub finalizers: Vec<String>,
    /// `--probe`: recovered means the probes pass again after Ready, not Ready alone.
    pub probed: bool,
}

impl TargetSpec {
    /// What the tool does when KubeVirt won't: a kept-down VM is started like a Manual one.
    pub fn effective_recovery(&self) -> Recovery {
        match (self.recovery, &self.keep_down) {
            (Recovery::Automatic, Some(_)) => Recovery::Start,
            (r, _) => r,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// How long KubeVirt gets before the tool recovers the VMI itself.
    pub duration: Duration,
    /// Once a replacement exists or the tool acted: how long it has to be Running and Ready.
    pub timeout: Duration,
    /// After the first Ctrl-C: how long to wait for the targets to come back.
    pub interrupt_wait: Duration,
    /// `--serial`: one target at a time, this long apart.
    pub serial_interval: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteResult {
    Accepted,
    /// The API server answered no: nothing changed.
    Refused(String),
    /// No answer (timeout, connection lost): it may or may not have happened.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    Started,
    Created {
        uid: String,
    },
    /// 409 on the re-create: someone else re-created it first.
    AlreadyExists,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Everything is ready: start deleting.
    Begin,
    /// `--keep-down`'s switch to Manual was done (or refused).
    KeptDown {
        target: TargetId,
        result: Result<(), String>,
    },
    Deleted {
        target: TargetId,
        result: DeleteResult,
    },
    /// A VMI as the watch saw it; `live: false` when a re-list after a gap found it.
    Seen {
        vmi: Box<Vmi>,
        live: bool,
    },
    Gone {
        namespace: String,
        uid: String,
    },
    /// A re-list after a watch gap: every VMI of the namespace as it is now.
    Relisted {
        namespace: String,
        vmis: Vec<Vmi>,
    },
    ActionDone {
        target: TargetId,
        result: ActionResult,
    },
    StrategyRestored {
        target: TargetId,
        result: Result<(), String>,
    },
    Signal(Signal),
    /// The target's probes pass again after its replacement became Ready: users are served.
    Served {
        target: TargetId,
    },
    /// An abort condition fired: recover everything still down, then stop.
    Abort {
        reason: String,
    },
    /// A deadline passed (see `next_deadline`).
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Switch the VM's runStrategy from `from` to `to` (a JSON patch that tests `from`).
    SetStrategy {
        target: TargetId,
        vm: String,
        from: String,
        to: String,
        restore: bool,
    },
    Delete {
        target: TargetId,
    },
    Start {
        target: TargetId,
    },
    Recreate {
        target: TargetId,
    },
    Emit(Event),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Queued,
    KeepingDown,
    /// The DELETE went out (its answer may be pending): observations count from here.
    Down,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Untouched,
    /// Switched to Manual, not yet put back.
    Kept,
    Restoring,
    Restored,
    RestoreFailed(String),
}

/// One target's outage.
#[derive(Debug, Clone)]
pub struct Run {
    pub spec: TargetSpec,
    stage: Stage,
    pub tracker: Tracker,
    pub deleted_at: Option<Instant>,
    /// Wall-clock time of the DELETE.
    pub injected_at: Option<SystemTime>,
    wait_until: Option<Instant>,
    wait_noted: bool,
    settle_until: Option<Instant>,
    /// What the tool itself did to bring it back.
    pub acted: Option<Recovery>,
    in_flight: bool,
    delete_uncertain: bool,
    pub strategy: Strategy,
    running_said: bool,
    /// Its probes passed again after Ready.
    pub served: bool,
    pub outcome: Option<Outcome>,
    /// Events worth keeping in the summary's notes.
    pub notes: Vec<TargetEvent>,
}

impl Run {
    fn new(spec: TargetSpec) -> Self {
        Run {
            tracker: Tracker::new(spec.name.clone(), spec.uid.clone()),
            spec,
            stage: Stage::Queued,
            deleted_at: None,
            injected_at: None,
            wait_until: None,
            wait_noted: false,
            settle_until: None,
            acted: None,
            in_flight: false,
            delete_uncertain: false,
            strategy: Strategy::Untouched,
            running_said: false,
            served: false,
            outcome: None,
            notes: Vec::new(),
        }
    }

    fn since_delete(&self, now: Instant) -> Duration {
        self.deleted_at.map_or(Duration::ZERO, |d| now - d)
    }

    /// Was this VMI (not the old one) created to replace the target?
    fn is_replacement(
        &self,
        vmi: &Vmi,
        known: &HashSet<String>,
        claimed: &HashSet<String>,
    ) -> bool {
        if vmi.namespace != self.spec.namespace || vmi.uid == self.spec.uid {
            return false;
        }
        if let Some(current) = self.tracker.current() {
            if current.uid == vmi.uid {
                return true;
            }
        }
        match &self.spec.replica_set_uid {
            // A new VMI of the same replica set that no other target took, while this target
            // follows none yet: one replacement per deleted VMI, so that two targets of one set
            // each follow their own.
            Some(rs) => {
                self.tracker.current().is_none()
                    && vmi.owner.as_ref().is_some_and(|o| o.uid == *rs)
                    && !known.contains(&vmi.uid)
                    && !claimed.contains(&vmi.uid)
                    && !vmi.terminating
            }
            None => vmi.name == self.spec.name,
        }
    }
}

pub struct Core {
    config: CoreConfig,
    runs: Vec<Run>,
    /// VMIs that existed before the first DELETE (a replica set's replacement is not one).
    known: HashSet<String>,
    /// Replacements already followed by a target.
    claimed: HashSet<String>,
    interrupted: Option<Signal>,
    /// An abort condition fired (the reason, in words).
    aborted: Option<String>,
    interrupt_until: Option<Instant>,
    stopped: bool,
    next_serial: Option<Instant>,
    origin: (Instant, SystemTime),
}

impl Core {
    /// `known`: the UIDs of every VMI in the targets' namespaces before anything is deleted;
    /// `origin`: one moment on both clocks, to turn `now` into wall-clock time.
    pub fn new(
        config: CoreConfig,
        targets: Vec<TargetSpec>,
        known: HashSet<String>,
        origin: (Instant, SystemTime),
    ) -> Self {
        Core {
            config,
            runs: targets.into_iter().map(Run::new).collect(),
            known,
            claimed: HashSet::new(),
            interrupted: None,
            aborted: None,
            interrupt_until: None,
            stopped: false,
            next_serial: None,
            origin,
        }
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn interrupted(&self) -> Option<Signal> {
        self.interrupted
    }

    pub fn aborted(&self) -> Option<&str> {
        self.aborted.as_deref()
    }

    /// Every target has an outcome (and no runStrategy is left to put back), or a second
    /// signal stopped the wait.
    pub fn done(&self) -> bool {
        self.stopped
            || self
                .runs
                .iter()
                .all(|r| r.stage == Stage::Done && !matches!(r.strategy, Strategy::Restoring))
    }

    fn wall(&self, now: Instant) -> SystemTime {
        self.origin.1 + (now - self.origin.0)
    }

    /// When the next `Tick` is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut deadlines: Vec<Instant> = Vec::new();
        for r in self.runs.iter().filter(|r| r.stage != Stage::Done) {
            if !r.wait_noted {
                deadlines.extend(r.wait_until);
            }
            deadlines.extend(r.settle_until);
        }
        deadlines.extend(self.interrupt_until);
        deadlines.extend(self.next_serial);
        deadlines.into_iter().min()
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::Begin => {
                let count = if self.config.serial_interval.is_some() {
                    1
                } else {
                    self.runs.len()
                };
                for t in 0..count {
                    self.begin(t, now, &mut fx);
                }
            }
            Input::KeptDown { target, result } => {
                let run = &mut self.runs[target];
                match result {
                    Ok(()) => {
                        run.strategy = Strategy::Kept;
                        let what = TargetEvent::KeptDown {
                            vm: run.spec.vm.clone().unwrap_or_default(),
                            from: run.spec.keep_down.clone().unwrap_or_default(),
                        };
                        emit(&mut fx, target, Duration::ZERO, what);
                        if self.interrupted.is_some() || self.aborted.is_some() {
                            // Interrupted or aborted while switching: put it back, delete
                            // nothing.
                            let why = if self.interrupted.is_some() {
                                "interrupted before the delete"
                            } else {
                                "aborted before the delete"
                            };
                            self.restore_strategy(target, &mut fx);
                            self.finish(target, Outcome::NotDeleted(why.into()), now, &mut fx);
                        } else {
                            self.delete(target, now, &mut fx);
                        }
                    }
                    Err(reason) => {
                        self.finish(target, Outcome::NotDeleted(reason), now, &mut fx);
                    }
                }
            }
            Input::Deleted { target, result } => self.deleted(target, result, now, &mut fx),
            Input::Seen { vmi, live } => {
                for t in 0..self.runs.len() {
                    self.observe_seen(t, &vmi, live, now, &mut fx);
                }
            }
            Input::Gone { namespace, uid } => {
                for t in 0..self.runs.len() {
                    let run = &mut self.runs[t];
                    if !run.watching() || run.spec.namespace != namespace {
                        continue;
                    }
                    let at = run.since_delete(now);
                    let steps = if uid == run.spec.uid {
                        run.tracker.old_gone_now(at)
                    } else {
                        run.tracker.replacement_gone(&uid)
                    };
                    emit_steps(&mut fx, t, at, steps);
                }
            }
            Input::Relisted { namespace, vmis } => {
                // Replacements first: one found here also says when the old VMI went.
                for vmi in &vmis {
                    for t in 0..self.runs.len() {
                        self.observe_seen(t, vmi, false, now, &mut fx);
                    }
                }
                let present: HashSet<&str> = vmis.iter().map(|v| v.uid.as_str()).collect();
                for t in 0..self.runs.len() {
                    let run = &mut self.runs[t];
                    if !run.watching() || run.spec.namespace != namespace {
                        continue;
                    }
                    let at = run.since_delete(now);
                    let mut steps = Vec::new();
                    if !present.contains(run.spec.uid.as_str()) {
                        steps.extend(run.tracker.old_gone_now(at));
                    }
                    if let Some(uid) = run.tracker.current().map(|c| c.uid.clone()) {
                        if !present.contains(uid.as_str()) {
                            steps.extend(run.tracker.replacement_gone(&uid));
                        }
                    }
                    emit_steps(&mut fx, t, at, steps);
                }
            }
            Input::ActionDone { target, result } => self.action_done(target, result, now, &mut fx),
            Input::StrategyRestored { target, result } => {
                let run = &mut self.runs[target];
                let vm = run.spec.vm.clone().unwrap_or_default();
                let to = run.spec.keep_down.clone().unwrap_or_default();
                let at = run.since_delete(now);
                let what = match result {
                    Ok(()) => {
                        run.strategy = Strategy::Restored;
                        TargetEvent::StrategyRestored { vm, to }
                    }
                    Err(reason) => {
                        run.strategy = Strategy::RestoreFailed(reason.clone());
                        TargetEvent::StrategyRestoreFailed { vm, to, reason }
                    }
                };
                run.notes.push(what.clone());
                emit(&mut fx, target, at, what);
            }
            Input::Signal(signal) => self.signal(signal, now, &mut fx),
            Input::Served { target } => self.runs[target].served = true,
            Input::Abort { reason } => {
                if self.aborted.is_none() && self.interrupted.is_none() {
                    self.aborted = Some(reason);
                    self.halt(now, "aborted before the delete", &mut fx);
                }
            }
            Input::Tick => {}
        }
        self.evaluate_all(now, &mut fx);
        fx
    }

    fn begin(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        match (&run.spec.keep_down, &run.spec.vm) {
            (Some(from), Some(vm)) => {
                run.stage = Stage::KeepingDown;
                fx.push(Effect::SetStrategy {
                    target: t,
                    vm: vm.clone(),
                    from: from.clone(),
                    to: "Manual".into(),
                    restore: false,
                });
            }
            _ => self.delete(t, now, fx),
        }
    }

    fn delete(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        let wall = self.wall(now);
        let run = &mut self.runs[t];
        run.stage = Stage::Down;
        run.deleted_at = Some(now);
        run.injected_at = Some(wall);
        if let Ok(ts) = Timestamp::try_from(wall) {
            run.tracker.set_injected_at(ts);
        }
        run.wait_until = Some(now + self.config.duration);
        fx.push(Effect::Delete { target: t });
    }

    fn deleted(&mut self, t: TargetId, result: DeleteResult, now: Instant, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        let at = run.since_delete(now);
        match result {
            DeleteResult::Accepted => {
                let deleted = TargetEvent::Deleted {
                    uid: run.spec.uid.clone(),
                    node: run.spec.node.clone(),
                };
                emit(fx, t, at, deleted);
                let waiting = TargetEvent::Waiting {
                    recovery: run.spec.effective_recovery(),
                    vm: run.spec.vm.clone(),
                    wait: self.config.duration,
                };
                emit(fx, t, at, waiting);
            }
            DeleteResult::Refused(reason) => {
                emit(
                    fx,
                    t,
                    at,
                    TargetEvent::DeleteRefused {
                        reason: reason.clone(),
                    },
                );
                if run.strategy == Strategy::Kept {
                    self.restore_strategy(t, fx);
                }
                self.finish(t, Outcome::NotDeleted(reason), now, fx);
            }
            DeleteResult::Unknown(reason) => {
                run.delete_uncertain = true;
                let what = TargetEvent::DeleteUncertain { reason };
                run.notes.push(what.clone());
                emit(fx, t, at, what);
            }
        }
    }

    fn observe_seen(
        &mut self,
        t: TargetId,
        vmi: &Vmi,
        live: bool,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let run = &self.runs[t];
        if !run.watching() || vmi.namespace != run.spec.namespace {
            return;
        }
        let at = run.since_delete(now);
        let steps = if vmi.uid == run.spec.uid {
            self.runs[t].tracker.old_seen(vmi)
        } else if run.is_replacement(vmi, &self.known, &self.claimed) {
            self.claimed.insert(vmi.uid.clone());
            self.runs[t].tracker.replacement_seen(vmi.clone(), at, live)
        } else {
            return;
        };
        emit_steps(fx, t, at, steps);
    }

    fn action_done(
        &mut self,
        t: TargetId,
        result: ActionResult,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let run = &mut self.runs[t];
        run.in_flight = false;
        let at = run.since_delete(now);
        let recovery = run.spec.effective_recovery();
        match result {
            ActionResult::Started => {
                run.acted = Some(Recovery::Start);
                emit(
                    fx,
                    t,
                    at,
                    TargetEvent::Acted {
                        recovery,
                        uid: None,
                    },
                );
            }
            ActionResult::Created { uid } => {
                run.acted = Some(Recovery::Recreate);
                emit(
                    fx,
                    t,
                    at,
                    TargetEvent::Acted {
                        recovery,
                        uid: Some(uid),
                    },
                );
            }
            ActionResult::AlreadyExists => {
                run.notes.push(TargetEvent::AlreadyRecreated);
                emit(fx, t, at, TargetEvent::AlreadyRecreated);
            }
            ActionResult::Failed(reason) => {
                run.acted = Some(recovery);
                emit(
                    fx,
                    t,
                    at,
                    TargetEvent::ActionFailed {
                        recovery,
                        reason: reason.clone(),
                    },
                );
                if run.strategy == Strategy::Kept {
                    // Putting the old runStrategy back lets KubeVirt bring it back itself.
                    self.restore_strategy(t, fx);
                }
                self.finish(t, Outcome::Failed(reason), now, fx);
                return;
            }
        }
        let run = &mut self.runs[t];
        run.settle_until.get_or_insert(now + self.config.timeout);
        if run.strategy == Strategy::Kept {
            self.restore_strategy(t, fx);
        }
    }

    fn restore_strategy(&mut self, t: TargetId, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        if let (Some(from), Some(vm)) = (&run.spec.keep_down, &run.spec.vm) {
            run.strategy = Strategy::Restoring;
            fx.push(Effect::SetStrategy {
                target: t,
                vm: vm.clone(),
                from: "Manual".into(),
                to: from.clone(),
                restore: true,
            });
        }
    }

    fn signal(&mut self, signal: Signal, now: Instant, fx: &mut Vec<Effect>) {
        if self.interrupted.is_some() {
            // Second signal: stop waiting, report the state as last seen.
            self.stopped = true;
            for t in 0..self.runs.len() {
                if self.runs[t].stage != Stage::Done {
                    let running = self.runs[t].tracker.running();
                    self.finish(t, Outcome::Interrupted { running }, now, fx);
                }
            }
            return;
        }
        self.interrupted = Some(signal);
        self.halt(now, "interrupted before the delete", fx);
    }

    /// Ctrl-C or an abort: delete nothing more, recover what is down at once, wait briefly.
    fn halt(&mut self, now: Instant, queued_why: &str, fx: &mut Vec<Effect>) {
        let wait = now + self.config.interrupt_wait.min(self.config.timeout);
        self.interrupt_until = Some(self.interrupt_until.map_or(wait, |u| u.min(wait)));
        self.next_serial = None;
        for t in 0..self.runs.len() {
            if self.runs[t].stage == Stage::Queued {
                self.finish(t, Outcome::NotDeleted(queued_why.into()), now, fx);
            }
            // A kept-down VM: putting its runStrategy back is the quickest way back (KubeVirt
            // re-creates it), and leaves nothing to undo.
            let run = &self.runs[t];
            if run.strategy == Strategy::Kept && !run.in_flight && run.tracker.current().is_none() {
                self.restore_strategy(t, fx);
            }
        }
    }

    fn evaluate_all(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        for t in 0..self.runs.len() {
            self.evaluate(t, now, fx);
        }
        if let Some(at) = self.next_serial {
            if now >= at {
                self.next_serial = None;
                if let Some(t) = self.runs.iter().position(|r| r.stage == Stage::Queued) {
                    self.begin(t, now, fx);
                    self.evaluate(t, now, fx);
                }
            }
        }
    }

    fn evaluate(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        let config = self.config.clone();
        let interrupted = self.interrupted.is_some() || self.aborted.is_some();
        let halted = |running: bool| match (&self.aborted, self.interrupted) {
            (Some(reason), None) => Outcome::Aborted {
                reason: reason.clone(),
                running,
            },
            _ => Outcome::Interrupted { running },
        };
        let interrupt_over = self.interrupt_until.is_some_and(|u| now >= u);
        let run = &mut self.runs[t];
        if run.stage != Stage::Down {
            return;
        }
        let at = run.since_delete(now);
        if run.tracker.running() && !run.running_said {
            run.running_said = true;
            let node = run.tracker.current().and_then(|c| c.node.clone());
            emit(fx, t, at, TargetEvent::Running { node });
        }
        // Interrupted: exit as soon as it runs again (the exit code says it was interrupted).
        if interrupted && run.tracker.running() {
            let outcome = halted(true);
            return self.finish(t, outcome, now, fx);
        }
        if run.tracker.recovered() && (!run.spec.probed || run.served) {
            return self.finish(t, Outcome::Recovered, now, fx);
        }
        let wait_over = run.wait_until.is_some_and(|w| now >= w);
        if wait_over && !run.wait_noted {
            run.wait_noted = true;
            if run.delete_uncertain && !run.tracker.old_gone() && !run.old_terminating() {
                return self.finish(
                    t,
                    Outcome::NotDeleted(
                        "the DELETE's answer was lost and the VMI was never deleted".into(),
                    ),
                    now,
                    fx,
                );
            }
            if run.tracker.current().is_none() {
                let recovery = run.spec.effective_recovery();
                let note = if matches!(recovery, Recovery::Automatic | Recovery::Follow) {
                    Some(TargetEvent::KubeVirtSlow {
                        waited: config.duration,
                    })
                } else if !run.tracker.old_gone() {
                    Some(TargetEvent::StillTerminating {
                        waited: config.duration,
                        finalizers: run.spec.finalizers.clone(),
                    })
                } else {
                    None
                };
                if let Some(note) = note {
                    run.notes.push(note.clone());
                    emit(fx, t, at, note);
                    run.settle_until.get_or_insert(now + config.timeout);
                }
            }
        }
        let may_act = (wait_over || interrupted)
            && !run.in_flight
            && run.acted.is_none()
            && run.tracker.old_gone()
            && run.tracker.current().is_none()
            && matches!(
                run.spec.effective_recovery(),
                Recovery::Start | Recovery::Recreate
            )
            && !matches!(run.strategy, Strategy::Restoring | Strategy::Restored)
            && !run.notes.contains(&TargetEvent::AlreadyRecreated);
        if may_act {
            let recovery = run.spec.effective_recovery();
            run.in_flight = true;
            emit(fx, t, at, TargetEvent::Acting { recovery });
            fx.push(match recovery {
                Recovery::Start => Effect::Start { target: t },
                _ => Effect::Recreate { target: t },
            });
        }
        if run.tracker.current().is_some() && run.settle_until.is_none() {
            run.settle_until = Some(now + config.timeout);
        }
        if interrupted && interrupt_over {
            let outcome = halted(run.tracker.running());
            return self.finish(t, outcome, now, fx);
        }
        if run.settle_until.is_some_and(|s| now >= s) && !run.in_flight {
            let why = match run.tracker.current() {
                Some(c) if c.is_running() && c.ready => NotRecovered::NotServed,
                Some(c) if c.is_running() => NotRecovered::NotReady,
                Some(c) => NotRecovered::NotRunning {
                    phase: c.phase.clone(),
                },
                None if !run.tracker.old_gone() => NotRecovered::StillTerminating,
                None => NotRecovered::NoReplacement,
            };
            self.finish(t, Outcome::NotRecovered(why), now, fx);
        }
    }

    fn finish(&mut self, t: TargetId, outcome: Outcome, now: Instant, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        if run.stage == Stage::Done {
            return;
        }
        run.stage = Stage::Done;
        let at = run.since_delete(now);
        let ready_after = (outcome == Outcome::Recovered)
            .then(|| run.tracker.timings.ready_ms.map(Duration::from_millis))
            .flatten();
        run.outcome = Some(outcome.clone());
        emit(
            fx,
            t,
            at,
            TargetEvent::Done {
                outcome,
                ready_after,
            },
        );
        if let Some(interval) = self.config.serial_interval {
            if self.interrupted.is_none() && self.runs.iter().any(|r| r.stage == Stage::Queued) {
                self.next_serial = Some(now + interval);
            }
        }
    }
}

impl Run {
    /// Observations count once the DELETE went out, until the outcome is known.
    fn watching(&self) -> bool {
        self.stage == Stage::Down
    }

    fn old_terminating(&self) -> bool {
        self.tracker.old_terminating_seen()
    }
}

fn emit(fx: &mut Vec<Effect>, target: TargetId, at: Duration, what: TargetEvent) {
    fx.push(Effect::Emit(Event::Target { target, at, what }));
}

fn emit_steps(fx: &mut Vec<Effect>, target: TargetId, at: Duration, steps: Vec<Step>) {
    for step in steps {
        emit(fx, target, at, TargetEvent::Step(step));
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
