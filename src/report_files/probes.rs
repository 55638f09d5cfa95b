//! The probes' results as tracks under each VMI's outage on the timeline.

use std::time::SystemTime;

use crate::report::{GameDayReport, Report};

/// One probe's results for one target, drawn as a track under that VMI's outage. Times are
/// Unix epoch milliseconds, so any probe (ping, TCP, HTTP, guest agent) maps onto the axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineProbe {
    pub namespace: String,
    /// The target VMI's name.
    pub name: String,
    /// What was probed, e.g. `tcp 10.0.0.4:22`.
    pub label: String,
    pub intervals: Vec<ProbeInterval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeInterval {
    pub start_unix_ms: u64,
    pub end_unix_ms: u64,
    /// The probe succeeded throughout.
    pub ok: bool,
}

impl TimelineProbe {
    /// From attempts in time order, `(when it started, whether it passed)`: each attempt's
    /// verdict holds until the next one (the last until `end`); equal neighbours merge.
    pub fn from_samples(
        namespace: impl Into<String>,
        name: impl Into<String>,
        label: impl Into<String>,
        samples: impl IntoIterator<Item = (SystemTime, bool)>,
        end: SystemTime,
    ) -> TimelineProbe {
        let unix = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default()
        };
        let mut intervals: Vec<ProbeInterval> = Vec::new();
        for (at, ok) in samples {
            let at = unix(at);
            if let Some(last) = intervals.last_mut() {
                last.end_unix_ms = at.max(last.start_unix_ms);
                if last.ok == ok {
                    continue;
                }
            }
            intervals.push(ProbeInterval {
                start_unix_ms: at,
                end_unix_ms: at,
                ok,
            });
        }
        if let Some(last) = intervals.last_mut() {
            last.end_unix_ms = unix(end).max(last.start_unix_ms);
        }
        TimelineProbe {
            namespace: namespace.into(),
            name: name.into(),
            label: label.into(),
            intervals,
        }
    }
}

/// The probe tracks of an outage's timeline, from each target's probe figures: up until the
/// last success before the outage, down from the first failure to the first success after it,
/// up after that (or down to the end while still failing).
pub fn probe_tracks(run: &crate::report::RunReport) -> Vec<TimelineProbe> {
    tracks_of(run.targets())
}

/// The probe tracks of every step of a game day (`run -f`), as [`probe_tracks`].
pub fn game_day_probe_tracks(day: &GameDayReport) -> Vec<TimelineProbe> {
    tracks_of(
        day.steps
            .iter()
            .flat_map(|s| s.fleet.iter().flat_map(|f| &f.targets)),
    )
}

fn tracks_of<'a>(targets: impl IntoIterator<Item = &'a Report>) -> Vec<TimelineProbe> {
    let when = |t: &Option<String>| t.as_deref().and_then(|t| humantime::parse_rfc3339(t).ok());
    let end = SystemTime::now();
    let mut tracks = Vec::new();
    for r in targets {
        let start = when(&r.injected_at);
        for p in &r.probes {
            let mut samples: Vec<(SystemTime, bool)> = Vec::new();
            samples.extend(when(&p.last_success_before).or(start).map(|t| (t, true)));
            samples.extend(when(&p.first_failure).map(|t| (t, false)));
            samples.extend(when(&p.first_success_after).map(|t| (t, true)));
            samples.sort_by_key(|(t, _)| *t);
            tracks.push(TimelineProbe::from_samples(
                &r.target.namespace,
                &r.target.name,
                &p.probe,
                samples,
                end,
            ));
        }
    }
    tracks
}
