//! One target's recovery as seen through the namespace watch: which VMI replaced the deleted one,
//! and when each step happened. Pure: fed observations and the time since the DELETE.
//!
//! Times come from two places. Seen live, a step is timed when the watch event arrived (ms
//! accurate). Not seen live — the watch had a gap and a re-list found the VMI further along, or
//! one write moved it past a phase — the step is filled in from the VMI's own
//! `status.phaseTransitionTimestamps`, `creationTimestamp` and Ready condition, which KubeVirt
//! writes with 1 s resolution; `sources` says which timing came from where.

use std::{collections::BTreeMap, time::Duration};

pub use crate::events::Step;
use crate::{
    kubevirt::{Timestamp, Vmi},
    report::Timings,
};

/// Where a timing came from.
pub const FROM_WATCH: &str = "watch";
pub const FROM_SERVER: &str = "server";

/// The phases a replacement goes through, in order, and the timing each one sets.
const PHASES: [&str; 3] = ["Scheduling", "Scheduled", "Running"];

#[derive(Debug, Clone)]
pub struct Tracker {
    old_name: String,
    old_uid: String,
    old_gone: bool,
    old_terminating_seen: bool,
    /// The old VMI was seen `Failed` (a crash: KubeVirt saw its launcher vanish).
    old_failed: bool,
    /// The replacement VMI, as last seen.
    current: Option<Vmi>,
    pub timings: Timings,
    pub sources: BTreeMap<String, String>,
    /// Wall-clock time of the DELETE, to place server timestamps (None before the DELETE).
    injected_at: Option<Timestamp>,
}

impl Tracker {
    pub fn new(old_name: impl Into<String>, old_uid: impl Into<String>) -> Self {
        Tracker {
            old_name: old_name.into(),
            old_uid: old_uid.into(),
            old_gone: false,
            old_terminating_seen: false,
            old_failed: false,
            current: None,
            timings: Timings::default(),
            sources: BTreeMap::new(),
            injected_at: None,
        }
    }

    pub fn set_injected_at(&mut self, at: Timestamp) {
        self.injected_at = Some(at);
    }

    pub fn old_uid(&self) -> &str {
        &self.old_uid
    }

    /// The old VMI was seen `Failed` (or is gone, which a Failed VMI becomes).
    pub fn old_failed(&self) -> bool {
        self.old_failed
    }

    /// The deleted (or crashed) VMI changed: Failed, or terminating. `at`: since the fault.
    pub fn old_seen(&mut self, vmi: &Vmi, at: Duration) -> Vec<Step> {
        let mut steps = Vec::new();
        if vmi.phase == "Failed" && !self.old_failed && !self.old_gone {
            self.old_failed = true;
            self.timings.failed_ms = Some(at.as_millis() as u64);
            self.sources.insert("failedMs".into(), FROM_WATCH.into());
            steps.push(Step::OldFailed);
        }
        steps.extend(self.old_changed(vmi));
        steps
    }

    fn old_changed(&mut self, vmi: &Vmi) -> Vec<Step> {
        if vmi.terminating && !self.old_terminating_seen && !self.old_gone {
            self.old_terminating_seen = true;
            return vec![Step::OldTerminating {
                finalizers: vmi.finalizers.clone(),
            }];
        }
        Vec::new()
    }

    /// The deleted VMI is gone.
    pub fn old_gone_now(&mut self, at: Duration) -> Vec<Step> {
        let mut steps = Vec::new();
        self.mark_old_gone(at, &mut steps);
        steps
    }

