//! Credentials that expire during a run, renewed as kubectl (client-go) renews them:
//!
//! - an exec plugin's token (a cloud's token helper) is kept until its
//!   `status.expirationTimestamp` has passed, then the plugin runs again; without an expiry it
//!   is kept for the run;
//! - a `tokenFile` is read again once its last read is 50 s old (client-go: a one-minute period,
//!   less ten seconds of leeway); a file that can't be read keeps the last token;
//! - a 401 renews at once (the plugin runs again unless another request already renewed; the
//!   file is read again unless it was read after the request left) and the request is sent once
//!   more with the new token, so a token that expired in flight doesn't fail a recovery
//!   request (client-go renews for the next request only). Authentication comes before the
//!   API server does anything, so sending a DELETE or a POST again after a 401 is safe.
//!
//! Each renewal is bounded by --request-timeout (30 s when that is 0): a plugin that hangs is
//! killed, and the request fails with [`RenewError`], which says so. Renewals never use the
//! terminal (the live display owns it): a plugin that needs a login prompt fails the renewal.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use futures::future::BoxFuture;
use http::{header::AUTHORIZATION, HeaderValue, Request, Response, StatusCode};
use kube::{
    client::Body,
    config::{AuthInfo, ExecConfig, ExecInteractiveMode},
};
use secrecy::{ExposeSecret, SecretString};
use tower::{BoxError, ServiceExt};

/// client-go's token file period (one minute) less its leeway (ten seconds).
pub const FILE_REREAD: Duration = Duration::from_secs(50);

/// Where the token comes from.
#[derive(Clone, Debug)]
pub enum Source {
    Exec(Box<ExecConfig>),
    File(PathBuf),
}

impl Source {
    /// The source kube's `Config` would use for `auth`, when it is one that expires; None for
    /// everything else (a static token, basic auth, an auth provider, client certificates),
    /// which kube's own stack handles. The order is kube's and client-go's: an inline token
    /// wins over a token file, which wins over an exec plugin.
    pub fn of(auth: &AuthInfo) -> Option<Source> {
        let basic = auth.username.is_some() && auth.password.is_some();
        if auth.auth_provider.is_some() || basic || auth.token.is_some() {
            return None;
        }
        if let Some(file) = &auth.token_file {
            return Some(Source::File(file.into()));
        }
        auth.exec
            .clone()
            .filter(|e| e.command.is_some())
            .map(|e| Source::Exec(Box::new(e)))
    }

    /// The plugin's command or the file, for messages.
    pub fn name(&self) -> String {
        match self {
            Source::Exec(exec) => format!(
                "the credential plugin {}",
                exec.command.as_deref().unwrap_or("(exec)")
            ),
            Source::File(path) => format!("the token file {}", path.display()),
        }
    }
}

/// A renewal (or the first fetch) that failed, in the user's words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot renew the credentials: {reason}")]
pub struct RenewError {
    pub reason: String,
}

/// One token as fetched.
#[derive(Clone, Debug)]
struct Token {
    value: SecretString,
    /// The plugin's `expirationTimestamp`.
    expires: Option<SystemTime>,
    /// When it was fetched (the file's re-read is counted from here).
    fetched: SystemTime,
    /// Counts renewals: a 401 renews only if the token that got it is still the current one.
    generation: u64,
}

/// What the first fetch found.
pub enum First {
    /// A token this module keeps renewing.
    Renewing(Arc<Renewing>),
    /// The plugin gave a client certificate: kube's stack handles it.
    Certificate,
}

/// The current token and how to renew it; shared by every request of the client.
pub struct Renewing {
    source: Source,
    /// The bound of one renewal.
    limit: Duration,
    current: tokio::sync::Mutex<Token>,
}

