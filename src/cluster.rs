//! Cluster access the way kubectl does it: --kubeconfig, else KUBECONFIG (several files, missing
//! ones skipped, the first to set a key wins), else ~/.kube/config, else in-cluster; --context;
//! namespace from -n, else the context's, else default; kubectl's overrides (--server, --token,
//! --as, --as-group, --insecure-skip-tls-verify, --tls-server-name) and --request-timeout.
//!
//! The client is kube's own stack (credentials, client certificates, impersonation, CA,
//! tls-server-name, insecure-skip-tls-verify, all read from kube's `Config`; exec plugins' and
//! token files' tokens renewed by `credentials` as kubectl renews them) over a transport that speaks HTTP/2: every request of a run, the watch included, shares one
//! TLS connection, as with kubectl. HTTP/2 pings, as client-go sends them, find a half-open
//! connection within seconds instead of never; a `proxy-url` tunnels that connection through an
//! HTTP CONNECT proxy.

use std::{future::Future, path::PathBuf, time::Duration};

use kube::{
    config::{KubeConfigOptions, Kubeconfig},
    Client, Config,
};
use secrecy::SecretString;

use crate::{
    cli::GlobalArgs,
    error::{Error, Result},
};

const USER_AGENT: &str = concat!("kubectl-vmchaos/", env!("CARGO_PKG_VERSION"));

/// How often an HTTP/2 connection that received nothing is pinged, and how long the answer may
/// take before the connection counts as dead (client-go: 30 s and 15 s; shorter here because an
/// outage run waits for seconds, not minutes).
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// A client plus what the user needs to read in messages: which cluster, as whom, where.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// The kubeconfig context ("in-cluster" inside a pod, "(none: --server)" with no kubeconfig).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// Who the requests act as, for permission messages: the impersonated user with --as, else
    /// the kubeconfig user name.
    pub user: String,
    /// -n, else the context's namespace, else "default".
    pub namespace: String,
    /// --request-timeout: the bound of each API call (not of a watch's stream).
    /// `Duration::ZERO` means no limit ("0", as kubectl).
    pub request_timeout: Duration,
}

/// The default bound on one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client without sending anything: the first request is the caller's.
/// `connect_timeout` bounds the TCP connect (and is itself bounded by --request-timeout).
pub async fn connect(global: &GlobalArgs, connect_timeout: Duration) -> Result<Cluster> {
    if let Some(ns) = &global.namespace {
        check_namespace(ns)?;
    }
    if !global.as_group.is_empty() && global.as_user.is_none() {
        return Err(Error::usage(
            "--as-group needs --as: the API server impersonates groups only with a user",
            "add --as USER (kubectl refuses this too)",
        ));
    }
    let kubeconfig = load_kubeconfig(global)?.filter(|k| {
        // An empty kubeconfig (no contexts at all) with --server: kubectl works from the flags.
        global.server.is_none() || !k.contexts.is_empty() || global.context.is_some()
    });
    let (mut config, context, user) = match kubeconfig {
        Some(kubeconfig) => from_kubeconfig(kubeconfig, global.context.as_deref()).await?,
        None if global.server.is_some() => {
            // kubectl works with --server alone: no CA (the system's roots), no credentials
            // unless --token.
            (
                Config::new(server_uri(global.server.as_deref().unwrap_or_default())?),
                "(none: --server)".to_string(),
                "anonymous".to_string(),
            )
        }
        None => {
            let config = Config::incluster().map_err(|e| Error::Kubeconfig {
                reason: format!(
                    "no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not in a pod: {e}"
                ),
            })?;
            (
                config,
                "in-cluster".to_string(),
                "service account".to_string(),
            )
        }
    };
    let user = apply_overrides(&mut config, global, user)?;
    let request_timeout = global.request_timeout;
    config.connect_timeout = Some(match request_timeout {
        Duration::ZERO => connect_timeout,
        limit => connect_timeout.min(limit),
    });
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = build_client(config, request_timeout, &context).await?;
    Ok(Cluster {
        client,
        context,
        server,
        user,
        namespace,
        request_timeout,
    })
}

