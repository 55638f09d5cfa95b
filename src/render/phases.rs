//! Turns one target's events into the phased look of a single outage (Inject → Recovery →
//! Validate), and a fleet's into one labelled line per event. Both renderers use it, so the
//! words and the phase changes are the same with spinners and in plain lines.

use std::time::{Duration, Instant};

use super::{progress::progress, words};
use crate::events::{Event, Outcome, Phase, Progress, TargetEvent};

/// What a renderer draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Draw {
    Start {
        phase: Phase,
        message: String,
    },
    Progress {
        message: String,
    },
    End {
        phase: Phase,
        ok: bool,
        message: String,
        elapsed: Duration,
    },
    /// A permanent line: a step at `at` after the DELETE.
    Line {
        phase: Phase,
        at: Duration,
        text: String,
    },
    Note {
        message: String,
    },
    /// Fleet: target `target` is now at this step.
    TargetStatus {
        target: usize,
        text: String,
        done: Option<bool>,
    },
}

#[derive(Default)]
pub struct Phases {
    names: Vec<String>,
    /// Fleet: the targets done so far (true: recovered).
    done: Vec<bool>,
    /// Fleet, `--serial`: targets that wait for their turn at the start.
    queued: usize,
    current: Option<(Phase, Instant)>,
}

impl Phases {
    pub fn fleet(&self) -> bool {
        self.names.len() > 1
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn start(&mut self, phase: Phase, message: String, out: &mut Vec<Draw>) {
        self.current = Some((phase, Instant::now()));
        out.push(Draw::Start { phase, message });
    }

    fn end(&mut self, ok: bool, message: String, out: &mut Vec<Draw>) {
        if let Some((phase, started)) = self.current.take() {
            out.push(Draw::End {
                phase,
                ok,
                message,
                elapsed: started.elapsed(),
            });
        }
    }

    fn phase(&self) -> Phase {
        self.current.map_or(Phase::Recovery, |(p, _)| p)
    }

    pub fn translate(&mut self, event: &Event) -> Vec<Draw> {
        let mut out = Vec::new();
        match event {
            Event::Started { phase, message } => self.start(*phase, progress(message), &mut out),
            Event::Progress { message, .. } => out.push(Draw::Progress {
                message: progress(message),
            }),
            Event::Finished { message, .. } => self.end(true, progress(message), &mut out),
            Event::Failed { message, .. } => self.end(false, progress(message), &mut out),
            Event::Note(note) => out.push(Draw::Note {
                message: super::notes::note(note),
            }),
            Event::Targets { names } => self.names = names.clone(),
            Event::Target { target, at, what } if self.fleet() => {
                self.fleet_event(*target, *at, what, &mut out)
            }
            Event::Target { at, what, .. } => self.single_event(*at, what, &mut out),
        }
        out
    }

    fn single_event(&mut self, at: Duration, what: &TargetEvent, out: &mut Vec<Draw>) {
        let text = words::target_event(what).unwrap_or_default();
        match what {
            TargetEvent::Deleted { .. } => self.end(true, text, out),
            TargetEvent::DeleteRefused { .. } => self.end(false, text, out),
            TargetEvent::Waiting { .. } => self.start(Phase::Recovery, text, out),
            TargetEvent::Running { .. } => {
                self.end(
                    true,
                    format!("{text} {} after the delete", super::format_duration(at)),
                    out,
                );
                self.start(Phase::Validate, progress(&Progress::WaitingForReady), out);
            }
            TargetEvent::Done { outcome, .. } => {
                let ok = *outcome == Outcome::Recovered
                    || *outcome == Outcome::Interrupted { running: true };
                self.end(ok, text, out);
            }
            TargetEvent::KubeVirtSlow { .. }
            | TargetEvent::StillTerminating { .. }
            | TargetEvent::AlreadyRecreated
            | TargetEvent::DeleteUncertain { .. }
            | TargetEvent::StrategyRestoreFailed { .. } => out.push(Draw::Note { message: text }),
            _ => out.push(Draw::Line {
                phase: self.phase(),
                at,
                text,
            }),
        }
    }

    fn fleet_event(
        &mut self,
        target: usize,
        at: Duration,
        what: &TargetEvent,
        out: &mut Vec<Draw>,
    ) {
        let name = self.names.get(target).cloned().unwrap_or_default();
        let text = words::target_event(what).unwrap_or_default();
        let done = match what {
            TargetEvent::Done { outcome, .. } => Some(*outcome == Outcome::Recovered),
            TargetEvent::DeleteRefused { .. } => Some(false),
            _ => None,
        };
        if self.phase() == Phase::Inject {
            if let TargetEvent::Queued { after: None } = what {
                self.queued += 1;
                out.push(Draw::TargetStatus { target, text, done });
                return;
            }
            let targets = self.names.len();
            let sent = Progress::FaultsSent {
                targets,
                serial: self.queued > 0,
            };
            self.end(true, progress(&sent), out);
            self.start(
                Phase::Recovery,
                progress(&Progress::Following { targets }),
                out,
            );
        }
        out.push(Draw::Line {
            phase: self.phase(),
            at,
            text: format!("{name}: {text}"),
        });
        out.push(Draw::TargetStatus { target, text, done });
        if let Some(ok) = done {
            self.done.push(ok);
            if self.done.len() == self.names.len() {
                let recovered = self.done.iter().filter(|ok| **ok).count();
                let targets = self.names.len();
                let message = progress(&Progress::FleetDone { recovered, targets });
                self.end(recovered == targets, message, out);
            }
        }
    }
}
