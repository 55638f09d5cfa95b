//! The outage core driven through every combination of plan × replacement early / late /
//! never × Ctrl-C × watch gap, against a small model of KubeVirt, in virtual time: no cluster,
//! no sleeping, the whole matrix in milliseconds.

use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::kubevirt::Owner;

const MS: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comes {
    /// KubeVirt re-creates it (or the replica set replaces it) this long after the old one goes.
    After(u64),
    /// KubeVirt never re-creates it.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Automatic,
    Start,
    Recreate,
    Follow,
    KeepDown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    None,
    Once(u64),
    Twice(u64),
}

#[derive(Debug, Clone, Copy)]
struct Case {
    plan: Plan,
    comes: Comes,
    interrupt: Interrupt,
    /// The watch is blind between these times (ms); a re-list ends the gap.
    gap: Option<(u64, u64)>,
}

/// A toy KubeVirt: the old VMI goes 300 ms after the DELETE; a replacement boots in 1.5 s and is
/// Ready 200 ms later; the tool's own requests are answered in 5 ms.
struct World {
    case: Case,
    queue: BTreeMap<(u64, u64), Input>,
    seq: u64,
    vmis: BTreeMap<String, Vmi>,
    acted: Vec<Effect>,
    events: Vec<Event>,
    new_uids: u64,
    strategy: String,
    /// `--fault crash`: the launcher goes, the old VMI turns Failed, and only KubeVirt (Always,
    /// a replica set) or the tool (start, re-create) removes it.
    crash: bool,
}

fn vmi(name: &str, uid: &str, phase: &str, ready: bool) -> Vmi {
    Vmi {
        namespace: "prod".into(),
        name: name.into(),
        uid: uid.into(),
        phase: phase.into(),
        ready,
        ..Vmi::default()
    }
}

impl World {
    fn new(case: Case) -> Self {
        let mut old = vmi("db-0", "old", "Running", true);
        if case.plan == Plan::Follow {
            old.name = "web-aaaaa".into();
            old.owner = Some(Owner {
                kind: "VirtualMachineInstanceReplicaSet".into(),
                name: "web".into(),
                uid: "rs".into(),
            });
        }
        let mut vmis = BTreeMap::new();
        vmis.insert("old".to_string(), old);
        World {
            case,
            queue: BTreeMap::new(),
            seq: 0,
            vmis,
            acted: Vec::new(),
            events: Vec::new(),
            new_uids: 0,
            strategy: "Always".into(),
            crash: false,
        }
    }

    fn at(&mut self, ms: u64, input: Input) {
        self.seq += 1;
        self.queue.insert((ms, self.seq), input);
    }

    fn blind(&self, ms: u64) -> bool {
        self.case.gap.is_some_and(|(a, b)| ms >= a && ms < b)
    }

    /// A VMI changes at `ms`: the watch sees it unless it is blind then.
    fn change(&mut self, ms: u64, v: Vmi) {
        self.vmis.insert(v.uid.clone(), v.clone());
        if !self.blind(ms) {
            self.at(
                ms,
                Input::Seen {
                    vmi: Box::new(v),
                    live: true,
                },
            );
        }
    }

    fn gone(&mut self, ms: u64, uid: &str) {
        self.vmis.remove(uid);
        if !self.blind(ms) {
            self.at(
                ms,
                Input::Gone {
                    namespace: "prod".into(),
                    uid: uid.into(),
                },
            );
        }
    }

    /// A replacement boots, phase by phase, each with KubeVirt's own timestamps.
    fn boot(&mut self, ms: u64, name: &str, base: Timestamp) {
        self.new_uids += 1;
        let uid = format!("new-{}", self.new_uids);
        let stamp = |at: u64| base + Duration::from_millis(at);
        let mut v = vmi(name, &uid, "Pending", false);
        v.created = Some(stamp(ms));
        if self.case.plan == Plan::Follow {
            v.owner = Some(Owner {
                kind: "VirtualMachineInstanceReplicaSet".into(),
                name: "web".into(),
                uid: "rs".into(),
            });
        }
        self.change(ms, v.clone());
        for (phase, at) in [("Scheduling", 500), ("Scheduled", 1000), ("Running", 1500)] {
            v.phase = phase.into();
            v.phase_transitions.push((phase.into(), stamp(ms + at)));
            self.change(ms + at, v.clone());
        }
        v.ready = true;
        v.ready_since = Some(stamp(ms + 1700));
        self.change(ms + 1700, v);
    }

