//! The tool's integration tests' view of the local cluster (crates/testenv): the real binary
//! with a scrubbed environment, the harness's fixtures, and a few test-specific helpers.
#![allow(dead_code)]

use std::{
    process::{Command, Output},
    time::Duration,
};

use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use testenv::{fixtures, Cluster};

/// The shared cluster for this test, or return from it when none can run (outside CI only:
/// `Cluster::shared` fails the test in CI).
#[macro_export]
macro_rules! env_or_skip {
    () => {
        match $crate::common::Env::get() {
            Some(env) => env,
            None => return,
        }
    };
}

/// A fleet document's entry for the VMI `name`.
pub fn target<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets: {doc:#}"))
        .iter()
        .find(|t| t["target"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {doc:#}"))
}

pub const BIN: &str = env!("CARGO_BIN_EXE_kubectl-vmchaos");

pub struct Env {
    cluster: &'static Cluster,
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A control plane without KubeVirt, for "KubeVirt is not installed".
pub fn bare_cluster() -> Option<Env> {
    Cluster::bare().map(|cluster| Env { cluster })
}

/// A control plane with KubeVirt's CRDs but WITHOUT the simulator, shared by this test binary:
/// nothing boots, stops or changes a VMI, so a test creates VMIs (status included: the VMI CRD
/// has no status subresource) and VMs in exactly the state it needs.
pub fn static_cluster() -> Option<Env> {
    static STATIC: std::sync::OnceLock<Option<Cluster>> = std::sync::OnceLock::new();
    STATIC
        .get_or_init(|| {
            testenv::prerequisites_present().then(|| {
                Cluster::builder()
                    .simulator(None)
                    .start()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .as_ref()
        .map(|cluster| Env { cluster })
}

impl Env {
    pub fn cluster(&self) -> &'static Cluster {
        self.cluster
    }

    /// Whether KubeVirt here is the genuine one (`VMCHAOS_TIER=genuine`).
    pub fn genuine(&self) -> bool {
        self.cluster.is_genuine()
    }

    /// For a test (or the part of one) that stages a case only the simulator can: true on the
    /// simulator; on the genuine tier false, after saying why.
    pub fn simulated_only(&self, why: &str) -> bool {
        self.cluster.simulated_only(why)
    }

    /// A cluster this test binary started itself (e.g. with a harness option the shared one
    /// lacks).
    pub fn of(cluster: &'static Cluster) -> Env {
        Env { cluster }
    }

    /// The cluster shared by this test binary; None (test skipped) without prerequisites, outside CI.
    pub fn get() -> Option<Env> {
        Cluster::shared().map(|cluster| Env { cluster })
    }

    /// The real binary as `admin`, `alice`, `bob` or `carol`, environment scrubbed.
    pub fn command_as(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = self
            .cluster
            .command(BIN.as_ref(), &self.cluster.user_kubeconfig(user));
        cmd.args(args);
        cmd
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_as("admin", args)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl-vmchaos")
    }

    /// `outage NAME -n NS --yes -o json` plus `extra`.
    pub fn outage(&self, ns: &str, name: &str, extra: &[&str]) -> Output {
        let mut args = vec!["outage", name, "-n", ns, "--yes", "-o", "json"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    pub fn run_as(&self, user: &str, args: &[&str]) -> Output {
        self.command_as(user, args)
            .output()
            .expect("run kubectl-vmchaos")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.cluster
            .kubectl(&self.cluster.admin_kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// kubectl as admin, environment scrubbed.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = self.cluster.kubectl(&self.cluster.admin_kubeconfig());
        cmd.args(args);
        cmd
    }

    pub fn namespace(&self, prefix: &str) -> String {
        self.cluster.namespace(prefix)
    }

    /// A VM with this runStrategy whose VMI is Running and Ready; returns the VMI's UID.
    pub fn vm(&self, ns: &str, name: &str, strategy: &str, annotations: &[(&str, &str)]) -> String {
        self.cluster.running_vm(ns, name, strategy, annotations)
    }

    /// A standalone VMI, Running and Ready (unless a knob keeps it from running); returns its UID.
    pub fn vmi(&self, ns: &str, name: &str, annotations: &[(&str, &str)]) -> String {
        self.cluster.ensure_namespace(ns);
        if annotations
            .iter()
            .any(|(k, _)| *k == testenv::knobs::STUCK_IN)
        {
            let manifest: DynamicObject =
                serde_json::from_value(fixtures::vmi_manifest(ns, name, annotations)).unwrap();
            let api = self.vmis(ns);
            let created = self
                .cluster
                .block_on(api.create(&PostParams::default(), &manifest))
                .unwrap();
            return created.metadata.uid.unwrap();
        }
        self.cluster.running_vmi(ns, name, annotations)
    }

    fn vmis(&self, ns: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.cluster.client(), ns, &fixtures::vmi_resource())
    }

    fn vms(&self, ns: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.cluster.client(), ns, &fixtures::vm_resource())
    }

    pub fn uid(&self, ns: &str, name: &str) -> Option<String> {
        self.cluster.vmi_uid(ns, name)
    }

    pub fn annotation(&self, ns: &str, name: &str, key: &str) -> Option<String> {
        self.cluster
            .vmi(ns, name)?
            .metadata
            .annotations?
            .get(key)
            .cloned()
    }

    pub fn is_ready(&self, ns: &str, name: &str) -> bool {
        self.cluster
            .vmi(ns, name)
            .is_some_and(|v| fixtures::is_ready(&v))
    }

    pub fn wait_ready(
        &self,
        ns: &str,
        name: &str,
        not_uid: Option<&str>,
        timeout: Duration,
    ) -> String {
        self.cluster
            .wait_vmi_ready(ns, name, not_uid, timeout)
            .unwrap_or_else(|e| panic!("VMI {ns}/{name}: {e:?}"))
    }

    /// Waits until the VMI reports this phase.
    pub fn wait_phase(&self, ns: &str, name: &str, phase: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let now = self
                .cluster
                .vmi(ns, name)
                .and_then(|v| v.data["status"]["phase"].as_str().map(str::to_string));
            if now.as_deref() == Some(phase) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "VMI {ns}/{name} never reached {phase} ({now:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn run_strategy(&self, ns: &str, name: &str) -> String {
        let vm = self.cluster.block_on(self.vms(ns).get(name)).unwrap();
        vm.data["spec"]["runStrategy"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn patch_vm(&self, ns: &str, name: &str, patch: Value) {
        let api = self.vms(ns);
        self.cluster
            .block_on(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)))
            .unwrap();
    }

    pub fn annotate_vm(&self, ns: &str, name: &str, key: &str, value: &str) {
        self.patch_vm(ns, name, json!({"metadata": {"annotations": {key: value}}}));
    }

    /// Changes the VM's template: only VMIs created from now on get it.
    pub fn annotate_template(&self, ns: &str, name: &str, key: &str, value: &str) {
        self.patch_vm(
            ns,
            name,
            json!({"spec": {"template": {"metadata": {"annotations": {key: value}}}}}),
        );
    }

    /// Removes the simulator's blocking finalizer so a stuck VMI can go.
    pub fn unblock(&self, ns: &str, name: &str) {
        let Some(obj) = self.cluster.vmi(ns, name) else {
            return;
        };
        let kept: Vec<String> = obj
            .metadata
            .finalizers
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f != testenv::knobs::BLOCKING_FINALIZER)
            .collect();
        let patch = json!({"metadata": {"finalizers": kept}});
        let api = self.vmis(ns);
        let _ =
            self.cluster
                .block_on(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)));
    }

    /// Deletes the VMI and waits until it is gone.
    pub fn delete_and_wait(&self, ns: &str, name: &str) {
        let api = self.vmis(ns);
        let _ = self.cluster.block_on(api.delete(name, &Default::default()));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.cluster.vmi(ns, name).is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "VMI {ns}/{name} not gone"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Role granting `verbs` on `resource` in `group`, bound to `user` in `ns`.
    pub fn grant(&self, ns: &str, user: &str, verbs: &[&str], group: &str, resource: &str) {
        let rule = PolicyRule {
            api_groups: Some(vec![group.into()]),
            resources: Some(vec![resource.into()]),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            ..PolicyRule::default()
        };
        self.cluster.bind_role(ns, user, &[rule]);
    }

    pub fn bind_cluster_role(&self, ns: &str, user: &str, cluster_role: &str) {
        self.cluster.bind_cluster_role_in(ns, user, cluster_role);
    }

    /// The simulator's JSON-lines event log.
    pub fn sim_log(&self) -> std::path::PathBuf {
        self.cluster.sim_log()
    }

    pub fn running_replica_set(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        annotations: &[(&str, &str)],
    ) -> Vec<testenv::fixtures::RunningVmi> {
        self.cluster
            .running_replica_set(ns, name, replicas, annotations)
    }

    pub fn wait_replica_set_ready(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<testenv::fixtures::RunningVmi>> {
        self.cluster
            .wait_replica_set_ready(ns, name, replicas, timeout)
    }

    pub fn running_pool(
        &self,
        ns: &str,
        name: &str,
        replicas: usize,
        strategy: &str,
        annotations: &[(&str, &str)],
    ) -> Vec<testenv::fixtures::RunningVmi> {
        self.cluster
            .running_pool(ns, name, replicas, strategy, annotations)
    }

    pub fn running_legacy_vm(&self, ns: &str, name: &str, annotations: &[(&str, &str)]) -> String {
        self.cluster.running_legacy_vm(ns, name, annotations)
    }

    pub fn halting_vm(
        &self,
        ns: &str,
        name: &str,
        stop_delay: Duration,
        annotations: &[(&str, &str)],
    ) -> String {
        self.cluster.halting_vm(ns, name, stop_delay, annotations)
    }

    /// The API server's audit log: one JSON line per request stage.
    pub fn audit_log(&self) -> std::path::PathBuf {
        self.cluster.audit_log()
    }

    /// The audit events (stage ResponseComplete) of requests in `ns` whose URI contains `part`.
    pub fn requests(&self, ns: &str, part: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.audit_log()).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["stage"] == "ResponseComplete")
            .filter(|e| {
                let uri = e["requestURI"].as_str().unwrap_or_default();
                uri.contains(&format!("/namespaces/{ns}/")) && uri.contains(part)
            })
            .collect()
    }

    pub fn apply_yaml(&self, yaml: &str) {
        self.cluster.apply_yaml(yaml);
    }
}