impl Renewing {
    /// Fetches the first token (the plugin may use the terminal, as kubectl's does), bounded by
    /// `limit` (`Duration::ZERO`: no limit, as --request-timeout 0).
    pub async fn start(source: Source, limit: Duration) -> Result<First, RenewError> {
        let fetched = match crate::cluster::within(limit, fetch(&source, true, None)).await {
            Some(fetched) => fetched?,
            None => return Err(not_answered(&source, limit)),
        };
        let Some(token) = fetched else {
            return Ok(First::Certificate);
        };
        let limit = match limit {
            Duration::ZERO => crate::cluster::DEFAULT_REQUEST_TIMEOUT,
            limit => limit,
        };
        Ok(First::Renewing(Arc::new(Renewing {
            source,
            limit,
            current: tokio::sync::Mutex::new(token),
        })))
    }

    /// The token to send now, renewed first when it is due.
    async fn token(&self) -> Result<(SecretString, u64), RenewError> {
        let mut current = self.current.lock().await;
        if due(&self.source, &current, SystemTime::now()) {
            self.renew(&mut current).await?;
        }
        Ok((current.value.clone(), current.generation))
    }

    /// After a 401 for a request that left at `sent` with token `generation`: renews unless
    /// that already happened; the token to send the request again with, if it changed.
    async fn after_unauthorized(
        &self,
        generation: u64,
        sent: SystemTime,
    ) -> Result<Option<SecretString>, RenewError> {
        let mut current = self.current.lock().await;
        let renew = match self.source {
            Source::Exec(_) => current.generation == generation,
            Source::File(_) => current.fetched <= sent,
        };
        if renew {
            self.renew(&mut current).await?;
        }
        Ok((current.generation != generation).then(|| current.value.clone()))
    }

    async fn renew(&self, current: &mut Token) -> Result<(), RenewError> {
        let fetched = tokio::time::timeout(self.limit, fetch(&self.source, false, Some(current)))
            .await
            .map_err(|_| not_answered(&self.source, self.limit))??;
        let Some(mut token) = fetched else {
            return Err(RenewError {
                reason: format!(
                    "{} gave a client certificate instead of a token",
                    self.source.name()
                ),
            });
        };
        token.generation = current.generation + 1;
        tracing::info!(
            target: crate::request_log::TARGET,
            "renewed the credentials ({}){}",
            self.source.name(),
            token
                .expires
                .map(|e| format!(", valid until {}", humantime::format_rfc3339_seconds(e)))
                .unwrap_or_default()
        );
        *current = token;
        Ok(())
    }
}

/// Whether the token must be renewed before the next request (client-go's rules).
fn due(source: &Source, token: &Token, now: SystemTime) -> bool {
    match source {
        Source::Exec(_) => token.expires.is_some_and(|expires| now > expires),
        Source::File(_) => now >= token.fetched + FILE_REREAD,
    }
}

fn not_answered(source: &Source, limit: Duration) -> RenewError {
    RenewError {
        reason: format!(
            "{} did not answer within {} (--request-timeout)",
            source.name(),
            humantime::format_duration(limit)
        ),
    }
}

/// A token from the source; None when an exec plugin gave a client certificate. A token file
/// that can't be read (or is empty) keeps `last`, as client-go does.
async fn fetch(
    source: &Source,
    first: bool,
    last: Option<&Token>,
) -> Result<Option<Token>, RenewError> {
    match source {
        Source::File(path) => {
            let read = tokio::fs::read_to_string(path).await;
            let text = read.as_deref().map(str::trim).unwrap_or_default();
            match (text.is_empty(), last) {
                (false, _) => Ok(Some(Token {
                    value: SecretString::from(text.to_string()),
                    expires: None,
                    fetched: SystemTime::now(),
                    generation: 0,
                })),
                (true, Some(last)) => {
                    tracing::debug!("{}: keeping the last token", source.name());
                    Ok(Some(Token {
                        fetched: SystemTime::now(),
                        ..last.clone()
                    }))
                }
                (true, None) => Err(RenewError {
                    reason: match read {
                        Err(e) => format!("{}: {e}", source.name()),
                        Ok(_) => format!("{} is empty", source.name()),
                    },
                }),
            }
        }
        Source::Exec(exec) => run_plugin(source, exec, first).await,
    }
}