    fn respond(&mut self, effect: &Effect, ms: u64, base: Timestamp) {
        match effect {
            Effect::Emit(e) => self.events.push(e.clone()),
            Effect::Delete { target } => {
                self.at(
                    ms + 5,
                    Input::Deleted {
                        target: *target,
                        result: DeleteResult::Accepted,
                    },
                );
                let kubevirt_recreates = matches!(self.case.plan, Plan::Automatic | Plan::Follow);
                let mut old = self.vmis["old"].clone();
                if self.crash {
                    // KubeVirt sees the launcher gone: Failed; Always and a replica set delete
                    // a Failed VMI, Manual and a standalone VMI leave it.
                    old.phase = "Failed".into();
                    old.ready = false;
                    self.change(ms + 50, old.clone());
                    if !kubevirt_recreates {
                        return;
                    }
                }
                old.terminating = true;
                self.change(ms + 3 + if self.crash { 60 } else { 0 }, old);
                self.gone(ms + 300, "old");
                if let (true, Comes::After(d)) = (kubevirt_recreates, self.case.comes) {
                    // A replica set doesn't wait for the old VMI to go.
                    let from = if self.case.plan == Plan::Follow {
                        ms + 10
                    } else {
                        ms + 300
                    };
                    let name = if self.case.plan == Plan::Follow {
                        "web-bbbbb"
                    } else {
                        "db-0"
                    };
                    self.boot(from + d, name, base);
                }
            }
            Effect::Start { target } => {
                self.acted.push(effect.clone());
                // virt-api's start on a Failed VMI: stop it (KubeVirt deletes it), then start.
                if self.vmis.contains_key("old") {
                    self.gone(ms + 10, "old");
                }
                self.at(
                    ms + 5,
                    Input::ActionDone {
                        target: *target,
                        result: ActionResult::Started,
                    },
                );
                self.boot(ms + 20, "db-0", base);
            }
            Effect::Recreate { target } => {
                self.acted.push(effect.clone());
                // The tool deletes a Failed standalone VMI before it re-creates it.
                if self.vmis.contains_key("old") {
                    self.gone(ms + 3, "old");
                }
                self.at(
                    ms + 5,
                    Input::ActionDone {
                        target: *target,
                        result: ActionResult::Created {
                            uid: "new-r".into(),
                        },
                    },
                );
                self.boot(ms + 5, "db-0", base);
            }
            Effect::SetStrategy {
                target,
                to,
                restore,
                ..
            } => {
                self.acted.push(effect.clone());
                self.strategy = to.clone();
                // Back to Always with a Failed VMI: KubeVirt deletes it, then re-creates it.
                let failed = self.vmis.get("old").is_some_and(|v| v.phase == "Failed");
                if *restore && to == "Always" && failed {
                    self.gone(ms + 8, "old");
                }
                // Back to Always with no VMI: KubeVirt re-creates it.
                let has_vmi = self
                    .vmis
                    .values()
                    .any(|v| v.name == "db-0" && !(failed && v.uid == "old"));
                if *restore && to == "Always" && !has_vmi {
                    self.boot(ms + 10, "db-0", base);
                }
                let result = Ok(());
                self.at(
                    ms + 5,
                    if *restore {
                        Input::StrategyRestored {
                            target: *target,
                            result,
                        }
                    } else {
                        Input::KeptDown {
                            target: *target,
                            result,
                        }
                    },
                );
            }
        }
    }
}

struct Ran {
    run: Run,
    world: World,
    end_ms: u64,
}

fn spec(case: &Case) -> TargetSpec {
    TargetSpec {
        namespace: "prod".into(),
        name: if case.plan == Plan::Follow {
            "web-aaaaa"
        } else {
            "db-0"
        }
        .into(),
        uid: "old".into(),
        node: Some("node-a".into()),
        recovery: match case.plan {
            Plan::Automatic | Plan::KeepDown => Recovery::Automatic,
            Plan::Start => Recovery::Start,
            Plan::Recreate => Recovery::Recreate,
            Plan::Follow => Recovery::Follow,
        },
        vm: (!matches!(case.plan, Plan::Recreate | Plan::Follow)).then(|| "db-0".to_string()),
        replica_set_uid: (case.plan == Plan::Follow).then(|| "rs".to_string()),
        keep_down: (case.plan == Plan::KeepDown).then(|| "Always".to_string()),
        finalizers: vec![],
        launcher: None,
        probed: false,
    }
}

fn config() -> CoreConfig {
    CoreConfig {
        duration: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        interrupt_wait: Duration::from_secs(30),
        serial_interval: None,
    }
}

/// Runs the core against the toy KubeVirt in virtual time.
fn run(case: Case) -> Ran {
    run_in(case, false)
}

