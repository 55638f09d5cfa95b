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
    events::{Event, NotDeleted, NotRecovered, Outcome, TargetEvent},
    kubevirt::{Recovery, Timestamp, Vmi},
    probe::AbortReason,
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
    /// `--fault crash`: its virt-launcher pod, deleted with no grace period instead of the VMI.
    pub launcher: Option<String>,
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

pub use crate::signals::Signal;

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
        reason: AbortReason,
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

/// Where one target's outage is. Every input is matched against the state it arrives in, so
/// "an abort while the runStrategy switch is in flight" is a match arm, not a forgotten flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Chosen; nothing done to it yet (a serial run's later targets wait here).
    Planned,
    /// `--keep-down`: the switch to Manual is in flight; nothing is deleted yet.
    Switching,
    /// The DELETE went out and its answer has not come: the watch already counts.
    Deleting,
    /// Deleted: KubeVirt has until `--duration` to bring it back, then the tool acts.
    /// `uncertain`: the DELETE's answer was lost, the watch must show it happened.
    Down { uncertain: bool },
    /// `--duration` passed and nothing is back: KubeVirt (or the old VMI's finalizers) get
    /// until `until`; a tool plan acts as soon as the old VMI is gone.
    Overdue { until: Instant },
    /// The tool's own start or re-create is in flight (`until`: the deadline already set).
    Recovering {
        recovery: Recovery,
        until: Option<Instant>,
    },
    /// A replacement exists, or the tool brought it back: Running and Ready by `until`.
    Booting { until: Instant },
    /// The outcome is known.
    Settled(Outcome),
}

impl State {
    /// Observations count once the DELETE went out, until the outcome is known.
    fn watching(&self) -> bool {
        matches!(
            self,
            State::Deleting
                | State::Down { .. }
                | State::Overdue { .. }
                | State::Recovering { .. }
                | State::Booting { .. }
        )
    }
}

/// What the tool itself did to bring a target back. It acts at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Never acted.
    None,
    /// The request is out.
    Sent(Recovery),
    /// Accepted: the tool started the VM or re-created the VMI.
    Done(Recovery),
    /// A 409 on the re-create: someone else re-created it first.
    Preempted,
    Failed(Recovery),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Untouched,
    /// The switch to Manual is out; its answer has not come.
    Switching,
    /// Switched to Manual, not yet put back.
    Kept,
    Restoring,
    Restored,
    RestoreFailed(String),
}

/// What brings a target back once the run is over, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comeback {
    /// Nothing to do: it was never deleted, or it is back.
    Nothing,
    /// A replacement exists (not Running and Ready): `restore` would refuse it; look at it.
    ReplacementExists { name: String },
    /// Its replica set replaces it; nothing may re-create it by hand.
    ReplicaSet,
    /// `kubectl vmchaos restore <snapshot>` brings it back (or puts its runStrategy back).
    Restore,
}

/// One target's outage.
#[derive(Debug, Clone)]
pub struct Run {
    pub spec: TargetSpec,
    pub state: State,
    pub tracker: Tracker,
    /// When the DELETE went out (None: never).
    pub deleted_at: Option<Instant>,
    /// Wall-clock time of the DELETE.
    pub injected_at: Option<SystemTime>,
    /// The API server's answer to the DELETE, once it came.
    pub delete_answer: Option<DeleteResult>,
    pub action: Action,
    pub strategy: Strategy,
    /// The `Running` event was emitted for the current replacement.
    said_running: bool,
    /// Its probes passed again after Ready.
    pub served: bool,
    /// Events worth keeping in the summary's notes.
    pub notes: Vec<TargetEvent>,
}

impl Run {
    fn new(spec: TargetSpec) -> Self {
        Run {
            tracker: Tracker::new(spec.name.clone(), spec.uid.clone()),
            spec,
            state: State::Planned,
            deleted_at: None,
            injected_at: None,
            delete_answer: None,
            action: Action::None,
            strategy: Strategy::Untouched,
            said_running: false,
            served: false,
            notes: Vec::new(),
        }
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.state {
            State::Settled(o) => Some(o),
            _ => None,
        }
    }