/// Runs the plugin as client-go does (its args and env, `KUBERNETES_EXEC_INFO`); killed when
/// the caller stops waiting.
async fn run_plugin(
    source: &Source,
    exec: &ExecConfig,
    first: bool,
) -> Result<Option<Token>, RenewError> {
    use std::{io::IsTerminal, process::Stdio};
    let fail = |reason: String| RenewError {
        reason: format!("{} {reason}", source.name()),
    };
    let command = exec.command.as_deref().unwrap_or_default();
    let interactive = first
        && exec.interactive_mode != Some(ExecInteractiveMode::Never)
        && std::io::stdin().is_terminal();
    let mut spec = serde_json::json!({ "interactive": interactive });
    if exec.provide_cluster_info {
        if let Some(cluster) = &exec.cluster {
            spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
        }
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version.as_deref().unwrap_or("client.authentication.k8s.io/v1beta1"),
        "kind": "ExecCredential",
        "spec": spec,
    });
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(exec.args.iter().flatten())
        .envs(
            exec.env
                .iter()
                .flatten()
                .filter_map(|e| Some((e.get("name")?, e.get("value")?))),
        )
        .env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    if interactive {
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| fail(format!("could not be run: {e}")))?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(fail(match message.is_empty() {
            true => format!("failed ({})", out.status),
            false => format!("failed ({}): {message}", out.status),
        }));
    }
    parse_credential(&out.stdout).map_err(fail).map(|parsed| {
        parsed.map(|(value, expires)| Token {
            value,
            expires,
            fetched: SystemTime::now(),
            generation: 0,
        })
    })
}

/// An ExecCredential (JSON, or YAML as client-go also reads): the token and its expiry; None
/// for a client certificate.
#[allow(clippy::type_complexity)]
fn parse_credential(stdout: &[u8]) -> Result<Option<(SecretString, Option<SystemTime>)>, String> {
    let doc: serde_json::Value = serde_json::from_slice(stdout)
        .or_else(|_| serde_saphyr::from_slice(stdout))
        .map_err(|_| "printed something that is not an ExecCredential".to_string())?;
    let status = doc
        .get("status")
        .filter(|s| s.is_object())
        .ok_or("returned no status field")?;
    let text = |key: &str| status.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let expires = match text("expirationTimestamp") {
        "" => None,
        stamp => Some(
            stamp
                .parse::<k8s_openapi::jiff::Timestamp>()
                .map(SystemTime::from)
                .map_err(|e| format!("returned a bad expirationTimestamp {stamp:?}: {e}"))?,
        ),
    };
    match (text("token"), text("clientCertificateData")) {
        ("", "") => Err("returned neither a token nor a client certificate".into()),
        ("", _) => Ok(None),
        (token, _) => Ok(Some((SecretString::from(token.to_string()), expires))),
    }
}

/// The renewal error inside a failed request, if that is why it failed.
pub fn renew_error(err: &kube::Error) -> Option<&RenewError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(renew) = cause.downcast_ref::<RenewError>() {
            return Some(renew);
        }
        source = cause.source();
    }
    None
}

/// The layer that puts the current token on every request (in place of kube's auth layer).
#[derive(Clone)]
pub struct RenewingLayer(pub Arc<Renewing>);

impl<S> tower::Layer<S> for RenewingLayer {
    type Service = WithToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithToken {
            inner,
            credentials: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct WithToken<S> {
    inner: S,
    credentials: Arc<Renewing>,
}

impl<S, R> tower::Service<Request<Body>> for WithToken<S>
where
    S: tower::Service<Request<Body>, Response = Response<R>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<R>, BoxError>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The ready service answers this call; a clone sends a second attempt.
        let spare = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, spare.clone());
        let credentials = self.credentials.clone();
        Box::pin(async move {
            let (token, generation) = credentials.token().await?;
            let again = copy(&request);
            request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            let sent = SystemTime::now();
            let response = inner.call(request).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            match credentials.after_unauthorized(generation, sent).await? {
                Some(token) => match again {
                    Some(mut again) => {
                        again.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
                        spare.oneshot(again).await
                    }
                    None => Ok(response),
                },
                None => Ok(response),
            }
        })
    }
}

