//! One probe attempt: a TCP connect, or a GET over a fresh connection (never a pooled one: a
//! kept-alive connection would hide that new users are refused). Failures are classified the
//! way an operator reads them: refused, timed out, wrong status, unreachable, no address yet.

use std::{fmt, io, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::{
    net::TcpStream,
    time::{timeout_at, Instant},
};
use tokio_rustls::rustls::{self, pki_types::ServerName};

use super::spec::{StatusRange, Target};

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

/// What one attempt needs besides the target.
pub struct Context<'a> {
    /// The target VMI's address, for `vmi:` probes.
    pub vmi_address: Option<&'a str>,
    pub timeout: Duration,
    pub tls: &'a Arc<rustls::ClientConfig>,
    /// For `prom:` probes on an https:// Prometheus (its CA, or the system's roots).
    pub prom_tls: Option<&'a Arc<rustls::ClientConfig>>,
}

/// Runs one attempt; Ok(address probed) or the failure (with the address in its detail).
pub async fn attempt(target: &Target, cx: &Context<'_>) -> (Option<String>, Result<(), Failure>) {
    let deadline = Instant::now() + cx.timeout;
    let vmi_host = || {
        cx.vmi_address.map(str::to_string).ok_or_else(|| {
            failure(
                FailureKind::NoAddress,
                "the VMI has no IP address (no VMI, or it isn't running yet)",
            )
        })
    };
    match target {
        Target::Tcp { host, port } => {
            let shown = show(host, *port);
            let result = connect(host, *port, deadline, cx.timeout).await.map(drop);
            (Some(shown), result)
        }
        Target::VmiTcp { port } => match vmi_host() {
            Ok(host) => {
                let result = connect(&host, *port, deadline, cx.timeout).await.map(drop);
                (Some(show(&host, *port)), result)
            }
            Err(f) => (None, Err(f)),
        },
        Target::Http {
            tls,
            host,
            port,
            path,
            status,
        } => {
            let shown = show(host, *port);
            let tls = tls.then_some(cx.tls);
            let result = get(host, *port, path, status, tls, deadline, cx.timeout).await;
            (Some(shown), result)
        }
        Target::VmiHttp { port, path, status } => match vmi_host() {
            Ok(host) => {
                let result = get(&host, *port, path, status, None, deadline, cx.timeout).await;
                (Some(show(&host, *port)), result)
            }
            Err(f) => (None, Err(f)),
        },
        Target::Prom {
            query,
            alerts,
            server,
        } => match server {
            Some(server) => {
                let result =
                    super::prom::query(server, query, *alerts, cx.prom_tls, cx.timeout).await;
                (Some(server.url.clone()), result)
            }
            None => (
                None,
                Err(failure(
                    FailureKind::Prometheus,
                    "no Prometheus to ask: give --prometheus URL or set PROMETHEUS_URL",
                )),
            ),
        },
    }
}

pub(super) fn show(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Resolves (names: each attempt, as a client would) and connects to the first address that
/// answers.
pub(super) async fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let shown = show(host, port);
    let timed_out = |what: &str| {
        failure(
            FailureKind::TimedOut,
            format!("{what} {shown} timed out after {}", human(timeout)),
        )
    };
    let addresses: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Err(_) => return Err(timed_out("resolving")),
            Ok(Err(e)) => {
                return Err(failure(
                    FailureKind::Unreachable,
                    format!("cannot resolve {host}: {e}"),
                ))
            }
            Ok(Ok(addresses)) => addresses.collect(),
        },
    };
    let mut last = failure(FailureKind::Unreachable, format!("{host} has no address"));
    for address in addresses {
        match timeout_at(deadline, TcpStream::connect(address)).await {
            Err(_) => return Err(timed_out("connecting to")),
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = io_failure(&e, &format!("connecting to {shown}")),
        }
    }
    Err(last)
}

