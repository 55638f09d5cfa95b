//! Cluster access the way kubectl does it: --kubeconfig, else KUBECONFIG (several files), else
//! ~/.kube/config, else in-cluster; --context; namespace from -n, else the context's, else default.

use std::time::Duration;

use kube::{
    config::{KubeConfigOptions, Kubeconfig},
    Client, Config,
};

use crate::{
    cli::GlobalArgs,
    error::{Error, Result},
};

const USER_AGENT: &str = concat!("kubectl-vmchaos/", env!("CARGO_PKG_VERSION"));

/// A client plus what the user needs to read in messages: which cluster, as whom, where.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// The kubeconfig context ("in-cluster" inside a pod).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// The kubeconfig user name, for permission messages.
    pub user: String,
    /// -n, else the context's namespace, else "default".
    pub namespace: String,
    /// Every request is bounded by this (kubectl's --request-timeout).
    pub request_timeout: Duration,
}

/// The default bound on one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client without sending anything: the first request is the caller's.
pub async fn connect(global: &GlobalArgs, connect_timeout: Duration) -> Result<Cluster> {
    let (mut config, context, user) = match load_kubeconfig(global)? {
        Some(kubeconfig) => from_kubeconfig(kubeconfig, global.context.as_deref()).await?,
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
    config.connect_timeout = Some(connect_timeout);
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
    let client = http2_client(&config).map_err(|e| Error::Kubeconfig {
        reason: format!("cannot build a client for context {context}: {e}"),
    })?;
    Ok(Cluster {
        client,
        context,
        server,
        user,
        namespace,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
    })
}

/// kube's own stack (base URI, credentials, extra headers) over a connector that offers HTTP/2:
/// the API server multiplexes every request of a run, the watch included, on one connection.
fn http2_client(config: &Config) -> kube::Result<Client> {
    use kube::client::ConfigExt;
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    let transport =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build::<_, kube::client::Body>(https);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(transport);
    Ok(Client::new(service, config.default_namespace.clone()))
}

fn load_kubeconfig(global: &GlobalArgs) -> Result<Option<Kubeconfig>> {
    if let Some(path) = &global.kubeconfig {
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|e| Error::Kubeconfig {
                reason: format!("{}: {e}", path.display()),
            });
    }
    let from_env = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    let home_config = dirs::home_dir().map(|h| h.join(".kube").join("config"));
    if from_env || home_config.as_ref().is_some_and(|p| p.exists()) {
        return Kubeconfig::read().map(Some).map_err(|e| Error::Kubeconfig {
            reason: e.to_string(),
        });
    }
    Ok(None)
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

impl Cluster {
    /// One request, bounded by the request timeout (a timeout reads as a connection error).
    pub async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = kube::Result<T>>,
    ) -> kube::Result<T> {
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(r) => r,
            Err(_) => Err(kube::Error::Service(
                format!(
                    "no answer within {} (--request-timeout)",
                    crate::render::format_duration(self.request_timeout)
                )
                .into(),
            )),
        }
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
        match source {
            kube::Error::Api(_) => Error::api(action, source),
            source => Error::Connect {
                server: self.server.clone(),
                context: self.context.clone(),
                source,
            },
        }
    }
}
