//! Plain timestamped lines on stderr: for CI logs, pipes and `--no-progress`. No control codes.

use std::{io::Write, time::SystemTime};

use super::{
    format_duration, format_offset,
    phases::{Draw, Phases},
};
use crate::events::{Event, Renderer};

pub struct PlainLines {
    out: Box<dyn Write + Send>,
    clock: Box<dyn Fn() -> SystemTime + Send>,
    phases: Phases,
    current: &'static str,
}

impl PlainLines {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self::with_clock(out, Box::new(SystemTime::now))
    }

    /// A fixed clock makes the output snapshot-testable.
    pub fn with_clock(
        out: Box<dyn Write + Send>,
        clock: Box<dyn Fn() -> SystemTime + Send>,
    ) -> Self {
        PlainLines {
            out,
            clock,
            phases: Phases::default(),
            current: "",
        }
    }

    fn line(&mut self, text: &str) {
        let ts = humantime::format_rfc3339_millis((self.clock)());
        // A closed stderr must not kill a run that is busy recovering a VM.
        let _ = writeln!(self.out, "{ts} {text}");
    }
}

impl Renderer for PlainLines {
    fn event(&mut self, event: &Event) {
        for draw in self.phases.translate(event) {
            let text = match draw {
                Draw::Start { phase, message } => {
                    self.current = phase.label();
                    format!("{:<11} ... {message}", phase.label())
                }
                Draw::Progress { message } => format!("{:<11} ... {message}", self.current),
                Draw::Line { phase, at, text } => {
                    format!("{:<11}     {} {text}", phase.label(), format_offset(at))
                }
                Draw::End {
                    phase,
                    ok,
                    message,
                    elapsed,
                } => format!(
                    "{:<11} {} {message} ({})",
                    phase.label(),
                    if ok { "ok " } else { "FAILED" },
                    format_duration(elapsed)
                ),
                Draw::Note { message } => format!("note        {message}"),
                Draw::TargetStatus { .. } => continue,
            };
            self.line(&text);
        }
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }
}
