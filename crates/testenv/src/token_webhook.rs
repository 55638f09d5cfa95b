//! A token-review webhook (`--authentication-token-webhook-config-file`) for credentials that
//! expire or are revoked: static tokens never expire and TokenRequest's minimum lifetime is ten
//! minutes, so the tests of renewal need tokens the API server really stops accepting.
//!
//! A token `vmchaos-…` is accepted (user [`USER`], group `system:masters`) unless it was
//! revoked; one that contains `-exp-<unix seconds>` only until that second. The API server's
//! cache of answers is off (`--authentication-token-webhook-cache-ttl=0s`), so every request
//! is reviewed here.

use std::{
    collections::{BTreeMap, BTreeSet},
    convert::Infallible,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::{
    body::{Bytes, Incoming},
    service::service_fn,
    Request, Response,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

/// Who an accepted token authenticates as.
pub const USER: &str = "webhook-user";

/// What the webhook saw: every token it accepted, how often it refused one.
#[derive(Debug, Default)]
struct Seen {
    revoked: BTreeSet<String>,
    /// Accepted tokens and how many reviews accepted each.
    accepted: BTreeMap<String, usize>,
    /// Refused reviews (expired, revoked or unknown), by token.
    refused: BTreeMap<String, usize>,
}

/// The running webhook (aborted when dropped).
pub struct TokenWebhook {
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for TokenWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TokenWebhook {
    /// Serves on a free loopback port; writes the API server's webhook kubeconfig to `config`.
    pub async fn start(config: &Path) -> anyhow::Result<TokenWebhook> {
        let acceptor = TlsAcceptor::from(Arc::new(tls_config()?));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        crate::control_plane::write_private(config, &webhook_kubeconfig(port))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = seen.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(connection(stream, acceptor.clone(), state.clone()));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(TokenWebhook { seen, task })
    }

    /// From now on the API server refuses `token`.
    pub fn revoke(&self, token: &str) {
        self.lock().revoked.insert(token.to_string());
    }

    /// The tokens accepted so far, each with how many requests it authenticated.
    pub fn accepted(&self) -> BTreeMap<String, usize> {
        self.lock().accepted.clone()
    }

    /// The tokens refused so far, each with how many requests it was refused for.
    pub fn refused(&self) -> BTreeMap<String, usize> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A token valid until `expiry` (whole seconds since the epoch), as a test plugin prints it.
pub fn expiring_token(name: &str, expiry: u64) -> String {
    format!("vmchaos-{name}-exp-{expiry}")
}

/// The API server's flags for the webhook whose kubeconfig is `config`.
pub fn apiserver_args(config: &Path) -> Vec<String> {
    vec![
        format!(
            "--authentication-token-webhook-config-file={}",
            config.display()
        ),
        "--authentication-token-webhook-version=v1".into(),
        // Every request reviewed: an expired token must be refused at once.
        "--authentication-token-webhook-cache-ttl=0s".into(),
    ]
}

fn webhook_kubeconfig(port: u16) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: token-webhook
  cluster:
    server: https://127.0.0.1:{port}/
    insecure-skip-tls-verify: true
users:
- name: kube-apiserver
  user: {{}}
contexts:
- name: token-webhook
  context:
    cluster: token-webhook
    user: kube-apiserver
current-context: token-webhook
"
    )
}

fn tls_config() -> anyhow::Result<rustls::ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .context("failed to generate the token webhook's certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

async fn connection(stream: tokio::net::TcpStream, acceptor: TlsAcceptor, seen: Arc<Mutex<Seen>>) {
    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
    else {
        return;
    };
    let service = service_fn(move |request: Request<Incoming>| {
        let seen = seen.clone();
        async move {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let review: Value = serde_json::from_slice(&body).unwrap_or_default();
            let token = review["spec"]["token"].as_str().unwrap_or_default();
            let answer = review_token(&seen, token, SystemTime::now());
            let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            Ok::<_, Infallible>(response)
        }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// The TokenReview answer for `token` at `now`, recorded in `seen`.
fn review_token(seen: &Mutex<Seen>, token: &str, now: SystemTime) -> Value {
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let valid = valid(token, now) && !seen.revoked.contains(token);
    let tally = if valid {
        &mut seen.accepted
    } else {
        &mut seen.refused
    };
    *tally.entry(token.to_string()).or_default() += 1;
    let status = if valid {
        json!({"authenticated": true, "user": {"username": USER, "groups": ["system:masters"]}})
    } else {
        json!({"authenticated": false, "error": "the token expired or was revoked"})
    };
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "status": status,
    })
}

fn valid(token: &str, now: SystemTime) -> bool {
    if !token.starts_with("vmchaos-") {
        return false;
    }
    let Some((_, expiry)) = token.rsplit_once("-exp-") else {
        return true;
    };
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    expiry.parse::<u64>().is_ok_and(|expiry| now < expiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_are_revoked() {
        let seen = Mutex::new(Seen::default());
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        let ok = |v: Value| v["status"]["authenticated"] == json!(true);
        let token = expiring_token("a", 100);
        assert!(ok(review_token(&seen, &token, at(99))));
        assert!(!ok(review_token(&seen, &token, at(100))));
        assert!(ok(review_token(&seen, "vmchaos-file-1", at(1_000))));
        seen.lock().unwrap().revoked.insert("vmchaos-file-1".into());
        assert!(!ok(review_token(&seen, "vmchaos-file-1", at(1_000))));
        assert!(!ok(review_token(&seen, "someone-else", at(0))));
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.accepted.len(), 2);
        assert_eq!(seen.refused[&token], 1);
    }
}
