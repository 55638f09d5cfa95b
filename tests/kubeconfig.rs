//! kubectl's kubeconfig, all of it, proven with the real binary against the real API server:
//! each variant runs `kubectl-vmchaos list -n NS -o json` (read-only) and checks both that it
//! works and that the feature was really used (the proxy saw the CONNECT, the wrong
//! tls-server-name fails, the identity in a 403 is the certificate's, ...).

mod common;

use std::{
    ffi::OsString,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use common::{json, stderr, BIN};
use serde_json::{json, Value};
use testenv::{Cluster, ConnectProxy, FaultProxy};

struct Kc {
    cluster: &'static Cluster,
    dir: tempfile::TempDir,
    ns: String,
}

fn setup() -> Option<Kc> {
    let cluster = Cluster::shared()?;
    Some(Kc {
        cluster,
        dir: tempfile::tempdir().unwrap(),
        ns: cluster.namespace("kubeconfig"),
    })
}

impl Kc {
    /// A kubeconfig file (JSON is YAML) with one context `c` of cluster `cluster` and user `user`.
    fn write(&self, name: &str, cluster: Value, user: Value) -> PathBuf {
        self.write_doc(
            name,
            json!({
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c"
            }),
        )
    }

    fn write_doc(&self, name: &str, doc: Value) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        path
    }

    /// The API server with the cluster's CA.
    fn real_cluster(&self) -> Value {
        json!({"server": self.cluster.server(), "certificate-authority": self.cluster.ca_path()})
    }

    fn token_user(&self, user: &str) -> Value {
        json!({"token": self.cluster.token(user)})
    }

    /// The binary with KUBECONFIG set to `kubeconfig` (a path list), scrubbed environment.
    fn command(&self, kubeconfig: impl Into<OsString>, extra: &[&str]) -> Command {
        let mut cmd = self.cluster.command(BIN.as_ref(), Path::new("unused"));
        cmd.env("KUBECONFIG", kubeconfig.into())
            .args(["list", "-n", &self.ns, "-o", "json"])
            .args(extra);
        cmd
    }

    fn list(&self, kubeconfig: impl Into<OsString>, extra: &[&str]) -> Output {
        output(self.command(kubeconfig, extra))
    }
}

