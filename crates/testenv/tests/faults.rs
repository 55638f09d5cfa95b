//! The harness's faults really happen: the fault proxy passes, drops, stalls (new and open
//! connections) and refuses; the CONNECT proxy tunnels; kube-apiserver restarts on the same
//! port with its data; etcd's compaction makes a watch from an older resourceVersion get 410.
//!
//! Restarting the API server hits every client of the cluster, so this binary uses a private
//! cluster (`Cluster::builder()`, built with `watch_cache(false)`), and its tests take turns.

use std::{
    io::{ErrorKind, Read, Write},
    net::{Shutdown, TcpStream},
    sync::{Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    Client,
};
use serde_json::json;
use testenv::{client_for, fixtures, Cluster, ConnectProxy, Mode};

/// A request any TLS port of Go's answers in plain text: "400 ... HTTP request to an HTTPS
/// server". It shows whether bytes get through the proxy, without TLS.
const PROBE: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// Generous bounds for things that must happen, so a hang fails instead of blocking.
const EVENTUALLY: Duration = Duration::from_secs(60);

fn cluster() -> Option<(&'static Cluster, MutexGuard<'static, ()>)> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    static TURNS: Mutex<()> = Mutex::new(());
    let cluster = CLUSTER
        .get_or_init(|| {
            testenv::prerequisites_present().then(|| {
                Cluster::builder()
                    .watch_cache(false)
                    .start()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .as_ref()?;
    Some((cluster, TURNS.lock().unwrap_or_else(|e| e.into_inner())))
}

/// Sends the probe on `stream`; the answer's first line, or None if nothing came within `wait`.
fn probe_answer(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 512];
    match stream.read(&mut buf) {
        Ok(0) => Some(String::new()),
        Ok(n) => Some(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("reading the probe's answer: {e}"),
    }
}

fn send_probe(stream: &mut TcpStream) {
    stream.write_all(PROBE).unwrap();
}

fn namespaces(cluster: &Cluster, client: Client) -> kube::Result<usize> {
    let api: Api<Namespace> = Api::all(client);
    cluster
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), api.list(&Default::default())).await
        })
        .map(|r| r.map(|l| l.items.len()))
        .unwrap_or_else(|_| panic!("listing namespaces took over 20 s"))
}

#[test]
fn the_fault_proxy_passes_then_stalls_new_and_open_connections_until_released() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let proxy = cluster.fault_proxy();
    assert_eq!(proxy.mode(), Mode::Pass);

    // Passing: a real client works through it.
    let kubeconfig = cluster.kubeconfig_to("admin", &proxy.url(), None);
    let client = cluster.block_on(client_for(&kubeconfig)).unwrap();
    assert!(namespaces(cluster, client).unwrap() > 0);
    assert!(proxy.connections() >= 1);

    // An open connection freezes: the probe sent during the stall gets no answer...
    let mut open = TcpStream::connect(proxy.addr()).unwrap();
    let deadline = Instant::now() + EVENTUALLY;
    while proxy.open_connections() < 1 || proxy.connections() < 2 {
        assert!(Instant::now() < deadline, "the proxy never accepted");
        std::thread::sleep(Duration::from_millis(10));
    }
    proxy.stall();
    assert_eq!(proxy.mode(), Mode::Stall);
    send_probe(&mut open);
    // ...and neither does a new one, which is accepted all the same.
    let mut new = TcpStream::connect(proxy.addr()).expect("a stalled proxy still accepts");
    send_probe(&mut new);
    assert_eq!(probe_answer(&mut open, Duration::from_secs(2)), None);
    assert_eq!(probe_answer(&mut new, Duration::from_millis(500)), None);

    // Released, both get the answer they were waiting for.
    proxy.pass();
    for stream in [&mut open, &mut new] {
        let line = probe_answer(stream, EVENTUALLY).expect("an answer after the stall");
        assert!(line.contains("400"), "{line:?}");
    }
}

