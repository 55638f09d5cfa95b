//! Probers: one task per probe, an attempt every interval whatever the previous one is doing
//! (a hanging attempt must not stretch the time between attempts, or downtime would be measured
//! in timeouts), each sample sent on an unbounded channel so that a prober never waits for the
//! outage's own loop, and the loop never waits for a prober.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use futures::{stream::FuturesUnordered, StreamExt};
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
    time::{Instant, MissedTickBehavior},
};

use super::{
    attempt::{attempt, Context},
    failure::Failure,
    net::tls_config,
    spec::{ProbeSpec, Target},
};

/// One attempt's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSample {
    /// Index of the probe (the order they were given to [`spawn_probers`]).
    pub probe: usize,
    /// When the attempt started (the time axis of every figure).
    pub at: Instant,
    /// The same moment on the wall clock (for JSON, and for comparing with other logs).
    pub wall: SystemTime,
    /// How long the attempt took (up to the timeout).
    pub latency: Duration,
    /// The address probed (`host:port`); None when a `vmi:` probe had no address.
    pub address: Option<String>,
    /// None: success.
    pub failure: Option<Failure>,
}

impl ProbeSample {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Interval and per-attempt timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    pub interval: Duration,
    pub timeout: Duration,
}

impl ProbeTiming {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

    /// `timeout`, else min(4 × interval, 1 s).
    pub fn new(interval: Duration, timeout: Option<Duration>) -> ProbeTiming {
        ProbeTiming {
            interval,
            timeout: timeout.unwrap_or_else(|| (interval * 4).min(Duration::from_secs(1))),
        }
    }
}

impl Default for ProbeTiming {
    fn default() -> Self {
        ProbeTiming::new(Self::DEFAULT_INTERVAL, None)
    }
}

/// The running probers; dropping this stops them (attempts in flight are abandoned).
pub struct Probers {
    tasks: JoinSet<()>,
}

impl Probers {
    /// Stops every prober now.
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}

/// Starts one prober per spec (probe index = position in `probes`). `vmi_address` is the target
/// VMI's current IP for `vmi:` probes; the caller updates it as VMIs come and go (None: no
/// address, the attempt fails at once as `NoAddress`). Must be called within a tokio runtime.
pub fn spawn_probers(
    probes: &[ProbeSpec],
    timing: ProbeTiming,
    vmi_address: watch::Receiver<Option<String>>,
    samples: mpsc::UnboundedSender<ProbeSample>,
) -> Probers {
    let tls = if probes
        .iter()
        .any(|p| matches!(p.target, Target::Http { tls: true, .. }))
    {
        tls_config()
    } else {
        // Never used: only https:// probes do TLS, and loading the system roots costs time.
        Arc::new(
            tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
            .with_no_client_auth(),
        )
    };
    // Every prom: probe asks the same server (--prometheus); its CA file was checked already.
    let prom_tls = probes.iter().find_map(|p| match &p.target {
        Target::Prom {
            server: Some(server),
            ..
        } if server.is_tls() => server.tls_config().map_err(|e| tracing::warn!("{e}")).ok(),
        _ => None,
    });
    let mut tasks = JoinSet::new();
    for (index, spec) in probes.iter().enumerate() {
        tasks.spawn(run_prober(
            index,
            spec.target.clone(),
            timing,
            vmi_address.clone(),
            samples.clone(),
            tls.clone(),
            prom_tls.clone(),
        ));
    }
    Probers { tasks }
}

async fn run_prober(
    index: usize,
    target: Target,
    timing: ProbeTiming,
    vmi_address: watch::Receiver<Option<String>>,
    samples: mpsc::UnboundedSender<ProbeSample>,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    prom_tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
) {
    let mut ticks = tokio::time::interval(timing.interval);
    // A starved runtime skips attempts rather than bunching them up.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let address = vmi_address.borrow().clone();
                let (target, tls, prom_tls) = (&target, &tls, prom_tls.as_ref());
                in_flight.push(async move {
                    let at = Instant::now();
                    let wall = SystemTime::now();
                    let cx = Context {
                        vmi_address: address.as_deref(),
                        timeout: timing.timeout,
                        tls,
                        prom_tls,
                    };
                    let (address, result) = attempt(target, &cx).await;
                    ProbeSample {
                        probe: index,
                        at,
                        wall,
                        latency: at.elapsed(),
                        address,
                        failure: result.err(),
                    }
                });
            }
            Some(sample) = in_flight.next() => {
                if samples.send(sample).is_err() {
                    return;
                }
            }
        }
    }
}
