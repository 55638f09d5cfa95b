//! The simulated guest network against a real API server: a Ready VMI serves TCP and HTTP on
//! its own loopback address, stops the moment it gets a deletionTimestamp, and a VM's front
//! address forwards to whichever of its VMIs serves; the knobs; the `serving` log lines.

mod common;

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use common::*;
use kube::{api::DeleteParams, Client};
use kubevirt_sim::knobs;
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

const HTTP: u16 = 8080;
/// The boot delay counts from when the guest network sees Ready on its watch, which can be a few
/// milliseconds before the VMI controller has logged the `ready` line (after its write returned).
const LOG_SLACK_MS: f64 = 50.0;
const TCP: u16 = 2222;

async fn vmi_ip(client: &Client, ns: &str, name: &str) -> Ipv4Addr {
    let vmi = get_vmi(client, ns, name).await.expect("the VMI");
    vmi.data["status"]["interfaces"][0]["ipAddress"]
        .as_str()
        .expect("an IP")
        .parse()
        .expect("an IPv4 address")
}

/// The logged event `event` of the VMI `uid` (waits for it).
async fn logged(cluster: &testenv::Cluster, ns: &str, name: &str, event: &str, uid: &str) -> Value {
    wait_for(&format!("{event} of {ns}/{name} {uid}"), || async {
        find(&events(cluster, ns, name), event, Some(uid)).cloned()
    })
    .await
}

/// The greeting line of the TCP service at `addr`.
async fn greeting(addr: SocketAddr) -> std::io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await?;
    Ok(line)
}

/// GET `path` over a fresh connection: the status line.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: guest\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer.lines().next().unwrap_or_default().to_string())
}

fn refused(result: std::io::Result<String>) -> bool {
    matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

async fn front_address(client: &Client, ns: &str, vm: &str) -> Ipv4Addr {
    wait_for(&format!("the front address of VM {ns}/{vm}"), || async {
        get_vm(client, ns, vm).await.and_then(|vm| {
            vm.metadata
                .annotations?
                .get(knobs::FRONT_ADDRESS)?
                .parse()
                .ok()
        })
    })
    .await
}

#[test]
fn a_ready_vmi_serves_on_its_own_loopback_address_until_its_delete() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("guest");
    let client = cluster.client();
    // A long shutdown: the VMI is still there, terminating, when the guest must be gone already.
    let uid = cluster.running_vmi(&ns, "web", &[(knobs::SHUTDOWN_DELAY, "20s")]);
    cluster.block_on(async {
        let ip = vmi_ip(&client, &ns, "web").await;
        assert!(ip.is_loopback() && ip.octets()[1] != 0, "{ip}");
        let serving = logged(cluster, &ns, "web", "serving", &uid).await;
        let ready = logged(cluster, &ns, "web", "ready", &uid).await;
        assert_eq!(serving["ip"], ip.to_string());
        assert!(
            unix_ms(&serving) >= unix_ms(&ready) + 500.0 - LOG_SLACK_MS,
            "default boot delay after Ready"
        );

        let line = greeting((ip, TCP).into()).await.expect("TCP greeting");
        assert_eq!(line, format!("vmchaos-sim guest {ns}/web {uid}\n"));
        let mut open = BufReader::new(TcpStream::connect((ip, TCP)).await.unwrap());
        let mut line = String::new();
        open.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("vmchaos-sim guest"), "{line}");
        open.get_mut().write_all(b"ping\n").await.unwrap();
        line.clear();
        open.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ping\n", "the TCP service echoes lines");
        assert_eq!(
            http_get((ip, HTTP).into(), "/").await.unwrap(),
            "HTTP/1.1 200 OK"
        );
        assert_eq!(
            http_get((ip, HTTP).into(), "/status/503").await.unwrap(),
            "HTTP/1.1 503 Service Unavailable"
        );

        vmis(&client, &ns)
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        let stopped = logged(cluster, &ns, "web", "stopped-serving", &uid).await;
        let deleting = logged(cluster, &ns, "web", "deleting", &uid).await;
        assert!(unix_ms(&stopped) >= unix_ms(&deleting) - 1000.0);
        // The connection that was open is cut, new ones are refused, while the VMI still exists.
        let mut rest = [0u8; 16];
        let cut = tokio::time::timeout(TIMEOUT, open.read(&mut rest)).await;
        assert!(matches!(cut, Ok(Ok(0)) | Ok(Err(_))), "{cut:?}");
        assert!(refused(greeting((ip, TCP).into()).await));
        assert!(refused(http_get((ip, HTTP).into(), "/").await));
        let vmi = get_vmi(&client, &ns, "web")
            .await
            .expect("still terminating");
        assert_eq!(vmi.metadata.uid.as_deref(), Some(uid.as_str()));
        assert!(vmi.metadata.deletion_timestamp.is_some());
        assert!(find(&events(cluster, &ns, "web"), "gone", Some(&uid)).is_none());
    });
}

