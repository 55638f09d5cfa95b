//! The VMI lifecycle as a pure step function: given what a VMI looks like, what the simulator
//! remembers about it and the time, which single write comes next (or how long to wait).

use std::{collections::BTreeMap, time::Duration};

use tokio::time::Instant;

use crate::{knobs, kubevirt::Phase, SimConfig};

/// How one VMI behaves: the simulator's defaults overridden by the VMI's knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Pending -> Running; each of the three steps takes a third.
    pub boot: Duration,
    pub ready: Duration,
    pub shutdown: Duration,
    pub fail_after: Option<Duration>,
    pub never_ready: bool,
    pub stuck_in: Option<Phase>,
    pub block_deletion: bool,
    /// Once Ready: pause (condition Paused=True).
    pub paused: bool,
    /// Once Ready: start a live migration that never completes.
    pub migrating: bool,
}

impl Timing {
    /// `grace_seconds`: the VMI's `spec.terminationGracePeriodSeconds` (KubeVirt's default: 30).
    pub fn of(
        annotations: &BTreeMap<String, String>,
        grace_seconds: Option<i64>,
        config: &SimConfig,
    ) -> Timing {
        let grace = Duration::from_secs(grace_seconds.unwrap_or(30).max(0) as u64);
        let scaled = grace.mul_f64(if config.grace_scale.is_finite() {
            config.grace_scale.max(0.0)
        } else {
            0.0
        });
        Timing {
            boot: knobs::duration(annotations, knobs::BOOT_DELAY).unwrap_or(config.boot_delay),
            ready: knobs::duration(annotations, knobs::READY_DELAY).unwrap_or(config.ready_delay),
            shutdown: knobs::duration(annotations, knobs::SHUTDOWN_DELAY).unwrap_or(scaled),
            fail_after: knobs::duration(annotations, knobs::FAIL_AFTER),
            never_ready: knobs::flag(annotations, knobs::NEVER_READY),
            stuck_in: knobs::stuck_in(annotations),
            block_deletion: knobs::flag(annotations, knobs::BLOCK_DELETION),
            paused: knobs::flag(annotations, knobs::PAUSED),
            migrating: knobs::flag(annotations, knobs::MIGRATING),
        }
    }
}

/// What the simulator remembers about one VMI (by UID), so that a stale view from the watch cache
/// never makes it repeat a step, and so that delays are measured from its own writes.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The furthest phase written or seen, and since when.
    pub phase: Option<(Phase, Instant)>,
    pub ready: bool,
    /// Paused, and migrating, written (knobs `PAUSED`, `MIGRATING`).
    pub paused: bool,
    pub migrating: bool,
    /// When the simulator first saw the deletionTimestamp.
    pub shutdown_since: Option<Instant>,
    pub node: Option<String>,
    pub ip: Option<String>,
    /// `status.phaseTransitionTimestamps` written so far.
    pub transitions: Vec<(Phase, String)>,
}

impl Progress {
    /// Folds in the phase seen on the object: whichever is further wins.
    pub fn observe(&mut self, seen: Option<Phase>, now: Instant) -> Option<Phase> {
        match (self.phase, seen) {
            (Some((mine, _)), Some(seen)) if seen <= mine => {}
            (_, Some(seen)) => self.phase = Some((seen, now)),
            (_, None) => {}
        }
        self.phase.map(|(p, _)| p)
    }
}

/// What the VMI looks like now (phase already folded with `Progress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub phase: Option<Phase>,
    pub ready: bool,
    /// Condition Paused=True.
    pub paused: bool,
    /// `status.migrationState` is there.
    pub migrating: bool,
    pub deleting: bool,
    /// Holds every finalizer the simulator should have put on it.
    pub admitted: bool,
    /// Still holds the KubeVirt finalizer (deletion: ours to remove).
    pub has_finalizer: bool,
    /// Its launcher pod is gone (looked up only while a live VMI needs one).
    pub launcher_gone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Add the finalizer(s) and set phase Pending.
    Admit,
    /// Write this phase (Scheduling creates the launcher pod first).
    Advance(Phase),
    BecomeReady,
    /// Condition Paused=True, as after `virtctl pause vmi`.
    Pause,
    /// `status.migrationState`, not completed.
    Migrate,
    Fail,
    /// The launcher pod vanished under a live VMI (a crash): phase Failed, as virt-controller
    /// sets it when the pod of a Scheduling, Scheduled or Running VMI no longer exists.
    LauncherGone,
    /// Guest shutdown over: phase Succeeded, launcher pod gone, KubeVirt finalizer removed.
    Finish,
    WaitFor(Duration),
    Idle,
}

