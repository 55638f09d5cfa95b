//! Probes with real sockets: each failure kind against local listeners, then a probe on a VM's
//! front address across a real VMI delete, compared with the simulator's own log of when the
//! guest stopped and started serving (real API server, simulated KubeVirt).

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use kube::{
    api::{Api, DeleteParams, DynamicObject},
    Client,
};
use kubectl_vmchaos::probe::{
    spawn_probers, steady_state, FailureKind, ProbeOptions, ProbeSample, ProbeSpec, ProbeTiming,
    ProbeTrack,
};
use serde_json::Value;
use testenv::{fixtures, knobs, Cluster};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::{mpsc, watch},
    time::Instant,
};

const LONG: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `specs` until each has `n` samples; returns them per probe.
async fn samples(
    specs: &[&str],
    vmi: watch::Receiver<Option<String>>,
    n: usize,
) -> Vec<Vec<ProbeSample>> {
    let specs: Vec<ProbeSpec> = specs.iter().map(|s| s.parse().unwrap()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let timing = ProbeTiming::new(Duration::from_millis(50), Some(Duration::from_millis(500)));
    let probers = spawn_probers(&specs, timing, vmi, tx);
    let mut got = vec![Vec::new(); specs.len()];
    while got.iter().any(|g| g.len() < n) {
        let s = tokio::time::timeout(LONG, rx.recv())
            .await
            .unwrap()
            .unwrap();
        got[s.probe].push(s);
    }
    probers.stop();
    got
}

fn kinds(samples: &[ProbeSample]) -> Vec<Option<FailureKind>> {
    samples
        .iter()
        .map(|s| s.failure.as_ref().map(|f| f.kind))
        .collect()
}

/// A server answering every connection with this raw HTTP status line, or never (None).
async fn http_server(status: Option<&'static str>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                match status {
                    Some(status) => {
                        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                        let _ = stream.write_all(answer.as_bytes()).await;
                    }
                    None => tokio::time::sleep(LONG).await,
                }
            });
        }
    });
    addr
}

#[test]
fn each_failure_kind_from_real_sockets() {
    runtime().block_on(async {
        let ok = http_server(Some("204 No Content")).await;
        let unavailable = http_server(Some("503 Service Unavailable")).await;
        let silent = http_server(None).await;
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let specs = [
            format!("tcp://{ok}"),
            format!("http://{ok}/health"),
            format!("http://{unavailable}/"),
            format!("http://{unavailable}/#status=200-503"),
            format!("http://{silent}/"),
            format!("tcp://{closed}"),
            format!("http://{closed}/"),
            "vmi:tcp:22".to_string(),
        ];
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let (_tx, vmi) = watch::channel(None);
        let got = samples(&specs, vmi, 2).await;
        let first = |i: usize| kinds(&got[i])[0];
        assert_eq!(first(0), None);
        assert_eq!(first(1), None, "204 is in the default 200-399");
        assert_eq!(first(2), Some(FailureKind::WrongStatus(503)));
        assert_eq!(first(3), None);
        assert_eq!(first(4), Some(FailureKind::TimedOut));
        assert_eq!(first(5), Some(FailureKind::Refused));
        assert_eq!(first(6), Some(FailureKind::Refused));
        assert_eq!(first(7), Some(FailureKind::NoAddress));
        let detail = &got[2][0].failure.as_ref().unwrap().detail;
        assert_eq!(
            detail,
            &format!("GET http://{unavailable}/ answered 503, expected 200-399")
        );
        assert!(got[4][0].latency >= Duration::from_millis(500));
        assert_eq!(
            got[5][0].address.as_deref(),
            Some(closed.to_string().as_str())
        );
    });
}

#[test]
fn https_verifies_the_certificate_against_the_system_roots() {
    runtime().block_on(async {
        // A self-signed certificate: no system root vouches for it.
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(
            cert.signing_key.serialize_der(),
        )
        .unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move { drop(acceptor.accept(stream).await) });
            }
        });
        let spec = format!("https://localhost:{port}/");
        let (_tx, vmi) = watch::channel(None);
        let got = samples(&[&spec], vmi, 1).await;
        let failure = got[0][0]
            .failure
            .clone()
            .expect("an untrusted certificate fails");
        assert_eq!(failure.kind, FailureKind::Broken);
        assert!(
            failure.detail.contains("TLS handshake with localhost"),
            "{failure:?}"
        );
        assert!(failure.detail.contains("certificate"), "{failure:?}");
    });
}