#[test]
fn a_vms_front_address_forwards_to_whichever_vmi_serves() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("front");
    let client = cluster.client();
    let first = cluster.running_vm(&ns, "db", "Always", &[]);
    cluster.block_on(async {
        let front = front_address(&client, &ns, "db").await;
        let own = vmi_ip(&client, &ns, "db").await;
        assert!(front.is_loopback() && front != own, "{front} vs {own}");
        logged(cluster, &ns, "db", "serving", &first).await;
        let line = wait_for("the front to serve", || async {
            greeting((front, TCP).into()).await.ok()
        })
        .await;
        assert_eq!(line, format!("vmchaos-sim guest {ns}/db {first}\n"));
        assert_eq!(
            http_get((front, HTTP).into(), "/").await.unwrap(),
            "HTTP/1.1 200 OK"
        );

        let old = delete_vmi_and_wait(&client, &ns, "db").await;
        assert_eq!(old, first);
        let second = wait_for("a new VMI", || async {
            get_vmi(&client, &ns, "db")
                .await
                .and_then(|v| v.metadata.uid)
                .filter(|u| *u != first)
        })
        .await;
        let stopped = logged(cluster, &ns, "db", "stopped-serving", &first).await;
        let serving = logged(cluster, &ns, "db", "serving", &second).await;
        assert!(unix_ms(&serving) > unix_ms(&stopped));
        let log = events(cluster, &ns, "db");
        let downs: Vec<f64> = log
            .iter()
            .filter(|e| e["event"] == "front-stopped-serving" && e["kind"] == "VirtualMachine")
            .map(unix_ms)
            .collect();
        assert!(
            downs.iter().any(|t| *t >= unix_ms(&stopped)),
            "the front stopped with the guest: {log:?}"
        );
        let line = wait_for("the front to forward to the new VMI", || async {
            greeting((front, TCP).into())
                .await
                .ok()
                .filter(|l| l.contains(&second))
        })
        .await;
        assert_eq!(line, format!("vmchaos-sim guest {ns}/db {second}\n"));
        assert_ne!(
            vmi_ip(&client, &ns, "db").await,
            own,
            "a new VMI, a new address"
        );
    });
}

#[test]
fn a_manual_vms_front_address_refuses_until_the_vm_is_started() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("front-manual");
    let client = cluster.client();
    let first = cluster.running_vm(&ns, "app", "Manual", &[]);
    cluster.block_on(async {
        let front = front_address(&client, &ns, "app").await;
        logged(cluster, &ns, "app", "serving", &first).await;
        wait_for("the front to serve", || async {
            greeting((front, TCP).into()).await.ok()
        })
        .await;
        delete_vmi_and_wait(&client, &ns, "app").await;
        // Nothing re-creates a Manual VM's VMI: the front refuses, as a Service without endpoints.
        wait_for("the front to refuse", || async {
            refused(greeting((front, TCP).into()).await).then_some(())
        })
        .await;
        assert!(refused(http_get((front, HTTP).into(), "/").await));
        assert!(get_vmi(&client, &ns, "app").await.is_none());
        testenv::fixtures::start_vm(&client, &ns, "app")
            .await
            .unwrap();
        let line = wait_for("the front to serve the started VMI", || async {
            greeting((front, TCP).into()).await.ok()
        })
        .await;
        assert!(!line.contains(&first), "{line}");
    });
}

#[test]
fn guest_knobs_delay_silence_and_slow_the_guest() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("guest-knobs");
    let client = cluster.client();
    cluster.block_on(async {
        let timeout = testenv::FIXTURE_TIMEOUT;
        let late = [(knobs::GUEST_BOOT_DELAY, "3s")];
        let never = [(knobs::GUEST_NEVER_SERVES, "true")];
        let slow = [
            (knobs::GUEST_SLOW_START, "60s"),
            (knobs::GUEST_SLOW_ANSWER, "1s"),
        ];
        let (late_uid, never_uid, slow_uid) = tokio::join!(
            testenv::fixtures::running_vmi(&client, &ns, "late", &late, timeout),
            testenv::fixtures::running_vmi(&client, &ns, "never", &never, timeout),
            testenv::fixtures::running_vmi(&client, &ns, "slow", &slow, timeout),
        );
        let (late_uid, never_uid, slow_uid) =
            (late_uid.unwrap(), never_uid.unwrap(), slow_uid.unwrap());

        let serving = logged(cluster, &ns, "late", "serving", &late_uid).await;
        let ready = logged(cluster, &ns, "late", "ready", &late_uid).await;
        assert!(
            unix_ms(&serving) - unix_ms(&ready) >= 3000.0 - LOG_SLACK_MS,
            "{serving} {ready}"
        );

        // By the time the late guest serves, the silent one (Ready as early) would have too.
        let never_ip = vmi_ip(&client, &ns, "never").await;
        assert!(find(&events(cluster, &ns, "never"), "ready", Some(&never_uid)).is_some());
        assert!(find(&events(cluster, &ns, "never"), "serving", None).is_none());
        assert!(refused(greeting((never_ip, TCP).into()).await));
        assert!(refused(http_get((never_ip, HTTP).into(), "/").await));

        let slow_ip = vmi_ip(&client, &ns, "slow").await;
        let serving = logged(cluster, &ns, "slow", "serving", &slow_uid).await;
        assert!(serving["slowForMs"].as_u64().unwrap() > 50_000);
        let asked = std::time::Instant::now();
        assert_eq!(
            http_get((slow_ip, HTTP).into(), "/").await.unwrap(),
            "HTTP/1.1 200 OK"
        );
        assert!(asked.elapsed() >= Duration::from_secs(1), "answered slowly");
        let asked = std::time::Instant::now();
        greeting((slow_ip, TCP).into()).await.unwrap();
        assert!(asked.elapsed() >= Duration::from_secs(1), "greeted slowly");
    });
}