pub fn next_step(seen: &Seen, progress: &Progress, timing: &Timing, now: Instant) -> Step {
    if seen.deleting {
        if !seen.has_finalizer {
            return Step::Idle;
        }
        // Only a Running VMI has a guest to shut down.
        let shutdown = match seen.phase {
            Some(Phase::Running) => timing.shutdown,
            _ => Duration::ZERO,
        };
        let since = progress.shutdown_since.unwrap_or(now);
        return wait_or(since + shutdown, now, Step::Finish);
    }
    if !seen.admitted {
        return Step::Admit;
    }
    let Some(phase) = seen.phase else {
        return Step::Admit;
    };
    if seen.launcher_gone && needs_launcher(phase) {
        return Step::LauncherGone;
    }
    if timing.stuck_in == Some(phase) {
        return Step::Idle;
    }
    let since = progress.phase.map_or(now, |(_, t)| t);
    let third = timing.boot / 3;
    match phase {
        Phase::Pending => wait_or(since + third, now, Step::Advance(Phase::Scheduling)),
        Phase::Scheduling => wait_or(since + third, now, Step::Advance(Phase::Scheduled)),
        Phase::Scheduled => wait_or(since + third, now, Step::Advance(Phase::Running)),
        Phase::Running => {
            let was_ready = seen.ready || progress.ready;
            if was_ready && timing.paused && !seen.paused && !progress.paused {
                return Step::Pause;
            }
            if was_ready && timing.migrating && !seen.migrating && !progress.migrating {
                return Step::Migrate;
            }
            let ready = (!seen.ready && !progress.ready && !timing.never_ready)
                .then(|| (since + timing.ready, Step::BecomeReady));
            let fail = timing.fail_after.map(|d| (since + d, Step::Fail));
            match [fail, ready]
                .into_iter()
                .flatten()
                .min_by_key(|(at, _)| *at)
            {
                Some((at, step)) => wait_or(at, now, step),
                None => Step::Idle,
            }
        }
        Phase::Succeeded | Phase::Failed => Step::Idle,
    }
}

/// The phases in which KubeVirt expects the VMI's launcher pod to exist (and fails the VMI
/// when it does not): `lifecycle.go`'s Scheduling, Scheduled and Running cases.
pub fn needs_launcher(phase: Phase) -> bool {
    matches!(phase, Phase::Scheduling | Phase::Scheduled | Phase::Running)
}