/// The request again, when its body can be sent twice (kube's are, except streamed ones).
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut again = Request::new(body);
    *again.method_mut() = request.method().clone();
    *again.uri_mut() = request.uri().clone();
    *again.version_mut() = request.version();
    *again.headers_mut() = request.headers().clone();
    Some(again)
}

fn bearer(token: &SecretString) -> Result<HeaderValue, BoxError> {
    let mut value =
        HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(|_| {
            RenewError {
                reason: "the token is not a valid HTTP header value".into(),
            }
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires: Option<SystemTime>, fetched: SystemTime) -> Token {
        Token {
            value: SecretString::from("t".to_string()),
            expires,
            fetched,
            generation: 0,
        }
    }

    fn exec() -> Source {
        Source::Exec(Box::default())
    }

    #[test]
    fn an_exec_token_is_kept_until_its_expiry_has_passed() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let expiring = token(Some(t0 + Duration::from_secs(5)), t0);
        assert!(!due(&exec(), &expiring, t0));
        assert!(!due(&exec(), &expiring, t0 + Duration::from_secs(5)));
        assert!(due(&exec(), &expiring, t0 + Duration::from_millis(5_001)));
        // No expiry: kept for the run (a 401 renews it).
        assert!(!due(
            &exec(),
            &token(None, t0),
            t0 + Duration::from_secs(86_400)
        ));
    }

    #[test]
    fn a_token_file_is_read_again_every_fifty_seconds() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let file = Source::File("/t".into());
        assert!(!due(&file, &token(None, t0), t0 + Duration::from_secs(49)));
        assert!(due(&file, &token(None, t0), t0 + FILE_REREAD));
    }

    #[test]
    fn exec_credentials_are_parsed_as_client_go_reads_them() {
        let parsed = parse_credential(
            br#"{"kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.0.expose_secret(), "abc");
        let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445);
        assert_eq!(parsed.1, Some(expected));
        // YAML too; no expiry; a certificate is kube's business.
        let yaml = parse_credential(b"status:\n  token: xyz\n")
            .unwrap()
            .unwrap();
        assert_eq!((yaml.0.expose_secret(), yaml.1), ("xyz", None));
        let cert = br#"{"status":{"clientCertificateData":"c","clientKeyData":"k"}}"#;
        assert!(parse_credential(cert).unwrap().is_none());
        for bad in [&b"not json: ["[..], br#"{"status":{}}"#, b"{}"] {
            assert!(parse_credential(bad).is_err());
        }
        let err = parse_credential(br#"{"status":{"token":"a","expirationTimestamp":"soon"}}"#);
        assert!(err
            .unwrap_err()
            .contains("bad expirationTimestamp \"soon\""));
    }

    #[test]
    fn the_source_is_kubes_choice() {
        let mut auth = AuthInfo {
            exec: Some(ExecConfig {
                command: Some("helper".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches!(Source::of(&auth), Some(Source::Exec(_))));
        auth.token_file = Some("/f".into());
        assert!(matches!(Source::of(&auth), Some(Source::File(_))));
        auth.token = Some(SecretString::from("s".to_string()));
        assert!(Source::of(&auth).is_none());
    }

    #[tokio::test]
    async fn a_hanging_plugin_is_killed_at_the_bound() {
        let source = Source::Exec(Box::new(ExecConfig {
            command: Some("sleep".into()),
            args: Some(vec!["30".into()]),
            interactive_mode: Some(ExecInteractiveMode::Never),
            ..Default::default()
        }));
        let err = Renewing::start(source, Duration::from_millis(200))
            .await
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "cannot renew the credentials: the credential plugin sleep did not answer within \
             200ms (--request-timeout)"
        );
    }
}