/// The same with `--fault crash`.
fn run_in(case: Case, crash: bool) -> Ran {
    let start = Instant::now();
    let base: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let wall = SystemTime::from(base);
    let mut target = spec(&case);
    if crash {
        target.launcher = Some("virt-launcher-db-0-abcde".into());
    }
    let mut core = Core::new(
        config(),
        vec![target],
        HashSet::from(["old".to_string()]),
        (start, wall),
    );
    let mut world = World::new(case);
    world.crash = crash;
    world.at(0, Input::Begin);
    match case.interrupt {
        Interrupt::None => {}
        Interrupt::Once(at) => world.at(at, Input::Signal(Signal::Interrupt)),
        Interrupt::Twice(at) => {
            world.at(at, Input::Signal(Signal::Interrupt));
            world.at(at + 1, Input::Signal(Signal::Interrupt));
        }
    }
    if let Some((_, end)) = case.gap {
        world.at(end, Input::Tick); // placeholder: the re-list is built when it is due
    }
    let mut now_ms = 0;
    let mut relisted = false;
    for _ in 0..10_000 {
        if core.done() {
            break;
        }
        let next_input = world.queue.keys().next().copied();
        let deadline = core.next_deadline().map(|d| (d - start).as_millis() as u64);
        let (ms, input) = match (next_input, deadline) {
            (Some((ms, seq)), Some(d)) if d < ms => {
                let _ = seq;
                (d, Input::Tick)
            }
            (Some(key), _) => {
                let input = world.queue.remove(&key).unwrap();
                (key.0, input)
            }
            (None, Some(d)) => (d, Input::Tick),
            (None, None) => panic!("{case:?}: the core waits for nothing and is not done"),
        };
        now_ms = ms.max(now_ms);
        let input = match (case.gap, input) {
            // The gap ends: the watch re-lists the namespace.
            (Some((_, end)), Input::Tick) if ms == end && !relisted => {
                relisted = true;
                Input::Relisted {
                    namespace: "prod".into(),
                    vmis: world.vmis.values().cloned().collect(),
                }
            }
            (_, i) => i,
        };
        let effects = core.handle(input, start + MS * now_ms as u32);
        for e in &effects {
            world.respond(e, now_ms, base);
        }
    }
    assert!(core.done(), "{case:?}: never done");
    Ran {
        run: core.runs()[0].clone(),
        world,
        end_ms: now_ms,
    }
}

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for plan in [
        Plan::Automatic,
        Plan::Start,
        Plan::Recreate,
        Plan::Follow,
        Plan::KeepDown,
    ] {
        for comes in [Comes::After(100), Comes::After(8_000), Comes::Never] {
            for interrupt in [
                Interrupt::None,
                Interrupt::Once(1_000),
                Interrupt::Twice(1_000),
            ] {
                for gap in [None, Some((200, 4_000))] {
                    cases.push(Case {
                        plan,
                        comes,
                        interrupt,
                        gap,
                    });
                }
            }
        }
    }
    cases
}

#[test]
fn every_combination_ends_with_the_right_outcome_and_never_fights_kubevirt() {
    for (case, crash) in all_cases()
        .into_iter()
        .flat_map(|c| [(c, false), (c, true)])
    {
        let ran = run_in(case, crash);
        let outcome = ran.run.outcome().cloned().expect("an outcome");
        let acted: Vec<&Effect> = ran
            .world
            .acted
            .iter()
            .filter(|e| matches!(e, Effect::Start { .. } | Effect::Recreate { .. }))
            .collect();
        // The tool never starts or re-creates what KubeVirt brings back itself.
        match case.plan {
            Plan::Automatic | Plan::Follow => {
                assert!(acted.is_empty(), "{case:?}: acted {acted:?}")
            }
            Plan::Start | Plan::KeepDown => {
                assert!(
                    acted.iter().all(|e| matches!(e, Effect::Start { .. })),
                    "{case:?}"
                )
            }
            Plan::Recreate => {
                assert!(
                    acted.iter().all(|e| matches!(e, Effect::Recreate { .. })),
                    "{case:?}"
                )
            }
        }
        assert!(acted.len() <= 1, "{case:?}: acted twice: {acted:?}");
        // What the outcome must be.
        let kubevirt_brings_it_back = matches!(case.plan, Plan::Automatic | Plan::Follow);
        let comes_in_time = match case.comes {
            Comes::After(ms) => ms < 5_000 + 10_000,
            Comes::Never => false,
        };
        let expected = match case.interrupt {
            Interrupt::None if kubevirt_brings_it_back && !comes_in_time => {
                Outcome::NotRecovered(NotRecovered::NoReplacement)
            }
            Interrupt::None => Outcome::Recovered,
            Interrupt::Twice(_) => Outcome::Interrupted { running: false },
            Interrupt::Once(_) => {
                // After Ctrl-C the tool recovers what it can at once and exits once it runs.
                let back = !kubevirt_brings_it_back
                    || matches!(case.comes, Comes::After(ms) if ms < 30_000);
                Outcome::Interrupted { running: back }
            }
        };
        assert_eq!(outcome, expected, "{case:?}, crash {crash}");
        // With Ctrl-C the tool acts at once, without waiting for --duration.
        if matches!(case.interrupt, Interrupt::Once(_))
            && matches!(case.plan, Plan::Start | Plan::Recreate)
        {
            assert_eq!(acted.len(), 1, "{case:?}");
        }
        // --keep-down switches to Manual first and always puts the strategy back.
        if case.plan == Plan::KeepDown {
            assert_eq!(
                ran.world.strategy, "Always",
                "{case:?}: runStrategy left at Manual"
            );
        }
        // Timings never go backwards.
        let t = &ran.run.tracker.timings;
        let steps = [
            t.gone_ms,
            t.created_ms,
            t.scheduling_ms,
            t.scheduled_ms,
            t.running_ms,
            t.ready_ms,
        ];
        let seen: Vec<u64> = steps.iter().flatten().copied().collect();
        if case.plan != Plan::Follow {
            assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{case:?}: {t:?}");
        }
        assert!(
            ran.end_ms <= 5_000 + 10_000 + 30_000 + 2_000,
            "{case:?}: ran until {}",
            ran.end_ms
        );
    }
}

