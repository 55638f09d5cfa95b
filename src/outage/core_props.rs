//! The invariants that keep VMs safe, written once and checked over random input sequences:
//!
//! - after an abort or a signal, nothing destructive: no DELETE, no switch to Manual, and a
//!   start or re-create only as the recovery of a target whose DELETE already went out (a
//!   runStrategy may only be put back, and only where the tool switched it);
//! - a target is never acted on twice: one DELETE, one switch, one put-back, one start or
//!   re-create at most;
//! - every deleted target ends recovered, or reported with what brings it back: the restore
//!   command whenever it is still down or its VM was left at Manual;
//! - each replica-set target claims one replacement, never one another target claimed.
//!
//! Two generators: arbitrary inputs in any order (answers to requests never made, watch events
//! out of nowhere) for the safety rules, and a small random KubeVirt that answers every request
//! (with random results and delays) for the liveness rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::{
    any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest, Just, ProptestConfig,
    Strategy as _, TestCaseError,
};

use super::*;
use crate::kubevirt::Owner;

const NS: &str = "prod";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Automatic,
    Start,
    Recreate,
    Follow,
    KeepDown,
}

fn plan_of(n: u8) -> Plan {
    match n % 5 {
        0 => Plan::Automatic,
        1 => Plan::Start,
        2 => Plan::Recreate,
        3 => Plan::Follow,
        _ => Plan::KeepDown,
    }
}

fn name_of(t: usize, plan: Plan) -> String {
    match plan {
        Plan::Follow => format!("web-old{t}"),
        _ => format!("vm-{t}"),
    }
}

fn spec(t: usize, plan: Plan) -> TargetSpec {
    TargetSpec {
        namespace: NS.into(),
        name: name_of(t, plan),
        uid: format!("old-{t}"),
        node: Some("node-a".into()),
        recovery: match plan {
            Plan::Automatic | Plan::KeepDown => Recovery::Automatic,
            Plan::Start => Recovery::Start,
            Plan::Recreate => Recovery::Recreate,
            Plan::Follow => Recovery::Follow,
        },
        vm: matches!(plan, Plan::Automatic | Plan::Start | Plan::KeepDown)
            .then(|| name_of(t, plan)),
        replica_set_uid: (plan == Plan::Follow).then(|| "rs".to_string()),
        keep_down: (plan == Plan::KeepDown).then(|| "Always".to_string()),
        finalizers: vec![],
        launcher: None,
        probed: false,
    }
}

fn config(serial: bool) -> CoreConfig {
    CoreConfig {
        duration: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        interrupt_wait: Duration::from_secs(30),
        serial_interval: serial.then_some(Duration::from_secs(1)),
    }
}

fn vmi(name: &str, uid: &str, phase: &str, ready: bool, rs: bool) -> Vmi {
    Vmi {
        namespace: NS.into(),
        name: name.into(),
        uid: uid.into(),
        phase: phase.into(),
        ready,
        owner: rs.then(|| Owner {
            kind: "VirtualMachineInstanceReplicaSet".into(),
            name: "web".into(),
            uid: "rs".into(),
        }),
        ..Vmi::default()
    }
}

/// What the core asked for, per target, and the safety rules checked as it goes.
#[derive(Default)]
struct Ledger {
    deletes: HashMap<TargetId, usize>,
    switches: HashMap<TargetId, usize>,
    put_backs: HashMap<TargetId, usize>,
    actions: HashMap<TargetId, usize>,
}

