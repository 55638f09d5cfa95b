//! The probes' network: resolving a name and connecting, as a client would, each attempt.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::TcpStream,
    time::{timeout_at, Instant},
};
use tokio_rustls::rustls;

use super::failure::{failure, human, show, Failure, FailureKind};

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

pub(super) fn io_failure(e: &io::Error, what: &str) -> Failure {
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
