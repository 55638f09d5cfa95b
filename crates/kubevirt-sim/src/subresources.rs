//! The HTTPS server behind the `v1.subresources.kubevirt.io` APIService: discovery, health, and
//! the VM `start`/`stop`/`restart` subresources. The API server authenticates and authorizes each
//! call, then proxies it here with the caller in `X-Remote-User`/`X-Remote-Group`.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::{
    body::{Bytes, Incoming},
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use kube::Client;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

use crate::{
    log::EventLog,
    virt_api::{self, Caller, Reply, Verb},
};

pub const GROUP: &str = "subresources.kubevirt.io";
pub const VERSION: &str = "v1";

struct State {
    client: Client,
    log: EventLog,
}

/// Binds `listen` and serves until the returned task is aborted; returns the bound port.
pub async fn serve(
    listen: SocketAddr,
    client: Client,
    log: EventLog,
) -> anyhow::Result<(u16, JoinHandle<()>)> {
    let acceptor = TlsAcceptor::from(Arc::new(tls_config()?));
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen}"))?;
    let port = listener.local_addr()?.port();
    let state = Arc::new(State { client, log });
    let task = tokio::spawn(async move {
        // Connections live in the set, so aborting this task closes them too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(connection(stream, acceptor.clone(), state.clone()));
                    }
                    Err(e) => {
                        tracing::warn!("subresource server: failed to accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok((port, task))
}

/// A self-signed certificate for localhost: the APIService skips verification.
fn tls_config() -> anyhow::Result<rustls::ServerConfig> {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .context("failed to generate the subresource server's certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

async fn connection(stream: tokio::net::TcpStream, acceptor: TlsAcceptor, state: Arc<State>) {
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return tracing::debug!("subresource server: TLS handshake failed: {e}"),
        Err(_) => return tracing::debug!("subresource server: TLS handshake timed out"),
    };
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(respond(route(&state, request).await)) }
    });
    if let Err(e) = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!("subresource server: connection ended: {e}");
    }
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(reply.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn route(state: &State, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().trim_end_matches('/').to_string();
    let method = request.method().clone();
    match resolve(&method, &path) {
        Route::Static(reply) => reply,
        Route::Subresource {
            namespace,
            name,
            verb,
        } => {
            let caller = caller(&request);
            // The options are small JSON bodies; a 1 MiB cap keeps a bad client harmless.
            let body = match http_body_util::Limited::new(request.into_body(), 1 << 20)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(e) => {
                    let message = format!("failed to read the request body: {e}");
                    return Reply::failure(400, "BadRequest", &message, None);
                }
            };
            let call = virt_api::Call {
                namespace: &namespace,
                name: &name,
                verb,
                body: &body,
            };
            virt_api::handle(&state.client, &state.log, &call, &caller).await
        }
    }
}

#[derive(Debug, PartialEq)]
enum Route {
    Static(Reply),
    Subresource {
        namespace: String,
        name: String,
        verb: Verb,
    },
}

fn resolve(method: &Method, path: &str) -> Route {
    let group_path = format!("/apis/{GROUP}");
    let version_path = format!("{group_path}/{VERSION}");
    if method == Method::GET {
        match path {
            "/healthz" | "/readyz" | "/livez" => {
                return Route::Static(Reply {
                    code: 200,
                    body: json!("ok"),
                })
            }
            p if p == group_path => {
                return Route::Static(Reply {
                    code: 200,
                    body: api_group(),
                })
            }
            p if p == version_path => {
                return Route::Static(Reply {
                    code: 200,
                    body: api_resource_list(),
                })
            }
            _ => {}
        }
    }
    let parts: Vec<&str> = path
        .strip_prefix(&version_path)
        .unwrap_or_default()
        .split('/')
        .collect();
    if let ["", "namespaces", namespace, "virtualmachines", name, verb] = parts.as_slice() {
        if let Some(verb) = Verb::parse(verb) {
            if method != Method::PUT {
                let message = format!(
                    "the server does not allow this method on the requested resource ({method})"
                );
                return Route::Static(Reply::failure(405, "MethodNotAllowed", &message, None));
            }
            return Route::Subresource {
                namespace: namespace.to_string(),
                name: name.to_string(),
                verb,
            };
        }
    }
    Route::Static(Reply::failure(
        404,
        "NotFound",
        &format!("the server could not find the requested resource ({path})"),
        None,
    ))
}

fn caller(request: &Request<Incoming>) -> Caller {
    let headers = request.headers();
    Caller {
        user: headers
            .get("x-remote-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        groups: headers
            .get_all("x-remote-group")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect(),
    }
}

fn api_group() -> Value {
    let version = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": GROUP,
        "versions": [version],
        "preferredVersion": version,
    })
}

fn api_resource_list() -> Value {
    let resources: Vec<Value> = ["start", "stop", "restart"]
        .iter()
        .map(|verb| {
            json!({
                "name": format!("virtualmachines/{verb}"),
                "singularName": "",
                "namespaced": true,
                "kind": "",
                "verbs": ["update"],
            })
        })
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_names_the_vm_subresources() {
        let Route::Static(r) = resolve(&Method::GET, "/apis/subresources.kubevirt.io/v1") else {
            panic!()
        };
        assert_eq!(
            (r.code, &r.body["groupVersion"]),
            (200, &json!("subresources.kubevirt.io/v1"))
        );
        let names: Vec<&str> = r.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "virtualmachines/start",
                "virtualmachines/stop",
                "virtualmachines/restart"
            ]
        );
        assert!(r.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["verbs"] == json!(["update"]) && r["namespaced"] == true));
        let Route::Static(g) = resolve(&Method::GET, "/apis/subresources.kubevirt.io") else {
            panic!()
        };
        assert_eq!(g.body["preferredVersion"]["version"], "v1");
    }

    #[test]
    fn vm_subresources_need_put() {
        let path = "/apis/subresources.kubevirt.io/v1/namespaces/prod/virtualmachines/db-0/start";
        assert_eq!(
            resolve(&Method::PUT, path),
            Route::Subresource {
                namespace: "prod".into(),
                name: "db-0".into(),
                verb: Verb::Start
            }
        );
        let Route::Static(r) = resolve(&Method::GET, path) else {
            panic!()
        };
        assert_eq!(r.code, 405);
    }

    #[test]
    fn anything_else_is_a_404_status() {
        for path in [
            "/openapi/v2",
            "/apis/subresources.kubevirt.io/v1/namespaces/a/virtualmachines/b/migrate",
            "/",
        ] {
            let Route::Static(r) = resolve(&Method::GET, path) else {
                panic!("{path}")
            };
            assert_eq!((r.code, &r.body["kind"]), (404, &json!("Status")), "{path}");
        }
    }

    #[test]
    fn the_certificate_loads() {
        tls_config().unwrap();
    }
}
