//! A probe's history and the figures it gives: user-visible downtime, failed attempts, the first
//! success after a moment (VMI Ready), whether it passes now. Pure: fed samples, asked with a
//! `now`, so the outage's state machine can call it anywhere and tests need no clock.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{
    failure::{Failure, FailureKind},
    runner::ProbeSample,
    spec::ProbeSpec,
};

/// An attempt that could not check anything (Prometheus unreachable, or refusing the query):
/// neither a success nor a failure of the VM. It breaks a steady state, never counts as
/// downtime, and never fires an abort rule.
fn unknown(sample: &ProbeSample) -> bool {
    sample
        .failure
        .as_ref()
        .is_some_and(|f| f.kind == FailureKind::Prometheus)
}

/// When an attempt started, on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub at: Instant,
    pub wall: SystemTime,
}

impl Stamp {
    fn of(sample: &ProbeSample) -> Stamp {
        Stamp {
            at: sample.at,
            wall: sample.wall,
        }
    }
}

/// A run of failed attempts between two successes: what users saw as downtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// The last success before the first failure (None: the probe never passed before).
    pub last_success: Option<Stamp>,
    pub first_failure: Stamp,
    pub last_failure: Stamp,
    /// The first success after the failures (None: still failing).
    pub first_success: Option<Stamp>,
    pub failed_attempts: usize,
    /// The first failure, and the latest one (they differ, e.g. refused then timed out).
    pub first: Failure,
    pub last: Failure,
}

impl Outage {
    /// Last success before → first success after (so far, while still failing: until `now`).
    pub fn downtime(&self, now: Instant) -> Duration {
        let from = self.last_success.unwrap_or(self.first_failure).at;
        let to = self.first_success.map_or(now, |s| s.at);
        to.saturating_duration_since(from)
    }

    pub fn is_over(&self) -> bool {
        self.first_success.is_some()
    }
}

/// A probe's figures for the summary and the JSON (`-o json`), in camelCase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    pub probe: String,
    /// User-visible downtime of the outage (last success before → first success after, or
    /// until now while still failing); None: the probe never failed after the delete.
    pub downtime_ms: Option<u64>,
    pub still_failing: bool,
    /// Failed attempts started after the delete, and all attempts of the run.
    pub failed_attempts: usize,
    pub attempts: usize,
    /// RFC 3339 (ms) wall-clock times of the outage's edges.
    pub last_success_before: Option<String>,
    pub first_failure: Option<String>,
    pub first_success_after: Option<String>,
    /// From the new VMI's Ready to this probe's first success after it: the guest's services
    /// starting, a load balancer catching up. None: no Ready, or no success since.
    pub ready_to_success_ms: Option<u64>,
    /// Why it failed first (kind and detail).
    pub failure: Option<Failure>,
    /// `prom:`/`alert:` attempts that could not ask Prometheus (not counted as failures).
    #[serde(skip_serializing_if = "is_zero")]
    pub prometheus_errors: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn rfc3339(stamp: Option<Stamp>) -> Option<String> {
    stamp.map(|s| humantime::format_rfc3339_millis(s.wall).to_string())
}

#[derive(Debug, Clone)]
pub struct ProbeTrack {
    pub spec: ProbeSpec,
    /// Ordered by attempt start (attempts overlap, so they may arrive out of order).
    samples: Vec<ProbeSample>,
}

impl ProbeTrack {
    pub fn new(spec: ProbeSpec) -> ProbeTrack {
        ProbeTrack {
            spec,
            samples: Vec::new(),
        }
    }

    pub fn record(&mut self, sample: ProbeSample) {
        let at = self.samples.partition_point(|s| s.at <= sample.at);
        self.samples.insert(at, sample);
    }

    pub fn samples(&self) -> &[ProbeSample] {
        &self.samples
    }

    pub fn attempts(&self) -> usize {
        self.samples.len()
    }

    /// Failed attempts started at or after `since` (None: all).
    pub fn failed_attempts(&self, since: Option<Instant>) -> usize {
        self.samples
            .iter()
            .filter(|s| !s.ok() && !unknown(s) && since.is_none_or(|t| s.at >= t))
            .count()
    }

    /// The latest verdict (attempts that could not check anything left out); None before the
    /// first one.
    pub fn is_passing(&self) -> Option<bool> {
        self.samples
            .iter()
            .rev()
            .find(|s| !unknown(s))
            .map(ProbeSample::ok)
    }

    /// Successes since the latest failure.
    pub fn successes_in_a_row(&self) -> usize {
        self.samples.iter().rev().take_while(|s| s.ok()).count()
    }

    pub fn last_failure(&self) -> Option<&ProbeSample> {
        self.samples.iter().rev().find(|s| !s.ok())
    }

    /// The latest failure that says something about the VM (not a Prometheus error).
    pub fn last_real_failure(&self) -> Option<&ProbeSample> {
        self.samples.iter().rev().find(|s| !s.ok() && !unknown(s))
    }

