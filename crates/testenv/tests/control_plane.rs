//! The control plane is a genuine kube-apiserver with TLS, static tokens, RBAC and an audit log,
//! reachable through the kubeconfig files the harness writes.

use std::time::{Duration, Instant};

use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Api, DynamicObject, ListParams};
use testenv::{fixtures, Cluster};

#[test]
fn version_is_a_real_kube_apiserver_1_35() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let version = cluster
        .block_on(cluster.client().apiserver_version())
        .unwrap();
    assert!(
        version.git_version.starts_with("v1.35."),
        "gitVersion {}",
        version.git_version
    );
    assert_eq!(version.major, "1");
    assert_eq!(version.minor, "35");
}

#[test]
fn kubectl_works_with_the_admin_kubeconfig_in_a_scrubbed_environment() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("kubectl");
    let out = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args(["get", "namespace", &ns, "-o", "name"])
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("namespace/{ns}")
    );
}

#[test]
fn a_restricted_user_is_forbidden_until_a_role_is_bound() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let ns = cluster.namespace("rbac");
    let alice = cluster.user_kubeconfig("alice");

    let out = cluster
        .kubectl(&alice)
        .args(["get", "virtualmachineinstances.kubevirt.io", "-n", &ns])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Forbidden") && stderr.contains("\"alice\""),
        "{stderr}"
    );

    let list = |user: &str| {
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.user_client(user), &ns, &fixtures::vmi_resource());
        cluster.block_on(api.list(&ListParams::default()))
    };
    match list("alice") {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("expected 403 for alice, got {other:?}"),
    }
    let rule: PolicyRule = serde_json::from_value(serde_json::json!({
        "apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"], "verbs": ["list"]
    }))
    .unwrap();
    cluster.bind_role(&ns, "alice", &[rule]);
    assert!(list("alice").is_ok());
    // Another restricted user is still forbidden here (carol is bound elsewhere only; bob is
    // bound cluster-wide by another test).
    match list("carol") {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("expected 403 for carol, got {other:?}"),
    }
}

#[test]
fn the_audit_log_records_requests_by_user_agent_without_request_received() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let out = cluster
        .kubectl(&cluster.admin_kubeconfig())
        .args(["get", "namespaces", "--request-timeout=30s"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(cluster.audit_log()).unwrap_or_default();
        let events: Vec<serde_json::Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(events.iter().all(|e| e["stage"] != "RequestReceived"));
        let kubectl = events.iter().find(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with("kubectl"))
                && e["objectRef"]["resource"] == "namespaces"
                && e["stage"] == "ResponseComplete"
        });
        if let Some(event) = kubectl {
            assert_eq!(event["level"], "Metadata");
            assert_eq!(event["user"]["username"], "admin");
            assert!(event["auditID"].as_str().is_some_and(|id| !id.is_empty()));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no kubectl request in {}",
            cluster.audit_log().display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn commands_get_a_scrubbed_environment() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let kubeconfig = cluster.admin_kubeconfig();
    let out = cluster
        .command("env".as_ref(), &kubeconfig)
        .output()
        .unwrap();
    let env = String::from_utf8_lossy(&out.stdout);
    let mut names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "HOME",
            "KUBECONFIG",
            "NO_COLOR",
            "PATH",
            "TERM",
            "XDG_STATE_HOME"
        ],
        "{env}"
    );
    assert!(env.contains(&format!("KUBECONFIG={}", kubeconfig.display())));
    let home = env.lines().find_map(|l| l.strip_prefix("HOME=")).unwrap();
    assert!(
        std::path::Path::new(home).starts_with(cluster.dir()),
        "{home}"
    );
}

#[test]
fn apply_yaml_and_cluster_role_bindings_grant_exactly_their_scope() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let rbac = include_str!("../../../deploy/rbac.yaml");
    let applied = cluster.apply_yaml(rbac);
    assert!(applied
        .iter()
        .any(|o| o.metadata.name.as_deref() == Some("vmchaos")));
    // Applying again is a no-op, not a conflict.
    cluster.apply_yaml(rbac);

    let (granted, other) = (cluster.namespace("granted"), cluster.namespace("other"));
    let list_as = |user: &str, ns: &str| {
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.user_client(user), ns, &fixtures::vmi_resource());
        cluster
            .block_on(api.list(&ListParams::default()))
            .map(|_| ())
    };
    cluster.bind_cluster_role_in(&granted, "carol", "vmchaos");
    assert!(list_as("carol", &granted).is_ok());
    assert!(matches!(list_as("carol", &other), Err(kube::Error::Api(s)) if s.code == 403));

    cluster.bind_cluster_role("bob", "vmchaos");
    assert!(list_as("bob", &other).is_ok());
}
