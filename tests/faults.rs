//! Faults injected on purpose during a real outage, each ending with the VM Running and Ready
//! and the documented exit code: connections dropped mid-watch, the API server stalled for
//! 30 s, the API server restarted during the recovery (once; twice before KubeVirt re-created
//! the VMI), a watch answered 410 Gone, KubeVirt never re-creating an Always VM, and the tool
//! SIGKILLed mid-run then `restore`.
//!
//! Restarting the API server and compacting etcd hit every client of the cluster, so this
//! binary has a private cluster (watch cache off, so a compaction shows as 410), and its tests
//! take turns. With `VMCHAOS_TIER=genuine` that cluster is the genuine tier: the same faults
//! hit KubeVirt's own virt-api and virt-controller (client-go's reflectors and leader
//! election) as well as the tool.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Output, Stdio},
    sync::{mpsc, Mutex, MutexGuard, OnceLock},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use testenv::{Cluster, FaultProxy};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-vmchaos");

fn cluster() -> Option<(&'static Cluster, MutexGuard<'static, ()>)> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    static TURNS: Mutex<()> = Mutex::new(());
    let cluster = CLUSTER
        .get_or_init(|| {
            testenv::prerequisites_present().then(|| {
                Cluster::builder()
                    .watch_cache(false)
                    .genuine(testenv::genuine_tier())
                    .start()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .as_ref()?;
    Some((cluster, TURNS.lock().unwrap_or_else(|e| e.into_inner())))
}

/// The real binary through `proxy`, with its output read line by line on stderr.
struct Run {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Run {
    fn start(cluster: &Cluster, kubeconfig: &Path, args: &[&str]) -> Run {
        let mut child = cluster
            .command(BIN.as_ref(), kubeconfig)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl-vmchaos");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Run {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("never saw {text:?}:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn finish(mut self) -> (Output, String) {
        let out = self
            .child
            .wait_with_output()
            .expect("wait for kubectl-vmchaos");
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        (out, self.seen.join("\n"))
    }
}

fn json(out: &Output, stderr: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn through_proxy(cluster: &Cluster) -> (FaultProxy, PathBuf) {
    let proxy = cluster.fault_proxy();
    let kubeconfig = cluster.kubeconfig_to("admin", &proxy.url(), None);
    (proxy, kubeconfig)
}

fn assert_back(cluster: &Cluster, ns: &str, name: &str, old: &str) {
    let now = cluster
        .wait_vmi_ready(ns, name, Some(old), Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{ns}/{name} not back: {e:?}"));
    assert_ne!(now, old);
}

#[test]
fn connections_dropped_in_the_middle_of_the_watch() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("drop");
    let old = cluster.running_vm(&ns, "db", "Manual", &[]);
    let (proxy, kubeconfig) = through_proxy(cluster);
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "3s",
        ],
    );
    run.wait_for("old VMI gone");
    proxy.drop_connections();
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc = json(&out, &stderr);
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert!(
        stderr.contains("broke"),
        "the watch break is said: {stderr}"
    );
    assert_back(cluster, &ns, "db", &old);
}

#[test]
fn the_api_server_stalled_for_30_seconds() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("stall");
    let old = cluster.running_vm(&ns, "db", "Always", &[]);
    let (proxy, kubeconfig) = through_proxy(cluster);
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--request-timeout",
            "5s",
        ],
    );
    run.wait_for("deleted VMI");
    proxy.stall_for(Duration::from_secs(30));
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc = json(&out, &stderr);
    assert_eq!(doc["recovered"], true, "{doc:#}");
    // KubeVirt brought it back during the stall: what the watch missed, the server's own
    // timestamps tell.
    assert!(
        doc["timingSources"].to_string().contains("server"),
        "{doc:#}"
    );
    assert_back(cluster, &ns, "db", &old);
}

#[test]
fn the_api_server_restarted_during_the_recovery() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("restart");
    let old = cluster.running_vm(&ns, "db", "Manual", &[]);
    let kubeconfig = cluster.admin_kubeconfig();
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "2s",
        ],
    );
    run.wait_for("old VMI gone");
    cluster.restart_apiserver().expect("restart kube-apiserver");
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(json(&out, &stderr)["recovery"], "start");
    assert_back(cluster, &ns, "db", &old);
}

/// On the genuine tier this is where client-go's pace shows: virt-controller's reflectors back off
/// (0.8 s doubling, for 2 minutes) after each restart, so KubeVirt finishes the delete and
/// re-creates the VMI seconds after the API server is back, while the tool's watch resumes.
#[test]
fn the_api_server_restarted_twice_before_kubevirt_re_created_the_vmi() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("restart2");
    let old = cluster.running_vm(&ns, "db", "Always", &[]);
    let kubeconfig = cluster.admin_kubeconfig();
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &["outage", "db", "-n", &ns, "--yes", "-o", "json"],
    );
    run.wait_for("deleted VMI");
    cluster.restart_apiserver().expect("restart kube-apiserver");
    cluster
        .restart_apiserver()
        .expect("restart kube-apiserver again");
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc = json(&out, &stderr);
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert_eq!(doc["recovery"], "automatic", "{doc:#}");
    // KubeVirt's, not the tool's: it never starts or re-creates what KubeVirt owns.
    assert!(
        !stderr.contains("tool: starting") && !stderr.contains("tool: re-creating"),
        "{stderr}"
    );
    let now = cluster
        .wait_vmi_ready(&ns, "db", Some(&old), Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{ns}/db not back: {e:?}"));
    assert_eq!(doc["after"]["uid"], now.as_str(), "{doc:#}");
}