    /// The first success of an attempt started at or after `t` (e.g. the VMI's Ready: the gap
    /// between KubeVirt's view and the users').
    pub fn first_success_after(&self, t: Instant) -> Option<&ProbeSample> {
        self.samples.iter().find(|s| s.ok() && s.at >= t)
    }

    /// How long the probe has been failing (since the first failed attempt of the current run
    /// of failures); None while it passes.
    pub fn failing_for(&self, now: Instant) -> Option<Duration> {
        let streak = self
            .samples
            .iter()
            .rev()
            .filter(|s| !unknown(s))
            .take_while(|s| !s.ok())
            .last()?;
        Some(now.saturating_duration_since(streak.at))
    }

    /// Every run of failures, in order.
    pub fn outages(&self) -> Vec<Outage> {
        let mut outages: Vec<Outage> = Vec::new();
        let mut last_success = None;
        let mut open: Option<Outage> = None;
        for sample in self.samples.iter().filter(|s| !unknown(s)) {
            match (&sample.failure, open.as_mut()) {
                (None, Some(_)) => {
                    let mut done = open.take().expect("matched Some");
                    done.first_success = Some(Stamp::of(sample));
                    outages.push(done);
                    last_success = Some(Stamp::of(sample));
                }
                (None, None) => last_success = Some(Stamp::of(sample)),
                (Some(failure), Some(outage)) => {
                    outage.failed_attempts += 1;
                    outage.last_failure = Stamp::of(sample);
                    outage.last = failure.clone();
                }
                (Some(failure), None) => {
                    open = Some(Outage {
                        last_success,
                        first_failure: Stamp::of(sample),
                        last_failure: Stamp::of(sample),
                        first_success: None,
                        failed_attempts: 1,
                        first: failure.clone(),
                        last: failure.clone(),
                    })
                }
            }
        }
        outages.extend(open);
        outages
    }

    /// The figures of an outage injected at `since`, with the new VMI Ready at `ready`.
    pub fn report(&self, since: Instant, ready: Option<Instant>, now: Instant) -> ProbeReport {
        let outage = self.outage_after(since);
        let ready_to_success = ready.and_then(|r| {
            self.first_success_after(r)
                .map(|s| s.at.saturating_duration_since(r).as_millis() as u64)
        });
        ProbeReport {
            probe: self.spec.text.clone(),
            downtime_ms: outage.as_ref().map(|o| o.downtime(now).as_millis() as u64),
            still_failing: outage.as_ref().is_some_and(|o| !o.is_over()),
            failed_attempts: self.failed_attempts(Some(since)),
            attempts: self.attempts(),
            last_success_before: rfc3339(outage.as_ref().and_then(|o| o.last_success)),
            first_failure: rfc3339(outage.as_ref().map(|o| o.first_failure)),
            first_success_after: rfc3339(outage.as_ref().and_then(|o| o.first_success)),
            ready_to_success_ms: ready_to_success,
            failure: outage.map(|o| o.first),
            prometheus_errors: self.samples.iter().filter(|s| unknown(s)).count(),
        }
    }

