//! What a run tells the world. The scenario never prints: it emits these (data, not sentences:
//! every phase's step message, everything that happens to a target, every note), and renderers
//! (`crate::render`) turn them into spinners, plain lines, or nothing.

mod notes;
mod progress;
mod question;
pub mod restore;
mod target;

use std::time::{Duration, Instant};

pub use notes::{EventFailure, Note};
pub use progress::{CheckedTarget, Grant, KubeVirtObject, Owner, Progress};
pub use question::{GameDayQuestion, OutageQuestion, PlannedTarget};
pub use target::{NotDeleted, NotRecovered, Outcome, ProbeChange, ProbeState, Step, TargetEvent};

/// The phases of an outage, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Connect,
    KubeVirt,
    Target,
    Permissions,
    Probes,
    Snapshot,
    Inject,
    Recovery,
    Validate,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Connect => "Connect",
            Phase::KubeVirt => "KubeVirt",
            Phase::Target => "Target",
            Phase::Permissions => "Permissions",
            Phase::Probes => "Probes",
            Phase::Snapshot => "Snapshot",
            Phase::Inject => "Inject",
            Phase::Recovery => "Recovery",
            Phase::Validate => "Validate",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phase began (a spinner appears).
    Started { phase: Phase, message: Progress },
    /// The running phase has news (the spinner's message changes).
    Progress { phase: Phase, message: Progress },
    /// The phase ended well (a tick).
    Finished {
        phase: Phase,
        message: Progress,
        elapsed: Duration,
    },
    /// The phase ended badly (a cross).
    Failed {
        phase: Phase,
        message: Progress,
        elapsed: Duration,
    },
    /// Something the user should read that isn't a phase (warnings, interruptions).
    Note(Note),
    /// The targets of the outage, once, before anything is deleted (index = `TargetId`).
    Targets { names: Vec<String> },
    /// Something happened to one target, `at` after its DELETE (zero before it).
    Target {
        target: usize,
        at: Duration,
        what: TargetEvent,
    },
}

/// Consumes events. Implementations: spinners, plain lines, silence.
pub trait Renderer: Send {
    fn event(&mut self, event: &Event);
    /// Everything printed; called before the summary and before prompts.
    fn flush(&mut self) {}
}

/// Emits events and keeps each phase's start time, so the scenario only says what happened.
pub struct Reporter {
    renderer: Box<dyn Renderer>,
    current: Option<(Phase, Instant)>,
}

impl Reporter {
    pub fn new(renderer: Box<dyn Renderer>) -> Self {
        Reporter {
            renderer,
            current: None,
        }
    }

    pub fn start(&mut self, phase: Phase, message: Progress) {
        self.current = Some((phase, Instant::now()));
        self.renderer.event(&Event::Started { phase, message });
    }

    pub fn progress(&mut self, message: Progress) {
        if let Some((phase, _)) = self.current {
            self.renderer.event(&Event::Progress { phase, message });
        }
    }

    pub fn finish(&mut self, message: Progress) {
        if let Some((phase, started)) = self.current.take() {
            self.renderer.event(&Event::Finished {
                phase,
                message,
                elapsed: started.elapsed(),
            });
        }
    }

    pub fn fail(&mut self, message: Progress) {
        if let Some((phase, started)) = self.current.take() {
            self.renderer.event(&Event::Failed {
                phase,
                message,
                elapsed: started.elapsed(),
            });
        }
    }

    pub fn note(&mut self, note: Note) {
        self.renderer.event(&Event::Note(note));
    }

    /// Any event, as is (the outage core's target events).
    pub fn emit(&mut self, event: &Event) {
        self.renderer.event(event);
    }

    pub fn flush(&mut self) {
        self.renderer.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Record(Arc<Mutex<Vec<Event>>>);

    impl Renderer for Record {
        fn event(&mut self, event: &Event) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    /// The reporter passes the typed step messages on, each with its phase; news and endings
    /// outside a phase are dropped.
    #[test]
    fn the_reporter_carries_typed_step_messages() {
        let record = Record::default();
        let mut reporter = Reporter::new(Box::new(record.clone()));
        reporter.progress(Progress::TargetsReady);
        reporter.finish(Progress::TargetsReady);
        reporter.start(Phase::Connect, Progress::ReadingKubeconfig);
        let server = || "https://10.0.0.1:6443".to_string();
        reporter.progress(Progress::AskingVersion { server: server() });
        reporter.fail(Progress::Error("no answer".into()));
        reporter.fail(Progress::Error("twice".into()));
        let events = record.0.lock().unwrap().clone();
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(
            events[0],
            Event::Started {
                phase: Phase::Connect,
                message: Progress::ReadingKubeconfig
            }
        );
        assert_eq!(
            events[1],
            Event::Progress {
                phase: Phase::Connect,
                message: Progress::AskingVersion { server: server() }
            }
        );
        assert!(
            matches!(
                &events[2],
                Event::Failed { phase: Phase::Connect, message: Progress::Error(e), .. } if e == "no answer"
            ),
            "{:?}",
            events[2]
        );
    }
}
