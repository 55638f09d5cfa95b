//! The sandbox: the test cluster (kube-apiserver, etcd, KubeVirt's CRDs, the simulated KubeVirt)
//! in the foreground until SIGTERM/SIGINT, with a `demo` namespace holding a running VM per
//! runStrategy and a standalone VMI. `scripts/sandbox up|down|status` drives it.
//!
//! Usage: vmchaos-sandbox [--dir DIR] [--no-demo] [--no-sim] [--until-stdin-closes]
//! DIR defaults to `${XDG_STATE_HOME:-$HOME/.local/state}/kubectl-vmchaos/sandbox`. When the demo
//! is Running, it writes `DIR/ready`; `DIR/pids` and `DIR/ports` list the PIDs it started and
//! the ports they listen on. `--until-stdin-closes` also stops it when its stdin reaches EOF
//! (its parent, a test, ended however). `--no-sim` starts no simulator (implies `--no-demo`):
//! nothing boots or changes a VMI, for benchmarks that create thousands of them as they want
//! them (`scripts/bench-list`).

use std::{path::PathBuf, process::ExitCode, time::Instant};

use anyhow::{bail, Context, Result};
use testenv::{fixtures, Cluster, StartError};

const DEMO_NAMESPACE: &str = "demo";
const DEMO_VMS: [(&str, &str); 5] = [
    ("vm-always", "Always"),
    ("vm-once", "Once"),
    ("vm-rerunonfailure", "RerunOnFailure"),
    ("vm-manual", "Manual"),
    ("vm-halted", "Halted"),
];
const DEMO_VMI: &str = "vmi-standalone";
const USAGE: &str =
    "usage: vmchaos-sandbox [--dir DIR] [--no-demo] [--no-sim] [--until-stdin-closes]";

fn default_dir() -> Result<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .context("neither XDG_STATE_HOME nor HOME is set: pass --dir")?;
    Ok(state.join("kubectl-vmchaos").join("sandbox"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmchaos-sandbox: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut dir = None;
    let mut demo = true;
    let mut until_stdin_closes = false;
    let mut simulator = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(args.next().context("--dir needs a value")?)),
            "--no-demo" => demo = false,
            "--no-sim" => {
                simulator = false;
                demo = false;
            }
            "--until-stdin-closes" => until_stdin_closes = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} ({USAGE})"),
        }
    }
    let dir = match dir {
        Some(dir) => dir,
        None => default_dir()?,
    };
    let _ = std::fs::remove_file(dir.join("ready"));
    let stdin_closed = until_stdin_closes.then(|| {
        let (closed, wait) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = closed.send(());
        });
        wait
    });

    let started = Instant::now();
    let mut builder = Cluster::builder().dir(&dir).context("vmchaos-sandbox");
    if !simulator {
        builder = builder.simulator(None);
    }
    let cluster = match builder.start() {
        Ok(cluster) => cluster,
        Err(StartError::Missing(m)) => bail!(
            "prerequisites missing:\n{m}\n(scripts/sandbox up builds them: scripts/install-deps, \
             scripts/build-apiserver)"
        ),
        Err(e) => return Err(e.into()),
    };
    let pids: String = cluster.pids().iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join("pids"), pids)?;
    let ports: String = cluster.ports().iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join("ports"), ports)?;

    let version = cluster.block_on(cluster.client().apiserver_version())?;
    println!(
        "kube-apiserver {} at {}",
        version.git_version,
        cluster.server()
    );
    if demo {
        create_demo(&cluster)?;
    }
    println!(
        "sandbox ready in {:.1?}; files in {}",
        started.elapsed(),
        cluster.dir().display()
    );
    std::fs::write(dir.join("ready"), "")?;

    cluster.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let stdin_closed = async {
            match stdin_closed {
                Some(wait) => drop(wait.await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = stdin_closed => {}
        }
        Ok::<_, std::io::Error>(())
    })?;
    println!("stopping");
    let _ = std::fs::remove_file(dir.join("ready"));
    cluster.stop();
    Ok(())
}

/// Creates the demo VMs and VMI at once and waits for all of them.
fn create_demo(cluster: &Cluster) -> Result<()> {
    let client = cluster.client();
    let timeout = testenv::FIXTURE_TIMEOUT;
    cluster.block_on(async {
        fixtures::ensure_namespace(&client, DEMO_NAMESPACE).await?;
        let vms = DEMO_VMS.iter().map(|(name, strategy)| {
            let client = client.clone();
            async move {
                fixtures::running_vm(&client, DEMO_NAMESPACE, name, strategy, &[], timeout).await
            }
        });
        let vmi = fixtures::running_vmi(&client, DEMO_NAMESPACE, DEMO_VMI, &[], timeout);
        let (vms, vmi) = futures::join!(futures::future::join_all(vms), vmi);
        for ((name, strategy), uid) in DEMO_VMS.iter().zip(vms) {
            println!(
                "  VM  {DEMO_NAMESPACE}/{name:<18} runStrategy {strategy:<15} VMI {}",
                uid?
            );
        }
        println!(
            "  VMI {DEMO_NAMESPACE}/{DEMO_VMI:<18} standalone                  VMI {}",
            vmi?
        );
        Ok(())
    })
}
