//! Abort conditions: `--abort-if SPEC[,for=DURATION]` (a probe on something that must stay up)
//! and `--abort-if unready=N`, resolved against the probe list and checked by a pure function
//! the outage core calls on every sample, tick and VMI change.

use std::time::Duration;

use tokio::time::Instant;

use super::{attempt::Failure, track::ProbeTrack};

/// A resolved abort condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortRule {
    /// The probe `probe` (index into `ProbeOptions::probes`) fails for longer than `allowed`.
    ProbeDown { probe: usize, allowed: Duration },
    /// More than `max` other running VMIs in scope are not Ready.
    Unready { max: usize },
}

/// Why the experiment stops at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortReason {
    ProbeDown {
        probe: String,
        failed_for: Duration,
        allowed: Duration,
        failure: Failure,
    },
    Unready {
        max: usize,
        /// `namespace/name` of the VMIs that are not Ready.
        vmis: Vec<String>,
    },
}

impl AbortRule {
    /// Whether the rule fires now. `tracks`: every probe's track, by index; `unready`: the
    /// other running VMIs in scope that are not Ready now (`namespace/name`).
    pub fn check(
        &self,
        tracks: &[ProbeTrack],
        unready: &[String],
        now: Instant,
    ) -> Option<AbortReason> {
        match *self {
            AbortRule::ProbeDown { probe, allowed } => {
                let track = tracks.get(probe)?;
                let failed_for = track.failing_for(now)?;
                // `allowed` 0: the first failed attempt; else strictly longer than allowed.
                if allowed > Duration::ZERO && failed_for <= allowed {
                    return None;
                }
                Some(AbortReason::ProbeDown {
                    probe: track.spec.text.clone(),
                    failed_for,
                    allowed,
                    failure: track.last_real_failure()?.failure.clone()?,
                })
            }
            AbortRule::Unready { max } => (unready.len() > max).then(|| AbortReason::Unready {
                max,
                vmis: unready.to_vec(),
            }),
        }
    }

    /// When to look again if nothing else happens (a probe rule that is counting down):
    /// the core's next timer tick for this rule.
    pub fn next_check(&self, tracks: &[ProbeTrack], now: Instant) -> Option<Instant> {
        match *self {
            AbortRule::ProbeDown { probe, allowed } => {
                let failed_for = tracks.get(probe)?.failing_for(now)?;
                Some(now + allowed.saturating_sub(failed_for) + Duration::from_millis(1))
            }
            AbortRule::Unready { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::track::tests::{ms, track};

    #[test]
    fn a_probe_rule_fires_once_failing_longer_than_allowed() {
        let t0 = Instant::now();
        // Failing from 500 ms on.
        let tracks = [track(t0, "++rrr")];
        let rule = AbortRule::ProbeDown {
            probe: 0,
            allowed: ms(2000),
        };
        assert_eq!(rule.check(&tracks, &[], t0 + ms(2500)), None);
        assert_eq!(rule.next_check(&tracks, t0 + ms(2500)), Some(t0 + ms(2501)));
        let reason = rule.check(&tracks, &[], t0 + ms(2600)).unwrap();
        assert_eq!(
            crate::render::words::abort_reason(&reason),
            "tcp://db:5432 failed for 2.10s (refused)"
        );
        assert_eq!(rule.check(&[track(t0, "++rr+")], &[], t0 + ms(9000)), None);
        let strict = AbortRule::ProbeDown {
            probe: 0,
            allowed: Duration::ZERO,
        };
        assert!(strict
            .check(&[track(t0, "++r")], &[], t0 + ms(500))
            .is_some());
        assert_eq!(rule.check(&[], &[], t0), None, "no such probe: never fires");
    }

    #[test]
    fn unready_fires_above_the_allowed_count() {
        let rule = AbortRule::Unready { max: 1 };
        let t0 = Instant::now();
        assert_eq!(rule.check(&[], &["prod/db-1".into()], t0), None);
        let two = ["prod/db-1".to_string(), "prod/db-2".to_string()];
        assert_eq!(
            crate::render::words::abort_reason(&rule.check(&[], &two, t0).unwrap()),
            "2 other VMIs are not Ready (more than 1): prod/db-1, prod/db-2"
        );
    }
}