    /// What the tool itself brought it back with, if it did.
    pub fn acted(&self) -> Option<Recovery> {
        match self.action {
            Action::Done(r) | Action::Failed(r) => Some(r),
            _ => None,
        }
    }

    /// What would bring it back now: only what would work is suggested.
    pub fn comeback(&self) -> Comeback {
        // A switch or a put-back whose answer never came may have left it at Manual too.
        let strategy_left = matches!(
            self.strategy,
            Strategy::Switching | Strategy::Kept | Strategy::Restoring | Strategy::RestoreFailed(_)
        );
        let deleted =
            self.deleted_at.is_some() && !matches!(self.outcome(), Some(Outcome::NotDeleted(_)));
        if !deleted {
            // Never deleted; a runStrategy left at Manual is put back by `restore`.
            return if strategy_left {
                Comeback::Restore
            } else {
                Comeback::Nothing
            };
        }
        if self.outcome() == Some(&Outcome::Recovered) && !strategy_left {
            return Comeback::Nothing;
        }
        if self.spec.replica_set_uid.is_some() {
            return Comeback::ReplicaSet;
        }
        match self.tracker.current() {
            _ if strategy_left => Comeback::Restore,
            Some(c) if c.is_running() && c.ready => Comeback::Nothing,
            Some(c) => Comeback::ReplacementExists {
                name: c.name.clone(),
            },
            None => Comeback::Restore,
        }
    }

    fn since_delete(&self, now: Instant) -> Duration {
        self.deleted_at.map_or(Duration::ZERO, |d| now - d)
    }

    /// The tool brings it back itself (start or re-create), unless its runStrategy is being put
    /// back: KubeVirt re-creates it then.
    fn tool_recovers(&self) -> Option<Recovery> {
        match self.spec.effective_recovery() {
            r @ (Recovery::Start | Recovery::Recreate)
                if !matches!(self.strategy, Strategy::Restoring | Strategy::Restored) =>
            {
                Some(r)
            }
            _ => None,
        }
    }

    /// The old VMI is down: gone, or (a crash) Failed, which KubeVirt leaves in place for a
    /// Manual VM and nothing removes for a standalone one.
    fn old_down(&self) -> bool {
        self.tracker.old_gone() || (self.spec.launcher.is_some() && self.tracker.old_failed())
    }

    /// The tool may act now: never before, the old VMI down, nothing replacing it.
    fn may_act(&self) -> Option<Recovery> {
        if self.action != Action::None || !self.old_down() || self.tracker.current().is_some() {
            return None;
        }
        self.tool_recovers()
    }

