//! In-cluster mode, proven: the real binary with no kubeconfig, a real ServiceAccount token from
//! the API server's TokenRequest and the cluster's CA at the standard path (bind-mounted in a
//! private mount namespace, as a kubelet would), and KUBERNETES_SERVICE_HOST/PORT pointing at the
//! harness's API server. Bound to the Role `schedule` generates, a full outage succeeds; unbound,
//! it is refused before anything changes.
//!
//! Needs root (for `unshare -m` and `mount`): skipped otherwise, except under CI=true.

mod common;

use std::{
    path::Path,
    process::{Command, Output},
};

use common::{json, stderr, Env, BIN};
use k8s_openapi::api::{
    authentication::v1::{TokenRequest, TokenRequestSpec},
    core::v1::ServiceAccount,
};
use kube::api::{Api, PostParams};
use testenv::Cluster;

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Whether this process may make a private mount namespace and mount in it.
fn can_unshare() -> bool {
    let ok = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "mount",
            "-t",
            "tmpfs",
            "tmpfs",
            "/mnt",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "CI=true: the in-cluster test needs root for unshare -m and mount"
        );
        eprintln!("in_cluster: SKIPPED, needs root (unshare -m, mount)");
    }
    ok
}

/// A token for the ServiceAccount, as the kubelet would project it.
fn token(cluster: &Cluster, ns: &str, sa: &str) -> String {
    let api: Api<ServiceAccount> = Api::namespaced(cluster.client(), ns);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let answer = cluster
        .block_on(api.create_token_request(sa, &PostParams::default(), &request))
        .expect("TokenRequest");
    answer.status.expect("a token").token
}

/// The real binary in its own mount namespace: the ServiceAccount's files bind-mounted at the
/// standard path (over a private tmpfs /run), no kubeconfig, HOME empty, the environment a Pod
/// gets.
fn run_in_pod(cluster: &Cluster, files: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let port = cluster.server().rsplit(':').next().unwrap().to_string();
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; mkdir -p {SA_DIR}; \
         for f in token ca.crt namespace; do touch {SA_DIR}/$f; \
         mount --bind \"$FILES/$f\" {SA_DIR}/$f; done; exec \"$@\""
    );
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        "sh",
        BIN,
    ])
    .args(args)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", home.path())
    .env("FILES", files)
    .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    .env("KUBERNETES_SERVICE_PORT", port)
    .env("NO_COLOR", "1");
    cmd.output().expect("run unshare")
}

fn pod_files(cluster: &Cluster, ns: &str, sa: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), token(cluster, ns, sa)).unwrap();
    std::fs::copy(cluster.ca_path(), dir.path().join("ca.crt")).unwrap();
    std::fs::write(dir.path().join("namespace"), ns).unwrap();
    dir
}

/// RBAC applies a new binding a moment later: wait until the ServiceAccount may `verb` VMIs.
fn wait_allowed(env: &Env, ns: &str, sa: &str, verb: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let user = format!("system:serviceaccount:{ns}:{sa}");
    let resource = "virtualmachineinstances.kubevirt.io";
    while !env
        .kubectl(&["auth", "can-i", verb, resource, "-n", ns, "--as", &user])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{user} never got {verb} {resource}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn an_outage_runs_in_cluster_under_the_generated_role_and_only_under_it() {
    let Some(env) = Env::get() else { return };
    let cluster = Cluster::shared().expect("the shared cluster");
    if !can_unshare() {
        return;
    }
    let ns = env.namespace("incluster");
    let before = env.vm(&ns, "db", "Always", &[]);

    // The schedule's own ServiceAccount, Role and RoleBinding.
    let out = env.run(&[
        "schedule",
        "gameday",
        "-n",
        &ns,
        "--cron",
        "@weekly",
        "--apply",
        "--",
        "db",
        "--duration",
        "20s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Unbound: a ServiceAccount with no role is refused before anything changes.
    let made = env.kubectl(&["create", "serviceaccount", "nobody", "-n", &ns]);
    assert!(made.status.success(), "{}", stderr(&made));
    let files = pod_files(cluster, &ns, "nobody");
    let save = tempfile::tempdir().unwrap();
    let save_dir = save.path().to_str().unwrap();
    let out = run_in_pod(
        cluster,
        files.path(),
        &[
            "outage",
            "db",
            "--yes",
            "-o",
            "json",
            "--save-dir",
            save_dir,
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("system:serviceaccount:{ns}:nobody"))
            && err.contains("virtualmachineinstances"),
        "the missing permission is named: {err}"
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(before.as_str()));

    // Bound to a Role that may only read: the pre-flight's SelfSubjectAccessReview, made with
    // the ServiceAccount's own token, names the verb it lacks.
    let made = env.kubectl(&["create", "serviceaccount", "reader", "-n", &ns]);
    assert!(made.status.success(), "{}", stderr(&made));
    let role = env.kubectl(&[
        "create",
        "role",
        "reader",
        "-n",
        &ns,
        "--verb=get,list",
        "--resource=virtualmachineinstances.kubevirt.io,virtualmachines.kubevirt.io",
    ]);
    assert!(role.status.success(), "{}", stderr(&role));
    let binding = env.kubectl(&[
        "create",
        "rolebinding",
        "reader",
        "-n",
        &ns,
        "--role=reader",
        &format!("--serviceaccount={ns}:reader"),
    ]);
    assert!(binding.status.success(), "{}", stderr(&binding));
    // RBAC applies a new binding a moment later: wait for it, or the GET would be what fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let as_reader = format!("system:serviceaccount:{ns}:reader");
    while !env
        .kubectl(&[
            "auth",
            "can-i",
            "get",
            "virtualmachineinstances.kubevirt.io",
            "-n",
            &ns,
            "--as",
            &as_reader,
        ])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader binding never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let files = pod_files(cluster, &ns, "reader");
    let out = run_in_pod(
        cluster,
        files.path(),
        &[
            "outage",
            "db",
            "--yes",
            "-o",
            "json",
            "--save-dir",
            save_dir,
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot delete virtualmachineinstances.kubevirt.io"),
        "{err}"
    );
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(before.as_str()));

    // Bound to the generated Role: a full outage, namespace from the mounted file (no -n).
    wait_allowed(&env, &ns, "gameday", "delete");
    let files = pod_files(cluster, &ns, "gameday");
    let out = run_in_pod(
        cluster,
        files.path(),
        &[
            "outage",
            "db",
            "--yes",
            "-o",
            "json",
            "--save-dir",
            save_dir,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["context"], "in-cluster", "{doc:#}");
    assert_eq!(doc["target"]["namespace"], ns.as_str());
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert_eq!(doc["recovery"], "automatic");
    let after = doc["after"]["uid"].as_str().unwrap();
    assert_ne!(after, before);
    assert_eq!(env.uid(&ns, "db").as_deref(), Some(after));
    assert!(env.is_ready(&ns, "db"));
}
