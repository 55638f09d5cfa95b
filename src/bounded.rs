//! The one bounded-request helper: every API request (and every wait on one) is bounded by
//! --request-timeout through here. A leaf: the cluster layer, the credentials and the outage
//! use it; it uses nothing of the crate.

use std::{future::Future, time::Duration};

/// The default bound on one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `future` bounded by `limit` (`Duration::ZERO`: no limit, as kubectl's --request-timeout):
/// None when it ran out.
pub async fn within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    match limit {
        Duration::ZERO => Some(future.await),
        limit => tokio::time::timeout(limit, future).await.ok(),
    }
}

/// One request bounded by `limit`; running out reads as the client's own timeout, so
/// `Cluster::request_error` says TimedOut and `error::describe` names --request-timeout.
pub async fn bounded<T>(
    limit: Duration,
    request: impl Future<Output = kube::Result<T>>,
) -> kube::Result<T> {
    match within(limit, request).await {
        Some(r) => r,
        None => Err(kube::Error::Service(Box::new(
            tower::timeout::error::Elapsed::new(),
        ))),
    }
}