    /// Was this VMI (not the old one) created to replace the target?
    fn is_replacement(
        &self,
        vmi: &Vmi,
        claimed: &HashSet<String>,
        known: &HashSet<String>,
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
            // One replacement per deleted VMI: a new VMI of the same replica set that no target
            // took, and only while this target has none.
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

/// The run as a whole: going as planned, halting (an abort or the first signal), or stopped
/// (a second signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Going,
    /// Nothing more is deleted or switched; what is down is recovered at once; the run ends at
    /// `until` at the latest.
    Halting {
        until: Instant,
    },
    /// No more waiting: only the answers of requests already sent are recorded (and a
    /// runStrategy they left at Manual is put back).
    Stopped,
}

pub struct Core {
    config: CoreConfig,
    runs: Vec<Run>,
    /// VMIs that existed before the first DELETE (a replica set's replacement is not one).
    known: HashSet<String>,
    /// Replacements already followed by a target.
    claimed: HashSet<String>,
    mode: Mode,
    signal: Option<Signal>,
    /// An abort condition fired, and why.
    abort: Option<AbortReason>,
    /// `--serial`: when the next target goes.
    next_serial: Option<Instant>,
    /// Replacements a target gave back (its DELETE never happened): another's to claim.
    released: Vec<Vmi>,
    origin: (Instant, SystemTime),
}

/// `now + d`, saturating far in the future rather than panicking.
fn later(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(d.min(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
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
            mode: Mode::Going,
            signal: None,
            abort: None,
            next_serial: None,
            released: Vec::new(),
            origin,
        }
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn interrupted(&self) -> Option<Signal> {
        self.signal
    }

    pub fn aborted(&self) -> Option<&AbortReason> {
        self.abort.as_ref()
    }

    /// An abort or a signal came: nothing more may be deleted or switched.
    pub fn halted(&self) -> bool {
        self.mode != Mode::Going
    }

    /// Every target has an outcome (and no runStrategy is left to put back), or a second
    /// signal stopped the wait.
    pub fn done(&self) -> bool {
        self.mode == Mode::Stopped
            || self
                .runs
                .iter()
                .all(|r| matches!(r.state, State::Settled(_)) && r.strategy != Strategy::Restoring)
    }

    fn wall(&self, now: Instant) -> SystemTime {
        self.origin.1 + (now - self.origin.0)
    }

    fn act_at(&self, run: &Run) -> Option<Instant> {
        run.deleted_at.map(|d| later(d, self.config.duration))
    }

    /// When the next `Tick` is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut deadlines: Vec<Instant> = Vec::new();
        for r in &self.runs {
            match r.state {
                State::Down { .. } => deadlines.extend(self.act_at(r)),
                State::Overdue { until } => deadlines.push(until),
                State::Booting { until } => {
                    deadlines.push(until);
                    if r.may_act().is_some() {
                        deadlines.extend(self.act_at(r));
                    }
                }
                _ => {}
            }
        }
        if let Mode::Halting { until } = self.mode {
            deadlines.push(until);
        }
        deadlines.extend(self.next_serial);
        deadlines.into_iter().min()
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::Begin => {
                if self.mode == Mode::Going && self.runs.iter().all(|r| r.state == State::Planned) {
                    let count = if self.config.serial_interval.is_some() {
                        for t in 1..self.runs.len() {
                            emit(
                                &mut fx,
                                t,
                                Duration::ZERO,
                                TargetEvent::Queued { after: None },
                            );
                        }
                        1
                    } else {
                        self.runs.len()
                    };
                    for t in 0..count {
                        self.begin(t, now, &mut fx);
                    }
                }
            }
            Input::KeptDown { target, result } => self.kept_down(target, result, now, &mut fx),
            Input::Deleted { target, result } => self.deleted(target, result, now, &mut fx),
            Input::Seen { vmi, live } => {
                for t in 0..self.runs.len() {
                    self.observe_seen(t, &vmi, live, now, &mut fx);
                }
            }
            Input::Gone { namespace, uid } => {
                for t in 0..self.runs.len() {
                    let run = &mut self.runs[t];
                    if !run.state.watching() || run.spec.namespace != namespace {
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
                    if !run.state.watching() || run.spec.namespace != namespace {
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
                let Some(run) = self.runs.get_mut(target) else {
                    return fx;
                };
                if run.strategy != Strategy::Restoring {
                    return fx;
                }
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
            Input::Served { target } => {
                if let Some(run) = self.runs.get_mut(target) {
                    run.served = true;
                }
            }
            Input::Abort { reason } => {
                if self.mode == Mode::Going {
                    self.abort = Some(reason);
                    self.halt(now, NotDeleted::AbortedFirst, &mut fx);
                }
            }
            Input::Tick => {}
        }
        self.evaluate_all(now, &mut fx);
        // A replacement a target gave back (its DELETE never happened) is another's to claim.
        for _ in 0..self.runs.len() {
            let released = std::mem::take(&mut self.released);
            if released.is_empty() {
                break;
            }
            for vmi in released {
                for t in 0..self.runs.len() {
                    self.observe_seen(t, &vmi, false, now, &mut fx);
                }
            }
            self.evaluate_all(now, &mut fx);
        }
        fx
    }

    fn begin(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        debug_assert_eq!(run.state, State::Planned);
        match (&run.spec.keep_down, &run.spec.vm) {
            (Some(from), Some(vm)) => {
                run.state = State::Switching;
                run.strategy = Strategy::Switching;
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
        run.state = State::Deleting;
        run.deleted_at = Some(now);
        run.injected_at = Some(wall);
        if let Ok(ts) = Timestamp::try_from(wall) {
            run.tracker.set_injected_at(ts);
        }
        fx.push(Effect::Delete { target: t });
    }

    fn kept_down(
        &mut self,
        t: TargetId,
        result: Result<(), String>,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Some(run) = self.runs.get_mut(t) else {
            return;
        };
        // Only the answer to a switch that is out counts; it may come after the run stopped
        // waiting for it.
        if run.strategy != Strategy::Switching {
            return;
        }
        let switching = run.state == State::Switching;
        match result {
            Ok(()) => {
                run.strategy = Strategy::Kept;
                let what = TargetEvent::KeptDown {
                    vm: run.spec.vm.clone().unwrap_or_default(),
                    from: run.spec.keep_down.clone().unwrap_or_default(),
                };
                emit(fx, t, Duration::ZERO, what);
                match self.mode {
                    Mode::Going if switching => self.delete(t, now, fx),
                    // An abort or a signal came while the switch was in flight (or after the
                    // run stopped waiting for it): put it back, delete nothing.
                    _ => {
                        self.restore_strategy(t, fx);
                        if switching {
                            let why = self.halted_before_delete();
                            self.settle(t, Outcome::NotDeleted(why), now, fx);
                        }
                    }
                }
            }
            Err(reason) => {
                run.strategy = Strategy::Untouched;
                if switching {
                    self.settle(
                        t,
                        Outcome::NotDeleted(NotDeleted::SwitchFailed(reason)),
                        now,
                        fx,
                    );
                }
            }
        }
    }

    fn halted_before_delete(&self) -> NotDeleted {
        match (&self.abort, self.signal) {
            (Some(_), None) => NotDeleted::AbortedFirst,
            _ => NotDeleted::InterruptedFirst,
        }
    }

    fn deleted(&mut self, t: TargetId, result: DeleteResult, now: Instant, fx: &mut Vec<Effect>) {
        let Some(run) = self.runs.get_mut(t) else {
            return;
        };
        if run.deleted_at.is_none() {
            return;
        }
        let at = run.since_delete(now);
        let pending = run.state == State::Deleting;
        // The run stopped waiting before the answer came: record what it says.
        let stopped_early = matches!(run.state, State::Settled(Outcome::Interrupted { .. }));
        // One answer per DELETE: a repeated one changes nothing.
        if run.delete_answer.is_some() {
            return;
        }
        if !pending && !stopped_early && result != DeleteResult::Accepted {
            return;
        }
        run.delete_answer = Some(result.clone());
        match result {
            DeleteResult::Accepted => {
                let deleted = TargetEvent::Deleted {
                    uid: run.spec.uid.clone(),
                    node: run.spec.node.clone(),
                    launcher: run.spec.launcher.clone(),
                };
                emit(fx, t, at, deleted);
                if pending {
                    let waiting = TargetEvent::Waiting {
                        recovery: run.spec.effective_recovery(),
                        vm: run.spec.vm.clone(),
                        wait: self.config.duration,
                    };
                    emit(fx, t, at, waiting);
                    run.state = State::Down { uncertain: false };
                }
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
                if stopped_early {
                    // Nothing was deleted after all.
                    self.runs[t].state =
                        State::Settled(Outcome::NotDeleted(NotDeleted::Refused(reason)));
                    self.release_claim(t);
                } else {
                    self.settle(t, Outcome::NotDeleted(NotDeleted::Refused(reason)), now, fx);
                }
            }
            DeleteResult::Unknown(reason) => {
                let what = TargetEvent::DeleteUncertain { reason };
                run.notes.push(what.clone());
                emit(fx, t, at, what);
                if pending {
                    run.state = State::Down { uncertain: true };
                }
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
        if !run.state.watching() || vmi.namespace != run.spec.namespace {
            return;
        }
        let at = run.since_delete(now);
        let steps = if vmi.uid == run.spec.uid {
            self.runs[t].tracker.old_seen(vmi, at)
        } else if run.is_replacement(vmi, &self.claimed, &self.known) {
            self.claimed.insert(vmi.uid.clone());
            let run = &mut self.runs[t];
            if run.tracker.current().is_none_or(|c| c.uid != vmi.uid) {
                run.said_running = false;
            }
            run.tracker.replacement_seen(vmi.clone(), at, live)
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
        let Some(run) = self.runs.get_mut(t) else {
            return;
        };
        let Action::Sent(recovery) = run.action else {
            return;
        };
        let at = run.since_delete(now);
        let until = match run.state {
            State::Recovering { until, .. } => {
                Some(until.unwrap_or(later(now, self.config.timeout)))
            }
            // The run stopped waiting before the answer came: record what it says.
            _ => None,
        };
        match result {
            ActionResult::Started | ActionResult::Created { .. } => {
                let uid = match result {
                    ActionResult::Created { uid } => Some(uid),
                    _ => None,
                };
                run.action = Action::Done(recovery);
                emit(fx, t, at, TargetEvent::Acted { recovery, uid });
            }
            ActionResult::AlreadyExists => {
                run.action = Action::Preempted;
                run.notes.push(TargetEvent::AlreadyRecreated);
                emit(fx, t, at, TargetEvent::AlreadyRecreated);
            }
            ActionResult::Failed(reason) => {
                run.action = Action::Failed(recovery);
                emit(
                    fx,
                    t,
                    at,
                    TargetEvent::ActionFailed {
                        recovery,
                        reason: reason.clone(),
                    },
                );
                // Putting the old runStrategy back lets KubeVirt bring it back itself.
                if run.strategy == Strategy::Kept {
                    self.restore_strategy(t, fx);
                }
                if until.is_some() {
                    self.settle(t, Outcome::Failed(reason), now, fx);
                }
                return;
            }
        }
        if let Some(until) = until {
            self.runs[t].state = State::Booting { until };
        }
        if self.runs[t].strategy == Strategy::Kept {
            self.restore_strategy(t, fx);
        }
    }

    fn restore_strategy(&mut self, t: TargetId, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        if run.strategy != Strategy::Kept {
            return;
        }
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
        if self.signal.is_some() {
            if self.mode != Mode::Stopped {
                self.stop(now, fx);
            }
            return;
        }
        self.signal = Some(signal);
        self.halt(now, NotDeleted::InterruptedFirst, fx);
    }

    /// A second signal: stop waiting, report the state as last seen.
    fn stop(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        self.mode = Mode::Stopped;
        self.next_serial = None;
        for t in 0..self.runs.len() {
            let outcome = match &self.runs[t].state {
                State::Settled(_) => continue,
                State::Planned | State::Switching => {
                    Outcome::NotDeleted(NotDeleted::InterruptedFirst)
                }
                _ => Outcome::Interrupted {
                    running: self.runs[t].tracker.running(),
                },
            };
            self.settle(t, outcome, now, fx);
        }
    }

    /// Ctrl-C or an abort: delete nothing more, recover what is down at once, wait briefly.
    fn halt(&mut self, now: Instant, planned_why: NotDeleted, fx: &mut Vec<Effect>) {
        let wait = later(now, self.config.interrupt_wait.min(self.config.timeout));
        let until = match self.mode {
            Mode::Halting { until } => until.min(wait),
            _ => wait,
        };
        self.mode = Mode::Halting { until };
        self.next_serial = None;
        for t in 0..self.runs.len() {
            if self.runs[t].state == State::Planned {
                self.settle(t, Outcome::NotDeleted(planned_why.clone()), now, fx);
            }
            // A kept-down VM: putting its runStrategy back is the quickest way back (KubeVirt
            // re-creates it), and leaves nothing to undo.
            let run = &self.runs[t];
            let deleted = run.deleted_at.is_some();
            let acting = matches!(run.action, Action::Sent(_));
            if deleted && !acting && run.tracker.current().is_none() {
                self.restore_strategy(t, fx);
            }
        }
    }

    fn evaluate_all(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        for t in 0..self.runs.len() {
            self.evaluate(t, now, fx);
        }
        if let Some(at) = self.next_serial {
            if now >= at && self.mode == Mode::Going {
                self.next_serial = None;
                if let Some(t) = self.runs.iter().position(|r| r.state == State::Planned) {
                    self.begin(t, now, fx);
                    self.evaluate(t, now, fx);
                }
            }
        }
    }

    /// The transitions that time and observations make; repeated until the state holds.
    fn evaluate(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        for _ in 0..8 {
            let before = self.runs[t].state.clone();
            self.evaluate_once(t, now, fx);
            if self.runs[t].state == before {
                return;
            }
        }
    }

    fn halted_outcome(&self, running: bool) -> Outcome {
        match (&self.abort, self.signal) {
            (Some(reason), None) => Outcome::Aborted {
                reason: reason.clone(),
                running,
            },
            _ => Outcome::Interrupted { running },
        }
    }

    fn evaluate_once(&mut self, t: TargetId, now: Instant, fx: &mut Vec<Effect>) {
        let config = self.config.clone();
        let halting = match self.mode {
            Mode::Going => None,
            Mode::Halting { until } => Some(until),
            // Nothing is waited for any more: every target was settled by the stop.
            Mode::Stopped => return,
        };
        let act_at = self.act_at(&self.runs[t]);
        let run = &mut self.runs[t];
        if !run.state.watching() {
            return;
        }
        let at = run.since_delete(now);
        if run.tracker.running() && !run.said_running {
            run.said_running = true;
            let node = run.tracker.current().and_then(|c| c.node.clone());
            emit(fx, t, at, TargetEvent::Running { node });
        }
        // Halting: exit as soon as it runs again (the exit code says why it stopped).
        if halting.is_some() && run.tracker.running() {
            let outcome = self.halted_outcome(true);
            return self.settle(t, outcome, now, fx);
        }
        if run.tracker.recovered() && (!run.spec.probed || run.served) {
            return self.settle(t, Outcome::Recovered, now, fx);
        }
        if let Some(until) = halting {
            if now >= until {
                let running = run.tracker.running();
                let outcome = self.halted_outcome(running);
                return self.settle(t, outcome, now, fx);
            }
        }
        let wait_over = act_at.is_some_and(|a| now >= a) || halting.is_some();
        let replaced = run.tracker.current().is_some();
        match run.state.clone() {
            State::Planned | State::Switching | State::Settled(_) => {}
            // Its answer decides; a replacement seen meanwhile is followed once it comes.
            State::Deleting => {}
            State::Down { uncertain } => {
                if replaced {
                    run.state = State::Booting {
                        until: later(now, config.timeout),
                    };
                } else if let (Some(recovery), true) = (run.may_act(), wait_over) {
                    self.act(t, recovery, None, at, fx);
                } else if act_at.is_some_and(|a| now >= a) {
                    if uncertain && !run.tracker.old_gone() && !run.tracker.old_terminating_seen() {
                        return self.settle(
                            t,
                            Outcome::NotDeleted(NotDeleted::AnswerLost),
                            now,
                            fx,
                        );
                    }
                    let note = if run.tool_recovers().is_none() {
                        TargetEvent::KubeVirtSlow {
                            waited: config.duration,
                            old_terminating: !run.tracker.old_gone(),
                        }
                    } else {
                        TargetEvent::StillTerminating {
                            waited: config.duration,
                            finalizers: run.spec.finalizers.clone(),
                        }
                    };
                    run.notes.push(note.clone());
                    emit(fx, t, at, note);
                    run.state = State::Overdue {
                        until: later(now, config.timeout),
                    };
                }
            }
            State::Overdue { until } => {
                if replaced {
                    run.state = State::Booting { until };
                } else if let Some(recovery) = run.may_act() {
                    self.act(t, recovery, Some(until), at, fx);
                } else if now >= until {
                    let why = self.not_recovered_why(t);
                    self.settle(t, Outcome::NotRecovered(why), now, fx);
                }
            }
            // Its answer decides.
            State::Recovering { .. } => {}
            State::Booting { until } => {
                if let (Some(recovery), true) = (run.may_act(), wait_over) {
                    // The replacement went again before the tool ever acted.
                    self.act(t, recovery, Some(until), at, fx);
                } else if now >= until {
                    let why = self.not_recovered_why(t);
                    self.settle(t, Outcome::NotRecovered(why), now, fx);
                }
            }
        }
    }

    fn not_recovered_why(&self, t: TargetId) -> NotRecovered {
        let run = &self.runs[t];
        match run.tracker.current() {
            Some(c) if c.is_running() && c.ready => NotRecovered::NotServed,
            Some(c) if c.is_running() => NotRecovered::NotReady,
            Some(c) => NotRecovered::NotRunning {
                phase: c.phase.clone(),
            },
            None if !run.tracker.old_gone() => NotRecovered::StillTerminating,
            None => NotRecovered::NoReplacement,
        }
    }

    fn act(
        &mut self,
        t: TargetId,
        recovery: Recovery,
        until: Option<Instant>,
        at: Duration,
        fx: &mut Vec<Effect>,
    ) {
        let run = &mut self.runs[t];
        debug_assert_eq!(run.action, Action::None);
        run.action = Action::Sent(recovery);
        run.state = State::Recovering { recovery, until };
        emit(fx, t, at, TargetEvent::Acting { recovery });
        fx.push(match recovery {
            Recovery::Start => Effect::Start { target: t },
            _ => Effect::Recreate { target: t },
        });
    }

    /// A replica-set replacement followed by a target whose DELETE never happened goes back
    /// to the others.
    fn release_claim(&mut self, t: TargetId) {
        let run = &mut self.runs[t];
        if run.spec.replica_set_uid.is_some() {
            if let Some(vmi) = run.tracker.current().cloned() {
                // It never replaced this target: nothing of it stays in its record.
                run.tracker = Tracker::new(run.spec.name.clone(), run.spec.uid.clone());
                self.claimed.remove(&vmi.uid);
                self.released.push(vmi);
            }
        }
    }

    fn settle(&mut self, t: TargetId, outcome: Outcome, now: Instant, fx: &mut Vec<Effect>) {
        let run = &mut self.runs[t];
        if matches!(run.state, State::Settled(_)) {
            return;
        }
        let at = run.since_delete(now);
        let ready_after = (outcome == Outcome::Recovered)
            .then(|| run.tracker.timings.ready_ms.map(Duration::from_millis))
            .flatten();
        let not_deleted = matches!(outcome, Outcome::NotDeleted(_));
        run.state = State::Settled(outcome.clone());
        if not_deleted {
            self.release_claim(t);
        }
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
            let next = self.runs.iter().position(|r| r.state == State::Planned);
            if let (Mode::Going, Some(next)) = (self.mode, next) {
                self.next_serial = Some(later(now, interval));
                if !interval.is_zero() {
                    let after = Some(interval);
                    emit(fx, next, Duration::ZERO, TargetEvent::Queued { after });
                }
            }
        }
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

#[cfg(test)]
#[path = "core_props.rs"]
mod props;