#[test]
fn a_recovery_seen_live_is_timed_to_the_millisecond() {
    let ran = run(Case {
        plan: Plan::Automatic,
        comes: Comes::After(100),
        interrupt: Interrupt::None,
        gap: None,
    });
    let t = &ran.run.tracker.timings;
    assert_eq!(
        (t.gone_ms, t.created_ms, t.running_ms, t.ready_ms),
        (Some(300), Some(400), Some(1900), Some(2100))
    );
    assert!(ran.run.tracker.sources.values().all(|s| s == "watch"));
}

#[test]
fn steps_missed_in_a_watch_gap_are_timed_by_the_server() {
    let ran = run(Case {
        plan: Plan::Automatic,
        comes: Comes::After(100),
        interrupt: Interrupt::None,
        gap: Some((200, 4_000)),
    });
    let t = &ran.run.tracker.timings;
    // Found at 4 s by the re-list, but KubeVirt's timestamps say when each step happened.
    assert_eq!(t.running_ms, Some(1900));
    assert_eq!(t.ready_ms, Some(2100));
    assert_eq!(ran.run.tracker.sources["runningMs"], "server");
    assert_eq!(ran.run.outcome().cloned(), Some(Outcome::Recovered));
}

#[test]
fn the_tool_waits_for_duration_before_it_starts_a_manual_vm() {
    let ran = run(Case {
        plan: Plan::Start,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    });
    let t = &ran.run.tracker.timings;
    assert!(t.created_ms.unwrap() >= 5_000, "{t:?}");
    assert_eq!(ran.run.acted(), Some(Recovery::Start));
}

#[test]
fn a_replica_set_replacement_is_followed_under_its_new_name() {
    let ran = run(Case {
        plan: Plan::Follow,
        comes: Comes::After(50),
        interrupt: Interrupt::None,
        gap: None,
    });
    assert_eq!(ran.run.outcome().cloned(), Some(Outcome::Recovered));
    assert_eq!(ran.run.tracker.current().unwrap().name, "web-bbbbb");
    // Created while the old one was still terminating.
    assert!(ran.run.tracker.timings.created_ms < ran.run.tracker.timings.gone_ms);
}

#[test]
fn a_second_signal_stops_at_once_with_the_state_as_last_seen() {
    let ran = run(Case {
        plan: Plan::Automatic,
        comes: Comes::Never,
        interrupt: Interrupt::Twice(1_000),
        gap: None,
    });
    assert_eq!(
        ran.run.outcome().cloned(),
        Some(Outcome::Interrupted { running: false })
    );
    assert!(ran.end_ms <= 1_001);
}

#[test]
fn serial_runs_one_target_at_a_time() {
    let start = Instant::now();
    let wall = SystemTime::now();
    let mut cfg = config();
    cfg.serial_interval = Some(Duration::from_secs(2));
    let mut specs = vec![
        spec(&Case {
            plan: Plan::Automatic,
            comes: Comes::Never,
            interrupt: Interrupt::None,
            gap: None
        });
        2
    ];
    specs[1].name = "db-1".into();
    specs[1].uid = "old-1".into();
    let mut core = Core::new(cfg, specs, HashSet::new(), (start, wall));
    let fx = core.handle(Input::Begin, start);
    let deletes: Vec<_> = fx
        .iter()
        .filter(|e| matches!(e, Effect::Delete { .. }))
        .collect();
    assert_eq!(deletes, vec![&Effect::Delete { target: 0 }]);
    // The second is said to wait for its turn, not to be deleted.
    let queued = |fx: &[Effect], after: Option<Duration>| {
        fx.contains(&Effect::Emit(Event::Target {
            target: 1,
            at: Duration::ZERO,
            what: TargetEvent::Queued { after },
        }))
    };
    assert!(queued(&fx, None), "{fx:?}");
    // The first one recovers: the second follows 2 s later, not before.
    let t = |ms: u64| start + MS * ms as u32;
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        t(5),
    );
    let fx = core.handle(
        Input::Seen {
            vmi: Box::new(vmi("db-0", "n", "Running", true)),
            live: true,
        },
        t(100),
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Delete { .. })));
    assert!(queued(&fx, Some(Duration::from_secs(2))), "{fx:?}");
    assert_eq!(core.next_deadline(), Some(t(2_100)));
    let fx = core.handle(Input::Tick, t(2_100));
    assert!(fx.contains(&Effect::Delete { target: 1 }));
}

