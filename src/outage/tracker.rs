//! The recovery state machine: a pure function of the watch observations on one VMI name and
//! the time since the DELETE. The async loop around it (`watch.rs`, `run.rs`) stays thin.

use std::time::Duration;

use serde::Serialize;

use crate::kubevirt::Vmi;

/// One thing the watch told us about the VMI name.
#[derive(Debug, Clone)]
pub enum Observation {
    /// The object exists in this state (ADDED or MODIFIED, or a re-read).
    Seen(Box<Vmi>),
    /// The object with this UID is gone (DELETED, or a re-read found nothing).
    Gone { uid: Option<String> },
}

/// Milliseconds from the DELETE to each step of the recovery, as the watch events arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub gone_ms: Option<u64>,
    pub created_ms: Option<u64>,
    pub scheduling_ms: Option<u64>,
    pub scheduled_ms: Option<u64>,
    pub running_ms: Option<u64>,
    pub ready_ms: Option<u64>,
}

/// A step of the recovery, for the renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    OldTerminating { finalizers: Vec<String> },
    OldGone,
    NewCreated { uid: String },
    Phase { phase: String },
    Ready,
    ReadyLost,
    NewGone { uid: String },
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::OldTerminating { finalizers } if finalizers.is_empty() => {
                "old VMI terminating".into()
            }
            Step::OldTerminating { finalizers } => {
                format!(
                    "old VMI terminating (finalizers: {})",
                    finalizers.join(", ")
                )
            }
            Step::OldGone => "old VMI gone".into(),
            Step::NewCreated { uid } => format!("new VMI created (uid {uid})"),
            Step::Phase { phase } => phase.clone(),
            Step::Ready => "Ready".into(),
            Step::ReadyLost => "Ready lost".into(),
            Step::NewGone { uid } => format!("new VMI {uid} deleted again"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tracker {
    old_uid: String,
    old_gone: bool,
    old_terminating_seen: bool,
    /// The newest VMI with another UID, as last seen.
    current: Option<Vmi>,
    pub timings: Timings,
}

impl Tracker {
    pub fn new(old_uid: impl Into<String>) -> Self {
        Tracker {
            old_uid: old_uid.into(),
            old_gone: false,
            old_terminating_seen: false,
            current: None,
            timings: Timings::default(),
        }
    }

    /// Feeds one observation made `at` after the DELETE; returns the steps it revealed.
    pub fn observe(&mut self, observation: Observation, at: Duration) -> Vec<Step> {
        let at_ms = at.as_millis() as u64;
        let ms = Some(at_ms);
        let mut steps = Vec::new();
        match observation {
            Observation::Seen(vmi) if vmi.uid == self.old_uid => {
                if vmi.terminating && !self.old_terminating_seen && !self.old_gone {
                    self.old_terminating_seen = true;
                    steps.push(Step::OldTerminating {
                        finalizers: vmi.finalizers.clone(),
                    });
                }
            }
            Observation::Seen(vmi) => {
                let vmi = *vmi;
                // One name, one object: a new UID means the old VMI is gone, seen or not.
                self.mark_old_gone(ms, &mut steps);
                let is_new = self.current.as_ref().is_none_or(|c| c.uid != vmi.uid);
                if is_new {
                    self.timings = Timings {
                        gone_ms: self.timings.gone_ms,
                        created_ms: ms,
                        ..Timings::default()
                    };
                    steps.push(Step::NewCreated {
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
                let slot = match vmi.phase.as_str() {
                    "Scheduling" => Some(&mut self.timings.scheduling_ms),
                    "Scheduled" => Some(&mut self.timings.scheduled_ms),
                    "Running" => Some(&mut self.timings.running_ms),
                    _ => None,
                };
                if let Some(slot) = slot {
                    slot.get_or_insert(at_ms);
                }
                let was_ready = before.as_ref().is_some_and(|b| b.ready);
                if vmi.ready && !was_ready {
                    self.timings.ready_ms.get_or_insert(at_ms);
                    steps.push(Step::Ready);
                } else if !vmi.ready && was_ready {
                    steps.push(Step::ReadyLost);
                }
                self.current = Some(vmi);
            }
            Observation::Gone { uid } => {
                let is_current = match (&uid, &self.current) {
                    (Some(u), Some(c)) => *u == c.uid,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if is_current {
                    let gone = self.current.take().map(|c| c.uid).unwrap_or_default();
                    steps.push(Step::NewGone { uid: gone });
                } else if uid.as_deref().is_none_or(|u| u == self.old_uid) {
                    self.mark_old_gone(ms, &mut steps);
                }
            }
        }
        steps
    }

    fn mark_old_gone(&mut self, ms: Option<u64>, steps: &mut Vec<Step>) {
        if !self.old_gone {
            self.old_gone = true;
            self.timings.gone_ms = ms;
            steps.push(Step::OldGone);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(uid: &str, phase: &str, ready: bool, terminating: bool) -> Vmi {
        Vmi {
            name: "db-0".into(),
            namespace: "prod".into(),
            uid: uid.into(),
            phase: phase.into(),
            ready,
            terminating,
            finalizers: vec!["kubevirt.io/foregroundDeleteVirtualMachine".into()],
            ..Vmi::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn follows_a_full_automatic_recovery() {
        let mut t = Tracker::new("old");
        let s = t.observe(
            Observation::Seen(Box::new(vmi("old", "Running", true, true))),
            ms(3),
        );
        assert!(matches!(s[..], [Step::OldTerminating { .. }]));
        assert_eq!(
            t.observe(
                Observation::Gone {
                    uid: Some("old".into())
                },
                ms(300)
            ),
            vec![Step::OldGone]
        );
        let s = t.observe(
            Observation::Seen(Box::new(vmi("new", "Pending", false, false))),
            ms(310),
        );
        assert_eq!(s, vec![Step::NewCreated { uid: "new".into() }]);
        for (phase, at) in [("Scheduling", 800), ("Scheduled", 1300), ("Running", 1800)] {
            let s = t.observe(
                Observation::Seen(Box::new(vmi("new", phase, false, false))),
                ms(at),
            );
            assert_eq!(
                s,
                vec![Step::Phase {
                    phase: phase.into()
                }]
            );
        }
        assert!(t.running() && !t.recovered());
        let s = t.observe(
            Observation::Seen(Box::new(vmi("new", "Running", true, false))),
            ms(2000),
        );
        assert_eq!(s, vec![Step::Ready]);
        assert!(t.recovered());
        assert_eq!(
            t.timings,
            Timings {
                gone_ms: Some(300),
                created_ms: Some(310),
                scheduling_ms: Some(800),
                scheduled_ms: Some(1300),
                running_ms: Some(1800),
                ready_ms: Some(2000),
            }
        );
    }

    #[test]
    fn a_new_uid_implies_the_old_one_is_gone() {
        let mut t = Tracker::new("old");
        let s = t.observe(
            Observation::Seen(Box::new(vmi("new", "Running", true, false))),
            ms(50),
        );
        assert_eq!(
            s,
            vec![
                Step::OldGone,
                Step::NewCreated { uid: "new".into() },
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
    fn the_old_vmi_updating_is_not_a_recovery() {
        let mut t = Tracker::new("old");
        t.observe(
            Observation::Seen(Box::new(vmi("old", "Running", true, true))),
            ms(1),
        );
        let s = t.observe(
            Observation::Seen(Box::new(vmi("old", "Succeeded", false, true))),
            ms(2),
        );
        assert!(s.is_empty());
        assert!(!t.running() && !t.old_gone());
    }

    #[test]
    fn a_replacement_that_dies_resets_the_phase_timings() {
        let mut t = Tracker::new("old");
        t.observe(
            Observation::Seen(Box::new(vmi("a", "Running", true, false))),
            ms(10),
        );
        let s = t.observe(
            Observation::Gone {
                uid: Some("a".into()),
            },
            ms(20),
        );
        assert_eq!(s, vec![Step::NewGone { uid: "a".into() }]);
        assert!(!t.running());
        t.observe(
            Observation::Seen(Box::new(vmi("b", "Scheduling", false, false))),
            ms(30),
        );
        assert_eq!(t.timings.created_ms, Some(30));
        assert_eq!(t.timings.running_ms, None);
        assert_eq!(t.timings.gone_ms, Some(10));
    }

    #[test]
    fn losing_ready_is_reported_and_not_recovered() {
        let mut t = Tracker::new("old");
        t.observe(
            Observation::Seen(Box::new(vmi("a", "Running", true, false))),
            ms(10),
        );
        let s = t.observe(
            Observation::Seen(Box::new(vmi("a", "Failed", false, false))),
            ms(20),
        );
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