impl Ledger {
    /// `halted`: an abort or a signal was handled before (or by) the input that caused these.
    fn check(&mut self, core: &Core, halted_before: bool, fx: &[Effect]) -> Result<(), String> {
        for e in fx {
            match e {
                Effect::Delete { target } => {
                    if halted_before || core.halted() {
                        return Err(format!("DELETE of target {target} after a halt"));
                    }
                    *self.deletes.entry(*target).or_default() += 1;
                }
                Effect::SetStrategy {
                    target,
                    restore: false,
                    to,
                    ..
                } => {
                    if halted_before || core.halted() {
                        return Err(format!("switch of target {target} to {to} after a halt"));
                    }
                    *self.switches.entry(*target).or_default() += 1;
                }
                Effect::SetStrategy {
                    target,
                    restore: true,
                    ..
                } => {
                    if self.switches.get(target).copied().unwrap_or(0) == 0 {
                        return Err(format!(
                            "put back target {target}'s runStrategy, never switched"
                        ));
                    }
                    *self.put_backs.entry(*target).or_default() += 1;
                }
                Effect::Start { target } | Effect::Recreate { target } => {
                    if self.deletes.get(target).copied().unwrap_or(0) == 0 {
                        return Err(format!("{e:?}: target {target} was never deleted"));
                    }
                    *self.actions.entry(*target).or_default() += 1;
                }
                Effect::Emit(_) => {}
            }
        }
        for (what, counts) in [
            ("deleted", &self.deletes),
            ("switched", &self.switches),
            ("put back", &self.put_backs),
            ("started or re-created", &self.actions),
        ] {
            if let Some((t, n)) = counts.iter().find(|(_, n)| **n > 1) {
                return Err(format!("target {t} {what} {n} times"));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Arbitrary inputs, in any order.

fn arbitrary_input(kind: u8, t: usize, a: u8, b: u8, plans: &[Plan]) -> Input {
    let plan = plans[t];
    let name = name_of(t, plan);
    let rs = plan == Plan::Follow;
    match kind % 16 {
        0 => Input::Begin,
        1 => Input::KeptDown {
            target: t,
            result: if a % 4 == 0 {
                Err("409".into())
            } else {
                Ok(())
            },
        },
        2 => Input::Deleted {
            target: t,
            result: match a % 4 {
                0 => DeleteResult::Refused("forbidden".into()),
                1 => DeleteResult::Unknown("timeout".into()),
                _ => DeleteResult::Accepted,
            },
        },
        3 => {
            let mut v = vmi(&name, &format!("old-{t}"), "Running", true, rs);
            // A crash's Failed, or a delete's terminating.
            if b % 3 == 0 {
                v.phase = "Failed".into();
                v.ready = false;
            } else {
                v.terminating = true;
            }
            Input::Seen {
                vmi: Box::new(v),
                live: true,
            }
        }
        4 => Input::Gone {
            namespace: NS.into(),
            uid: format!("old-{t}"),
        },
        5 | 6 => {
            // A replacement: same name, or a replica set's new one (several targets may see it).
            let phase = ["Pending", "Scheduling", "Running", "Running"][(a % 4) as usize];
            let ready = phase == "Running" && b % 2 == 0;
            let name = if rs {
                format!("web-new{}", b % 3)
            } else {
                name
            };
            let uid = if rs {
                format!("rs-new-{}", b % 3)
            } else {
                format!("new-{t}-{}", b % 2)
            };
            Input::Seen {
                vmi: Box::new(vmi(&name, &uid, phase, ready, rs)),
                live: a % 3 != 0,
            }
        }
        7 => Input::Gone {
            namespace: NS.into(),
            uid: if rs {
                format!("rs-new-{}", b % 3)
            } else {
                format!("new-{t}-{}", b % 2)
            },
        },
        8 => Input::ActionDone {
            target: t,
            result: match a % 4 {
                0 => ActionResult::Failed("500".into()),
                1 => ActionResult::AlreadyExists,
                2 => ActionResult::Created {
                    uid: format!("new-{t}-0"),
                },
                _ => ActionResult::Started,
            },
        },
        9 => Input::StrategyRestored {
            target: t,
            result: if a % 3 == 0 {
                Err("422".into())
            } else {
                Ok(())
            },
        },
        10 => Input::Signal(if a % 2 == 0 {
            Signal::Interrupt
        } else {
            Signal::Terminate
        }),
        11 => Input::Abort {
            reason: AbortReason::Unready {
                max: 0,
                vmis: vec!["prod/db-1".into()],
            },
        },
        12 => Input::Served { target: t },
        13 => Input::Relisted {
            namespace: NS.into(),
            vmis: if a % 2 == 0 {
                vec![]
            } else {
                vec![vmi(&name, &format!("new-{t}-0"), "Running", b % 2 == 0, rs)]
            },
        },
        _ => Input::Tick,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever comes in, in whatever order: nothing destructive after a halt, nothing twice,
    /// no panic.
    #[test]
    fn arbitrary_inputs_never_break_the_safety_rules(
        plans in prop::collection::vec(0u8..5, 1..4),
        serial in any::<bool>(),
        crash in any::<bool>(),
        steps in prop::collection::vec((0u64..4_000, 0u8..16, 0usize..3, any::<u8>(), any::<u8>()), 0..80),
    ) {
        let plans: Vec<Plan> = plans.into_iter().map(plan_of).collect();
        let start = Instant::now();
        let specs = plans
            .iter()
            .enumerate()
            .map(|(t, p)| TargetSpec {
                launcher: crash.then(|| format!("virt-launcher-{t}")),
                ..spec(t, *p)
            })
            .collect();
        let known: HashSet<String> = (0..plans.len()).map(|t| format!("old-{t}")).collect();
        let mut core = Core::new(config(serial), specs, known, (start, SystemTime::now()));
        let mut ledger = Ledger::default();
        let mut now = start;
        let fx = core.handle(Input::Begin, now);
        ledger.check(&core, false, &fx).map_err(TestCaseError::fail)?;
        for (advance, kind, t, a, b) in steps {
            now += Duration::from_millis(advance);
            let input = arbitrary_input(kind, t % plans.len(), a, b, &plans);
            let halted_before = core.halted();
            let fx = core.handle(input, now);
            ledger.check(&core, halted_before, &fx).map_err(TestCaseError::fail)?;
            // Deadlines as they come, too.
            if let Some(d) = core.next_deadline() {
                if d <= now {
                    let halted_before = core.halted();
                    let fx = core.handle(Input::Tick, now);
                    ledger.check(&core, halted_before, &fx).map_err(TestCaseError::fail)?;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A random KubeVirt that answers every request.

/// How the cluster behaves for one target.
#[derive(Debug, Clone)]
struct Behaviour {
    plan: Plan,
    /// The DELETE: 0 accepted, 1 refused, 2 no answer but done, 3 no answer and not done.
    delete: u8,
    /// The old VMI goes this long after the DELETE (None: a finalizer holds it).
    gone_after: Option<u64>,
    /// KubeVirt (or the replica set) brings a new VMI this long after (None: never).
    kubevirt_after: Option<u64>,
    /// The tool's start or re-create fails.
    action_fails: bool,
    /// The switch to Manual (or back) is refused.
    switch_fails: bool,
    put_back_fails: bool,
    /// A new VMI never becomes Ready.
    never_ready: bool,
    /// `--fault crash`: the launcher pod goes and the old VMI turns Failed; KubeVirt removes a
    /// Failed VMI only under Always (or a replica set); a start or re-create removes it too.
    crash: bool,
}

fn behaviour() -> impl proptest::strategy::Strategy<Value = Behaviour> {
    (
        0u8..5,
        prop_oneof![4 => Just(0u8), 1 => 1u8..4],
        prop_oneof![6 => (0u64..3_000).prop_map(Some), 1 => Just(None)],
        prop_oneof![4 => (0u64..20_000).prop_map(Some), 1 => Just(None)],
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(
                plan,
                delete,
                gone_after,
                kubevirt_after,
                action_fails,
                switch_fails,
                put_back_fails,
                never_ready,
                crash,
            )| {
                Behaviour {
                    plan: plan_of(plan),
                    delete,
                    gone_after,
                    kubevirt_after,
                    action_fails,
                    switch_fails,
                    put_back_fails,
                    never_ready,
                    crash,
                }
            },
        )
}

#[derive(Debug)]
enum Ev {
    /// An answer to one of the tool's requests.
    Answer(Input),
    /// From outside: a signal or an abort.
    Outside(Input),
    Terminate(String),
    /// A crash: KubeVirt saw the launcher gone.
    Fail(String),
    Vanish(String),
    Boot {
        name: String,
        rs: bool,
    },
    Phase {
        uid: String,
        phase: &'static str,
        ready: bool,
    },
}

struct World {
    behaviours: Vec<Behaviour>,
    queue: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    vmis: BTreeMap<String, Vmi>,
    strategy: Vec<String>,
    uids: u64,
    answer_delay: u64,
    /// When each VMI the world made was created.
    created: HashMap<String, u64>,
}

impl World {
    fn at(&mut self, ms: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((ms, self.seq), ev);
    }

    fn exists(&self, name: &str) -> bool {
        self.vmis.values().any(|v| v.name == name && !v.terminating)
    }

    /// A VM's runStrategy is Always and no VMI of its name exists: KubeVirt starts one.
    fn kubevirt_restarts(&mut self, t: usize, ms: u64) {
        let b = &self.behaviours[t];
        let name = name_of(t, b.plan);
        let any = self.vmis.values().any(|v| v.name == name);
        if matches!(b.plan, Plan::Automatic | Plan::KeepDown)
            && self.strategy[t] == "Always"
            && !any
        {
            if let Some(after) = b.kubevirt_after {
                self.at(ms + after, Ev::Boot { name, rs: false });
            }
        }
    }

    /// Carries out what the core asked for; the answers come later.
    fn perform(&mut self, effect: &Effect, ms: u64) {
        let reply = ms + self.answer_delay;
        match effect {
            Effect::Emit(_) => {}
            Effect::Delete { target } => {
                let t = *target;
                let b = self.behaviours[t].clone();
                let happens = matches!(b.delete, 0 | 2);
                let result = match b.delete {
                    0 => DeleteResult::Accepted,
                    1 => DeleteResult::Refused("forbidden".into()),
                    _ => DeleteResult::Unknown("no answer".into()),
                };
                self.at(reply, Ev::Answer(Input::Deleted { target: t, result }));
                let kubevirt_removes_failed = b.plan == Plan::Follow
                    || (matches!(b.plan, Plan::Automatic | Plan::KeepDown)
                        && self.strategy[t] == "Always");
                if happens && b.crash {
                    self.at(ms + 1, Ev::Fail(format!("old-{t}")));
                }
                if happens && (!b.crash || kubevirt_removes_failed) {
                    let old = format!("old-{t}");
                    self.at(ms + 1, Ev::Terminate(old.clone()));
                    if let Some(g) = b.gone_after {
                        self.at(ms + 1 + g, Ev::Vanish(old));
                    }
                    if let (Plan::Follow, Some(after)) = (b.plan, b.kubevirt_after) {
                        self.at(
                            ms + 2 + after,
                            Ev::Boot {
                                name: "web-".into(),
                                rs: true,
                            },
                        );
                    }
                }
            }
            Effect::Start { target } | Effect::Recreate { target } => {
                let t = *target;
                let b = self.behaviours[t].clone();
                let name = name_of(t, b.plan);
                let start = matches!(effect, Effect::Start { .. });
                // A crashed VMI still Failed: virt-api's start stops it first; the tool deletes
                // a standalone one before it re-creates it.
                let old = format!("old-{t}");
                let failed_old =
                    !b.action_fails && self.vmis.get(&old).is_some_and(|v| v.phase == "Failed");
                if failed_old {
                    self.at(ms, Ev::Vanish(old.clone()));
                }
                let result = if b.action_fails {
                    ActionResult::Failed("refused".into())
                } else if self
                    .vmis
                    .values()
                    .any(|v| v.name == name && !(failed_old && v.uid == old))
                {
                    if start {
                        ActionResult::Failed("VM is already running".into())
                    } else {
                        ActionResult::AlreadyExists
                    }
                } else {
                    self.at(ms + 1, Ev::Boot { name, rs: false });
                    if start {
                        ActionResult::Started
                    } else {
                        ActionResult::Created {
                            uid: format!("sim-{}", self.uids + 1),
                        }
                    }
                };
                self.at(reply, Ev::Answer(Input::ActionDone { target: t, result }));
            }
            Effect::SetStrategy {
                target,
                to,
                restore,
                ..
            } => {
                let t = *target;
                let b = &self.behaviours[t];
                let fails = if *restore {
                    b.put_back_fails
                } else {
                    b.switch_fails
                };
                let result = if fails {
                    Err("refused".to_string())
                } else {
                    self.strategy[t] = to.clone();
                    Ok(())
                };
                // Back to Always with a Failed VMI: KubeVirt deletes it (then re-creates it).
                let old = format!("old-{t}");
                if !fails
                    && to == "Always"
                    && self.vmis.get(&old).is_some_and(|v| v.phase == "Failed")
                {
                    self.at(ms + 1, Ev::Terminate(old.clone()));
                    self.at(ms + 2, Ev::Vanish(old));
                }
                if !fails {
                    self.kubevirt_restarts(t, ms);
                }
                let input = if *restore {
                    Input::StrategyRestored { target: t, result }
                } else {
                    Input::KeptDown { target: t, result }
                };
                self.at(reply, Ev::Answer(input));
            }
        }
    }

    /// A world event: what changes, and what the watch sees of it.
    fn apply(&mut self, ev: Ev, ms: u64) -> Option<Input> {
        match ev {
            Ev::Answer(i) | Ev::Outside(i) => Some(i),
            Ev::Terminate(uid) => {
                let v = self.vmis.get_mut(&uid)?;
                v.terminating = true;
                Some(Input::Seen {
                    vmi: Box::new(v.clone()),
                    live: true,
                })
            }
            Ev::Fail(uid) => {
                let v = self.vmis.get_mut(&uid)?;
                v.phase = "Failed".into();
                v.ready = false;
                Some(Input::Seen {
                    vmi: Box::new(v.clone()),
                    live: true,
                })
            }
            Ev::Vanish(uid) => {
                self.vmis.remove(&uid)?;
                if let Some(t) = uid.strip_prefix("old-").and_then(|t| t.parse().ok()) {
                    self.kubevirt_restarts(t, ms);
                }
                Some(Input::Gone {
                    namespace: NS.into(),
                    uid,
                })
            }
            Ev::Boot { name, rs } => {
                if !rs && self.vmis.values().any(|v| v.name == name) {
                    return None;
                }
                self.uids += 1;
                let uid = format!("sim-{}", self.uids);
                let name = if rs {
                    format!("web-{}", self.uids)
                } else {
                    name
                };
                let v = vmi(&name, &uid, "Pending", false, rs);
                self.vmis.insert(uid.clone(), v.clone());
                self.created.insert(uid.clone(), ms);
                let never_ready = self.behaviours.iter().any(|b| b.never_ready);
                self.at(
                    ms + 1_500,
                    Ev::Phase {
                        uid: uid.clone(),
                        phase: "Running",
                        ready: false,
                    },
                );
                if !never_ready {
                    self.at(
                        ms + 1_700,
                        Ev::Phase {
                            uid,
                            phase: "Running",
                            ready: true,
                        },
                    );
                }
                Some(Input::Seen {
                    vmi: Box::new(v),
                    live: true,
                })
            }
            Ev::Phase { uid, phase, ready } => {
                let v = self.vmis.get_mut(&uid)?;
                v.phase = phase.into();
                v.ready = ready;
                Some(Input::Seen {
                    vmi: Box::new(v.clone()),
                    live: true,
                })
            }
        }
    }
}

/// One random run, and what the checks need of it.
struct Sim {
    core: Core,
    world: World,
    exited_ms: u64,
    /// When each target's outcome was settled.
    settled_ms: HashMap<TargetId, u64>,
    /// When each replica-set replacement was first Running and Ready.
    ready_ms: BTreeMap<String, u64>,
    /// When each target's DELETE went out.
    deleted_ms: HashMap<TargetId, u64>,
}

#[derive(Debug, Clone)]
struct Outside {
    serial: bool,
    answer_delay: u64,
    signals: Vec<u64>,
    abort: Option<u64>,
    /// After the tool exits, the answers it waits for reach it for this long (None: all).
    drain_ms: Option<u64>,
}

fn outside() -> impl proptest::strategy::Strategy<Value = Outside> {
    (
        any::<bool>(),
        1u64..3_000,
        prop::collection::vec(0u64..40_000, 0..3),
        prop::option::weighted(0.3, 0u64..30_000),
        prop::option::weighted(0.5, 0u64..3_000),
    )
        .prop_map(|(serial, answer_delay, signals, abort, drain_ms)| Outside {
            serial,
            answer_delay,
            signals,
            abort,
            drain_ms,
        })
}

fn simulate(behaviours: &[Behaviour], o: &Outside) -> Result<Sim, TestCaseError> {
    let plans: Vec<Plan> = behaviours.iter().map(|b| b.plan).collect();
    let start = Instant::now();
    let specs = plans
        .iter()
        .enumerate()
        .map(|(t, p)| TargetSpec {
            launcher: behaviours[t].crash.then(|| format!("virt-launcher-{t}")),
            ..spec(t, *p)
        })
        .collect();
    let mut vmis = BTreeMap::new();
    for (t, p) in plans.iter().enumerate() {
        let uid = format!("old-{t}");
        vmis.insert(
            uid.clone(),
            vmi(&name_of(t, *p), &uid, "Running", true, *p == Plan::Follow),
        );
    }
    let known: HashSet<String> = vmis.keys().cloned().collect();
    let mut core = Core::new(config(o.serial), specs, known, (start, SystemTime::now()));
    let mut world = World {
        strategy: vec!["Always".to_string(); plans.len()],
        behaviours: behaviours.to_vec(),
        queue: BTreeMap::new(),
        seq: 0,
        vmis,
        uids: 0,
        answer_delay: o.answer_delay,
        created: HashMap::new(),
    };
    for (i, at) in o.signals.iter().enumerate() {
        let s = if i % 2 == 0 {
            Signal::Interrupt
        } else {
            Signal::Terminate
        };
        world.at(*at, Ev::Outside(Input::Signal(s)));
    }
    if let Some(at) = o.abort {
        world.at(
            at,
            Ev::Outside(Input::Abort {
                reason: AbortReason::Unready {
                    max: 0,
                    vmis: vec!["prod/db-1".into()],
                },
            }),
        );
    }
    let mut ledger = Ledger::default();
    let mut settled_ms = HashMap::new();
    let mut ready_ms = BTreeMap::new();
    let mut deleted_ms = HashMap::new();
    let fx = core.handle(Input::Begin, start);
    ledger
        .check(&core, false, &fx)
        .map_err(TestCaseError::fail)?;
    for e in &fx {
        if let Effect::Delete { target } = e {
            deleted_ms.insert(*target, 0);
        }
        world.perform(e, 0);
    }
    let mut now_ms = 0u64;
    // The run itself, then (like the shell) the answers to requests already out, for a bounded
    // while; the world goes on after the tool exits.
    let mut exited_ms: Option<u64> = None;
    for _ in 0..20_000 {
        let next = world.queue.keys().next().copied();
        let deadline = match exited_ms {
            None => core.next_deadline().map(|d| (d - start).as_millis() as u64),
            Some(_) => None,
        };
        let (ms, input) = match (next, deadline) {
            (Some((ms, _)), Some(d)) if d < ms => (d, Some(Input::Tick)),
            (Some(key), _) => {
                let ev = world.queue.remove(&key).unwrap();
                let answer = matches!(ev, Ev::Answer(_));
                let input = world.apply(ev, key.0.max(now_ms));
                // After the tool exits, only the answers it waits for reach it.
                let input = match exited_ms {
                    Some(at) if !answer || o.drain_ms.is_some_and(|d| key.0 > at + d) => None,
                    _ => input,
                };
                (key.0, input)
            }
            (None, Some(d)) => (d, Some(Input::Tick)),
            (None, None) => break,
        };
        now_ms = ms.max(now_ms);
        for v in world.vmis.values() {
            if v.owner.is_some() && v.uid.starts_with("sim-") && v.is_running() && v.ready {
                ready_ms.entry(v.uid.clone()).or_insert(now_ms);
            }
        }
        let Some(input) = input else { continue };
        let halted_before = core.halted();
        let fx = core.handle(input, start + Duration::from_millis(now_ms));
        ledger
            .check(&core, halted_before, &fx)
            .map_err(TestCaseError::fail)?;
        for e in &fx {
            if let Effect::Emit(Event::Target {
                target,
                what: TargetEvent::Done { .. },
                ..
            }) = e
            {
                settled_ms.insert(*target, now_ms);
            }
            if let Effect::Delete { target } = e {
                deleted_ms.insert(*target, now_ms);
            }
            world.perform(e, now_ms);
        }
        if exited_ms.is_none() && core.done() {
            exited_ms = Some(now_ms);
        }
    }
    let exited_ms = exited_ms.ok_or_else(|| TestCaseError::fail("the run never ended"))?;
    Ok(Sim {
        core,
        world,
        exited_ms,
        settled_ms,
        ready_ms,
        deleted_ms,
    })
}

/// No replica-set target is reported NOT RECOVERED while a replacement created after its
/// DELETE, that no other target follows, was Running and Ready before its outcome was settled;
/// no two follow the same one.
fn check_replica_sets(sim: &Sim) -> Result<(), TestCaseError> {
    let runs = sim.core.runs();
    let followed: Vec<&str> = runs
        .iter()
        .filter(|r| r.spec.replica_set_uid.is_some())
        .filter_map(|r| r.tracker.current().map(|c| c.uid.as_str()))
        .collect();
    let distinct: HashSet<&&str> = followed.iter().collect();
    prop_assert_eq!(
        distinct.len(),
        followed.len(),
        "shared replacements: {:?}",
        followed
    );
    for (t, run) in runs.iter().enumerate() {
        if run.spec.replica_set_uid.is_none()
            || !matches!(run.outcome(), Some(Outcome::NotRecovered(_)))
        {
            continue;
        }
        let settled = sim.settled_ms[&t];
        let deleted = sim.deleted_ms[&t];
        let unclaimed_ready = sim.ready_ms.iter().find(|(uid, at)| {
            **at < settled
                && sim.world.created[uid.as_str()] > deleted
                && !followed.contains(&uid.as_str())
        });
        prop_assert!(
            unclaimed_ready.is_none(),
            "target {} NOT RECOVERED at {} ms although {:?} was Ready and followed by no one",
            t,
            settled,
            unclaimed_ready
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// A random cluster answering every request: the run ends, nothing destructive follows a
    /// halt, nothing is done twice, every target still down (or whose VM was left at Manual)
    /// is reported with the restore command, and replica-set targets never share a replacement.
    #[test]
    fn every_deleted_target_ends_recovered_or_with_what_brings_it_back(
        behaviours in prop::collection::vec(behaviour(), 1..4),
        outside in outside(),
    ) {
        let sim = simulate(&behaviours, &outside)?;
        let core = &sim.core;
        let world = &sim.world;
        prop_assert!(sim.exited_ms <= 5_000 + 10_000 + 3 * 30_000 + 60_000, "ran until {}", sim.exited_ms);
        for (t, run) in core.runs().iter().enumerate() {
            prop_assert!(run.outcome().is_some(), "target {t} has no outcome: {:?}", run.state);
        }
        // What the world looks like once everything settled, against what the report says.
        for (t, run) in core.runs().iter().enumerate() {
            let b = &behaviours[t];
            let name = name_of(t, b.plan);
            let comeback = run.comeback();
            if b.plan == Plan::Follow {
                prop_assert!(
                    matches!(comeback, Comeback::Nothing | Comeback::ReplicaSet),
                    "replica-set target {t}: {comeback:?}"
                );
                continue;
            }
            let down = !world.exists(&name);
            let left_manual = b.plan == Plan::KeepDown && world.strategy[t] == "Manual";
            if down || left_manual {
                prop_assert_eq!(
                    &comeback,
                    &Comeback::Restore,
                    "target {} ({:?}) is {}, outcome {:?}",
                    t,
                    b.plan,
                    if down { "down" } else { "left at Manual" },
                    run.outcome()
                );
            }
            if run.outcome() == Some(&Outcome::Recovered) {
                prop_assert!(world.exists(&name), "target {} recovered but nothing runs", t);
            }
        }
        check_replica_sets(&sim)?;
    }

    /// Several VMIs of one replica set down at once: each target claims one replacement.
    #[test]
    fn each_replica_set_target_claims_its_own_replacement(
        behaviours in prop::collection::vec(behaviour(), 2..5),
        outside in outside(),
    ) {
        let behaviours: Vec<Behaviour> = behaviours
            .into_iter()
            .map(|b| Behaviour { plan: Plan::Follow, ..b })
            .collect();
        let sim = simulate(&behaviours, &outside)?;
        check_replica_sets(&sim)?;
        // Replaced in time, ready, nothing halted: every target recovers.
        let in_time = behaviours
            .iter()
            .all(|b| b.delete == 0 && b.kubevirt_after.is_some_and(|a| a < 5_000) && !b.never_ready);
        if in_time && !sim.core.halted() && !outside.serial {
            for (t, run) in sim.core.runs().iter().enumerate() {
                prop_assert_eq!(run.outcome(), Some(&Outcome::Recovered), "target {}", t);
            }
        }
    }
}
