//! The sandbox binary: the demo namespace holds a Running, Ready VMI for every runStrategy that
//! runs one, a legacy `running: true` VM, a standalone VMI, a replica set of 3 and a pool of 2,
//! and a Halted VM with no VMI; SIGTERM stops every process it started, and so does its
//! parent's end.

mod common;

use common::{alive, listening};

use std::{
    fs::File,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use kube::api::{Api, DynamicObject, ListParams};
use testenv::fixtures;

const BIN: &str = env!("CARGO_BIN_EXE_vmchaos-sandbox");

/// Kills the sandbox if the test fails half-way (its watchdog then stops the rest).
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, demo: bool) -> Sandbox {
    start_with(dir, demo, &[])
}

fn start_with(dir: &Path, demo: bool, extra: &[&str]) -> Sandbox {
    let log = File::create(dir.join("sandbox.log")).unwrap();
    let child = Command::new(BIN)
        .args([
            "--dir".as_ref(),
            dir.as_os_str(),
            "--until-stdin-closes".as_ref(),
        ])
        .args((!demo).then_some("--no-demo"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut sandbox = Sandbox(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.join("ready").exists() {
        let log = std::fs::read_to_string(dir.join("sandbox.log")).unwrap_or_default();
        assert!(
            sandbox.0.try_wait().unwrap().is_none(),
            "the sandbox exited:\n{log}"
        );
        assert!(
            Instant::now() < deadline,
            "the sandbox is not ready after 120 s:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sandbox
}

fn numbers<T: std::str::FromStr>(path: &Path) -> Vec<T> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter_map(|l| l.parse().ok()).collect()
}

fn wait_all_stopped(pids: &[u32], ports: &[u16]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: Vec<_> = pids.iter().filter(|p| alive(**p)).collect();
        let open: Vec<_> = ports.iter().filter(|p| listening(**p)).collect();
        if left.is_empty() && open.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left: processes {left:?}, ports {open:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_sandbox_serves_the_demo_until_sigterm() {
    if !testenv::prerequisites_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = start(dir.path(), true);
    // The admin kubeconfig and the keys are the owner's alone.
    use std::os::unix::fs::PermissionsExt;
    for file in ["admin.kubeconfig", "pki/ca-key.pem", "pki/tokens.csv"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
    }
    let pids: Vec<u32> = numbers(&dir.path().join("pids"));
    let ports: Vec<u16> = numbers(&dir.path().join("ports"));
    let prom = usize::from(testenv::prometheus::binary().is_ok());
    assert_eq!(
        (pids.len(), ports.len()),
        (3 + prom, 4 + prom),
        "etcd, kube-apiserver, watchdog; + the simulator's port; + Prometheus when installed"
    );
    if prom == 1 {
        let url = std::fs::read_to_string(dir.path().join("prometheus-url")).unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (vmis, halted) = runtime.block_on(async {
        let client = testenv::client_for(&dir.path().join("admin.kubeconfig"))
            .await
            .unwrap();
        let vmis = Api::<DynamicObject>::namespaced_with(
            client.clone(),
            "demo",
            &fixtures::vmi_resource(),
        )
        .list(&ListParams::default())
        .await
        .unwrap();
        let halted = fixtures::get_vm(&client, "demo", "vm-halted")
            .await
            .unwrap();
        (vmis, halted)
    });
    let mut names: Vec<String> = vmis
        .items
        .iter()
        .filter_map(|v| v.metadata.name.clone())
        .collect();
    names.sort();
    let replicas: Vec<&String> = names
        .iter()
        .filter(|n| n.len() == "web".len() + 5 && n.starts_with("web"))
        .collect();
    assert_eq!(replicas.len(), 3, "{names:?}");
    let others: Vec<&String> = names.iter().filter(|n| !replicas.contains(n)).collect();
    assert_eq!(
        others,
        [
            "pool-0",
            "pool-1",
            "vm-always",
            "vm-legacy",
            "vm-manual",
            "vm-once",
            "vm-rerunonfailure",
            "vmi-standalone"
        ]
    );
    assert!(vmis.items.iter().all(fixtures::is_ready));
    let halted = halted.expect("the demo has vm-halted");
    assert_eq!(
        (
            &halted.data["spec"]["runStrategy"],
            &halted.data["status"]["printableStatus"]
        ),
        (&serde_json::json!("Halted"), &serde_json::json!("Stopped")),
        "a Halted VM runs no VMI"
    );
    drop(runtime);

    // Each VM's front address is printed; vm-always's answers as the guest behind it.
    let log = std::fs::read_to_string(dir.path().join("sandbox.log")).unwrap();
    let fronts: Vec<&str> = log
        .lines()
        .filter(|l| l.trim_start().starts_with("front VM "))
        .collect();
    assert!(fronts.len() >= 5, "{log}");
    let always = fronts
        .iter()
        .find(|l| l.contains("demo/vm-always "))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("tcp://")))
        .unwrap_or_else(|| panic!("no front address for vm-always:\n{log}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let greeting = loop {
        use std::io::BufRead;
        let line = std::net::TcpStream::connect(always).and_then(|s| {
            let mut line = String::new();
            std::io::BufReader::new(s)
                .read_line(&mut line)
                .map(|_| line)
        });
        match line {
            Ok(line) => break line,
            Err(e) if Instant::now() > deadline => panic!("front {always}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert!(
        greeting.starts_with("vmchaos-sim guest demo/vm-always "),
        "{greeting}"
    );
    assert!(log.contains("own   VMI   demo/vmi-standalone"), "{log}");

    let pid = sandbox.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(sandbox.0.wait().unwrap().success());
    wait_all_stopped(&pids, &ports);
    assert!(!dir.path().join("ready").exists());
    assert!(
        dir.path().join("admin.kubeconfig").exists(),
        "the sandbox keeps its directory"
    );
}

#[test]
fn the_sandbox_stops_when_its_parent_goes() {
    if !testenv::prerequisites_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = start(dir.path(), false);
    let pids: Vec<u32> = numbers(&dir.path().join("pids"));
    let ports: Vec<u16> = numbers(&dir.path().join("ports"));
    drop(sandbox.0.stdin.take());
    assert!(sandbox.0.wait().unwrap().success());
    wait_all_stopped(&pids, &ports);
}

/// `--genuine`: the same demo on KubeVirt's own virt-api and virt-controller; SIGTERM stops the
/// supervisors and what they run (their ports close) as well as the control plane.
#[test]
fn the_genuine_sandbox_serves_the_demo_and_stops_everything() {
    if !testenv::prerequisites_present() || testenv::genuine_files().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = start_with(dir.path(), true, &["--genuine"]);
    let pids: Vec<u32> = numbers(&dir.path().join("pids"));
    let ports: Vec<u16> = numbers(&dir.path().join("ports"));
    let prom = usize::from(testenv::prometheus::binary().is_ok());
    assert_eq!(
        (pids.len(), ports.len()),
        (6 + prom, 5 + prom),
        "etcd, kube-apiserver, watchdog and 3 supervisors; + virt-api's and virt-controller's \
         ports; + Prometheus when installed"
    );
    let log = std::fs::read_to_string(dir.path().join("sandbox.log")).unwrap();
    assert!(
        log.contains("KubeVirt v1.9.0 (its own virt-api and virt-controller"),
        "{log}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ready = runtime.block_on(async {
        let client = testenv::client_for(&dir.path().join("admin.kubeconfig"))
            .await
            .unwrap();
        Api::<DynamicObject>::namespaced_with(client, "demo", &fixtures::vmi_resource())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|v| fixtures::is_ready(v))
            .count()
    });
    assert_eq!(
        ready, 11,
        "4 runStrategies, legacy, standalone, 3 of web, 2 of pool"
    );
    let pid = sandbox.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = sandbox.0.wait().unwrap();
    assert!(status.success(), "{status}");
    wait_all_stopped(&pids, &ports);
}
