//! A Prometheus `/metrics` endpoint on 127.0.0.1 with KubeVirt's own metric names for the VMIs
//! in the cluster, computed from a VMI watch, so a real Prometheus has something to scrape:
//! - `kubevirt_vmi_phase_count{node,phase,os,workload,flavor,instance_type,preference}`: VMIs
//!   per node and phase (lowercase, as virt-controller exports it), only the pairs that exist;
//! - `kubevirt_vmi_info{name,namespace,node,phase,...}` = 1 per VMI (as virt-handler);
//! - `kubevirt_vmi_ready{name,namespace,node}`: 1 when the VMI's Ready condition is True.
//!
//! Both the simulator and the genuine tier's node agent serve it (`Sim::metrics_port`,
//! `NodeAgent::metrics_port`).

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    fmt::Write,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use futures::StreamExt;
use http_body_util::Full;
use hyper::{body::Bytes, service::service_fn, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kube::{
    api::{Api, DynamicObject},
    runtime::{watcher, WatchStreamExt},
    Client, ResourceExt,
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::kubevirt::{condition_is_true, vmi_resource};

/// What the metrics need of one VMI.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Vmi {
    namespace: String,
    name: String,
    /// Lowercase, as KubeVirt's metrics write it ("running"); "" before the first status.
    phase: String,
    node: String,
    ready: bool,
}

type Store = Arc<Mutex<HashMap<String, Vmi>>>;

fn of(object: &DynamicObject) -> Vmi {
    let status = object.data.get("status");
    let text = |key: &str| {
        status
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    Vmi {
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
        phase: text("phase").to_lowercase(),
        node: text("nodeName"),
        ready: condition_is_true(&object.data, "Ready"),
    }
}

/// Escapes a label value (the text format: backslash, quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text for these VMIs (pure, for tests).
fn render(vmis: &[Vmi]) -> String {
    let mut out = String::new();
    let fixed = r#"os="<none>",workload="<none>",flavor="<none>",instance_type="<none>",preference="<none>""#;
    out.push_str("# HELP kubevirt_vmi_phase_count Sum of VMIs per phase and node.\n");
    out.push_str("# TYPE kubevirt_vmi_phase_count gauge\n");
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for vmi in vmis.iter().filter(|v| !v.phase.is_empty()) {
        *counts.entry((&vmi.node, &vmi.phase)).or_default() += 1;
    }
    for ((node, phase), n) in counts {
        let _ = writeln!(
            out,
            "kubevirt_vmi_phase_count{{node=\"{}\",phase=\"{}\",{fixed}}} {n}",
            escape(node),
            escape(phase)
        );
    }
    out.push_str("# HELP kubevirt_vmi_info Information about VirtualMachineInstances.\n");
    out.push_str("# TYPE kubevirt_vmi_info gauge\n");
    for vmi in vmis {
        let _ = writeln!(
            out,
            "kubevirt_vmi_info{{name=\"{}\",namespace=\"{}\",node=\"{}\",phase=\"{}\",{fixed}}} 1",
            escape(&vmi.name),
            escape(&vmi.namespace),
            escape(&vmi.node),
            escape(&vmi.phase)
        );
    }
    out.push_str("# HELP kubevirt_vmi_ready Whether the VMI's Ready condition is True.\n");
    out.push_str("# TYPE kubevirt_vmi_ready gauge\n");
    for vmi in vmis {
        let _ = writeln!(
            out,
            "kubevirt_vmi_ready{{name=\"{}\",namespace=\"{}\",node=\"{}\"}} {}",
            escape(&vmi.name),
            escape(&vmi.namespace),
            escape(&vmi.node),
            u8::from(vmi.ready)
        );
    }
    out
}

/// Watches every VMI and serves `/metrics` on 127.0.0.1 (any free port); returns the port and
/// the tasks (abort them to stop).
pub async fn serve(client: Client) -> anyhow::Result<(u16, Vec<JoinHandle<()>>)> {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen} for /metrics"))?;
    let port = listener.local_addr()?.port();
    let store: Store = Arc::default();
    let watch = tokio::spawn(follow(client, store.clone()));
    let server = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let store = store.clone();
                        connections.spawn(async move {
                            let service = service_fn(move |request| {
                                let store = store.clone();
                                async move { Ok::<_, Infallible>(answer(&request, &store)) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Err(e) => {
                        tracing::warn!("metrics server: failed to accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    tracing::info!("KubeVirt VMI metrics served on http://127.0.0.1:{port}/metrics");
    Ok((port, vec![watch, server]))
}

fn answer<B>(request: &hyper::Request<B>, store: &Store) -> Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return not_found;
    }
    let mut vmis: Vec<Vmi> = store
        .lock()
        .expect("not poisoned")
        .values()
        .cloned()
        .collect();
    vmis.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut response = Response::new(Full::new(Bytes::from(render(&vmis))));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Keeps `store` equal to the cluster's VMIs (by uid), re-listing after any watch error.
async fn follow(client: Client, store: Store) {
    let api: Api<DynamicObject> = Api::all_with(client, &vmi_resource());
    let mut events = std::pin::pin!(
        watcher(api, watcher::Config::default()).backoff(crate::retry::Reconnect::default())
    );
    let mut listing: HashMap<String, Vmi> = HashMap::new();
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!("metrics: VMI watch: {e}");
                continue;
            }
        };
        let mut map = store.lock().expect("not poisoned");
        match event {
            watcher::Event::Apply(o) => {
                map.insert(o.uid().unwrap_or_default(), of(&o));
            }
            watcher::Event::Delete(o) => {
                map.remove(&o.uid().unwrap_or_default());
            }
            watcher::Event::Init => listing.clear(),
            watcher::Event::InitApply(o) => {
                listing.insert(o.uid().unwrap_or_default(), of(&o));
            }
            watcher::Event::InitDone => *map = std::mem::take(&mut listing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_counts_per_node_and_one_info_line_per_vmi() {
        let vmi = |name: &str, phase: &str, node: &str, ready| Vmi {
            namespace: "demo".into(),
            name: name.into(),
            phase: phase.into(),
            node: node.into(),
            ready,
        };
        let text = render(&[
            vmi("a", "running", "node-a", true),
            vmi("b", "running", "node-a", false),
            vmi("c", "scheduling", "", false),
            vmi("d", "", "", false),
        ]);
        assert!(text
            .contains("kubevirt_vmi_phase_count{node=\"node-a\",phase=\"running\",os=\"<none>\""));
        assert!(text.contains("phase=\"running\",os=\"<none>\",workload=\"<none>\",flavor=\"<none>\",instance_type=\"<none>\",preference=\"<none>\"} 2\n"), "{text}");
        assert!(text.contains("kubevirt_vmi_phase_count{node=\"\",phase=\"scheduling\""));
        assert_eq!(text.matches("kubevirt_vmi_phase_count{").count(), 2);
        assert_eq!(text.matches("kubevirt_vmi_info{").count(), 4);
        assert!(
            text.contains("kubevirt_vmi_ready{name=\"a\",namespace=\"demo\",node=\"node-a\"} 1\n")
        );
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