#[test]
fn a_watch_answered_410_gone_is_relisted() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("gone410");
    let old = cluster.running_vm(&ns, "db", "Manual", &[]);
    let (proxy, kubeconfig) = through_proxy(cluster);
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "6s",
        ],
    );
    run.wait_for("old VMI gone");
    // Cut the tool off, move etcd past its watch's resourceVersion, let it back in.
    proxy.refuse();
    proxy.drop_connections();
    cluster.running_vm(&ns, "churn", "Always", &[]);
    cluster.compact_etcd().expect("compact etcd");
    proxy.pass();
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_back(cluster, &ns, "db", &old);
    let audit = std::fs::read_to_string(cluster.audit_log()).unwrap();
    let lists = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["stage"] == "ResponseComplete"
                && e["verb"] == "list"
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
                && e["requestURI"].as_str().is_some_and(|u| {
                    u.contains(&format!("/namespaces/{ns}/virtualmachineinstances"))
                })
        })
        .count();
    assert!(
        lists >= 2,
        "the namespace was re-listed after the 410 ({lists} lists)\n{stderr}"
    );
}

/// Makes the API server itself refuse every create of the VMI `ns/name` (a
/// ValidatingAdmissionPolicy, as a cluster's own policy or an exhausted quota would), so that
/// KubeVirt's VM controller, the simulated one or KubeVirt's own virt-controller, can never
/// re-create it; returns once the API server enforces it. Returns the policy's name, for
/// `allow_vmi_creates`.
fn refuse_vmi_creates(cluster: &Cluster, ns: &str, name: &str) -> String {
    let policy = format!("vmchaos-test-refuse-{ns}-{name}");
    cluster.apply_yaml(&format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {policy}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {{apiGroups: [kubevirt.io], apiVersions: ['*'], operations: [CREATE],
       resources: [virtualmachineinstances]}}
  validations:
  - expression: \"!(object.metadata.namespace == '{ns}' && object.metadata.name == '{name}')\"
    message: no VMI {ns}/{name} may be created (the fault test's policy)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {policy}}}
spec: {{policyName: {policy}, validationActions: [Deny]}}
"
    ));
    // The API server compiles a new policy within a second or so: until a server-side dry run
    // of that very create is refused, it is not in force yet.
    let manifest = serde_json::to_string(&testenv::fixtures::vmi_manifest(ns, name, &[])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut dry_run = cluster
            .kubectl(&cluster.admin_kubeconfig())
            .args(["create", "--dry-run=server", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        dry_run
            .stdin
            .take()
            .unwrap()
            .write_all(manifest.as_bytes())
            .unwrap();
        let out = dry_run.wait_with_output().unwrap();
        if String::from_utf8_lossy(&out.stderr).contains(&policy) {
            return policy;
        }
        assert!(
            Instant::now() < deadline,
            "the policy {policy} not in force after 60 s: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// Deletes `refuse_vmi_creates`'s policy: KubeVirt may create the VMI again.
fn allow_vmi_creates(cluster: &Cluster, policy: &str) {
    let deleted = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args([
            "delete",
            "validatingadmissionpolicybinding,validatingadmissionpolicy",
            policy,
        ])
        .status()
        .unwrap();
    assert!(deleted.success());
}

#[test]
fn kubevirt_never_recreating_an_always_vm_is_not_recovered() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("never");
    let old = cluster.running_vm(&ns, "db", "Always", &[]);
    let bystander = cluster.running_vm(&ns, "other", "Always", &[]);
    let policy = refuse_vmi_creates(cluster, &ns, "db");
    let kubeconfig = cluster.admin_kubeconfig();
    let run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "1s",
            "--timeout",
            "2s",
        ],
    );
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = json(&out, &stderr);
    assert!(
        doc["restoreCommand"]
            .as_str()
            .is_some_and(|c| c.starts_with("kubectl vmchaos restore '")),
        "{doc:#}"
    );
    assert!(
        doc["notes"]
            .to_string()
            .contains("KubeVirt has not re-created"),
        "{doc:#}"
    );
    assert_eq!(
        cluster.vmi_uid(&ns, "other").as_deref(),
        Some(bystander.as_str()),
        "nothing else deleted"
    );
    // The tool never starts what KubeVirt owns (virt-api would refuse it anyway).
    assert!(!stderr.contains("tool: starting"), "{stderr}");
    // Once the API server lets it, KubeVirt brings it back by itself.
    allow_vmi_creates(cluster, &policy);
    assert_back(cluster, &ns, "db", &old);
}

#[test]
fn sigkill_mid_run_then_restore_brings_it_back() {
    let Some((cluster, _turn)) = cluster() else {
        return;
    };
    let ns = cluster.namespace("kill");
    let old = cluster.running_vm(&ns, "db", "Manual", &[]);
    let save = cluster.dir().join(format!("snapshots-{ns}"));
    let kubeconfig = cluster.admin_kubeconfig();
    let mut run = Run::start(
        cluster,
        &kubeconfig,
        &[
            "outage",
            "db",
            "-n",
            &ns,
            "--yes",
            "--duration",
            "10m",
            "--save-dir",
            save.to_str().unwrap(),
        ],
    );
    run.wait_for("old VMI gone");
    run.child.kill().unwrap();
    let _ = run.finish();
    assert!(cluster.vmi_uid(&ns, "db").is_none(), "the VM is down");
    let snapshot = std::fs::read_dir(&save)
        .unwrap()
        .next()
        .expect("a snapshot was saved")
        .unwrap()
        .path();
    let out: Output = cluster
        .command(BIN.as_ref(), &kubeconfig)
        .args(["restore", snapshot.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_back(cluster, &ns, "db", &old);
}
