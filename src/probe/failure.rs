//! Why a probe attempt failed: the kind, and a sentence with the address and what happened.

use std::{fmt, time::Duration};

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// The host answered, but nothing listens on the port (or a Service has no endpoints).
    Refused,
    /// No answer within the per-attempt timeout.
    TimedOut,
    /// An HTTP answer outside the expected statuses.
    WrongStatus(u16),
    /// No route to the host, or its name does not resolve.
    Unreachable,
    /// A `vmi:` probe while the VMI has no IP address (it is gone, or not running yet).
    NoAddress,
    /// Connected, then the connection broke, the TLS handshake failed, or the answer wasn't HTTP.
    Broken,
    /// A `prom:` query returned nothing (no series, or a false comparison).
    NoResult,
    /// Prometheus could not be reached or refused the query: the check failed, not the VM.
    Prometheus,
    /// An `alert:` probe: a matching alert fires.
    AlertFiring,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Refused => f.write_str("refused"),
            FailureKind::TimedOut => f.write_str("timed out"),
            FailureKind::WrongStatus(code) => write!(f, "wrong status {code}"),
            FailureKind::Unreachable => f.write_str("unreachable"),
            FailureKind::NoAddress => f.write_str("no address yet"),
            FailureKind::Broken => f.write_str("broken connection"),
            FailureKind::NoResult => f.write_str("empty result"),
            FailureKind::Prometheus => f.write_str("Prometheus error"),
            FailureKind::AlertFiring => f.write_str("alert firing"),
        }
    }
}

/// A failed attempt: the kind, and a sentence with the address and what happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

pub(super) fn failure(kind: FailureKind, detail: impl Into<String>) -> Failure {
    Failure {
        kind,
        detail: detail.into(),
    }
}

pub(super) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

pub(super) fn show(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
