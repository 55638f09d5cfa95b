//! The real binary, no cluster needed: usage errors, kubeconfig errors, exit codes, and kubectl
//! finding it as a plugin. Environment scrubbed: nothing from the developer's machine leaks in.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-vmchaos");

fn scrubbed(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb");
    cmd
}

fn run(home: &Path, args: &[&str]) -> Output {
    scrubbed(home)
        .args(args)
        .output()
        .expect("run kubectl-vmchaos")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A kubeconfig pointing at a port where nothing listens.
fn dead_kubeconfig(dir: &Path) -> PathBuf {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let path = dir.join("dead.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\n    namespace: prod\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn version_prints_the_cargo_version() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &["version"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("kubectl-vmchaos v{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_speaks_kubectl() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &["outage", "--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Usage: kubectl vmchaos outage"), "{text}");
    for flag in [
        "--duration",
        "--timeout",
        "--keep-down",
        "--serial",
        "--dry-run",
        "--yes",
        "--save-dir",
        "--kubeconfig",
        "--context",
    ] {
        assert!(text.contains(flag), "{flag} missing from help");
    }
}

#[test]
fn no_vmi_and_no_terminal_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &["outage"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no VMI named"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint:"));
}

#[test]
fn deleting_without_a_terminal_needs_yes() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &["outage", "db-0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
}