/// The client. An exec plugin's or a token file's credential is fetched first, bounded by
/// --request-timeout (a plugin may hang on a login prompt or a dead network), and renewed
/// during the run as kubectl renews it (`credentials`). Everything else is kube's, built off the
/// runtime: the runtime stays free for Ctrl-C and for completion's own limit.
async fn build_client(config: Config, request_timeout: Duration, context: &str) -> Result<Client> {
    let plugin = config
        .auth_info
        .exec
        .as_ref()
        .and_then(|e| e.command.clone());
    let renewing = match crate::credentials::Source::of(&config.auth_info) {
        Some(source) => match crate::credentials::Renewing::start(source, request_timeout).await {
            Ok(crate::credentials::First::Renewing(renewing)) => Some(renewing),
            Ok(crate::credentials::First::Certificate) => None,
            Err(e) => {
                return Err(Error::Kubeconfig {
                    reason: format!("cannot build a client for context {context}: {}", e.reason),
                })
            }
        },
        None => None,
    };
    let build =
        tokio::task::spawn_blocking(move || transport::client(&config, request_timeout, renewing));
    let built = match request_timeout {
        Duration::ZERO => build.await,
        limit => match tokio::time::timeout(limit, build).await {
            Ok(built) => built,
            Err(_) => {
                return Err(Error::Kubeconfig {
                    reason: format!(
                        "the credential plugin {} of context {context} did not answer within \
                         {} (--request-timeout)",
                        plugin.as_deref().unwrap_or("(exec)"),
                        humantime::format_duration(limit)
                    ),
                })
            }
        },
    };
    let built = built.map_err(|e| Error::Kubeconfig {
        reason: format!("cannot build a client for context {context}: {e}"),
    })?;
    built.map_err(|e| Error::Kubeconfig {
        reason: format!(
            "cannot build a client for context {context}: {}",
            describe_credential_error(&e, plugin.as_deref())
        ),
    })
}

/// kube's words for a failing exec plugin carry the whole `KUBERNETES_EXEC_INFO` JSON and a
/// debug dump of the process output; say what kubectl says: the plugin, its exit status, its
/// own message.
fn describe_credential_error(error: &kube::Error, plugin: Option<&str>) -> String {
    let text = crate::error::describe(error);
    let Some(plugin) = plugin.filter(|_| text.contains("auth exec command")) else {
        return text;
    };
    let status = text
        .split("failed with status ")
        .nth(1)
        .and_then(|rest| rest.split(": Output").next())
        .unwrap_or("a failure")
        .trim()
        .to_string();
    let message = text
        .split("stderr: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|m| m.replace("\\n", " ").trim().to_string())
        .filter(|m| !m.is_empty());
    match message {
        Some(message) => format!("the credential plugin {plugin} failed ({status}): {message}"),
        None => format!("the credential plugin {plugin} failed ({status})"),
    }
}

/// A namespace name is a DNS-1123 label; kubectl says so in these words before it sends
/// anything (otherwise the URL is refused as "invalid uri character").
fn check_namespace(ns: &str) -> Result<()> {
    let valid = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if valid {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "invalid namespace {ns:?}: a lowercase RFC 1123 label must consist of lower case \
             alphanumeric characters or '-', and must start and end with an alphanumeric character"
        ),
        "`kubectl get namespaces` lists the namespaces there are",
    ))
}

fn server_uri(server: &str) -> Result<http::Uri> {
    server.parse::<http::Uri>().map_err(|e| {
        Error::usage(
            format!("--server {server} is not a URL: {e}"),
            "give the API server's URL, e.g. --server https://10.0.0.1:6443",
        )
    })
}

/// Who the credentials are when `--token` gives them.
pub const TOKEN_FLAG_USER: &str = "(the token given with --token)";

