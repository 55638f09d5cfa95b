//! One probe attempt: a TCP connect, or a GET over a fresh connection (never a pooled one: a
//! kept-alive connection would hide that new users are refused). Failures are classified the
//! way an operator reads them: refused, timed out, wrong status, unreachable, no address yet.

use std::{sync::Arc, time::Duration};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::rustls::{self, pki_types::ServerName};

use super::{
    failure::{failure, human, show, Failure, FailureKind},
    net::connect,
    spec::{StatusRange, Target},
};

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

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::probe::net::io_failure;

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
