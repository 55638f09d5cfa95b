//! Steady state: before anything is deleted, every probe must pass a few times in a row.

use std::fmt;

use tokio::{sync::mpsc, time::Instant};

use super::{
    failure::{Failure, FailureKind},
    runner::ProbeSample,
    track::ProbeTrack,
};

/// A probe that did not reach steady state: the run must stop with nothing changed (exit 2).
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyStateError {
    pub probe: usize,
    /// The probe as the user wrote it.
    pub spec: String,
    /// A `vmi:` probe (the hint then talks about reaching the VMI's own address).
    pub follows_the_vmi: bool,
    pub needed: usize,
    pub in_a_row: usize,
    pub attempts: usize,
    /// The latest failed attempt (None: too few attempts in time, none failed).
    pub failure: Option<Failure>,
}

impl std::error::Error for SteadyStateError {}

impl fmt::Display for SteadyStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe {} does not pass before the outage", self.spec)?;
        match &self.failure {
            Some(failure) => write!(f, ": {} ({})", failure.kind, failure.detail)?,
            None => write!(f, ": no answer in time")?,
        }
        write!(
            f,
            "; {} of {} attempts in a row needed passed ({} attempts)",
            self.in_a_row, self.needed, self.attempts
        )
    }
}

impl SteadyStateError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        let vmi = self.follows_the_vmi;
        match self.failure.as_ref().map(|f| f.kind) {
            Some(FailureKind::Unreachable | FailureKind::TimedOut) if vmi => {
                "the VMI's own address may not be reachable from where the tool runs (a pod \
                 network): probe a Service URL instead (--probe tcp://SERVICE.NAMESPACE.svc:PORT \
                 or http://SERVICE.NAMESPACE.svc/PATH), or run the tool inside the cluster"
                    .into()
            }
            Some(FailureKind::Unreachable) => {
                "check the address, or run the tool where it can reach it (inside the cluster \
                 for a Service name)"
                    .into()
            }
            Some(FailureKind::TimedOut) => {
                "a firewall may drop the traffic, or the service is slow: raise --probe-timeout"
                    .into()
            }
            Some(FailureKind::Refused) if vmi => {
                "the VMI's address answers, but nothing listens on that port in the guest".into()
            }
            Some(FailureKind::Refused) => {
                "nothing listens there (or the Service has no ready endpoints): check host and \
                 port"
                    .into()
            }
            Some(FailureKind::WrongStatus(_)) => {
                "add the statuses that mean healthy to the probe, e.g. #status=200-499".into()
            }
            Some(FailureKind::NoAddress) => {
                "the VMI reports no IP address in status.interfaces: use a fixed address".into()
            }
            Some(FailureKind::Prometheus) => {
                "check --prometheus (a `kubectl port-forward -n monitoring svc/prometheus \
                 9090` address, or the Service's in-cluster URL), the token and the CA, and the \
                 PromQL expression: nothing was deleted"
                    .into()
            }
            Some(FailureKind::AlertFiring) => {
                "an alert it watches fires already: narrow it with labels (alert:severity=\
                 critical,namespace=NS), or run once the alert is resolved"
                    .into()
            }
            Some(FailureKind::NoResult) => {
                "the expression has no result now: check it in Prometheus's own UI, and run the \
                 outage once it holds"
                    .into()
            }
            Some(FailureKind::Broken) | None => {
                "check that the service is healthy before the outage, then run again".into()
            }
        }
    }
}

/// Whether every track's latest `n` attempts passed; Err: the first probe that didn't (by
/// index), to report at the deadline.
pub fn check_steady(tracks: &[ProbeTrack], n: usize) -> Result<(), SteadyStateError> {
    for (probe, track) in tracks.iter().enumerate() {
        let in_a_row = track.successes_in_a_row();
        if in_a_row < n {
            return Err(SteadyStateError {
                probe,
                spec: track.spec.text.clone(),
                follows_the_vmi: track.spec.target.follows_the_vmi(),
                needed: n,
                in_a_row,
                attempts: track.attempts(),
                failure: track.last_failure().and_then(|s| s.failure.clone()),
            });
        }
    }
    Ok(())
}