/// kubectl's command-line overrides, applied on top of the kubeconfig. Returns who the
/// requests act as.
fn apply_overrides(config: &mut Config, global: &GlobalArgs, user: String) -> Result<String> {
    if let Some(server) = &global.server {
        config.cluster_url = server_uri(server)?;
    }
    let mut user = user;
    if let Some(token) = &global.token {
        // As kubectl: --token replaces the kubeconfig's token, token file and plugins; a client
        // certificate still goes with the TLS handshake. A refusal is the token's, not the
        // kubeconfig user's.
        user = TOKEN_FLAG_USER.to_string();
        let auth = &mut config.auth_info;
        auth.token = Some(SecretString::from(token.clone()));
        auth.token_file = None;
        auth.exec = None;
        auth.auth_provider = None;
        auth.username = None;
        auth.password = None;
    }
    if global.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Some(name) = &global.tls_server_name {
        config.tls_server_name = Some(name.clone());
    }
    let mut acting_as = user;
    if let Some(as_user) = &global.as_user {
        config.auth_info.impersonate = Some(as_user.clone());
        acting_as = as_user.clone();
    }
    if !global.as_group.is_empty() {
        config.auth_info.impersonate_groups = Some(global.as_group.clone());
    }
    Ok(acting_as)
}

/// The kubeconfig the flags and the environment point at; None when there is none at all.
fn load_kubeconfig(global: &GlobalArgs) -> Result<Option<Kubeconfig>> {
    if let Some(path) = &global.kubeconfig {
        // An explicit --kubeconfig must exist, as with kubectl.
        return read_file(path).map(Some);
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            // With none of the files there, kubectl still works from --server alone.
            if global.server.is_some() && !paths.iter().any(|p| p.exists()) {
                return Ok(None);
            }
            return merge_files(&paths).map(Some);
        }
    }
    match dirs::home_dir().map(|h| h.join(".kube").join("config")) {
        Some(path) if path.exists() => read_file(&path).map(Some),
        _ => Ok(None),
    }
}

/// One kubeconfig file; the error names the file once, in words.
fn read_file(path: &std::path::Path) -> Result<Kubeconfig> {
    use kube::config::KubeconfigError as K;
    Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        reason: match e {
            K::ReadConfig(io, _) => format!("{}: {io}", path.display()),
            K::Parse(e) => format!("{}: not a valid kubeconfig: {e}", path.display()),
            e => format!("{}: {e}", path.display()),
        },
    })
}

/// KUBECONFIG's files merged as kubectl merges them: files that don't exist are skipped, the
/// first file to set a value or a named entry (cluster, user, context, current-context) wins.
pub fn merge_files(paths: &[PathBuf]) -> Result<Kubeconfig> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        if !path.exists() {
            tracing::debug!("KUBECONFIG: skipping {} (no such file)", path.display());
            continue;
        }
        let next = read_file(path)?;
        merged = Some(match merged {
            None => next,
            Some(first) => first.merge(next).map_err(|e| Error::Kubeconfig {
                reason: format!("{}: {e}", path.display()),
            })?,
        });
    }
    merged.ok_or_else(|| Error::Kubeconfig {
        reason: format!(
            "none of the files in KUBECONFIG exists ({})",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    context: Option<&str>,
) -> Result<(Config, String, String)> {
    let context = match context
        .map(str::to_string)
        .or(kubeconfig.current_context.clone())
    {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(Error::Kubeconfig {
                reason: format!(
                    "no current context; pick one with --context ({})",
                    context_names(&kubeconfig)
                ),
            })
        }
    };
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
        return Err(Error::Kubeconfig {
            reason: format!(
                "context {context} is not in the kubeconfig ({})",
                context_names(&kubeconfig)
            ),
        });
    };
    let user = named
        .context
        .as_ref()
        .and_then(|c| c.user.clone())
        .unwrap_or_else(|| "unknown user".into());
    check_certificate_authority(
        &kubeconfig,
        named.context.as_ref().map(|c| c.cluster.as_str()),
    )?;
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::Kubeconfig {
            reason: format!("context {context}: {e}"),
        })?;
    Ok((config, context, user))
}