#[test]
fn a_refused_delete_changes_nothing_and_puts_a_kept_down_strategy_back() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::KeepDown,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let mut core = Core::new(
        config(),
        vec![spec(&case)],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    let fx = core.handle(Input::Begin, start);
    assert!(matches!(fx[0], Effect::SetStrategy { restore: false, .. }));
    let fx = core.handle(
        Input::KeptDown {
            target: 0,
            result: Ok(()),
        },
        start,
    );
    assert!(fx.contains(&Effect::Delete { target: 0 }));
    let fx = core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Refused("forbidden".into()),
        },
        start,
    );
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::SetStrategy { restore: true, .. })));
    assert!(!core.done(), "waits for the strategy to be put back");
    core.handle(
        Input::StrategyRestored {
            target: 0,
            result: Ok(()),
        },
        start,
    );
    assert!(core.done());
    assert_eq!(
        core.runs()[0].outcome().cloned(),
        Some(Outcome::NotDeleted(NotDeleted::Refused("forbidden".into())))
    );
}

/// Two VMIs of one replica set in one outage: each target follows its own replacement, and
/// both are recovered (the first used to claim every replacement).
#[test]
fn two_targets_of_one_replica_set_each_follow_one_replacement() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::Follow,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let first = spec(&case);
    let mut second = spec(&case);
    second.name = "web-bbbbb".into();
    second.uid = "old-b".into();
    let known: HashSet<String> = ["old".to_string(), "old-b".to_string()].into();
    let mut core = Core::new(
        config(),
        vec![first, second],
        known,
        (start, SystemTime::now()),
    );
    core.handle(Input::Begin, start);
    for target in 0..2 {
        core.handle(
            Input::Deleted {
                target,
                result: DeleteResult::Accepted,
            },
            start,
        );
    }
    let owner = Some(Owner {
        kind: "VirtualMachineInstanceReplicaSet".into(),
        name: "web".into(),
        uid: "rs".into(),
    });
    // Both replacements come while both targets still wait (Pending first, then Running).
    let seen = [
        ("web-ccccc", "new-c", "Pending", false),
        ("web-ddddd", "new-d", "Pending", false),
        ("web-ccccc", "new-c", "Running", true),
        ("web-ddddd", "new-d", "Running", true),
    ];
    for (name, uid, phase, ready) in seen {
        let mut new = vmi(name, uid, phase, ready);
        new.owner = owner.clone();
        core.handle(
            Input::Seen {
                vmi: Box::new(new),
                live: true,
            },
            start + 2000 * MS,
        );
    }
    for uid in ["old", "old-b"] {
        core.handle(
            Input::Gone {
                namespace: "prod".into(),
                uid: uid.into(),
            },
            start + 2100 * MS,
        );
    }
    let followed: Vec<_> = core
        .runs()
        .iter()
        .map(|r| r.tracker.current().map(|c| c.uid.clone()))
        .collect();
    assert_eq!(
        followed,
        [Some("new-c".to_string()), Some("new-d".to_string())]
    );
    core.handle(Input::Tick, start + 2200 * MS);
    assert!(core.done(), "both recovered");
    for run in core.runs() {
        assert!(
            matches!(run.outcome(), Some(Outcome::Recovered)),
            "{:?}",
            run.outcome()
        );
    }
}

/// An abort that fires while a --keep-down runStrategy switch is in flight: the VMI is never
/// deleted, and the runStrategy goes back.
#[test]
fn an_abort_during_the_keep_down_switch_deletes_nothing_and_puts_the_strategy_back() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::KeepDown,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let mut core = Core::new(
        config(),
        vec![spec(&case)],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    let fx = core.handle(Input::Begin, start);
    assert!(matches!(fx[0], Effect::SetStrategy { restore: false, .. }));
    let fx = core.handle(
        Input::Abort {
            reason: AbortReason::Unready {
                max: 0,
                vmis: vec!["prod/db-1".into()],
            },
        },
        start,
    );
    assert!(!fx.contains(&Effect::Delete { target: 0 }));
    let fx = core.handle(
        Input::KeptDown {
            target: 0,
            result: Ok(()),
        },
        start,
    );
    assert!(!fx.contains(&Effect::Delete { target: 0 }), "{fx:?}");
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::SetStrategy { restore: true, .. })));
    core.handle(
        Input::StrategyRestored {
            target: 0,
            result: Ok(()),
        },
        start,
    );
    assert!(core.done());
    assert_eq!(
        core.runs()[0].outcome().cloned(),
        Some(Outcome::NotDeleted(NotDeleted::AbortedFirst))
    );
}

