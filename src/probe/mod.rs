//! Probes: user-visible downtime of an outage, measured the way users would see it (a TCP
//! connect or an HTTP GET every interval, on a fixed address such as a Service, or on the
//! target VMI's own address), steady state before anything is deleted, and abort conditions.
//!
//! The pieces, for the outage core:
//! - [`ProbeOptions::new`] turns the flags into the probes to run and the abort rules;
//! - [`spawn_probers`] runs them as tasks, sending [`ProbeSample`]s on an unbounded channel
//!   (never blocking the caller), following the target VMI's address through a `watch`;
//! - [`ProbeTrack`] (one per probe) accumulates samples and gives the figures;
//! - [`steady_state`] / [`check_steady`] before the delete; [`AbortRule::check`] on every
//!   sample, tick and VMI change.

mod abort;
mod alerts;
mod attempt;
mod prom;
mod runner;
mod spec;
mod steady;
mod track;

use std::time::Duration;

pub use abort::{AbortReason, AbortRule};
pub use alerts::{
    Alert, AlertOptions, AlertRecord, AlertSelector, AlertWatch, AlertsReport, NewAlert,
};
pub use attempt::{Failure, FailureKind};
pub use prom::PromServer;
pub use runner::{spawn_probers, ProbeSample, ProbeTiming, Probers};
pub use spec::{AbortIf, ProbeSpec, SpecError, StatusRange, Target};
pub use steady::{check_steady, steady_state, SteadyStateError};
pub use track::{Outage, ProbeReport, ProbeTrack, Stamp};

/// Successes in a row every probe needs before anything is deleted.
pub const STEADY_IN_A_ROW: usize = 3;

/// The probes of a run and its abort rules, from `--probe`, `--abort-if`, `--probe-interval`
/// and `--probe-timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Every probe to run, by index: first the `--probe` ones (they decide "recovered"),
    /// then those of `--abort-if` rules (guards: they only abort).
    pub probes: Vec<ProbeSpec>,
    /// How many of `probes` come from `--probe`.
    pub targets: usize,
    pub abort: Vec<AbortRule>,
    pub timing: ProbeTiming,
}

impl ProbeOptions {
    pub fn new(
        probes: &[ProbeSpec],
        abort_if: &[AbortIf],
        interval: Duration,
        timeout: Option<Duration>,
    ) -> Result<ProbeOptions, String> {
        if interval < Duration::from_millis(10) {
            return Err(format!(
                "--probe-interval {interval:?} is too short: at least 10ms"
            ));
        }
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err("--probe-timeout must be more than 0".into());
        }
        let mut all = probes.to_vec();
        let mut abort = Vec::new();
        for rule in abort_if {
            match rule {
                AbortIf::ProbeFails { probe, allowed } => {
                    abort.push(AbortRule::ProbeDown {
                        probe: all.len(),
                        allowed: *allowed,
                    });
                    all.push(probe.clone());
                }
                AbortIf::Unready { max } => abort.push(AbortRule::Unready { max: *max }),
            }
        }
        Ok(ProbeOptions {
            probes: all,
            targets: probes.len(),
            abort,
            timing: ProbeTiming::new(interval, timeout),
        })
    }

    /// Points every `prom:` probe at `server`; an error when one needs it and none is given.
    pub fn with_prometheus(mut self, server: Option<PromServer>) -> Result<ProbeOptions, String> {
        for probe in &mut self.probes {
            if let Target::Prom { server: s, .. } = &mut probe.target {
                match &server {
                    Some(server) => {
                        if server.is_tls() {
                            server.tls_config()?;
                        }
                        *s = Some(server.clone())
                    }
                    None => {
                        return Err(format!(
                            "probe {} needs a Prometheus to ask: give --prometheus URL (a \
                             `kubectl port-forward` address or an in-cluster Service) or set \
                             PROMETHEUS_URL",
                            probe.text
                        ))
                    }
                }
            }
        }
        Ok(self)
    }

    /// No probes and no abort rules.
    pub fn none() -> ProbeOptions {
        ProbeOptions {
            probes: Vec::new(),
            targets: 0,
            abort: Vec::new(),
            timing: ProbeTiming::default(),
        }
    }

    /// Whether probe `index` is a `--probe` (decides recovery), not an abort guard.
    pub fn is_target(&self, index: usize) -> bool {
        index < self.targets
    }

    /// Whether any probe follows the target VMI's address (the core then feeds the `watch`).
    pub fn follows_the_vmi(&self) -> bool {
        self.probes.iter().any(|p| p.target.follows_the_vmi())
    }

    pub fn is_empty(&self) -> bool {
        self.probes.is_empty() && self.abort.is_empty()
    }

    /// One empty track per probe, to feed samples into.
    pub fn tracks(&self) -> Vec<ProbeTrack> {
        self.probes.iter().cloned().map(ProbeTrack::new).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_probes_run_after_the_target_probes_and_rules_point_at_them() {
        let probes: Vec<ProbeSpec> = vec!["vmi:tcp:22".parse().unwrap()];
        let abort: Vec<AbortIf> = vec![
            "unready=1".parse().unwrap(),
            "http://shop/,for=10s".parse().unwrap(),
        ];
        let o = ProbeOptions::new(&probes, &abort, Duration::from_millis(250), None).unwrap();
        assert_eq!(o.probes.len(), 2);
        assert_eq!(o.probes[1].text, "http://shop/");
        assert!(o.is_target(0) && !o.is_target(1));
        assert_eq!(
            o.abort,
            [
                AbortRule::Unready { max: 1 },
                AbortRule::ProbeDown {
                    probe: 1,
                    allowed: Duration::from_secs(10)
                }
            ]
        );
        assert_eq!(o.timing.timeout, Duration::from_secs(1));
        assert!(o.follows_the_vmi());
        assert_eq!(o.tracks().len(), 2);
        let fast = ProbeOptions::new(&probes, &[], Duration::from_millis(100), None).unwrap();
        assert_eq!(fast.timing.timeout, Duration::from_millis(400));
        assert!(ProbeOptions::new(&probes, &[], Duration::from_millis(1), None).is_err());
        assert!(
            ProbeOptions::new(&probes, &[], Duration::from_secs(1), Some(Duration::ZERO)).is_err()
        );
    }
}