#[test]
fn protected_namespaces_are_refused_before_any_request() {
    let home = tempfile::tempdir().unwrap();
    // The kubeconfig points nowhere: a refusal that needed the cluster would say so instead.
    let kc = dead_kubeconfig(home.path());
    for ns in ["kube-system", "kubevirt", "openshift-cnv"] {
        let o = run(
            home.path(),
            &[
                "outage",
                "x",
                "-n",
                ns,
                "--yes",
                "--kubeconfig",
                kc.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{ns}");
        assert!(stderr(&o).contains("is protected"), "{}", stderr(&o));
        assert!(stderr(&o).contains("--allow-protected-namespace"));
    }
}

#[test]
fn bad_flags_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["outage", "x", "--duration", "soon"][..],
        &["outage", "x", "-o", "xml"],
        &["outage", "x", "--dry-run=maybe"],
        &["nonsense"],
    ] {
        let o = run(home.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn missing_kubeconfig_is_explained() {
    let home = tempfile::tempdir().unwrap();
    let o = run(
        home.path(),
        &["list", "--kubeconfig", "/nonexistent/kubeconfig"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("failed to load the kubeconfig") && err.contains("/nonexistent/kubeconfig"),
        "{err}"
    );
}

#[test]
fn unknown_context_lists_the_known_ones() {
    let home = tempfile::tempdir().unwrap();
    let kc = dead_kubeconfig(home.path());
    let o = run(
        home.path(),
        &[
            "list",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--context",
            "prod",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("context prod is not in the kubeconfig (contexts: dead)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreachable_server_exits_2_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let kc = dead_kubeconfig(home.path());
    let o = run(
        home.path(),
        &[
            "outage",
            "db-0",
            "--yes",
            "--kubeconfig",
            kc.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("failed to reach the API server https://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    // No spinner control codes without a terminal.
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn kubeconfig_env_may_list_several_files() {
    let home = tempfile::tempdir().unwrap();
    let kc = dead_kubeconfig(home.path());
    let other = home.path().join("other.yaml");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .unwrap();
    let joined = std::env::join_paths([other.as_path(), kc.as_path()]).unwrap();
    let o = scrubbed(home.path())
        .env("KUBECONFIG", joined)
        .args(["list"])
        .output()
        .unwrap();
    // The merged config's current context (from the second file) is used: the server is dead.
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("127.0.0.1"), "{}", stderr(&o));
}

#[test]
fn kubectl_finds_the_plugin() {
    let Ok(kubectl) = which("kubectl") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is not on PATH"
        );
        eprintln!("skipped: kubectl not on PATH");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths([
        bin_dir.to_path_buf(),
        kubectl.parent().unwrap().to_path_buf(),
    ])
    .unwrap();
    let kubectl_run = |args: &[&str]| {
        Command::new(&kubectl)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .args(args)
            .output()
            .unwrap()
    };
    let o = kubectl_run(&["plugin", "list"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kubectl-vmchaos"), "{out}");
    assert!(!stderr(&o).contains("Warning"), "{}", stderr(&o));
    let o = kubectl_run(&["vmchaos", "version"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")));
    let o = kubectl_run(&["vmchaos", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("kubectl vmchaos"));
}

#[test]
fn completion_scripts_in_the_repo_match_the_binary() {
    let home = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = run(home.path(), &["completion", shell]);
        assert!(o.status.success(), "{shell}");
        let kept = std::fs::read(dir.join(format!("kubectl-vmchaos.{shell}"))).unwrap();
        assert!(
            kept == o.stdout,
            "completions/kubectl-vmchaos.{shell} is stale: regenerate with `kubectl-vmchaos completion {shell} > completions/kubectl-vmchaos.{shell}`"
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("outage"));
    }
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").ok_or(())?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// A duration that would overflow the clock, or a timeout that gives up at once, is a usage
/// error (exit 2) before anything is read or deleted: a dead kubeconfig proves nothing ran.
#[test]
fn astronomical_durations_and_a_zero_timeout_are_refused_before_anything_runs() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = dead_kubeconfig(home.path());
    let kc = kubeconfig.to_str().unwrap();
    let huge = "500000000000years";
    for args in [
        vec!["outage", "db-0", "--yes", "--keep-down", "--duration", huge],
        vec!["outage", "db-0", "--yes", "--timeout", huge],
        vec!["outage", "db-0", "--yes", "--probe-interval", huge],
        vec!["outage", "db-0", "--yes", "--serial", "--interval", huge],
        vec!["outage", "db-0", "--yes", "--request-timeout", huge],
        vec!["restore", "/nowhere", "--timeout", huge],
    ] {
        let started = std::time::Instant::now();
        let o = run(home.path(), &[&["--kubeconfig", kc][..], &args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("longest duration allowed"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    for timeout in ["0", "1ns", "0s"] {
        let o = run(
            home.path(),
            &[
                "--kubeconfig",
                kc,
                "outage",
                "db-0",
                "--yes",
                "--timeout",
                timeout,
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{timeout}: {}", stderr(&o));
        assert!(stderr(&o).contains("shorter than 1s"), "{}", stderr(&o));
    }
}

#[test]
fn version_reads_the_same_both_ways_and_a_full_disk_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let long = run(home.path(), &["version"]);
    let short = run(home.path(), &["-V"]);
    let expected = format!("kubectl-vmchaos v{}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(String::from_utf8_lossy(&long.stdout), expected);
    assert_eq!(String::from_utf8_lossy(&short.stdout), expected);
    // stdout on a full disk: said, and not exit 0 (a closed pipe stays quiet).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = scrubbed(home.path())
        .arg("version")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_namespace_is_refused_in_kubectls_words() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = dead_kubeconfig(home.path());
    let out = run(
        home.path(),
        &[
            "list",
            "-n",
            "Bad NS",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid namespace \"Bad NS\": a lowercase RFC 1123 label"),
        "{err}"
    );
    assert!(!err.contains("uri"), "{err}");
}

/// A snapshot folder as `outage` writes it, with the VMI's identity as given.
fn snapshot_dir(root: &Path, namespace: &str, name: &str, vmi_name: &str) -> PathBuf {
    let dir = root.join(format!("{namespace}_{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("snapshot.yaml"),
        format!(
            "toolVersion: 0.1.0\ncontext: dead\nserver: https://127.0.0.1:1\nnamespace: {namespace}\nname: {name}\nuid: u1\nvm: null\nrunStrategy: null\nexpectedRecovery: recreate\nsavedAt: 2026-11-25T05:00:00.123Z\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("vmi.yaml"),
        format!(
            "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: {vmi_name}\n  namespace: {namespace}\n  uid: u1\nspec: {{}}\n"
        ),
    )
    .unwrap();
    dir
}

/// `restore` refuses, before it connects (a dead kubeconfig proves it), snapshots it must not
/// trust: a symlink, files that disagree, a protected namespace.
#[test]
fn restore_refuses_untrusted_snapshots_before_anything_is_sent() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = dead_kubeconfig(home.path());
    let kc = kubeconfig.to_str().unwrap();
    let restore = |path: &Path, extra: &[&str]| {
        let mut args = vec!["--kubeconfig", kc, "restore", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        run(home.path(), &args)
    };
    // A link to the folder, and a vmi.yaml that links to a system file.
    let good = snapshot_dir(home.path(), "prod", "db-0", "db-0");
    let link = home.path().join("link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let o = restore(&link, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("symlink"), "{}", stderr(&o));
    let evil = snapshot_dir(home.path(), "prod", "db-1", "db-1");
    std::fs::remove_file(evil.join("vmi.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", evil.join("vmi.yaml")).unwrap();
    let o = restore(&evil, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("symlink"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("root:"), "{}", stderr(&o));
    // vmi.yaml of another VMI than snapshot.yaml says: one source of truth.
    let odd = snapshot_dir(home.path(), "prod", "db-2", "db-3");
    let o = restore(&odd, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("disagree"), "{}", stderr(&o));
    // A protected namespace needs the flag, as for `outage`.
    let system = snapshot_dir(home.path(), "kube-system", "dns", "dns");
    let o = restore(&system, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("protected"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--allow-protected-namespace"),
        "{}",
        stderr(&o)
    );
    // With it, restore goes on to the cluster (dead here: still exit 2, nothing changed).
    let o = restore(&system, &["--allow-protected-namespace"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("protected"), "{}", stderr(&o));
}

/// Every flag of every command, as clap defines it, is documented in the README (a flag added
/// without a word there fails here).
#[test]
fn every_flag_is_in_the_readme() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let cli = kubectl_vmchaos::cli::Cli::command();
    let mut missing = Vec::new();
    let mut check = |command: &str, arg: &clap::Arg| {
        if arg.is_hide_set() {
            return;
        }
        let Some(long) = arg.get_long() else { return };
        if matches!(long, "help" | "version") {
            return;
        }
        let flag = format!("--{long}");
        let documented = readme.match_indices(&flag).any(|(i, _)| {
            // The whole flag, not the start of a longer one (--probe vs --probe-interval).
            !readme[i + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
        });
        if !documented {
            missing.push(format!("{command} {flag}"));
        }
    };
    for arg in cli.get_arguments() {
        check("(global)", arg);
    }
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        for arg in sub.get_arguments() {
            check(sub.get_name(), arg);
        }
    }
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}
