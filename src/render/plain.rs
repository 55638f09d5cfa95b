//! Plain timestamped lines on stderr: for CI logs, pipes and `--no-progress`. No control codes.

use std::{io::Write, time::SystemTime};

use super::{format_duration, format_offset};
use crate::outage::events::{Event, Renderer};

pub struct PlainLines {
    out: Box<dyn Write + Send>,
    clock: Box<dyn Fn() -> SystemTime + Send>,
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
        PlainLines { out, clock }
    }

    fn line(&mut self, text: &str) {
        let ts = humantime::format_rfc3339_millis((self.clock)());
        // A closed stderr must not kill a run that is busy recovering a VM.
        let _ = writeln!(self.out, "{ts} {text}");
    }
}

impl Renderer for PlainLines {
    fn event(&mut self, event: &Event) {
        let text = match event {
            Event::Started { phase, message } => format!("{:<11} ... {message}", phase.label()),
            Event::Progress { phase, message } => format!("{:<11} ... {message}", phase.label()),
            Event::Step {
                phase,
                since_delete,
                message,
            } => format!(
                "{:<11}     {} {message}",
                phase.label(),
                format_offset(*since_delete)
            ),
            Event::Finished {
                phase,
                message,
                elapsed,
            } => format!(
                "{:<11} ok  {message} ({})",
                phase.label(),
                format_duration(*elapsed)
            ),
            Event::Failed {
                phase,
                message,
                elapsed,
            } => format!(
                "{:<11} FAILED {message} ({})",
                phase.label(),
                format_duration(*elapsed)
            ),
            Event::Note { message } => format!("note        {message}"),
        };
        self.line(&text);
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }
}