#[test]
fn a_lost_delete_answer_is_settled_by_the_watch() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::Automatic,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let mut core = Core::new(
        config(),
        vec![spec(&case)],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Unknown("timeout".into()),
        },
        start,
    );
    // Nothing ever shows it terminating: at --duration the run says it was never deleted.
    let deadline = core.next_deadline().unwrap();
    core.handle(Input::Tick, deadline);
    assert!(core.done());
    assert!(matches!(
        core.runs()[0].outcome().cloned(),
        Some(Outcome::NotDeleted(_))
    ));
}

#[test]
fn a_failed_start_is_a_tool_failure() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::Start,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let mut core = Core::new(
        config(),
        vec![spec(&case)],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    core.handle(
        Input::Gone {
            namespace: "prod".into(),
            uid: "old".into(),
        },
        start + MS * 300,
    );
    let fx = core.handle(Input::Tick, start + Duration::from_secs(5));
    assert!(fx.contains(&Effect::Start { target: 0 }));
    core.handle(
        Input::ActionDone {
            target: 0,
            result: ActionResult::Failed("409".into()),
        },
        start + Duration::from_secs(5),
    );
    assert_eq!(
        core.runs()[0].outcome().cloned(),
        Some(Outcome::Failed("409".into()))
    );
}

#[test]
fn a_409_on_the_recreate_follows_the_vmi_someone_else_created() {
    let start = Instant::now();
    let case = Case {
        plan: Plan::Recreate,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let mut core = Core::new(
        config(),
        vec![spec(&case)],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    core.handle(
        Input::Gone {
            namespace: "prod".into(),
            uid: "old".into(),
        },
        start + MS * 300,
    );
    let fx = core.handle(Input::Tick, start + Duration::from_secs(5));
    assert!(fx.contains(&Effect::Recreate { target: 0 }));
    let fx = core.handle(
        Input::ActionDone {
            target: 0,
            result: ActionResult::AlreadyExists,
        },
        start + Duration::from_secs(5),
    );
    // Not acted on again, not a failure: the one that exists is followed.
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Recreate { .. } | Effect::Start { .. })));
    assert!(core.runs()[0].outcome().is_none());
    let t = start + Duration::from_millis(5_100);
    let fx = core.handle(
        Input::Seen {
            vmi: Box::new(vmi("db-0", "theirs", "Running", true)),
            live: true,
        },
        t,
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Recreate { .. })));
    assert_eq!(core.runs()[0].outcome().cloned(), Some(Outcome::Recovered));
    assert_eq!(
        core.runs()[0].acted(),
        None,
        "KubeVirt's, or someone else's, not the tool's"
    );
}

fn core_with(specs: Vec<TargetSpec>, known: &[&str]) -> (Core, Instant) {
    let start = Instant::now();
    let known = known.iter().map(|k| k.to_string()).collect();
    (
        Core::new(config(), specs, known, (start, SystemTime::now())),
        start,
    )
}

fn case(plan: Plan) -> Case {
    Case {
        plan,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    }
}

fn deletes(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Delete { .. }))
        .count()
}

#[test]
fn an_abort_or_a_signal_while_the_keep_down_switch_is_in_flight_deletes_nothing() {
    for halt in [
        Input::Abort {
            reason: AbortReason::Unready {
                max: 0,
                vmis: vec!["prod/db-1".into()],
            },
        },
        Input::Signal(Signal::Interrupt),
        Input::Signal(Signal::Terminate),
    ] {
        let (mut core, start) = core_with(vec![spec(&case(Plan::KeepDown))], &["old"]);
        let fx = core.handle(Input::Begin, start);
        assert!(matches!(
            fx[..],
            [Effect::SetStrategy { restore: false, .. }]
        ));
        assert_eq!(core.runs()[0].state, State::Switching);
        let fx = core.handle(halt.clone(), start + MS);
        assert_eq!(deletes(&fx), 0, "{halt:?}");
        // The switch lands after the halt: put back at once, never deleted.
        let fx = core.handle(
            Input::KeptDown {
                target: 0,
                result: Ok(()),
            },
            start + MS * 2,
        );
        assert_eq!(deletes(&fx), 0, "{halt:?}: deleted after the halt: {fx:?}");
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::SetStrategy { restore: true, to, .. } if to == "Always"
            )),
            "{halt:?}: {fx:?}"
        );
        assert!(core.runs()[0].deleted_at.is_none());
        assert!(matches!(
            core.runs()[0].outcome(),
            Some(Outcome::NotDeleted(_))
        ));
        assert!(!core.done(), "waits for the runStrategy to be put back");
        core.handle(
            Input::StrategyRestored {
                target: 0,
                result: Ok(()),
            },
            start + MS * 3,
        );
        assert!(core.done());
        assert_eq!(core.runs()[0].comeback(), Comeback::Nothing);
        // Whatever comes later, nothing is deleted.
        let fx = core.handle(Input::Tick, start + Duration::from_secs(600));
        assert_eq!(deletes(&fx), 0);
    }
}

