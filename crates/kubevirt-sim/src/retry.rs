//! Reconcile errors and the per-object back-off the controllers retry them with.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// A failed API call during a reconcile, with the object it was about.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} {namespace}/{name}: {source}")]
pub struct Error {
    action: &'static str,
    namespace: String,
    name: String,
    #[source]
    source: kube::Error,
}

impl Error {
    pub fn new(action: &'static str, namespace: &str, name: &str, source: kube::Error) -> Error {
        Error {
            action,
            namespace: namespace.into(),
            name: name.into(),
            source,
        }
    }

    /// The HTTP status code the API server answered, if it answered.
    pub fn code(&self) -> Option<u16> {
        crate::api_code(&self.source)
    }
}

/// Logs what a controller's stream reports: a failing watch loudly (the controller is blind
/// meanwhile; kube-runtime retries it with back-off), the rest quietly (a reconcile error was
/// logged by the error policy, a vanished object needs nothing).
pub fn report<QueueError: std::fmt::Display>(
    controller: &str,
    result: Result<(), kube::runtime::controller::Error<Error, QueueError>>,
) {
    use kube::runtime::controller::Error as E;
    match result {
        Ok(()) => {}
        Err(E::QueueError(e)) => tracing::warn!("{controller} controller: watch failed: {e}"),
        Err(e @ E::RunnerError(_)) => tracing::warn!("{controller} controller: {e}"),
        Err(e) => tracing::debug!("{controller} controller: {e}"),
    }
}

/// Exponential back-off per object (by UID): 100 ms, doubling, at most 5 s; reset on success.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        let delay = Self::FIRST.saturating_mul(1 << (*n).min(10)).min(Self::MAX);
        *n += 1;
        delay
    }

    pub fn reset(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !failures.is_empty() {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap_and_resets() {
        let b = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| b.next("a").as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.next("b"), Duration::from_millis(100));
        b.reset("a");
        assert_eq!(b.next("a"), Duration::from_millis(100));
    }
}

/// How the simulator's watches come back after the API server went away: from 100 ms, doubling,
/// at most 1 s apart, reset by the first event that arrives. kube-runtime's default (client-go's:
/// 0.8 s doubling to 30 s, reset after 2 quiet minutes) can leave a controller blind for half a
/// minute after a test restarts the API server twice; the simulator stands in for a control plane
/// that is up, so it reconnects promptly. (KubeVirt's own controllers, on the genuine tier, keep
/// client-go's pace.)
#[derive(Debug, Clone)]
pub struct Reconnect {
    next: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            next: Reconnect::FIRST,
        }
    }
}

impl Reconnect {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(1);
}

impl Iterator for Reconnect {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (now * 2).min(Reconnect::MAX);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for Reconnect {
    fn reset(&mut self) {
        self.next = Reconnect::FIRST;
    }
}

#[cfg(test)]
mod reconnect_tests {
    use super::*;
    use kube::runtime::utils::Backoff as _;

    #[test]
    fn reconnects_double_to_one_second_and_reset() {
        let mut b = Reconnect::default();
        let ms: Vec<u128> = b.by_ref().take(6).map(|d| d.as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(100)));
    }
}