/// Feeds samples into `tracks` (indexed by `ProbeSample::probe`) until every probe passed `n`
/// times in a row (Ok), or `deadline` (Err naming the probe that did not, with its latest
/// failure). Samples after steady state stay in the channel for the caller.
pub async fn steady_state(
    samples: &mut mpsc::UnboundedReceiver<ProbeSample>,
    tracks: &mut [ProbeTrack],
    n: usize,
    deadline: Instant,
) -> Result<(), SteadyStateError> {
    loop {
        let verdict = check_steady(tracks, n);
        if verdict.is_ok() {
            return verdict;
        }
        match tokio::time::timeout_at(deadline, samples.recv()).await {
            Ok(Some(sample)) => {
                if let Some(track) = tracks.get_mut(sample.probe) {
                    track.record(sample);
                }
            }
            Ok(None) | Err(_) => return check_steady(tracks, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{
        spec::ProbeSpec,
        track::tests::{ms, sample, track},
    };

    #[tokio::test(start_paused = true)]
    async fn steady_when_every_probe_passes_n_in_a_row() {
        let t0 = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let spec: ProbeSpec = "vmi:tcp:22".parse().unwrap();
        let mut tracks = vec![track(t0, ""), ProbeTrack::new(spec)];
        let feeder = tokio::spawn(async move {
            for i in 0..3 {
                tokio::time::sleep(ms(250)).await;
                tx.send(sample(0, Instant::now(), None)).unwrap();
                tx.send(sample(
                    1,
                    Instant::now(),
                    (i == 0).then_some(FailureKind::Refused),
                ))
                .unwrap();
            }
            tokio::time::sleep(ms(250)).await;
            tx.send(sample(1, Instant::now(), None)).unwrap();
            tx
        });
        let r = steady_state(&mut rx, &mut tracks, 2, t0 + ms(5000)).await;
        assert_eq!(r, Ok(()));
        assert_eq!(
            Instant::now() - t0,
            ms(750),
            "steady as soon as both passed twice"
        );
        drop(feeder.await);
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_deadline_the_failing_probe_is_named_with_why_and_a_hint() {
        let t0 = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tracks = vec![ProbeTrack::new("vmi:http:8080/healthz".parse().unwrap())];
        let feeder = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ms(250)).await;
                if tx
                    .send(sample(0, Instant::now(), Some(FailureKind::Unreachable)))
                    .is_err()
                {
                    return;
                }
            }
        });
        let e = steady_state(&mut rx, &mut tracks, 3, t0 + ms(2000))
            .await
            .unwrap_err();
        assert_eq!(Instant::now(), t0 + ms(2000));
        assert_eq!((e.probe, e.in_a_row, e.needed), (0, 0, 3));
        assert_eq!(e.failure.as_ref().unwrap().kind, FailureKind::Unreachable);
        assert!(
            e.to_string().starts_with(
                "probe vmi:http:8080/healthz does not pass before the outage: unreachable"
            ),
            "{e}"
        );
        assert!(e.hint().contains("Service URL") && e.hint().contains("inside the cluster"));
        feeder.abort();
    }

    #[test]
    fn hints_follow_the_failure() {
        let t0 = Instant::now();
        let e = |spec: &str, kind| {
            let mut t = ProbeTrack::new(spec.parse().unwrap());
            t.record(sample(0, t0, Some(kind)));
            check_steady(&[t], 1).unwrap_err().hint()
        };
        assert!(e("tcp://db:5432", FailureKind::Refused).contains("nothing listens"));
        assert!(e("vmi:tcp:22", FailureKind::Refused).contains("in the guest"));
        assert!(e("http://a/", FailureKind::WrongStatus(503)).contains("#status="));
        assert!(e("tcp://a:1", FailureKind::TimedOut).contains("--probe-timeout"));
        assert!(e("vmi:tcp:22", FailureKind::TimedOut).contains("Service URL"));
        assert!(check_steady(&[track(t0, "+++")], 3).is_ok());
        assert_eq!(
            check_steady(&[track(t0, "r++")], 3).unwrap_err().in_a_row,
            2
        );
    }
}
