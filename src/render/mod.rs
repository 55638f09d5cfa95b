//! Renderers: they consume the scenario's events (`crate::events`) and print them; they never
//! import the outage itself.

pub mod alerts;
pub mod chosen;
pub mod confirm;
pub mod leads;
pub mod notes;
mod phases;
mod plain;
pub mod progress;
pub mod restore;
mod spinners;
pub mod summary;
pub mod trials;
pub mod verdicts;
pub mod words;

pub use plain::PlainLines;
pub use spinners::Spinners;

use std::time::Duration;

use crate::events::{Event, Renderer};

/// Prints nothing (tests, and `-o json` when stderr is not wanted).
pub struct Silent;

impl Renderer for Silent {
    fn event(&mut self, _: &Event) {}
}

/// How a summary is printed (`-o`): a table for people, or one JSON/YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

/// `12ms`, `1.84s`, `2m05s`: short and exact enough for a recovery.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 && ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `+1.234s` since the DELETE.
pub fn format_offset(d: Duration) -> String {
    format!("+{:.3}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(format_duration(Duration::from_millis(1840)), "1.84s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_offset(Duration::from_millis(312)), "+0.312s");
    }
}