    /// The user-visible downtime of an outage: the first run of failures with an attempt
    /// started at or after `since` (the delete), from the last success before it to the first
    /// success after it.
    pub fn outage_after(&self, since: Instant) -> Option<Outage> {
        self.outages()
            .into_iter()
            .find(|o| o.last_failure.at >= since)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probe::failure::FailureKind;

    pub fn sample(probe: usize, at: Instant, kind: Option<FailureKind>) -> ProbeSample {
        ProbeSample {
            probe,
            at,
            wall: SystemTime::UNIX_EPOCH,
            latency: Duration::from_millis(1),
            address: Some("127.0.0.1:80".into()),
            failure: kind.map(|kind| Failure {
                kind,
                detail: format!("{kind}"),
            }),
        }
    }

    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Samples every 250 ms from `t0`: `pattern` '+' success, 'r' refused, 't' timed out.
    pub fn track(t0: Instant, pattern: &str) -> ProbeTrack {
        let mut track = ProbeTrack::new("tcp://db:5432".parse().unwrap());
        for (i, c) in pattern.chars().enumerate() {
            let kind = match c {
                '+' => None,
                'r' => Some(FailureKind::Refused),
                'p' => Some(FailureKind::Prometheus),
                _ => Some(FailureKind::TimedOut),
            };
            track.record(sample(0, t0 + ms(250 * i as u64), kind));
        }
        track
    }

    #[test]
    fn downtime_runs_from_the_last_success_before_to_the_first_success_after() {
        let t0 = Instant::now();
        let t = track(t0, "+++rrrt++");
        let outages = t.outages();
        assert_eq!(outages.len(), 1);
        let o = &outages[0];
        assert_eq!(o.last_success.unwrap().at, t0 + ms(500));
        assert_eq!(o.first_failure.at, t0 + ms(750));
        assert_eq!(o.first_success.unwrap().at, t0 + ms(1750));
        assert_eq!(o.downtime(t0 + ms(99_999)), ms(1250));
        assert_eq!(
            (o.failed_attempts, o.first.kind, o.last.kind),
            (4, FailureKind::Refused, FailureKind::TimedOut)
        );
        assert_eq!(t.failed_attempts(None), 4);
        assert_eq!(t.failed_attempts(Some(t0 + ms(1500))), 1);
        assert_eq!(t.is_passing(), Some(true));
        assert_eq!(t.successes_in_a_row(), 2);
    }

    #[test]
    fn an_ongoing_outage_counts_until_now_and_says_how_long_it_has_failed() {
        let t0 = Instant::now();
        let t = track(t0, "++rr");
        let o = t.outage_after(t0).unwrap();
        assert!(!o.is_over());
        assert_eq!(o.downtime(t0 + ms(1000)), ms(750));
        assert_eq!(t.failing_for(t0 + ms(1000)), Some(ms(500)));
        assert_eq!(t.is_passing(), Some(false));
        assert_eq!(track(t0, "++").failing_for(t0 + ms(1000)), None);
        assert_eq!(ProbeTrack::new(t.spec.clone()).is_passing(), None);
    }

    #[test]
    fn the_report_gives_downtime_failed_attempts_and_the_ready_gap() {
        let t0 = Instant::now();
        // Deleted at 600 ms, down 750 ms..1750 ms, Ready at 1600 ms.
        let t = track(t0, "+++rrrr++");
        let r = t.report(t0 + ms(600), Some(t0 + ms(1600)), t0 + ms(5000));
        assert_eq!(r.downtime_ms, Some(1250));
        assert!(!r.still_failing);
        assert_eq!((r.failed_attempts, r.attempts), (4, 9));
        assert_eq!(r.ready_to_success_ms, Some(150));
        assert_eq!(r.first_failure.as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(r.failure.unwrap().kind, FailureKind::Refused);
        let json = serde_json::to_value(t.report(t0, None, t0)).unwrap();
        assert_eq!(json["downtimeMs"], 1250);
        assert_eq!(json["failure"]["kind"], "refused");
        assert!(json["readyToSuccessMs"].is_null());
        let quiet = track(t0, "+++").report(t0, Some(t0), t0 + ms(900));
        assert_eq!(
            (quiet.downtime_ms, quiet.ready_to_success_ms),
            (None, Some(0))
        );
    }

    #[test]
    fn prometheus_errors_are_no_verdict_on_the_vm() {
        let t0 = Instant::now();
        // Refused at 750 and 1000 ms, back at 1250 ms; Prometheus unreachable at 500, 1500
        // and 1750 ms.
        let t = track(t0, "++prr+pp");
        let o = t.outage_after(t0).unwrap();
        assert_eq!(o.last_success.unwrap().at, t0 + ms(250));
        assert_eq!((o.failed_attempts, o.downtime(t0)), (2, ms(1000)));
        assert_eq!(t.failed_attempts(None), 2);
        assert_eq!(t.is_passing(), Some(true), "the last real verdict");
        assert_eq!(t.failing_for(t0 + ms(2000)), None, "no abort on them");
        assert_eq!(t.successes_in_a_row(), 0, "but no steady state either");
        assert_eq!(
            track(t0, "rp").last_real_failure().unwrap().at,
            t0,
            "an abort names the VM's failure"
        );
        let r = t.report(t0, None, t0 + ms(2000));
        assert_eq!((r.prometheus_errors, r.failed_attempts), (3, 2));
        assert_eq!(track(t0, "+pp").failing_for(t0 + ms(900)), None);
        let json = serde_json::to_value(track(t0, "+r+").report(t0, None, t0)).unwrap();
        assert!(json.get("prometheusErrors").is_none(), "{json}");
    }

    #[test]
    fn out_of_order_samples_are_placed_by_when_they_started() {
        let t0 = Instant::now();
        let mut t = track(t0, "++");
        // A timed-out attempt reports a second after it started, after later successes.
        t.record(sample(0, t0 + ms(750), None));
        t.record(sample(0, t0 + ms(500), Some(FailureKind::TimedOut)));
        let o = &t.outages()[0];
        assert_eq!(o.first_failure.at, t0 + ms(500));
        assert_eq!(o.first_success.unwrap().at, t0 + ms(750));
        assert_eq!(o.downtime(t0), ms(500));
    }

    #[test]
    fn outage_after_skips_earlier_blips_and_first_success_after_gives_the_ready_gap() {
        let t0 = Instant::now();
        // A blip at 250 ms, the delete at 1 s, down from 1.25 s to 2 s.
        let t = track(t0, "+r+++rrr++");
        assert_eq!(t.outages().len(), 2);
        let o = t.outage_after(t0 + ms(1000)).unwrap();
        assert_eq!(o.first_failure.at, t0 + ms(1250));
        assert_eq!(o.last_success.unwrap().at, t0 + ms(1000));
        assert_eq!(o.downtime(t0), ms(1000));
        let ready = t0 + ms(2100);
        assert_eq!(t.first_success_after(ready).unwrap().at, t0 + ms(2250));
        assert!(t.first_success_after(t0 + ms(9000)).is_none());
        assert!(track(t0, "+++").outage_after(t0).is_none());
    }
}
