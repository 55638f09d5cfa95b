//! Credentials that expire during a long outage are renewed as kubectl renews them: an exec
//! plugin's 5-second tokens, a token file rotated mid-outage. The API server really refuses
//! expired and revoked tokens: this binary's cluster reviews tokens with testenv's webhook.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Output},
    sync::OnceLock,
    time::{Duration, Instant},
};

use common::{json, stderr, Env, BIN};
use serde_json::json;
use testenv::{knobs, Cluster};

/// A cluster of this binary's own: the shared one has no token webhook.
fn env() -> Option<Env> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            testenv::prerequisites_present().then(|| {
                Cluster::builder()
                    .token_webhook(true)
                    .start()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .as_ref()
        .map(Env::of)
}

/// A kubeconfig for the cluster with this user entry.
fn kubeconfig(env: &Env, dir: &Path, user: serde_json::Value) -> PathBuf {
    let cluster = env.cluster();
    let path = dir.join("kubeconfig");
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {
            "server": cluster.server(), "certificate-authority": cluster.ca_path()}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c"
    });
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

/// A running VM whose next VMI takes 30 s to boot: the outage outlasts several tokens.
fn slow_vm(env: &Env, ns: &str, name: &str) -> String {
    let uid = env.vm(ns, name, "Always", &[]);
    env.annotate_template(ns, name, knobs::BOOT_DELAY, "30s");
    uid
}

fn outage(env: &Env, kubeconfig: &Path, ns: &str, name: &str, extra: &[&str]) -> Child {
    env.cluster()
        .command(BIN.as_ref(), kubeconfig)
        .args([
            "outage",
            name,
            "-n",
            ns,
            "--yes",
            "-o",
            "json",
            "--timeout",
            "3m",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl-vmchaos")
}

fn assert_recovered(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let doc = json(out);
    assert_eq!(doc["recovered"], true, "{doc:#}");
    assert_eq!(doc["recovery"], "automatic", "{doc:#}");
}

#[test]
fn an_exec_plugins_short_lived_tokens_are_renewed_during_a_long_outage() {
    let Some(env) = env() else { return };
    let ns = env.namespace("exec");
    let old = slow_vm(&env, &ns, "db");
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // Each run: a token the webhook accepts for 5 seconds, and its expirationTimestamp.
    let plugin = dir.path().join("token-helper");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho run >> '{}'\nexp=$(( $(date +%s) + 5 ))\n\
             stamp=$(date -u -d \"@$exp\" +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\
             \"kind\":\"ExecCredential\",\"status\":{{\"token\":\"vmchaos-exec%s-exp-%s\",\
             \"expirationTimestamp\":\"%s\"}}}}\\n' \"$$\" \"$exp\" \"$stamp\"\n",
            runs.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o700)).unwrap();
    let kubeconfig = kubeconfig(
        &env,
        dir.path(),
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never"
        }}),
    );
    let out = outage(&env, &kubeconfig, &ns, "db", &["-v"])
        .wait_with_output()
        .unwrap();
    assert_recovered(&out);
    assert_ne!(env.uid(&ns, "db").as_deref(), Some(old.as_str()));
    let runs = std::fs::read_to_string(&runs).unwrap().lines().count();
    let webhook = env.cluster().token_webhook().unwrap();
    let accepted = webhook
        .accepted()
        .into_keys()
        .filter(|t| t.starts_with("vmchaos-exec"))
        .count();
    eprintln!("the plugin ran {runs} times; the API server accepted {accepted} of its tokens");
    // A 30-second outage outlasts several 5-second tokens: the first had expired when the
    // tool next needed one, so the plugin ran again and the API server took its new token.
    assert!(runs >= 2, "the plugin ran {runs} times");
    assert!(accepted >= 2, "the API server accepted {accepted} tokens");
    // -v says so among the requests.
    assert!(
        stderr(&out).contains("renewed the credentials (the credential plugin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_token_file_rotated_during_the_outage_is_read_again() {
    let Some(env) = env() else { return };
    let ns = env.namespace("tokenfile");
    let old = slow_vm(&env, &ns, "web");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "vmchaos-file-first\n").unwrap();
    let kubeconfig = kubeconfig(&env, dir.path(), json!({"tokenFile": file}));
    let child = outage(&env, &kubeconfig, &ns, "web", &[]);
    // Once the VMI is gone, the token is rotated: the new one in the file, the old one revoked.
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.uid(&ns, "web").as_deref() == Some(old.as_str()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&file, "vmchaos-file-second\n").unwrap();
    let webhook = env.cluster().token_webhook().unwrap();
    webhook.revoke("vmchaos-file-first");
    let out = child.wait_with_output().unwrap();
    assert_recovered(&out);
    let refused = webhook.refused();
    let accepted = webhook.accepted();
    eprintln!("refused: {refused:?}; accepted: {accepted:?}");
    // The old token was refused at least once after the rotation, and the new one used since.
    assert!(refused.contains_key("vmchaos-file-first"), "{refused:?}");
    assert!(accepted.contains_key("vmchaos-file-second"), "{accepted:?}");
}

#[test]
fn a_renewal_that_fails_mid_outage_is_reported_with_the_restore_command() {
    let Some(text) = renewal_breaks(
        "renewfails",
        "echo 'no session: log in again' >&2; exit 1",
        &[],
    ) else {
        return;
    };
    assert!(
        text.contains("exit status: 1): no session: log in again"),
        "{text}"
    );
}

#[test]
fn a_plugin_that_hangs_mid_outage_is_bounded_by_the_request_timeout() {
    let Some(text) = renewal_breaks("renewhangs", "exec sleep 120", &["--request-timeout", "2s"])
    else {
        return;
    };
    assert!(
        text.contains("did not answer within 2s (--request-timeout)"),
        "{text}"
    );
}

/// A Manual VM's outage whose plugin works until the VMI is gone, then runs `broken` (fails
/// or hangs): the tool's own `start` needs a renewed token and cannot get one. The run ends
/// (exit 3) saying why, with the restore command; its output is returned (None: no cluster).
fn renewal_breaks(prefix: &str, broken_script: &str, extra: &[&str]) -> Option<String> {
    let env = env()?;

    let ns = env.namespace(prefix);
    // Manual: the tool itself starts the VM after --duration, with a renewed token.
    let old = env.vm(&ns, "app", "Manual", &[]);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    let plugin = dir.path().join("token-helper");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nif [ -e '{}' ]; then {broken_script}; fi\n\
             exp=$(( $(date +%s) + 5 ))\n\
             stamp=$(date -u -d \"@$exp\" +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\
             \"kind\":\"ExecCredential\",\"status\":{{\"token\":\"vmchaos-fail%s-exp-%s\",\
             \"expirationTimestamp\":\"%s\"}}}}\\n' \"$$\" \"$exp\" \"$stamp\"\n",
            broken.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o700)).unwrap();
    let kubeconfig = kubeconfig(
        &env,
        dir.path(),
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never"
        }}),
    );
    let child = env
        .cluster()
        .command(BIN.as_ref(), &kubeconfig)
        .args([
            "outage",
            "app",
            "-n",
            &ns,
            "--yes",
            "--duration",
            "8s",
            "--timeout",
            "5s",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.uid(&ns, "app").as_deref() == Some(old.as_str()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // The token expires during the 8 s; the plugin can no longer give a new one.
    std::fs::write(&broken, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("cannot renew the credentials"), "{text}");
    assert!(text.contains("kubectl vmchaos restore"), "{text}");
    assert!(
        env.uid(&ns, "app").is_none(),
        "the VM stays down: the tool could not start it"
    );
    Some(text)
}