/// The cluster's CA must be PEM, as kubectl demands ("unable to load root certificates:
/// unable to parse bytes as PEM block"); otherwise every TLS handshake fails later with a
/// misleading "certificate signed by unknown authority".
fn check_certificate_authority(kubeconfig: &Kubeconfig, cluster: Option<&str>) -> Result<()> {
    use base64::Engine;
    let Some(named) = kubeconfig
        .clusters
        .iter()
        .find(|c| Some(c.name.as_str()) == cluster)
    else {
        return Ok(());
    };
    let Some(entry) = named.cluster.as_ref() else {
        return Ok(());
    };
    let (what, bytes) = if let Some(data) = &entry.certificate_authority_data {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .unwrap_or_else(|_| data.as_bytes().to_vec());
        ("certificate-authority-data", decoded)
    } else if let Some(path) = &entry.certificate_authority {
        match std::fs::read(path) {
            Ok(bytes) => ("certificate-authority", bytes),
            Err(e) => {
                return Err(Error::Kubeconfig {
                    reason: format!(
                        "unable to load root certificates of cluster {}: {path}: {e}",
                        named.name
                    ),
                })
            }
        }
    } else {
        return Ok(());
    };
    if String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Ok(());
    }
    Err(Error::Kubeconfig {
        reason: format!(
            "unable to load root certificates: unable to parse bytes as PEM block ({what} of \
             cluster {})",
            named.name
        ),
    })
}

fn context_names(kubeconfig: &Kubeconfig) -> String {
    let names: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        "it has no contexts".into()
    } else {
        format!("contexts: {}", names.join(", "))
    }
}

/// Every context name in the kubeconfig the flags point at (for completion).
pub fn context_names_for(global: &GlobalArgs) -> Vec<String> {
    match load_kubeconfig(global) {
        Ok(Some(k)) => k.contexts.into_iter().map(|c| c.name).collect(),
        _ => Vec::new(),
    }
}

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

impl Cluster {
    /// One request, bounded by --request-timeout (see [`bounded`]).
    pub async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = kube::Result<T>>,
    ) -> kube::Result<T> {
        bounded(self.request_timeout, request).await
    }

    /// The API server could not be reached.
    pub fn connect_error(&self, source: kube::Error) -> Error {
        Error::Connect {
            server: self.server.clone(),
            context: self.context.clone(),
            source,
        }
    }

    /// A failed request as the user should read it: a connection problem names the server and
    /// context; an answer from the server says what was being done.
    pub fn request_error(&self, action: impl Into<String>, source: kube::Error) -> Error {
        if let Some(renew) = crate::credentials::renew_error(&source) {
            Error::Credentials {
                action: action.into(),
                context: self.context.clone(),
                reason: renew.reason.clone(),
            }
        } else if crate::error::api_code(&source) == Some(401) {
            Error::Unauthorized {
                action: action.into(),
                server: self.server.clone(),
                context: self.context.clone(),
                user: self.user.clone(),
            }
        } else if crate::error::is_request_timeout(&source) {
            self.timed_out(action)
        } else if crate::error::is_connection_error(&source) {
            Error::Connect {
                server: self.server.clone(),
                context: self.context.clone(),
                source,
            }
        } else {
            Error::api(action, source)
        }
    }

    /// One API call, bounded by --request-timeout, its failure in the user's words.
    pub async fn call<T>(
        &self,
        action: impl Into<String>,
        request: impl Future<Output = kube::Result<T>>,
    ) -> Result<T> {
        let action = action.into();
        match self.within(request).await {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(self.request_error(action, e)),
            None => Err(self.timed_out(action)),
        }
    }

    /// `future` bounded by --request-timeout: None when it ran out.
    pub async fn within<F: Future>(&self, future: F) -> Option<F::Output> {
        within(self.request_timeout, future).await
    }

    /// The error for a call that got no answer within --request-timeout.
    pub fn timed_out(&self, action: impl Into<String>) -> Error {
        Error::TimedOut {
            action: action.into(),
            server: self.server.clone(),
            context: self.context.clone(),
            after: self.request_timeout,
        }
    }
}

mod transport {
    //! kube's request stack (base URI, credentials, impersonation and extra headers) over
    //! hyper's pooled client with HTTP/2 and pings, TLS from kube's `Config`, and an optional
    //! CONNECT tunnel.

    use std::{sync::Arc, time::Duration};