#[test]
fn a_vmi_probe_follows_the_address_it_is_given() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let spec: ProbeSpec = format!("vmi:tcp:{port}").parse().unwrap();
        let (tx, vmi) = watch::channel(None);
        let (samples_tx, mut rx) = mpsc::unbounded_channel();
        let timing = ProbeTiming::new(Duration::from_millis(20), None);
        let _probers = spawn_probers(&[spec], timing, vmi, samples_tx);
        let next = async |rx: &mut mpsc::UnboundedReceiver<ProbeSample>| {
            tokio::time::timeout(LONG, rx.recv())
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            next(&mut rx).await.failure.map(|f| f.kind),
            Some(FailureKind::NoAddress)
        );
        tx.send(Some("127.0.0.1".into())).unwrap();
        let passed = loop {
            let s = next(&mut rx).await;
            if s.ok() {
                break s;
            }
        };
        assert_eq!(passed.address, Some(format!("127.0.0.1:{port}")));
        drop(listener);
        loop {
            if next(&mut rx).await.failure.map(|f| f.kind) == Some(FailureKind::Refused) {
                break;
            }
        }
    });
}

// --- Against the simulator's guests -------------------------------------------------------

fn vms(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &fixtures::vm_resource())
}

fn vmis(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &fixtures::vmi_resource())
}

