//! `prom:EXPR` probes: a PromQL expression evaluated through Prometheus's HTTP API
//! (`GET /api/v1/query`). A non-empty result (or a scalar other than 0, e.g. `x > bool 0`)
//! passes; an empty one fails as [`FailureKind::NoResult`]. Not reaching Prometheus, or a query
//! it rejects, is [`FailureKind::Prometheus`]: a problem of the check, not of the VM.

use std::{fmt, path::PathBuf, sync::Arc, time::Duration};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::rustls::{self, pki_types::ServerName};

use super::attempt::{connect, failure, human, show, Failure, FailureKind};

/// Where Prometheus answers (`--prometheus`, `PROMETHEUS_URL`), and how to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct PromServer {
    /// As the user gave it, without a trailing slash (shown in messages).
    pub url: String,
    tls: bool,
    host: String,
    port: u16,
    /// A path prefix (Prometheus behind a proxy or `--web.route-prefix`), without a trailing
    /// slash; empty for none.
    prefix: String,
    /// Sent as `Authorization: Bearer …`.
    token: Option<String>,
    /// A PEM file of CAs to trust instead of the system's roots (https only).
    pub ca: Option<PathBuf>,
}

impl fmt::Debug for PromServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromServer")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .finish()
    }
}

impl PromServer {
    /// `http(s)://HOST[:PORT][/PREFIX]`, e.g. `http://127.0.0.1:9090` (a `kubectl
    /// port-forward`) or `http://prometheus-k8s.monitoring.svc:9090` (in the cluster).
    pub fn new(
        url: &str,
        token: Option<String>,
        ca: Option<PathBuf>,
    ) -> Result<PromServer, String> {
        let url = url.trim().trim_end_matches('/');
        let bad = |why: &str| {
            format!("--prometheus {url:?}: {why} (expected http(s)://HOST[:PORT][/PREFIX])")
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(bad("not an http:// or https:// URL"));
        };
        if rest.contains(['?', '#', '@']) {
            return Err(bad("no query, fragment or user name in the URL"));
        }
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, String::new()),
        };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, port)) => (host, Some(port.strip_prefix(':').unwrap_or(port))),
                None => return Err(bad("missing ] after an IPv6 address")),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = match port {
            None => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(&format!("{p:?} is not a port")))?,
        };
        if ca.is_some() && !tls {
            return Err(bad("--prometheus-ca needs an https:// URL"));
        }
        Ok(PromServer {
            url: url.to_string(),
            tls,
            host: host.to_string(),
            port,
            prefix,
            token: token.filter(|t| !t.is_empty()),
            ca,
        })
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The TLS configuration for this server: its CA file, else the system's roots.
    pub fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let Some(ca) = &self.ca else {
            return Ok(super::attempt::tls_config());
        };
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let pem =
            std::fs::read(ca).map_err(|e| format!("--prometheus-ca {}: {e}", ca.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("--prometheus-ca {}: {e}", ca.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--prometheus-ca {}: {e}", ca.display()))?;
        }
        if roots.is_empty() {
            return Err(format!(
                "--prometheus-ca {}: no PEM certificate in the file",
                ca.display()
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    }

    fn query_path(&self, expr: &str) -> String {
        format!("{}/api/v1/query?query={}", self.prefix, encode(expr))
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Evaluates `expr` once; Ok when it has a result.
pub async fn query(
    server: &PromServer,
    expr: &str,
    alerts: bool,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<(), Failure> {
    let (status, body) = fetch(server, expr, tls, timeout).await?;
    if alerts {
        evaluate_alerts(&server.url, status, &body)
    } else {
        evaluate(&server.url, status, &body)
    }
}

/// Sends `expr` to `/api/v1/query` once, within `timeout`: the HTTP status and the body.
pub(crate) async fn fetch(
    server: &PromServer,
    expr: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<(u16, Bytes), Failure> {
    let deadline = Instant::now() + timeout;
    let prom = |detail: String| failure(FailureKind::Prometheus, detail);
    let shown = show(&server.host, server.port);
    let stream = connect(&server.host, server.port, deadline, timeout)
        .await
        .map_err(|f| {
            prom(format!(
                "Prometheus at {} unreachable: {}",
                server.url, f.detail
            ))
        })?;
    let path = server.query_path(expr);
    let no_answer = || {
        prom(format!(
            "Prometheus at {} did not answer within {}",
            server.url,
            human(timeout)
        ))
    };
    if server.tls {
        let config = tls.ok_or_else(|| prom("no TLS configuration".into()))?;
        let name = ServerName::try_from(server.host.clone())
            .map_err(|e| prom(format!("{} is not a TLS server name: {e}", server.host)))?;
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let stream = timeout_at(deadline, connector.connect(name, stream))
            .await
            .map_err(|_| no_answer())?
            .map_err(|e| {
                prom(format!(
                    "TLS handshake with Prometheus at {}: {e}",
                    server.url
                ))
            })?;
        timeout_at(deadline, get(stream, &shown, &path, server))
            .await
            .map_err(|_| no_answer())?
    } else {
        timeout_at(deadline, get(stream, &shown, &path, server))
            .await
            .map_err(|_| no_answer())?
    }
}

async fn get<S>(
    stream: S,
    authority: &str,
    path: &str,
    server: &PromServer,
) -> Result<(u16, Bytes), Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let broken = |e: String| {
        failure(
            FailureKind::Prometheus,
            format!("Prometheus at {}: {e}", server.url),
        )
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| broken(e.to_string()))?;
    let mut request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, crate::VERSION_LINE)
        .header(hyper::header::ACCEPT, "application/json");
    if let Some(token) = &server.token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| broken(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| broken(e.to_string()))?;
        let status = response.status().as_u16();
        // A query's answer is small; a huge one is cut, never buffered without bound.
        let body = Limited::new(response.into_body(), 4 << 20)
            .collect()
            .await
            .map_err(|e| broken(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    driver.abort();
    result
}

#[derive(serde::Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    pub(super) result: serde_json::Value,
}

/// The `data` of a successful answer, or why there is none.
pub(super) fn data(url: &str, status: u16, body: &[u8]) -> Result<Data, Failure> {
    let prom = |detail: String| failure(FailureKind::Prometheus, detail);
    let answer: Answer = serde_json::from_slice(body).map_err(|_| {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_string();
        prom(format!(
            "{url} answered {status}, not a Prometheus API answer: {text:?}"
        ))
    })?;
    if answer.status != "success" {
        return Err(prom(format!(
            "Prometheus at {url} refused the query ({}): {}",
            answer.error_type.as_deref().unwrap_or("error"),
            answer.error.as_deref().unwrap_or("no reason given")
        )));
    }
    answer
        .data
        .ok_or_else(|| prom(format!("Prometheus at {url} answered without data")))
}

/// The verdict on one answer of `/api/v1/query` (pure, for tests).
pub(crate) fn evaluate(url: &str, status: u16, body: &[u8]) -> Result<(), Failure> {
    let prom = |detail: String| failure(FailureKind::Prometheus, detail);
    let data = data(url, status, body)?;
    match (data.result_type.as_str(), &data.result) {
        ("vector" | "matrix", serde_json::Value::Array(series)) if series.is_empty() => {
            Err(failure(
                FailureKind::NoResult,
                "the query returned no series".to_string(),
            ))
        }
        ("vector" | "matrix", serde_json::Value::Array(series)) => {
            tracing::trace!(series = series.len(), "prometheus query passed");
            Ok(())
        }
        ("scalar", serde_json::Value::Array(pair)) => {
            let value = pair.get(1).and_then(|v| v.as_str()).unwrap_or("");
            match value.parse::<f64>() {
                Ok(v) if v != 0.0 && !v.is_nan() => Ok(()),
                _ => Err(failure(
                    FailureKind::NoResult,
                    format!("the query returned the scalar {value}"),
                )),
            }
        }
        ("string", _) => Ok(()),
        (other, _) => Err(prom(format!(
            "Prometheus at {url} answered an unknown result type {other:?}"
        ))),
    }
}

/// An `alert:` probe's verdict: no series passes; firing alerts fail it, each named as
/// `NAME{labels}` (without `alertname` and `alertstate`), sorted.
pub(crate) fn evaluate_alerts(url: &str, status: u16, body: &[u8]) -> Result<(), Failure> {
    let data = data(url, status, body)?;
    let series = data.result.as_array().cloned().unwrap_or_default();
    if series.is_empty() {
        return Ok(());
    }
    let mut firing: Vec<String> = series
        .iter()
        .map(|s| {
            let metric = s["metric"].as_object().cloned().unwrap_or_default();
            let name = metric
                .get("alertname")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string();
            let labels: Vec<String> = metric
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "alertstate" | "__name__"))
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            format!("{name}{{{}}}", labels.join(","))
        })
        .collect();
    firing.sort();
    Err(failure(
        FailureKind::AlertFiring,
        format!("firing: {}", firing.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_a_port_forward_an_in_cluster_service_and_a_proxy() {
        let s = PromServer::new("http://127.0.0.1:9090/", None, None).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("127.0.0.1", 9090, false));
        assert_eq!(s.url, "http://127.0.0.1:9090");
        assert_eq!(
            s.query_path("up{job=\"x\"} == 1"),
            "/api/v1/query?query=up%7Bjob%3D%22x%22%7D%20%3D%3D%201"
        );
        let s = PromServer::new(
            "https://prom.example.com/prometheus",
            Some("t".into()),
            None,
        )
        .unwrap();
        assert_eq!((s.port, s.prefix.as_str()), (443, "/prometheus"));
        assert!(
            !format!("{s:?}").contains("\"t\""),
            "the token is never shown"
        );
        let s = PromServer::new("http://[::1]:9090", None, None).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 9090));
        assert!(PromServer::new("prom:9090", None, None)
            .unwrap_err()
            .contains("http://"));
        assert!(PromServer::new("http://:9090", None, None)
            .unwrap_err()
            .contains("missing host"));
        assert!(PromServer::new("http://a:0", None, None)
            .unwrap_err()
            .contains("not a port"));
        assert!(PromServer::new("http://a", None, Some("ca.pem".into()))
            .unwrap_err()
            .contains("https://"));
    }

    #[test]
    fn a_result_passes_an_empty_one_fails_and_a_refused_query_is_prometheus_s_problem() {
        let url = "http://p:9090";
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#;
        assert_eq!(evaluate(url, 200, ok), Ok(()));
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(
            evaluate(url, 200, empty).unwrap_err().kind,
            FailureKind::NoResult
        );
        let yes = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        let no = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"0"]}}"#;
        assert_eq!(evaluate(url, 200, yes), Ok(()));
        assert_eq!(
            evaluate(url, 200, no).unwrap_err().kind,
            FailureKind::NoResult
        );
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        let e = evaluate(url, 400, bad).unwrap_err();
        assert_eq!(e.kind, FailureKind::Prometheus);
        assert!(
            e.detail.contains("bad_data") && e.detail.contains("parse error"),
            "{e}"
        );
        let html = evaluate(url, 404, b"<html>not found</html>").unwrap_err();
        assert_eq!(html.kind, FailureKind::Prometheus);
        assert!(html.detail.contains("404"), "{html}");
    }

    #[test]
    fn an_alert_probe_passes_while_none_fires_and_names_those_that_do() {
        let url = "http://p:9090";
        let none = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(evaluate_alerts(url, 200, none), Ok(()));
        let two = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"ALERTS","alertname":"VMIDown","alertstate":"firing","name":"db","severity":"critical"},"value":[1,"1"]},
            {"metric":{"__name__":"ALERTS","alertname":"AppSlow","alertstate":"firing"},"value":[1,"1"]}]}}"#;
        let e = evaluate_alerts(url, 200, two).unwrap_err();
        assert_eq!(e.kind, FailureKind::AlertFiring);
        assert_eq!(
            e.detail,
            "firing: AppSlow{}, VMIDown{name=db,severity=critical}"
        );
        let bad = br#"{"status":"error","errorType":"bad_data","error":"x"}"#;
        assert_eq!(
            evaluate_alerts(url, 400, bad).unwrap_err().kind,
            FailureKind::Prometheus
        );
    }
}