fn wait_or(at: Instant, now: Instant, step: Step) -> Step {
    if at > now {
        Step::WaitFor(at - now)
    } else {
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            boot: Duration::from_millis(300),
            ready: Duration::from_millis(200),
            shutdown: Duration::from_millis(500),
            fail_after: None,
            never_ready: false,
            stuck_in: None,
            block_deletion: false,
            paused: false,
            migrating: false,
        }
    }

    fn seen(phase: Option<Phase>) -> Seen {
        Seen {
            phase,
            ready: false,
            paused: false,
            migrating: false,
            deleting: false,
            admitted: true,
            has_finalizer: true,
            launcher_gone: false,
        }
    }

    fn at(phase: Phase, since: Instant) -> Progress {
        Progress {
            phase: Some((phase, since)),
            ..Default::default()
        }
    }

    const MS: Duration = Duration::from_millis(1);

    /// A crash: the launcher pod of a live VMI is gone (deleted with no grace) and the VMI is
    /// not being deleted: Failed at once, whatever the knobs; a deleted or final VMI is not.
    #[test]
    fn a_live_vmi_whose_launcher_vanished_fails() {
        let now = Instant::now();
        for phase in [Phase::Scheduling, Phase::Scheduled, Phase::Running] {
            let crashed = Seen {
                launcher_gone: true,
                ready: phase == Phase::Running,
                ..seen(Some(phase))
            };
            let stuck = Timing {
                stuck_in: Some(phase),
                ..timing()
            };
            for t in [timing(), stuck] {
                assert_eq!(
                    next_step(&crashed, &at(phase, now), &t, now),
                    Step::LauncherGone,
                    "{phase:?}"
                );
            }
        }
        let pending = Seen {
            launcher_gone: true,
            ..seen(Some(Phase::Pending))
        };
        assert_ne!(
            next_step(&pending, &at(Phase::Pending, now), &timing(), now),
            Step::LauncherGone
        );
        let failed = Seen {
            launcher_gone: true,
            ..seen(Some(Phase::Failed))
        };
        assert_eq!(
            next_step(&failed, &at(Phase::Failed, now), &timing(), now),
            Step::Idle
        );
        // Being deleted: the shutdown path, not a crash.
        let deleting = Seen {
            launcher_gone: true,
            deleting: true,
            ..seen(Some(Phase::Running))
        };
        assert_eq!(
            next_step(&deleting, &Progress::default(), &timing(), now),
            Step::WaitFor(Duration::from_millis(500))
        );
    }

    #[test]
    fn a_new_vmi_is_admitted_first() {
        let now = Instant::now();
        let new = Seen {
            admitted: false,
            has_finalizer: false,
            ..seen(None)
        };
        assert_eq!(
            next_step(&new, &Progress::default(), &timing(), now),
            Step::Admit
        );
    }

    #[test]
    fn boot_is_split_evenly_over_three_phases() {
        let t0 = Instant::now();
        let steps = [
            (Phase::Pending, Phase::Scheduling),
            (Phase::Scheduling, Phase::Scheduled),
            (Phase::Scheduled, Phase::Running),
        ];
        for (from, to) in steps {
            let p = at(from, t0);
            assert_eq!(
                next_step(&seen(Some(from)), &p, &timing(), t0 + 40 * MS),
                Step::WaitFor(60 * MS)
            );
            assert_eq!(
                next_step(&seen(Some(from)), &p, &timing(), t0 + 100 * MS),
                Step::Advance(to)
            );
        }
    }

    #[test]
    fn running_becomes_ready_after_the_ready_delay_then_idles() {
        let t0 = Instant::now();
        let p = at(Phase::Running, t0);
        let running = seen(Some(Phase::Running));
        assert_eq!(
            next_step(&running, &p, &timing(), t0 + 50 * MS),
            Step::WaitFor(150 * MS)
        );
        assert_eq!(
            next_step(&running, &p, &timing(), t0 + 200 * MS),
            Step::BecomeReady
        );
        let ready = Seen {
            ready: true,
            ..running.clone()
        };
        assert_eq!(next_step(&ready, &p, &timing(), t0 + 300 * MS), Step::Idle);
        let never = Timing {
            never_ready: true,
            ..timing()
        };
        assert_eq!(next_step(&running, &p, &never, t0 + 300 * MS), Step::Idle);
    }

    #[test]
    fn fail_after_wins_when_it_comes_first_and_still_fails_a_ready_vmi() {
        let t0 = Instant::now();
        let p = at(Phase::Running, t0);
        let failing = Timing {
            fail_after: Some(100 * MS),
            ..timing()
        };
        let running = seen(Some(Phase::Running));
        assert_eq!(
            next_step(&running, &p, &failing, t0),
            Step::WaitFor(100 * MS)
        );
        assert_eq!(next_step(&running, &p, &failing, t0 + 100 * MS), Step::Fail);
        let late = Timing {
            fail_after: Some(time(1000)),
            ..timing()
        };
        let ready = Seen {
            ready: true,
            ..running
        };
        assert_eq!(
            next_step(&ready, &p, &late, t0 + 300 * MS),
            Step::WaitFor(700 * MS)
        );
        assert_eq!(next_step(&ready, &p, &late, t0 + time(1000)), Step::Fail);
    }

    fn time(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_ready_vmi_is_paused_then_migrated_once_each() {
        let t0 = Instant::now();
        let staged = Timing {
            paused: true,
            migrating: true,
            ..timing()
        };
        let running = seen(Some(Phase::Running));
        let p = at(Phase::Running, t0);
        // Not before Ready.
        assert_eq!(
            next_step(&running, &p, &staged, t0 + 200 * MS),
            Step::BecomeReady
        );
        let ready = Seen {
            ready: true,
            ..running
        };
        assert_eq!(next_step(&ready, &p, &staged, t0 + 300 * MS), Step::Pause);
        let paused = Seen {
            paused: true,
            ..ready.clone()
        };
        assert_eq!(
            next_step(&paused, &p, &staged, t0 + 300 * MS),
            Step::Migrate
        );
        let both = Seen {
            migrating: true,
            ..paused
        };
        assert_eq!(next_step(&both, &p, &staged, t0 + 300 * MS), Step::Idle);
        // What the simulator wrote counts even when the watch cache lags.
        let remembered = Progress {
            paused: true,
            migrating: true,
            ..p
        };
        assert_eq!(next_step(&ready, &remembered, &staged, t0), Step::Idle);
    }

    #[test]
    fn stuck_in_stops_progress_there() {
        let t0 = Instant::now();
        let stuck = Timing {
            stuck_in: Some(Phase::Scheduling),
            ..timing()
        };
        let p = at(Phase::Scheduling, t0);
        assert_eq!(
            next_step(
                &seen(Some(Phase::Scheduling)),
                &p,
                &stuck,
                t0 + time(10_000)
            ),
            Step::Idle
        );
        let p = at(Phase::Pending, t0);
        assert_eq!(
            next_step(&seen(Some(Phase::Pending)), &p, &stuck, t0 + time(100)),
            Step::Advance(Phase::Scheduling)
        );
    }

    #[test]
    fn deletion_waits_for_the_guest_shutdown_then_finishes() {
        let t0 = Instant::now();
        let deleting = Seen {
            deleting: true,
            ..seen(Some(Phase::Running))
        };
        let p = Progress {
            shutdown_since: Some(t0),
            ..at(Phase::Running, t0)
        };
        assert_eq!(
            next_step(&deleting, &p, &timing(), t0 + 100 * MS),
            Step::WaitFor(400 * MS)
        );
        assert_eq!(
            next_step(&deleting, &p, &timing(), t0 + 500 * MS),
            Step::Finish
        );
        for phase in [Phase::Failed, Phase::Scheduling] {
            let no_guest = Seen {
                deleting: true,
                ..seen(Some(phase))
            };
            assert_eq!(next_step(&no_guest, &p, &timing(), t0), Step::Finish);
        }
        let released = Seen {
            has_finalizer: false,
            ..deleting
        };
        assert_eq!(
            next_step(&released, &p, &timing(), t0 + time(10_000)),
            Step::Idle
        );
    }

    #[test]
    fn progress_never_goes_back_to_a_stale_phase() {
        let t0 = Instant::now();
        let mut p = at(Phase::Scheduled, t0);
        assert_eq!(
            p.observe(Some(Phase::Scheduling), t0 + MS),
            Some(Phase::Scheduled)
        );
        assert_eq!(p.phase, Some((Phase::Scheduled, t0)));
        assert_eq!(
            p.observe(Some(Phase::Running), t0 + MS),
            Some(Phase::Running)
        );
        assert_eq!(p.phase, Some((Phase::Running, t0 + MS)));
    }

    #[test]
    fn knobs_override_the_defaults_and_grace_is_scaled() {
        let config = SimConfig {
            grace_scale: 0.01,
            ..SimConfig::default()
        };
        let mut a = BTreeMap::new();
        assert_eq!(Timing::of(&a, None, &config).shutdown, time(300));
        assert_eq!(Timing::of(&a, Some(60), &config).shutdown, time(600));
        a.insert(knobs::SHUTDOWN_DELAY.to_string(), "2s".to_string());
        a.insert(knobs::BOOT_DELAY.to_string(), "90ms".to_string());
        let t = Timing::of(&a, Some(60), &config);
        assert_eq!(
            (t.shutdown, t.boot, t.ready),
            (time(2000), time(90), config.ready_delay)
        );
    }
}
