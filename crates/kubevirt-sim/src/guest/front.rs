//! A front address: what a Service's ClusterIP is to a VM. It listens on the guest ports while
//! at least one of the owner's VMIs serves, forwarding each connection to the newest one, and
//! refuses connections while none does (as kube-proxy rejects traffic to a Service without
//! endpoints), so a probe on it sees the downtime users would.

use std::net::{Ipv4Addr, SocketAddr};

use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use serde_json::json;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

use super::Backend;
use crate::log::EventLog;

#[derive(Debug, Clone)]
pub struct FrontSpec {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub ports: Vec<u16>,
}

/// Runs until dropped.
pub async fn run(spec: FrontSpec, mut backends: watch::Receiver<Vec<Backend>>, log: EventLog) {
    loop {
        if backends.wait_for(|b| !b.is_empty()).await.is_err() {
            return;
        }
        let mut listeners = Vec::new();
        for port in &spec.ports {
            match TcpListener::bind(SocketAddr::from((spec.ip, *port))).await {
                Ok(l) => listeners.push((*port, l)),
                Err(e) => tracing::warn!(
                    "front address {}:{port} of {} {}/{}: {e}",
                    spec.ip,
                    spec.kind,
                    spec.namespace,
                    spec.name
                ),
            }
        }
        record(&log, &spec, "front-serving", &backends.borrow());
        let mut connections: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
        loop {
            tokio::select! {
                (port, Ok((client, _))) = accept(&listeners) => {
                    let target = backends.borrow().last().map(|b| SocketAddr::from((b.ip, port)));
                    if let Some(target) = target {
                        connections.push(forward(client, target).boxed());
                    }
                }
                Some(()) = connections.next() => {}
                changed = backends.changed() => {
                    if changed.is_err() || backends.borrow().is_empty() {
                        break;
                    }
                }
            }
        }
        drop(listeners);
        drop(connections);
        record(&log, &spec, "front-stopped-serving", &[]);
    }
}

/// The next connection on any of the listeners (none: never).
async fn accept(
    listeners: &[(u16, TcpListener)],
) -> (u16, std::io::Result<(TcpStream, SocketAddr)>) {
    if listeners.is_empty() {
        return std::future::pending().await;
    }
    let pending = listeners
        .iter()
        .map(|(port, l)| async move { (*port, l.accept().await) }.boxed());
    futures::future::select_all(pending).await.0
}

fn record(log: &EventLog, spec: &FrontSpec, event: &str, backends: &[Backend]) {
    log.record(
        event,
        &spec.namespace,
        &spec.name,
        "",
        json!({"kind": spec.kind, "ip": spec.ip.to_string(),
               "backend": backends.last().map(|b| b.uid.clone())}),
    );
}

async fn forward(mut client: TcpStream, target: SocketAddr) {
    // A backend that stopped a moment ago refuses: so does the front, by closing.
    if let Ok(mut backend) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
    }
}