#[test]
fn a_timed_stall_ends_by_itself() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let proxy = cluster.fault_proxy();
    proxy.stall_for(Duration::from_secs(2));
    let mut stream = TcpStream::connect(proxy.addr()).unwrap();
    send_probe(&mut stream);
    assert_eq!(probe_answer(&mut stream, Duration::from_millis(500)), None);
    let line = probe_answer(&mut stream, EVENTUALLY).expect("an answer once the stall ended");
    assert!(line.contains("400"), "{line:?}");
    assert_eq!(proxy.mode(), Mode::Pass);
}

#[test]
fn dropping_connections_ends_a_watch_and_refusing_refuses() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let proxy = cluster.fault_proxy();
    let kubeconfig = cluster.kubeconfig_to("admin", &proxy.url(), None);
    let client = cluster.block_on(client_for(&kubeconfig)).unwrap();
    let api: Api<Namespace> = Api::all(client.clone());

    // A watch streams through the proxy until the proxy drops every connection.
    let ended = cluster.block_on(async {
        let mut stream = api.watch(&WatchParams::default(), "0").await?.boxed();
        // The initial ADDED events show it streams.
        let first = stream.next().await;
        assert!(matches!(first, Some(Ok(WatchEvent::Added(_)))), "{first:?}");
        assert!(proxy.open_connections() >= 1);
        proxy.drop_connections();
        let rest = tokio::time::timeout(EVENTUALLY, async {
            let mut last = None;
            while let Some(item) = stream.next().await {
                if item.is_err() {
                    last = Some(item.map(|_| ()));
                    break;
                }
            }
            last
        })
        .await;
        Ok::<_, kube::Error>(rest)
    });
    assert!(
        ended.unwrap().is_ok(),
        "the watch went on after the proxy dropped its connection"
    );
    let deadline = Instant::now() + EVENTUALLY;
    while proxy.open_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "connections still open after the drop"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // After a drop, new connections pass again.
    assert!(namespaces(cluster, client.clone()).is_ok());

    proxy.refuse();
    assert_eq!(proxy.mode(), Mode::Refuse);
    let err = TcpStream::connect(proxy.addr()).expect_err("a refusing proxy refuses");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    proxy.pass();
    let mut stream = TcpStream::connect(proxy.addr()).expect("listening again after pass");
    send_probe(&mut stream);
    let line = probe_answer(&mut stream, EVENTUALLY).unwrap();
    assert!(line.contains("400"), "{line:?}");
    let _ = stream.shutdown(Shutdown::Both);
}

#[test]
fn the_connect_proxy_tunnels_and_records_each_connect() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let proxy = ConnectProxy::start().unwrap();
    let target = cluster.apiserver_addr().to_string();
    let mut stream =
        TcpStream::connect(proxy.url().trim_start_matches("http://")).expect("connect the proxy");
    write!(
        stream,
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
    )
    .unwrap();
    let line = probe_answer(&mut stream, EVENTUALLY).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
    send_probe(&mut stream);
    let line = probe_answer(&mut stream, EVENTUALLY).unwrap();
    assert!(line.contains("400"), "through the tunnel: {line:?}");
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, target);

    // Only loopback targets.
    let mut stream = TcpStream::connect(proxy.url().trim_start_matches("http://")).unwrap();
    write!(stream, "CONNECT 192.0.2.1:443 HTTP/1.1\r\n\r\n").unwrap();
    let line = probe_answer(&mut stream, EVENTUALLY).unwrap();
    assert!(line.contains("403"), "{line:?}");
}