async fn front_address(client: &Client, ns: &str, vm: &str) -> Ipv4Addr {
    let deadline = Instant::now() + LONG;
    loop {
        let vm = vms(client, ns).get(vm).await.unwrap();
        if let Some(ip) = vm.annotations_get(knobs::FRONT_ADDRESS) {
            return ip;
        }
        assert!(
            Instant::now() < deadline,
            "no front address on VM {ns}/{vm:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

trait Annotation {
    fn annotations_get(&self, key: &str) -> Option<Ipv4Addr>;
}

impl Annotation for DynamicObject {
    fn annotations_get(&self, key: &str) -> Option<Ipv4Addr> {
        self.metadata.annotations.as_ref()?.get(key)?.parse().ok()
    }
}

/// Feeds the VMI's current IP into `tx` (what the outage core does from its watch).
fn follow_vmi_address(client: Client, ns: String, name: String, tx: watch::Sender<Option<String>>) {
    tokio::spawn(async move {
        loop {
            let ip = vmis(&client, &ns)
                .get_opt(&name)
                .await
                .ok()
                .flatten()
                .filter(|v| v.metadata.deletion_timestamp.is_none())
                .and_then(|v| {
                    v.data["status"]["interfaces"][0]["ipAddress"]
                        .as_str()
                        .map(String::from)
                });
            tx.send_if_modified(|old| {
                let changed = *old != ip;
                *old = ip.clone();
                changed
            });
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

fn sim_events(cluster: &Cluster) -> Vec<Value> {
    std::fs::read_to_string(cluster.sim_log())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn unix_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

fn logged(events: &[Value], ns: &str, name: &str, event: &str, uid: Option<&str>) -> Option<f64> {
    events
        .iter()
        .find(|e| {
            e["namespace"] == ns
                && e["name"] == name
                && e["event"] == event
                && uid.is_none_or(|u| e["uid"] == u)
        })
        .and_then(|e| e["unixMs"].as_f64())
}

#[test]
fn a_front_address_probe_measures_the_downtime_the_simulator_logged() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("probe");
    let client = cluster.client();
    let old_uid = cluster.running_vm(&ns, "db", "Always", &[]);
    let guard_uid = cluster.running_vm(&ns, "other", "Manual", &[]);
    cluster.block_on(async {
        let front = front_address(&client, &ns, "db").await;
        let other_front = front_address(&client, &ns, "other").await;
        let interval = Duration::from_millis(100);
        let probes: Vec<ProbeSpec> = [
            format!("tcp://{front}:2222"),
            format!("http://{front}:8080/"),
            "vmi:http:8080/".to_string(),
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let abort_if = [format!("tcp://{other_front}:2222,for=0s").parse().unwrap()];
        let options = ProbeOptions::new(&probes, &abort_if, interval, None).unwrap();
        let (address_tx, address) = watch::channel(None);
        follow_vmi_address(client.clone(), ns.clone(), "db".into(), address_tx);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let probers = spawn_probers(&options.probes, options.timing, address, tx);
        let mut tracks = options.tracks();

        steady_state(&mut rx, &mut tracks, 3, Instant::now() + LONG)
            .await
            .expect("every probe passes before the outage");
        let deleted = Instant::now();
        vmis(&client, &ns)
            .delete("db", &DeleteParams::default())
            .await
            .unwrap();
        // Until every target probe passes again after the new VMI is Ready.
        let deadline = Instant::now() + LONG;
        loop {
            let s = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
            tracks[s.probe].record(s);
            let back = |t: &ProbeTrack| {
                t.outage_after(deleted).is_some_and(|o| o.is_over()) && t.successes_in_a_row() >= 3
            };
            if tracks[..options.targets].iter().all(back) {
                break;
            }
        }
        // Nothing happened to the other VM: the abort rule holds its fire.
        let now = Instant::now();
        for rule in &options.abort {
            assert_eq!(rule.check(&tracks, &[], now), None);
        }

        let events = sim_events(cluster);
        let new_uid = fixtures::get_vmi(&client, &ns, "db")
            .await
            .unwrap()
            .and_then(|v| v.metadata.uid)
            .unwrap();
        let stopped = logged(&events, &ns, "db", "stopped-serving", Some(&old_uid)).unwrap();
        let serving = logged(&events, &ns, "db", "serving", Some(&new_uid)).unwrap();
        let truth = serving - stopped;
        let front_stopped = logged(&events, &ns, "db", "front-stopped-serving", None).unwrap();
        for (i, track) in tracks[..options.targets].iter().enumerate() {
            let o = track.outage_after(deleted).unwrap();
            let measured = o.downtime(now).as_secs_f64() * 1000.0;
            let last_ok = o.last_success.unwrap();
            let first_ok = o.first_success.unwrap();
            // The truth lies between the attempts on either side of each edge: the measure can
            // be off by at most those gaps (nominally one interval each), plus the attempts'
            // own latency.
            let gap = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
            let latency = |at: Instant| {
                track.samples().iter().find(|s| s.at == at).unwrap().latency.as_secs_f64() * 1000.0
            };
            let tolerance = gap(last_ok.at, o.first_failure.at)
                + gap(o.last_failure.at, first_ok.at)
                + latency(o.first_failure.at)
                + latency(first_ok.at)
                + 20.0;
            eprintln!(
                "probe {}: downtime {measured:.0} ms, simulator log {truth:.0} ms (stopped {:+.0} ms, \
                 serving {:+.0} ms); {} failed attempts; tolerance {tolerance:.0} ms",
                track.spec,
                stopped - unix_ms(last_ok.wall),
                unix_ms(first_ok.wall) - serving,
                o.failed_attempts,
            );
            assert!(
                (measured - truth).abs() <= tolerance,
                "probe {i} {}: measured {measured:.0} ms vs logged {truth:.0} ms",
                track.spec
            );
            // A success started before the listener it went through closed (the front's for a
            // front probe, the guest's own for a vmi: probe), which both log after closing; and
            // ended after the new guest listened (logged right after its bind: a few ms' slack).
            let closed = if track.spec.target.follows_the_vmi() {
                stopped
            } else {
                front_stopped
            };
            assert!(unix_ms(last_ok.wall) < closed, "a success after the listener closed");
            assert!(
                unix_ms(first_ok.wall) + latency(first_ok.at) >= serving - 5.0,
                "a success before the new guest served"
            );
        }
        // The gap between Ready and users being served again: the guest boot delay at least.
        let ready = logged(&events, &ns, "db", "ready", Some(&new_uid)).unwrap();
        let first_ok = tracks[0].outage_after(deleted).unwrap().first_success.unwrap();
        assert!(unix_ms(first_ok.wall) + 100.0 >= ready + 500.0);

        // The other VM goes down: its abort rule fires, naming the probe.
        vmis(&client, &ns)
            .delete("other", &DeleteParams::default())
            .await
            .unwrap();
        let reason = loop {
            let s = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
            tracks[s.probe].record(s);
            if let Some(reason) = options.abort[0].check(&tracks, &[], Instant::now()) {
                break reason;
            }
        };
        let text = kubectl_vmchaos::render::words::abort_reason(&reason);
        assert!(
            text.starts_with(&format!("tcp://{other_front}:2222 failed for ")),
            "{text}"
        );
        assert!(text.ends_with("connection refused)"), "{text}");
        let _ = guard_uid;
        probers.stop();
    });
}

#[test]
fn a_guest_that_never_serves_fails_steady_state_with_the_reason() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("probe-never");
    let client = cluster.client();
    cluster.running_vm(
        &ns,
        "mute",
        "Always",
        &[(knobs::GUEST_NEVER_SERVES, "true")],
    );
    cluster.block_on(async {
        let front = front_address(&client, &ns, "mute").await;
        let probes: Vec<ProbeSpec> = vec![
            format!("http://{front}:8080/").parse().unwrap(),
            "vmi:tcp:2222".parse().unwrap(),
        ];
        let (address_tx, address) = watch::channel(None);
        follow_vmi_address(client.clone(), ns.clone(), "mute".into(), address_tx);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let timing = ProbeTiming::new(Duration::from_millis(100), None);
        let _probers = spawn_probers(&probes, timing, address, tx);
        let mut tracks: Vec<ProbeTrack> = probes.iter().cloned().map(ProbeTrack::new).collect();
        let e = steady_state(
            &mut rx,
            &mut tracks,
            3,
            Instant::now() + Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert_eq!(e.probe, 0);
        assert_eq!(e.failure.as_ref().unwrap().kind, FailureKind::Refused);
        assert!(
            e.to_string()
                .contains(&format!("probe http://{front}:8080/ does not pass")),
            "{e}"
        );
        assert!(e.hint().contains("nothing listens"), "{}", e.hint());
        tracks.swap(0, 1);
        let e = kubectl_vmchaos::probe::check_steady(&tracks, 3).unwrap_err();
        assert!(e.hint().contains("in the guest"), "{}", e.hint());
    });
}

#[test]
fn a_guest_that_boots_late_shows_as_the_gap_between_ready_and_users_served() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("probe-late");
    let client = cluster.client();
    let old_uid = cluster.running_vm(&ns, "late", "Always", &[(knobs::GUEST_BOOT_DELAY, "2s")]);
    cluster.block_on(async {
        let front = front_address(&client, &ns, "late").await;
        let probes: Vec<ProbeSpec> = vec![format!("http://{front}:8080/").parse().unwrap()];
        let (_address_tx, address) = watch::channel(None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let timing = ProbeTiming::new(Duration::from_millis(100), None);
        let probers = spawn_probers(&probes, timing, address, tx);
        let mut tracks: Vec<ProbeTrack> = probes.iter().cloned().map(ProbeTrack::new).collect();
        steady_state(&mut rx, &mut tracks, 3, Instant::now() + LONG)
            .await
            .expect("steady before the outage");
        let (deleted, deleted_wall) = (Instant::now(), SystemTime::now());
        vmis(&client, &ns)
            .delete("late", &DeleteParams::default())
            .await
            .unwrap();
        let deadline = Instant::now() + LONG;
        while !tracks[0].outage_after(deleted).is_some_and(|o| o.is_over()) {
            let s = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            tracks[0].record(s);
        }
        probers.stop();
        let new_uid = fixtures::get_vmi(&client, &ns, "late")
            .await
            .unwrap()
            .and_then(|v| v.metadata.uid)
            .unwrap();
        assert_ne!(new_uid, old_uid);
        let events = sim_events(cluster);
        let ready_ms = logged(&events, &ns, "late", "ready", Some(&new_uid)).unwrap();
        // The Ready moment on the probes' clock, from the wall clock both share.
        let ready = deleted + Duration::from_secs_f64((ready_ms - unix_ms(deleted_wall)) / 1000.0);
        let report = tracks[0].report(deleted, Some(ready), Instant::now());
        eprintln!("{}", serde_json::to_string(&report).unwrap());
        let gap = report.ready_to_success_ms.expect("served after Ready");
        // The guest boots 2 s after Ready (the simulator counts from its watch, a few ms early).
        assert!(gap + 50 >= 2000, "Ready -> served {gap} ms");
        assert!(report.downtime_ms.unwrap() > gap);
        assert!(report.failed_attempts > 0 && !report.still_failing);
        assert_eq!(report.failure.unwrap().kind, FailureKind::Refused);
    });
}