fn io_failure(e: &io::Error, what: &str) -> Failure {
    use io::ErrorKind as K;
    let kind = match e.kind() {
        K::ConnectionRefused => FailureKind::Refused,
        K::TimedOut => FailureKind::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable | K::NetworkDown => {
            FailureKind::Unreachable
        }
        _ => FailureKind::Broken,
    };
    let said = match kind {
        FailureKind::Refused => "connection refused".to_string(),
        _ => e.to_string(),
    };
    failure(kind, format!("{what}: {said}"))
}

/// GET `path` on a new connection (TLS when `tls`), `Connection: close`; only the status counts.
async fn get(
    host: &str,
    port: u16,
    path: &str,
    status: &StatusRange,
    tls: Option<&Arc<rustls::ClientConfig>>,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), Failure> {
    let shown = show(host, port);
    let stream = connect(host, port, deadline, timeout).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{shown}{path}");
    let no_answer = || {
        failure(
            FailureKind::TimedOut,
            format!("GET {url}: no answer within {}", human(timeout)),
        )
    };
    let code = match tls {
        Some(config) => {
            let name = ServerName::try_from(host.to_string()).map_err(|e| {
                failure(
                    FailureKind::Broken,
                    format!("{host} is not a TLS server name: {e}"),
                )
            })?;
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let stream = match timeout_at(deadline, connector.connect(name, stream)).await {
                Err(_) => {
                    return Err(failure(
                        FailureKind::TimedOut,
                        format!(
                            "TLS handshake with {shown} timed out after {}",
                            human(timeout)
                        ),
                    ))
                }
                Ok(Err(e)) => {
                    return Err(failure(
                        FailureKind::Broken,
                        format!("TLS handshake with {shown}: {e}"),
                    ))
                }
                Ok(Ok(stream)) => stream,
            };
            timeout_at(deadline, request(stream, &shown, path, &url))
                .await
                .map_err(|_| no_answer())??
        }
        None => timeout_at(deadline, request(stream, &shown, path, &url))
            .await
            .map_err(|_| no_answer())??,
    };
    if status.contains(code) {
        Ok(())
    } else {
        Err(failure(
            FailureKind::WrongStatus(code),
            format!("GET {url} answered {code}, expected {status}"),
        ))
    }
}

async fn request<S>(stream: S, authority: &str, path: &str, url: &str) -> Result<u16, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let broken = |e: hyper::Error| failure(FailureKind::Broken, format!("GET {url}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(broken)?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, crate::VERSION_LINE)
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| failure(FailureKind::Broken, format!("GET {url}: {e}")))?;
    let mut connection = std::pin::pin!(connection);
    let mut response = std::pin::pin!(sender.send_request(request));
    // The connection ends right after the answer (Connection: close): the answer wins a tie.
    let response = tokio::select! {
        biased;
        response = &mut response => response,
        ended = &mut connection => match ended {
            Err(e) => return Err(broken(e)),
            Ok(()) => response.await,
        },
    };
    Ok(response.map_err(broken)?.status().as_u16())
}

/// Platform roots (the system's trust store), for `https://` probes.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        tracing::warn!(
            "no trusted root certificates found on this machine: https probes will fail"
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_what_an_operator_reads() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        let f = io_failure(&e, "connecting to 10.0.0.1:22");
        assert_eq!(f.kind, FailureKind::Refused);
        assert_eq!(f.detail, "connecting to 10.0.0.1:22: connection refused");
        let kind = |k| io_failure(&io::Error::from(k), "x").kind;
        assert_eq!(
            kind(io::ErrorKind::HostUnreachable),
            FailureKind::Unreachable
        );
        assert_eq!(
            kind(io::ErrorKind::NetworkUnreachable),
            FailureKind::Unreachable
        );
        assert_eq!(kind(io::ErrorKind::TimedOut), FailureKind::TimedOut);
        assert_eq!(kind(io::ErrorKind::ConnectionReset), FailureKind::Broken);
        assert_eq!(
            FailureKind::WrongStatus(503).to_string(),
            "wrong status 503"
        );
        assert_eq!(show("::1", 80), "[::1]:80");
    }
}