#[test]
fn the_api_server_restarts_on_the_same_port_with_its_data() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("restart");
    let before = cluster.apiserver_pid().expect("kube-apiserver runs");
    let port = cluster.apiserver_addr().port();

    cluster.stop_apiserver();
    assert!(cluster.apiserver_pid().is_none());
    let err = TcpStream::connect(cluster.apiserver_addr()).expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    cluster.start_apiserver().unwrap();
    let after = cluster.apiserver_pid().expect("kube-apiserver runs again");
    assert_ne!(before, after, "the same process");
    assert_eq!(cluster.apiserver_addr().port(), port);
    // Same port, same certificates, same etcd: the namespace is still there.
    let api: Api<Namespace> = Api::all(cluster.client());
    let found = cluster.block_on(api.get_opt(&ns)).unwrap();
    assert!(found.is_some(), "namespace {ns} lost in the restart");

    // The simulated KubeVirt comes back too: a VM started after the restart runs.
    if cluster.has_simulator() {
        cluster.restart_apiserver().unwrap();
        let uid = cluster.running_vm(&ns, "after-restart", "Always", &[]);
        assert!(!uid.is_empty());
    }
}

/// Watches `api` from `resource_version`; the first event.
fn first_event<K>(cluster: &Cluster, api: &Api<K>, resource_version: &str) -> WatchEvent<K>
where
    K: Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    cluster.block_on(async {
        let mut stream = api
            .watch(&WatchParams::default(), resource_version)
            .await
            .expect("start the watch")
            .boxed();
        tokio::time::timeout(EVENTUALLY, stream.next())
            .await
            .expect("no event within a minute")
            .expect("the watch ended")
            .expect("a watch event")
    })
}

fn is_gone<K>(event: &WatchEvent<K>) -> bool {
    matches!(event, WatchEvent::Error(status) if status.code == 410)
}

#[test]
fn a_watch_from_before_an_etcd_compaction_gets_410_gone() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("compact");
    let configmaps: Api<ConfigMap> = Api::namespaced(cluster.client(), &ns);
    let created = cluster
        .block_on(
            configmaps.create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"n": "0"}}))
                    .unwrap(),
            ),
        )
        .unwrap();
    let old = created.metadata.resource_version.unwrap();
    // A VM that nothing runs (Halted): the same for a custom resource, as the tool watches.
    let vms: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), &ns, &fixtures::vm_resource());
    let vm: DynamicObject =
        serde_json::from_value(fixtures::vm_manifest(&ns, "halted", "Halted", &[])).unwrap();
    let vm = cluster
        .block_on(vms.create(&PostParams::default(), &vm))
        .unwrap();
    let vm_old = vm.metadata.resource_version.unwrap();
    for n in 1..=3 {
        let patch = json!({"data": {"n": n.to_string()}});
        cluster
            .block_on(configmaps.patch("cm", &PatchParams::default(), &Patch::Merge(&patch)))
            .unwrap();
        let patch = json!({"metadata": {"labels": {"n": n.to_string()}}});
        cluster
            .block_on(vms.patch("halted", &PatchParams::default(), &Patch::Merge(&patch)))
            .unwrap();
    }

    // Before the compaction, the old resourceVersion replays the history.
    let event = first_event(cluster, &configmaps, &old);
    assert!(matches!(event, WatchEvent::Modified(_)), "{event:?}");
    let event = first_event(cluster, &vms, &vm_old);
    assert!(matches!(event, WatchEvent::Modified(_)), "{event:?}");

    let revision = cluster.compact_etcd().unwrap();
    assert!(revision > old.parse::<i64>().unwrap());
    assert!(cluster.etcd_revision().unwrap() >= revision);

    let event = first_event(cluster, &configmaps, &old);
    assert!(is_gone(&event), "configmaps: {event:?}");
    let event = first_event(cluster, &vms, &vm_old);
    assert!(is_gone(&event), "virtualmachines: {event:?}");
}

#[test]
fn client_certificates_from_the_harness_ca_authenticate() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let (cert, key) = cluster.issue_client_certificate("dave", &["system:masters"]);
    let kubeconfig = cluster.dir().join("dave-cert.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: dave\n  user:\n    client-certificate: {}\n    \
             client-key: {}\ncontexts:\n- name: c\n  context: {{cluster: c, user: dave}}\n\
             current-context: c\n",
            cluster.server(),
            cluster.ca_path().display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let client = cluster.block_on(client_for(&kubeconfig)).unwrap();
    assert!(namespaces(cluster, client).unwrap() > 0);
}