    /// The replacement VMI in this state, seen `at` after the DELETE; `live` is false when a
    /// re-list after a watch gap found it (its steps are then timed by the server).
    pub fn replacement_seen(&mut self, vmi: Vmi, at: Duration, live: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        // Same name: a new UID means the old VMI is gone, seen or not. (A replica set's
        // replacement has another name and may come while the old VMI still terminates.)
        if vmi.name == self.old_name && !self.old_gone {
            // Not seen live: the old one went no later than the new one was created.
            let server = (!live)
                .then(|| vmi.created.and_then(|t| self.server_ms(t)))
                .flatten();
            self.mark_old_gone(at, &mut steps);
            if let Some(ms) = server {
                self.timings.gone_ms = Some(ms.min(at.as_millis() as u64));
                self.sources.insert("goneMs".into(), FROM_SERVER.into());
            }
        }
        let is_new = self.current.as_ref().is_none_or(|c| c.uid != vmi.uid);
        if is_new {
            // A replacement of a replacement starts the timings over (but the old one's gone).
            let gone = self.timings.gone_ms;
            let gone_source = self.sources.get("goneMs").cloned();
            self.timings = Timings {
                failed_ms: self.timings.failed_ms,
                gone_ms: gone,
                ..Timings::default()
            };
            let failed_source = self.sources.get("failedMs").cloned();
            self.sources.clear();
            if let Some(s) = failed_source {
                self.sources.insert("failedMs".into(), s);
            }
            if let Some(s) = gone_source {
                self.sources.insert("goneMs".into(), s);
            }
            let created = if live {
                None
            } else {
                vmi.created.and_then(|t| self.server_ms(t))
            };
            self.set("createdMs", created, at, live, true);
            steps.push(Step::NewCreated {
                name: vmi.name.clone(),
                uid: vmi.uid.clone(),
            });
        }
        let before = if is_new { None } else { self.current.clone() };
        let phase_changed = before.as_ref().is_none_or(|b| b.phase != vmi.phase);
        if phase_changed && !(is_new && vmi.phase == "Pending") {
            steps.push(Step::Phase {
                phase: vmi.phase.clone(),
            });
        }
        // Every phase up to the current one: the current one seen now (if live), the ones it
        // skipped from the server's timestamps.
        if let Some(reached) = PHASES.iter().position(|p| *p == vmi.phase) {
            for (i, phase) in PHASES.iter().enumerate().take(reached + 1) {
                let key = phase_key(phase);
                let server = vmi.phase_since(phase).and_then(|t| self.server_ms(t));
                self.set(key, server, at, i == reached && live, i == reached);
            }
        }
        let was_ready = before.as_ref().is_some_and(|b| b.ready);
        if vmi.ready && !was_ready {
            let server = vmi.ready_since.and_then(|t| self.server_ms(t));
            self.set("readyMs", server, at, live, true);
            steps.push(Step::Ready);
        } else if !vmi.ready && was_ready {
            steps.push(Step::ReadyLost);
        }
        self.current = Some(vmi);
        self.keep_order();
        steps
    }

    /// The replacement with this UID is gone again.
    pub fn replacement_gone(&mut self, uid: &str) -> Vec<Step> {
        if self.current.as_ref().is_some_and(|c| c.uid == uid) {
            self.current = None;
            return vec![Step::NewGone { uid: uid.into() }];
        }
        Vec::new()
    }

    /// Sets a timing once: now if seen live, else from the server, else now (late). A step the
    /// event itself shows (`shown`: its current phase, its Ready, its creation) that arrives
    /// within the second its server timestamp names may have been seen as it happened (a
    /// replayed window also carries live events): the arrival, ms-accurate, is then the better
    /// time; the server's whole second could be up to a second early.
    fn set(&mut self, key: &str, server: Option<u64>, at: Duration, live: bool, shown: bool) {
        let slot = match key {
            "createdMs" => &mut self.timings.created_ms,
            "schedulingMs" => &mut self.timings.scheduling_ms,
            "scheduledMs" => &mut self.timings.scheduled_ms,
            "runningMs" => &mut self.timings.running_ms,
            "readyMs" => &mut self.timings.ready_ms,
            _ => return,
        };
        if slot.is_some() {
            return;
        }
        let arrived = at.as_millis() as u64;
        let (value, source) = match (live, server) {
            (true, _) | (false, None) => (arrived, FROM_WATCH),
            (false, Some(ms)) if shown && arrived < ms + 1000 => (arrived, FROM_WATCH),
            (false, Some(ms)) => (ms, FROM_SERVER),
        };
        *slot = Some(value);
        self.sources.insert(key.into(), source.into());
    }

    /// Milliseconds from the DELETE to a server timestamp (second resolution: never before 0).
    fn server_ms(&self, t: Timestamp) -> Option<u64> {
        let injected = self.injected_at?;
        let ms = t.duration_since(injected).as_millis();
        Some(ms.max(0) as u64)
    }

    /// Server timestamps have 1 s resolution: never let a filled step come before the step
    /// it follows.
    fn keep_order(&mut self) {
        let t = &mut self.timings;
        let mut floor = t.gone_ms.unwrap_or(0).min(t.created_ms.unwrap_or(0));
        for v in [
            &mut t.created_ms,
            &mut t.scheduling_ms,
            &mut t.scheduled_ms,
            &mut t.running_ms,
            &mut t.ready_ms,
        ]
        .into_iter()
        .flatten()
        {
            if *v < floor {
                *v = floor;
            }
            floor = *v;
        }
    }

