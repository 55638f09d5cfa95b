//! One guest's services: a line-based TCP service and an HTTP server on the VMI's own address.
//! Everything a guest holds lives in one future, so dropping it (the VMI is shutting down)
//! closes the listeners and cuts every open connection at once, then says so in the event log.

use std::{
    convert::Infallible,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use http_body_util::Full;
use hyper::{body::Bytes, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    time::Instant,
};

use super::{Backend, Backends};
use crate::log::EventLog;

/// Who the guest is and how it behaves.
#[derive(Debug, Clone)]
pub struct Guest {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub ip: Ipv4Addr,
    pub http_port: u16,
    pub tcp_port: u16,
    /// From Ready to serving.
    pub boot_delay: Duration,
    /// How long after it starts serving the guest answers slowly, and how slowly.
    pub slow_for: Duration,
    pub slow_answer: Duration,
    /// "VirtualMachine/db-0": the owner whose front address forwards here.
    pub owner: Option<String>,
}

impl Guest {
    fn identity(&self) -> String {
        format!("{}/{} {}", self.namespace, self.name, self.uid)
    }
}

/// Boots, then serves until dropped.
pub async fn run(guest: Guest, front: Option<Arc<Backends>>, log: EventLog) {
    tokio::time::sleep(guest.boot_delay).await;
    let mut announce = Announce {
        guest: guest.clone(),
        front,
        log,
        serving: false,
    };
    let bind = |port| TcpListener::bind(SocketAddr::from((guest.ip, port)));
    let (http, tcp) = match tokio::try_join!(bind(guest.http_port), bind(guest.tcp_port)) {
        Ok(listeners) => listeners,
        Err(e) => {
            tracing::warn!(
                "guest {} cannot serve on {}: {e}",
                guest.identity(),
                guest.ip
            );
            return;
        }
    };
    let slow_until = Instant::now() + guest.slow_for;
    announce.serving(slow_until);
    let mut serving = Serving {
        http,
        tcp,
        connections: FuturesUnordered::new(),
        _announce: announce,
    };
    let answer = Arc::new(Answer {
        identity: guest.identity(),
        slow_until,
        slow_answer: guest.slow_answer,
    });
    loop {
        tokio::select! {
            Ok((stream, _)) = serving.http.accept() => {
                serving.connections.push(http_connection(stream, answer.clone()).boxed());
            }
            Ok((stream, _)) = serving.tcp.accept() => {
                serving.connections.push(tcp_connection(stream, answer.clone()).boxed());
            }
            Some(()) = serving.connections.next() => {}
        }
    }
}

/// Fields drop in order: listeners closed, connections cut, and only then the log line.
struct Serving {
    http: TcpListener,
    tcp: TcpListener,
    connections: FuturesUnordered<BoxFuture<'static, ()>>,
    _announce: Announce,
}

/// Writes `serving` / `stopped-serving` and registers the guest with its front address.
struct Announce {
    guest: Guest,
    front: Option<Arc<Backends>>,
    log: EventLog,
    serving: bool,
}

impl Announce {
    fn serving(&mut self, slow_until: Instant) {
        let g = &self.guest;
        let slow_ms = slow_until
            .saturating_duration_since(Instant::now())
            .as_millis();
        self.log.record(
            "serving",
            &g.namespace,
            &g.name,
            &g.uid,
            json!({"ip": g.ip.to_string(), "httpPort": g.http_port, "tcpPort": g.tcp_port,
                   "owner": g.owner, "slowForMs": slow_ms}),
        );
        self.serving = true;
        if let Some(front) = &self.front {
            front.send_modify(|backends| {
                backends.push(Backend {
                    uid: g.uid.clone(),
                    ip: g.ip,
                })
            });
        }
    }
}

impl Drop for Announce {
    fn drop(&mut self) {
        if !self.serving {
            return;
        }
        let g = &self.guest;
        // The front first: it should stop forwarding here as early as possible.
        if let Some(front) = &self.front {
            front.send_modify(|backends| backends.retain(|b| b.uid != g.uid));
        }
        self.log.record(
            "stopped-serving",
            &g.namespace,
            &g.name,
            &g.uid,
            json!({"ip": g.ip.to_string(), "owner": g.owner}),
        );
    }
}

struct Answer {
    identity: String,
    slow_until: Instant,
    slow_answer: Duration,
}

impl Answer {
    /// A guest still starting its services answers late.
    async fn pace(&self) {
        if Instant::now() < self.slow_until {
            tokio::time::sleep(self.slow_answer).await;
        }
    }
}

/// A greeting line naming the VMI, then every line echoed back.
async fn tcp_connection(stream: TcpStream, answer: Arc<Answer>) {
    let (read, mut write) = stream.into_split();
    answer.pace().await;
    if write
        .write_all(format!("vmchaos-sim guest {}\n", answer.identity).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn http_connection(stream: TcpStream, answer: Arc<Answer>) {
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let answer = answer.clone();
        async move {
            answer.pace().await;
            Ok::<_, Infallible>(respond(request.uri().path(), &answer.identity))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// `/status/NNN` answers NNN (to stage a wrong status); anything else 200.
fn respond(path: &str, identity: &str) -> Response<Full<Bytes>> {
    let status = path
        .strip_prefix("/status/")
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Full::new(Bytes::from(format!(
        "{} from guest {identity}\n",
        status.as_u16()
    ))));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_path_chooses_the_status() {
        assert_eq!(respond("/", "a").status(), StatusCode::OK);
        assert_eq!(respond("/healthz", "a").status(), StatusCode::OK);
        assert_eq!(
            respond("/status/503", "a").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(respond("/status/abc", "a").status(), StatusCode::OK);
    }
}