#[test]
fn a_switch_answered_after_the_run_stopped_is_put_back_and_its_restore_command_shown() {
    let (mut core, start) = core_with(vec![spec(&case(Plan::KeepDown))], &["old"]);
    core.handle(Input::Begin, start);
    core.handle(Input::Signal(Signal::Interrupt), start);
    core.handle(Input::Signal(Signal::Interrupt), start + MS);
    assert!(core.done());
    // Until its answer comes, the VM may be at Manual: restore puts it back.
    assert_eq!(core.runs()[0].comeback(), Comeback::Restore);
    let fx = core.handle(
        Input::KeptDown {
            target: 0,
            result: Ok(()),
        },
        start + MS * 2,
    );
    assert_eq!(deletes(&fx), 0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::SetStrategy { restore: true, .. })));
    core.handle(
        Input::StrategyRestored {
            target: 0,
            result: Ok(()),
        },
        start + MS * 3,
    );
    assert_eq!(core.runs()[0].comeback(), Comeback::Nothing);
}

#[test]
fn a_start_answered_after_a_second_signal_is_recorded() {
    let (mut core, start) = core_with(vec![spec(&case(Plan::Start))], &["old"]);
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start + MS,
    );
    core.handle(
        Input::Gone {
            namespace: "prod".into(),
            uid: "old".into(),
        },
        start + MS * 300,
    );
    // Ctrl-C: the tool starts the VM at once; a second Ctrl-C a millisecond later.
    let fx = core.handle(Input::Signal(Signal::Interrupt), start + MS * 400);
    assert!(fx.contains(&Effect::Start { target: 0 }));
    let fx = core.handle(Input::Signal(Signal::Interrupt), start + MS * 401);
    assert!(core.done());
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Start { .. } | Effect::Delete { .. })));
    assert_eq!(
        core.runs()[0].outcome(),
        Some(&Outcome::Interrupted { running: false })
    );
    // The shell finishes sending it: its answer is still taken.
    core.handle(
        Input::ActionDone {
            target: 0,
            result: ActionResult::Started,
        },
        start + MS * 450,
    );
    assert_eq!(core.runs()[0].acted(), Some(Recovery::Start));
    // Never started twice, whatever comes.
    let fx = core.handle(Input::Tick, start + Duration::from_secs(600));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Start { .. })));
    assert_eq!(core.runs()[0].comeback(), Comeback::Restore);
}

fn rs_spec(name: &str, uid: &str) -> TargetSpec {
    TargetSpec {
        name: name.into(),
        uid: uid.into(),
        ..spec(&case(Plan::Follow))
    }
}

fn rs_vmi(name: &str, uid: &str, phase: &str, ready: bool) -> Vmi {
    Vmi {
        owner: Some(Owner {
            kind: "VirtualMachineInstanceReplicaSet".into(),
            name: "web".into(),
            uid: "rs".into(),
        }),
        ..vmi(name, uid, phase, ready)
    }
}

fn seen(v: Vmi) -> Input {
    Input::Seen {
        vmi: Box::new(v),
        live: true,
    }
}

#[test]
fn two_vmis_of_one_replica_set_each_claim_their_own_replacement() {
    let (mut core, start) = core_with(
        vec![rs_spec("web-aaaaa", "a"), rs_spec("web-bbbbb", "b")],
        &["a", "b", "c"],
    );
    let fx = core.handle(Input::Begin, start);
    assert_eq!(deletes(&fx), 2);
    for t in 0..2 {
        core.handle(
            Input::Deleted {
                target: t,
                result: DeleteResult::Accepted,
            },
            start + MS * 5,
        );
    }
    // The replica set creates both replacements before either is Ready.
    core.handle(
        seen(rs_vmi("web-xxxxx", "x", "Pending", false)),
        start + MS * 10,
    );
    core.handle(
        seen(rs_vmi("web-yyyyy", "y", "Pending", false)),
        start + MS * 11,
    );
    let followed: Vec<_> = core
        .runs()
        .iter()
        .map(|r| r.tracker.current().map(|c| c.uid.clone()))
        .collect();
    assert_eq!(followed, vec![Some("x".into()), Some("y".into())]);
    for (ms, v) in [(1_500, "x"), (1_501, "y")] {
        let name = format!("web-{}", v.repeat(5));
        core.handle(seen(rs_vmi(&name, v, "Running", true)), start + MS * ms);
    }
    assert!(core.done());
    for r in core.runs() {
        assert_eq!(r.outcome(), Some(&Outcome::Recovered), "{:?}", r.spec.name);
    }
}