    fn mark_old_gone(&mut self, at: Duration, steps: &mut Vec<Step>) {
        if !self.old_gone {
            self.old_gone = true;
            self.timings.gone_ms = Some(at.as_millis() as u64);
            self.sources.insert("goneMs".into(), FROM_WATCH.into());
            steps.push(Step::OldGone);
        }
    }

    pub fn old_terminating_seen(&self) -> bool {
        self.old_terminating_seen
    }

    pub fn old_gone(&self) -> bool {
        self.old_gone
    }

    /// The replacement VMI, if one exists.
    pub fn current(&self) -> Option<&Vmi> {
        self.current.as_ref()
    }

    /// A replacement VMI is Running.
    pub fn running(&self) -> bool {
        self.current.as_ref().is_some_and(Vmi::is_running)
    }

    /// A replacement VMI is Running and Ready: recovered.
    pub fn recovered(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| c.is_running() && c.ready)
    }
}

fn phase_key(phase: &str) -> &'static str {
    match phase {
        "Scheduling" => "schedulingMs",
        "Scheduled" => "scheduledMs",
        _ => "runningMs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(uid: &str, phase: &str, ready: bool) -> Vmi {
        Vmi {
            name: "db-0".into(),
            namespace: "prod".into(),
            uid: uid.into(),
            phase: phase.into(),
            ready,
            ..Vmi::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn follows_a_full_recovery_seen_live() {
        let mut t = Tracker::new("db-0", "old");
        let s = t.old_seen(
            &Vmi {
                terminating: true,
                finalizers: vec!["f".into()],
                ..vmi("old", "Running", true)
            },
            ms(10),
        );
        assert!(matches!(s[..], [Step::OldTerminating { .. }]));
        assert_eq!(t.old_gone_now(ms(300)), vec![Step::OldGone]);
        let s = t.replacement_seen(vmi("new", "Pending", false), ms(310), true);
        assert_eq!(
            s,
            vec![Step::NewCreated {
                name: "db-0".into(),
                uid: "new".into()
            }]
        );
        for (phase, at) in [("Scheduling", 800), ("Scheduled", 1300), ("Running", 1800)] {
            let s = t.replacement_seen(vmi("new", phase, false), ms(at), true);
            assert_eq!(
                s,
                vec![Step::Phase {
                    phase: phase.into()
                }]
            );
        }
        assert!(t.running() && !t.recovered());
        assert_eq!(
            t.replacement_seen(vmi("new", "Running", true), ms(2000), true),
            vec![Step::Ready]
        );
        assert!(t.recovered());
        assert_eq!(
            t.timings,
            Timings {
                failed_ms: None,
                gone_ms: Some(300),
                created_ms: Some(310),
                scheduling_ms: Some(800),
                scheduled_ms: Some(1300),
                running_ms: Some(1800),
                ready_ms: Some(2000),
            }
        );
        assert!(t.sources.values().all(|s| s == FROM_WATCH));
    }

    #[test]
    fn a_new_uid_under_the_same_name_implies_the_old_one_is_gone() {
        let mut t = Tracker::new("db-0", "old");
        let s = t.replacement_seen(vmi("new", "Running", true), ms(50), true);
        assert_eq!(
            s,
            vec![
                Step::OldGone,
                Step::NewCreated {
                    name: "db-0".into(),
                    uid: "new".into()
                },
                Step::Phase {
                    phase: "Running".into()
                },
                Step::Ready
            ]
        );
        assert_eq!(t.timings.gone_ms, Some(50));
        assert!(t.recovered());
    }

    #[test]
    fn steps_missed_in_a_watch_gap_come_from_the_servers_timestamps() {
        let mut t = Tracker::new("db-0", "old");
        t.set_injected_at(ts("2026-01-01T00:00:00.400Z"));
        t.old_gone_now(ms(200));
        let relisted = Vmi {
            created: Some(ts("2026-01-01T00:00:01Z")),
            phase_transitions: vec![
                ("Pending".into(), ts("2026-01-01T00:00:01Z")),
                ("Scheduling".into(), ts("2026-01-01T00:00:02Z")),
                ("Scheduled".into(), ts("2026-01-01T00:00:03Z")),
                ("Running".into(), ts("2026-01-01T00:00:04Z")),
            ],
            ready_since: Some(ts("2026-01-01T00:00:05Z")),
            ..vmi("new", "Running", true)
        };
        // Found by a re-list 30 s later: nothing may be timed at 30 s.
        t.replacement_seen(relisted, ms(30_000), false);
        assert_eq!(t.timings.created_ms, Some(600));
        assert_eq!(t.timings.scheduling_ms, Some(1600));
        assert_eq!(t.timings.scheduled_ms, Some(2600));
        assert_eq!(t.timings.running_ms, Some(3600));
        assert_eq!(t.timings.ready_ms, Some(4600));
        assert_eq!(t.sources["runningMs"], FROM_SERVER);
        assert_eq!(t.sources["goneMs"], FROM_WATCH);
    }

    #[test]
    fn a_replayed_step_that_arrives_within_its_server_second_keeps_the_watch_time() {
        let mut t = Tracker::new("db-0", "old");
        t.set_injected_at(ts("2026-01-01T00:00:00.400Z"));
        t.replacement_seen(vmi("new", "Scheduled", false), ms(1_000), true);
        // After a gap, the resumed watch delivers Running within the second the server names
        // (00:00:04 = 3600 ms after the DELETE): possibly live, so the arrival stands...
        let running = Vmi {
            phase_transitions: vec![("Running".into(), ts("2026-01-01T00:00:04Z"))],
            ready_since: Some(ts("2026-01-01T00:00:04Z")),
            ..vmi("new", "Running", true)
        };
        t.replacement_seen(running, ms(4_240), false);
        assert_eq!(t.timings.running_ms, Some(4_240));
        assert_eq!(t.sources["runningMs"], FROM_WATCH);
        assert_eq!(t.timings.ready_ms, Some(4_240));
        // ...while a step that arrives later than its second could be is the server's.
        let mut late = Tracker::new("db-0", "old");
        late.set_injected_at(ts("2026-01-01T00:00:00.400Z"));
        late.replacement_seen(vmi("new", "Scheduled", false), ms(1_000), true);
        let running = Vmi {
            phase_transitions: vec![("Running".into(), ts("2026-01-01T00:00:04Z"))],
            ..vmi("new", "Running", false)
        };
        late.replacement_seen(running, ms(4_900), false);
        assert_eq!(late.timings.running_ms, Some(3_600));
        assert_eq!(late.sources["runningMs"], FROM_SERVER);
    }

    #[test]
    fn phases_skipped_between_two_live_events_are_filled_from_the_server() {
        let mut t = Tracker::new("db-0", "old");
        t.set_injected_at(ts("2026-01-01T00:00:00Z"));
        t.replacement_seen(vmi("new", "Pending", false), ms(100), true);
        let jumped = Vmi {
            phase_transitions: vec![
                ("Scheduling".into(), ts("2026-01-01T00:00:00Z")),
                ("Scheduled".into(), ts("2026-01-01T00:00:01Z")),
            ],
            ..vmi("new", "Running", false)
        };
        t.replacement_seen(jumped, ms(1500), true);
        assert_eq!(t.timings.running_ms, Some(1500));
        assert_eq!(t.sources["runningMs"], FROM_WATCH);
        // 0 s after the DELETE is before the VMI even existed: kept in order.
        assert_eq!(t.timings.scheduling_ms, Some(100));
        assert_eq!(t.timings.scheduled_ms, Some(1000));
        assert_eq!(t.sources["scheduledMs"], FROM_SERVER);
    }

    #[test]
    fn the_old_vmi_updating_is_not_a_recovery() {
        let mut t = Tracker::new("db-0", "old");
        let terminating = Vmi {
            terminating: true,
            ..vmi("old", "Running", true)
        };
        assert_eq!(t.old_seen(&terminating, Duration::ZERO).len(), 1);
        assert!(
            t.old_seen(&terminating, Duration::ZERO).is_empty(),
            "said once"
        );
        assert!(!t.running() && !t.old_gone());
    }

    #[test]
    fn a_replacement_that_dies_resets_the_phase_timings() {
        let mut t = Tracker::new("db-0", "old");
        t.replacement_seen(vmi("a", "Running", true), ms(10), true);
        assert_eq!(
            t.replacement_gone("a"),
            vec![Step::NewGone { uid: "a".into() }]
        );
        assert!(!t.running());
        t.replacement_seen(vmi("b", "Scheduling", false), ms(30), true);
        assert_eq!(t.timings.created_ms, Some(30));
        assert_eq!(t.timings.running_ms, None);
        assert_eq!(t.timings.gone_ms, Some(10));
    }

    #[test]
    fn losing_ready_is_reported_and_not_recovered() {
        let mut t = Tracker::new("db-0", "old");
        t.replacement_seen(vmi("a", "Running", true), ms(10), true);
        let s = t.replacement_seen(vmi("a", "Failed", false), ms(20), true);
        assert_eq!(
            s,
            vec![
                Step::Phase {
                    phase: "Failed".into()
                },
                Step::ReadyLost
            ]
        );
        assert!(!t.recovered());
    }
}