/// Runs the command; a hang fails the test after two minutes instead of blocking it.
fn output(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl-vmchaos");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("kubectl-vmchaos hung for 2 minutes:\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn join(paths: &[&Path]) -> OsString {
    std::env::join_paths(paths).unwrap()
}

#[track_caller]
fn assert_listed(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(out));
    assert!(
        json(out).is_array(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Failed as a user should read it: exit 2, the words expected, no Rust debug struct.
#[track_caller]
fn assert_failed(out: &Output, words: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{err}");
    assert!(err.contains(words), "expected {words:?} in:\n{err}");
    assert_readable(out);
    err
}

#[track_caller]
fn assert_readable(out: &Output) {
    for text in [
        stderr(out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ] {
        for debug in [
            "Status {",
            "Error {",
            "Some(",
            "ApiError",
            "HyperError",
            "Kind(",
        ] {
            assert!(!text.contains(debug), "{debug:?} printed:\n{text}");
        }
    }
}

#[test]
fn several_files_merge_first_wins_and_missing_ones_are_skipped() {
    let Some(kc) = setup() else { return };
    let missing = kc.dir.path().join("does-not-exist.yaml");
    // The first file has the context and a user `u` whose token is wrong...
    let first = kc.write_doc(
        "first.yaml",
        json!({
            "apiVersion": "v1", "kind": "Config",
            "users": [{"name": "u", "user": {"token": "wrong-token"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c"
        }),
    );
    // ...the second has the cluster and a user `u` with the admin's token.
    let second = kc.write_doc(
        "second.yaml",
        json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "c", "cluster": kc.real_cluster()}],
            "users": [{"name": "u", "user": kc.token_user("admin")}]
        }),
    );
    // Second first: its `u` wins; the context comes from the other file; the missing file is
    // skipped, as kubectl does.
    let out = kc.list(join(&[&missing, &second, &first]), &[]);
    assert_listed(&out);
    let kubectl = kc
        .cluster
        .kubectl(&second)
        .env("KUBECONFIG", join(&[&missing, &second, &first]))
        .args(["get", "namespace", &kc.ns, "-o", "name"])
        .output()
        .unwrap();
    assert!(
        kubectl.status.success(),
        "kubectl disagrees: {}",
        stderr(&kubectl)
    );

    // First first: its `u` (wrong token) wins, so the server rejects it.
    let out = kc.list(join(&[&first, &missing, &second]), &[]);
    assert_failed(&out, "rejected the credentials");

    let out = kc.list(join(&[&missing]), &[]);
    let err = assert_failed(&out, "none of the files in KUBECONFIG exists");
    assert!(err.contains("does-not-exist.yaml"), "{err}");
}

#[test]
fn tls_server_name_verifies_a_name_the_address_does_not_have() {
    let Some(kc) = setup() else { return };
    // 127.0.0.2 is not in the API server's certificate (127.0.0.1, localhost,
    // kubernetes.default.svc are).
    let proxy = FaultProxy::start_on(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        kc.cluster.apiserver_addr(),
    )
    .unwrap();
    let without = kc.cluster.kubeconfig_to("admin", &proxy.url(), None);
    let wrong = kc
        .cluster
        .kubeconfig_to("admin", &proxy.url(), Some("wrong.example"));
    let right = kc
        .cluster
        .kubeconfig_to("admin", &proxy.url(), Some("kubernetes.default.svc"));

    let out = kc.list(&without, &[]);
    let err = assert_failed(&out, "failed to reach the API server");
    assert!(err.contains("certificate"), "{err}");
    let out = kc.list(&wrong, &[]);
    let err = assert_failed(&out, "failed to reach the API server");
    assert!(err.contains("certificate"), "{err}");
    assert_listed(&kc.list(&right, &[]));
    // kubectl's flag does the same.
    assert_listed(&kc.list(&without, &["--tls-server-name", "kubernetes.default.svc"]));
}

#[test]
fn proxy_url_tunnels_through_an_http_connect_proxy() {
    let Some(kc) = setup() else { return };
    let proxy = ConnectProxy::start().unwrap();
    let mut cluster = kc.real_cluster();
    cluster["proxy-url"] = json!(proxy.url());
    let kubeconfig = kc.write("proxy.yaml", cluster, kc.token_user("admin"));
    assert_listed(&kc.list(&kubeconfig, &[]));
    let target = kc.cluster.apiserver_addr().to_string();
    let requests = proxy.requests();
    assert!(
        requests.iter().any(|r| r.target == target),
        "the proxy saw no CONNECT to {target}: {requests:?}"
    );
    assert!(requests.iter().all(|r| r.proxy_authorization.is_none()));

    // Credentials in the URL go as Basic proxy authorization.
    let mut cluster = kc.real_cluster();
    cluster["proxy-url"] = json!(proxy.url().replace("http://", "http://us%40er:pass@"));
    let kubeconfig = kc.write("proxy-auth.yaml", cluster, kc.token_user("admin"));
    assert_listed(&kc.list(&kubeconfig, &[]));
    let last = proxy.requests().pop().unwrap();
    // base64("us@er:pass")
    assert_eq!(
        last.proxy_authorization.as_deref(),
        Some("Basic dXNAZXI6cGFzcw==")
    );
}

#[test]
fn insecure_skip_tls_verify_trusts_any_certificate() {
    let Some(kc) = setup() else { return };
    // No CA: the system's roots don't know the cluster's CA.
    let no_ca = kc.write(
        "no-ca.yaml",
        json!({"server": kc.cluster.server()}),
        kc.token_user("admin"),
    );
    let err = assert_failed(&kc.list(&no_ca, &[]), "failed to reach the API server");
    assert!(err.contains("certificate"), "{err}");
    let insecure = kc.write(
        "insecure.yaml",
        json!({"server": kc.cluster.server(), "insecure-skip-tls-verify": true}),
        kc.token_user("admin"),
    );
    assert_listed(&kc.list(&insecure, &[]));
    assert_listed(&kc.list(&no_ca, &["--insecure-skip-tls-verify"]));
}

#[test]
fn client_certificates_authenticate_as_their_common_name() {
    let Some(kc) = setup() else { return };
    let (cert, key) = kc
        .cluster
        .issue_client_certificate("dave", &["system:masters"]);
    let files = kc.write(
        "cert-files.yaml",
        kc.real_cluster(),
        json!({"client-certificate": cert, "client-key": key}),
    );
    assert_listed(&kc.list(&files, &[]));
    use base64::Engine;
    let b64 =
        |p: &Path| base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap());
    let data = kc.write(
        "cert-data.yaml",
        kc.real_cluster(),
        json!({"client-certificate-data": b64(&cert), "client-key-data": b64(&key)}),
    );
    assert_listed(&kc.list(&data, &[]));

    // A certificate without a group is that user, whom RBAC doesn't know: the 403 names it.
    let (cert, key) = kc.cluster.issue_client_certificate("erin", &[]);
    let erin = kc.write(
        "erin.yaml",
        kc.real_cluster(),
        json!({"client-certificate": cert, "client-key": key}),
    );
    let err = assert_failed(&kc.list(&erin, &[]), "forbidden");
    assert!(err.contains("\"erin\""), "{err}");
}

#[test]
fn a_token_file_is_read() {
    let Some(kc) = setup() else { return };
    let admin = kc.dir.path().join("admin.token");
    std::fs::write(&admin, kc.cluster.token("admin")).unwrap();
    let kubeconfig = kc.write(
        "tokenfile.yaml",
        kc.real_cluster(),
        json!({"tokenFile": admin}),
    );
    assert_listed(&kc.list(&kubeconfig, &[]));
    // The file decides who we are: with alice's token, alice is forbidden.
    std::fs::write(&admin, kc.cluster.token("alice")).unwrap();
    let err = assert_failed(&kc.list(&kubeconfig, &[]), "forbidden");
    assert!(err.contains("\"alice\""), "{err}");
}

#[test]
fn an_exec_plugin_provides_the_credential() {
    let Some(kc) = setup() else { return };
    let marker = kc.dir.path().join("plugin-ran");
    let script = kc.dir.path().join("credential-plugin");
    let credential = json!({
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": kc.cluster.token("admin")}
    });
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$VMCHAOS_PLUGIN_ARG\" > '{}'\ncat <<'EOF'\n{credential}\nEOF\n",
            marker.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let kubeconfig = kc.write(
        "exec.yaml",
        kc.real_cluster(),
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": script,
            "env": [{"name": "VMCHAOS_PLUGIN_ARG", "value": "from-the-kubeconfig"}],
            "interactiveMode": "Never"
        }}),
    );
    assert_listed(&kc.list(&kubeconfig, &[]));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "from-the-kubeconfig",
        "the plugin did not run with the kubeconfig's env"
    );

    // A plugin that fails says so, readably: the plugin, its exit status and its own words,
    // not the KUBERNETES_EXEC_INFO it was given.
    std::fs::write(&script, "#!/bin/sh\necho 'no session' >&2\nexit 1\n").unwrap();
    let out = kc.list(&kubeconfig, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_readable(&out);
    let err = stderr(&out);
    assert!(
        err.contains("credential plugin") && err.contains("exit status: 1): no session"),
        "{err}"
    );
    assert!(!err.contains("KUBERNETES_EXEC_INFO"), "{err}");

    // A plugin that hangs (a login prompt, a dead network) is bounded by --request-timeout,
    // and completion gives up on it quietly.
    std::fs::write(&script, "#!/bin/sh\nexec sleep 60\n").unwrap();
    let out = kc.list(&kubeconfig, &["--request-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("did not answer within 2s (--request-timeout)"),
        "{err}"
    );
    let mut complete = kc.cluster.command(BIN.as_ref(), kubeconfig.as_ref());
    complete.args(["__complete", "outage", ""]);
    let out = output(complete);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn impersonation_with_as_and_as_group() {
    let Some(kc) = setup() else { return };
    let admin = kc.cluster.admin_kubeconfig();
    let err = assert_failed(&kc.list(&admin, &["--as", "alice"]), "forbidden");
    assert!(err.contains("\"alice\""), "{err}");
    assert_listed(&kc.list(&admin, &["--as", "alice", "--as-group", "system:masters"]));
    assert_failed(
        &kc.list(&admin, &["--as-group", "system:masters"]),
        "--as-group needs --as",
    );
}

#[test]
fn server_and_token_override_the_kubeconfig() {
    let Some(kc) = setup() else { return };
    // Port 9 on loopback: nothing listens there.
    let dead = kc.write(
        "dead.yaml",
        json!({"server": "https://127.0.0.1:9", "certificate-authority": kc.cluster.ca_path()}),
        kc.token_user("admin"),
    );
    let err = assert_failed(
        &kc.list(&dead, &[]),
        "failed to reach the API server https://127.0.0.1:9",
    );
    assert!(err.contains("connection refused"), "{err}");
    assert_listed(&kc.list(&dead, &["--server", kc.cluster.server()]));

    let alice = kc.cluster.user_kubeconfig("alice");
    assert_failed(&kc.list(&alice, &[]), "forbidden");
    let token = kc.cluster.token("admin");
    assert_listed(&kc.list(&alice, &["--token", &token]));

    // No kubeconfig at all (KUBECONFIG names a missing file): the flags are enough, as with
    // kubectl; without a CA, only with --insecure-skip-tls-verify.
    let missing = kc.dir.path().join("missing.yaml");
    let server = kc.cluster.server();
    let flags = [
        "--server",
        server,
        "--token",
        &token,
        "--insecure-skip-tls-verify",
    ];
    assert_listed(&kc.list(&missing, &flags));
    let err = assert_failed(
        &kc.list(&missing, &flags[..4]),
        "failed to reach the API server",
    );
    assert!(
        err.contains("x509: certificate signed by unknown authority"),
        "{err}"
    );

    // An empty kubeconfig file is no kubeconfig: the flags are enough there too.
    let empty = kc.dir.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    assert_listed(&kc.list(&empty, &flags));

    // A wrong --token is the token's fault, not the kubeconfig user's.
    let err = assert_failed(
        &kc.list(kc.cluster.admin_kubeconfig(), &["--token", "wrong"]),
        "401 Unauthorized",
    );
    assert!(err.contains("the token given with --token"), "{err}");
    assert!(!err.contains("user admin"), "{err}");
}

/// CA data that is not PEM is said as kubectl says it, before anything is sent.
#[test]
fn a_certificate_authority_that_is_not_pem_is_refused_in_kubectls_words() {
    let Some(kc) = setup() else { return };
    let bad = kc.write(
        "bad-ca.yaml",
        json!({"server": kc.cluster.server(), "certificate-authority-data": "bm90IGEgcGVt"}),
        kc.token_user("admin"),
    );
    let err = assert_failed(
        &kc.list(&bad, &[]),
        "unable to load root certificates: unable to parse bytes as PEM block",
    );
    assert!(!err.contains("unknown authority"), "{err}");
}

#[test]
fn a_rejected_token_reads_like_kubectl_and_still_gives_a_json_document() {
    let Some(kc) = setup() else { return };
    let admin = kc.cluster.admin_kubeconfig();
    let out = kc.list(&admin, &["--token", "not-a-valid-token"]);
    let err = assert_failed(&out, "rejected the credentials");
    assert!(err.contains("(401 Unauthorized)"), "{err}");
    assert!(err.contains(kc.cluster.server()), "names the server: {err}");
    assert!(
        err.contains(kc.cluster.context()),
        "names the context: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 2, "{doc}");
    assert_eq!(doc["changed"], false, "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("401 Unauthorized"),
        "{doc}"
    );
    assert!(doc["hint"].is_string(), "{doc}");
    assert!(doc["restoreCommand"].is_null(), "{doc}");

    // The same for outage, before anything is deleted.
    let mut cmd = kc.cluster.command(BIN.as_ref(), &admin);
    cmd.args([
        "outage", "db-0", "-n", &kc.ns, "--yes", "-o", "json", "--token", "nope",
    ]);
    let out = output(cmd);
    assert_failed(&out, "rejected the credentials");
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 2, "{doc}");
    assert_eq!(doc["changed"], false, "{doc}");

    // -o yaml: one YAML document.
    let mut cmd = kc.cluster.command(BIN.as_ref(), &admin);
    cmd.args(["list", "-n", &kc.ns, "-o", "yaml", "--token", "nope"]);
    let out = output(cmd);
    assert_failed(&out, "rejected the credentials");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("exitCode: 2"), "{stdout}");
}

#[test]
fn a_stalled_server_ends_within_the_request_timeout() {
    let Some(kc) = setup() else { return };
    let proxy = kc.cluster.fault_proxy();
    let kubeconfig = kc.cluster.kubeconfig_to("admin", &proxy.url(), None);
    assert_listed(&kc.list(&kubeconfig, &[]));
    proxy.stall();
    let out = kc.list(&kubeconfig, &["--request-timeout", "2s"]);
    let err = assert_failed(&out, "within 2s (--request-timeout)");
    assert!(err.contains(&proxy.url()), "names the server: {err}");
    let doc = json(&out);
    assert_eq!(doc["exitCode"], 2, "{doc}");
    assert!(
        proxy.connections() >= 2,
        "the stalled proxy was not even asked"
    );
    proxy.pass();
    assert_listed(&kc.list(&kubeconfig, &["--request-timeout", "0"]));
}

#[test]
fn a_refusing_server_is_failed_to_reach() {
    let Some(kc) = setup() else { return };
    let proxy = kc.cluster.fault_proxy();
    let kubeconfig = kc.cluster.kubeconfig_to("admin", &proxy.url(), None);
    proxy.refuse();
    let out = kc.list(&kubeconfig, &[]);
    let err = assert_failed(
        &out,
        &format!("failed to reach the API server {}", proxy.url()),
    );
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

/// A connection that stops answering (a half-open one) is found by the HTTP/2 pings and closed,
/// so a request on it fails (and can be retried) instead of waiting forever, even with no
/// --request-timeout at all.
#[test]
fn a_frozen_connection_is_found_by_the_http2_pings() {
    let Some(kc) = setup() else { return };
    let proxy = kc.cluster.fault_proxy();
    let connection = kubectl_vmchaos::cluster::Connection {
        kubeconfig: Some(kc.cluster.kubeconfig_to("admin", &proxy.url(), None)),
        request_timeout: Duration::ZERO,
        ..Default::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (elapsed, result) = runtime.block_on(async {
        let cluster = kubectl_vmchaos::cluster::connect(&connection, Duration::from_secs(10))
            .await
            .unwrap();
        // One connection, up and used.
        cluster.client.apiserver_version().await.unwrap();
        assert_eq!(proxy.connections(), 1);
        proxy.stall();
        let started = std::time::Instant::now();
        let result =
            tokio::time::timeout(Duration::from_secs(120), cluster.client.apiserver_version())
                .await
                .expect(
                    "the request still waits after 2 minutes: no ping found the frozen connection",
                );
        (started.elapsed(), result)
    });
    proxy.pass();
    let err = result.expect_err("an answer through a stalled proxy");
    eprintln!(
        "frozen connection found after {elapsed:.1?}: {}",
        kubectl_vmchaos::error::describe(&err)
    );
    assert!(kubectl_vmchaos::error::is_connection_error(&err), "{err}");
}