    use hyper_util::{
        client::legacy::connect::{proxy::Tunnel, HttpConnector},
        rt::{TokioExecutor, TokioTimer},
    };
    use kube::{client::ConfigExt, Client, Config};

    use super::{PING_INTERVAL, PING_TIMEOUT};
    use crate::credentials::{Renewing, RenewingLayer};

    pub fn client(
        config: &Config,
        request_timeout: Duration,
        renewing: Option<Arc<Renewing>>,
    ) -> kube::Result<Client> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(config.connect_timeout);
        match &config.proxy_url {
            None => finish(config, request_timeout, renewing, http),
            Some(proxy) if proxy.scheme_str() == Some("http") => {
                let mut tunnel = Tunnel::new(proxy.clone(), http);
                if let Some(auth) = proxy_authorization(proxy) {
                    tunnel = tunnel.with_auth(auth);
                }
                finish(config, request_timeout, renewing, tunnel)
            }
            Some(proxy) => Err(kube::Error::ProxyProtocolUnsupported {
                proxy_url: Box::new(proxy.clone()),
            }),
        }
    }

    /// `http://user:password@proxy:3128`: Basic credentials for the CONNECT, as kubectl sends
    /// them (percent-decoded).
    fn proxy_authorization(proxy: &http::Uri) -> Option<http::HeaderValue> {
        use base64::Engine;
        let authority = proxy.authority()?.as_str();
        let (userinfo, _) = authority.rsplit_once('@')?;
        let decoded = percent_decode(userinfo);
        let encoded = base64::engine::general_purpose::STANDARD.encode(decoded);
        let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    fn percent_decode(text: &str) -> Vec<u8> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let (b'%', Some(byte)) = (bytes[i], hex) {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        out
    }

    fn finish<C>(
        config: &Config,
        request_timeout: Duration,
        renewing: Option<Arc<Renewing>>,
        connector: C,
    ) -> kube::Result<Client>
    where
        C: tower::Service<http::Uri> + Clone + Send + Sync + 'static,
        C::Response: hyper::rt::Read
            + hyper::rt::Write
            + hyper_util::client::legacy::connect::Connection
            + Send
            + Unpin
            + 'static,
        C::Future: Send + 'static,
        C::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config.rustls_client_config()?)
            .https_or_http();
        if let Some(name) = &config.tls_server_name {
            let name = rustls_pki_types::ServerName::try_from(name.clone()).map_err(|e| {
                kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
            })?;
            tls = tls.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
        }
        let https = tls.enable_all_versions().wrap_connector(connector);
        let transport = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_keep_alive_interval(PING_INTERVAL)
            .http2_keep_alive_timeout(PING_TIMEOUT)
            .http2_keep_alive_while_idle(true)
            .build::<_, kube::client::Body>(https);
        let timeout = (request_timeout != Duration::ZERO)
            .then(|| tower::timeout::TimeoutLayer::new(request_timeout));
        let service = tower::ServiceBuilder::new()
            // Until the response's headers: a watch answers at once, then streams unbounded.
            .option_layer(timeout)
            .layer(config.base_uri_layer())
            // An expiring credential is ours to renew; any other is kube's.
            .option_layer(match &renewing {
                Some(_) => None,
                None => config.auth_layer()?,
            })
            .option_layer(renewing.map(RenewingLayer))
            .layer(config.extra_headers_layer()?)
            .layer(crate::request_log::RequestLogLayer)
            .map_err(tower::BoxError::from)
            .service(transport);
        Ok(Client::new(service, config.default_namespace.clone()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn proxy_credentials_are_percent_decoded_basic_auth() {
            let uri: http::Uri = "http://us%40er:p%3Ass@127.0.0.1:3128".parse().unwrap();
            let value = proxy_authorization(&uri).unwrap();
            // base64("us@er:p:ss")
            assert_eq!(value.to_str().unwrap(), "Basic dXNAZXI6cDpzcw==");
            assert!(value.is_sensitive());
            let plain: http::Uri = "http://127.0.0.1:3128".parse().unwrap();
            assert!(proxy_authorization(&plain).is_none());
        }
    }
}