#[test]
fn a_replacement_followed_by_a_target_whose_delete_was_refused_goes_to_another() {
    let (mut core, start) = core_with(
        vec![rs_spec("web-aaaaa", "a"), rs_spec("web-bbbbb", "b")],
        &["a", "b", "c"],
    );
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 1,
            result: DeleteResult::Accepted,
        },
        start + MS,
    );
    // Target 0's DELETE is still out when b's replacement appears: target 0 takes it first.
    core.handle(
        seen(rs_vmi("web-xxxxx", "x", "Pending", false)),
        start + MS * 2,
    );
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Refused("forbidden".into()),
        },
        start + MS * 3,
    );
    assert!(core.runs()[0].tracker.current().is_none());
    assert_eq!(core.runs()[1].tracker.current().unwrap().uid, "x");
    core.handle(
        seen(rs_vmi("web-xxxxx", "x", "Running", true)),
        start + MS * 1_500,
    );
    assert_eq!(core.runs()[1].outcome(), Some(&Outcome::Recovered));
}

#[test]
fn the_restore_command_is_suggested_only_where_restore_works() {
    // Still down: restore brings it back.
    let (mut core, start) = core_with(vec![spec(&case(Plan::Automatic))], &["old"]);
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    core.handle(Input::Tick, start + Duration::from_secs(5));
    core.handle(Input::Tick, start + Duration::from_secs(15));
    assert!(matches!(
        core.runs()[0].outcome(),
        Some(Outcome::NotRecovered(_))
    ));
    assert_eq!(core.runs()[0].comeback(), Comeback::Restore);
    // A replacement exists but is not Ready: restore would refuse it.
    let (mut core, start) = core_with(vec![spec(&case(Plan::Automatic))], &["old"]);
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    core.handle(seen(vmi("db-0", "new", "Running", false)), start + MS * 400);
    core.handle(Input::Tick, start + Duration::from_secs(11));
    assert_eq!(
        core.runs()[0].outcome(),
        Some(&Outcome::NotRecovered(NotRecovered::NotReady))
    );
    assert_eq!(
        core.runs()[0].comeback(),
        Comeback::ReplacementExists {
            name: "db-0".into()
        }
    );
    // A replica set's VMI: never re-created by hand.
    let (mut core, start) = core_with(vec![rs_spec("web-aaaaa", "a")], &["a"]);
    core.handle(Input::Begin, start);
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    core.handle(Input::Tick, start + Duration::from_secs(5));
    core.handle(Input::Tick, start + Duration::from_secs(15));
    assert!(core.done());
    assert_eq!(core.runs()[0].comeback(), Comeback::ReplicaSet);
}

#[test]
fn astronomical_durations_never_overflow_the_clock() {
    let start = Instant::now();
    let huge = Duration::from_secs(u64::MAX / 2);
    let mut core = Core::new(
        CoreConfig {
            duration: huge,
            timeout: huge,
            interrupt_wait: huge,
            serial_interval: Some(huge),
        },
        vec![spec(&case(Plan::KeepDown)), spec(&case(Plan::Start))],
        HashSet::new(),
        (start, SystemTime::now()),
    );
    core.handle(Input::Begin, start);
    core.handle(
        Input::KeptDown {
            target: 0,
            result: Ok(()),
        },
        start,
    );
    core.handle(
        Input::Deleted {
            target: 0,
            result: DeleteResult::Accepted,
        },
        start,
    );
    assert!(core.next_deadline().is_some_and(|d| d > start));
    core.handle(Input::Signal(Signal::Interrupt), start + MS);
    assert!(core.next_deadline().is_some());
}

#[test]
fn a_crashed_manual_vm_stays_failed_until_the_tool_starts_it_after_duration() {
    let case = Case {
        plan: Plan::Start,
        comes: Comes::Never,
        interrupt: Interrupt::None,
        gap: None,
    };
    let ran = run_in(case, true);
    assert_eq!(ran.run.outcome().cloned(), Some(Outcome::Recovered));
    assert_eq!(ran.run.acted(), Some(Recovery::Start));
    let t = &ran.run.tracker.timings;
    // Failed when KubeVirt saw the launcher gone; gone only after the tool's start.
    assert_eq!(t.failed_ms, Some(50));
    assert!(t.gone_ms.unwrap() >= 5_000, "{t:?}");
    let said_failed = ran.world.events.iter().any(|e| {
        matches!(
            e,
            Event::Target {
                what: TargetEvent::Step(Step::OldFailed),
                ..
            }
        )
    });
    assert!(said_failed, "the timeline shows Failed");
    let crashed = ran.world.events.iter().any(|e| {
        matches!(
            e,
            Event::Target {
                what: TargetEvent::Deleted {
                    launcher: Some(_),
                    ..
                },
                ..
            }
        )
    });
    assert!(crashed, "the fault names the launcher pod");
}
