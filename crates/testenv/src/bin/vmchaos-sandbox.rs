//! The sandbox: the test cluster (kube-apiserver, etcd, KubeVirt's CRDs, the simulated KubeVirt)
//! in the foreground until SIGTERM/SIGINT, with a `demo` namespace holding a running VM per
//! runStrategy that runs one (Always, Once, RerunOnFailure, Manual), a Halted VM (Stopped: KubeVirt
//! runs no VMI for it), a VM with the legacy `running: true`, a standalone VMI, a
//! VirtualMachineInstanceReplicaSet `web` of 3 VMIs and a VirtualMachinePool `pool` of 2 Always
//! VMs. `scripts/sandbox up|down|status` drives it.
//!
//! Usage: vmchaos-sandbox [--dir DIR] [--genuine] [--no-demo] [--no-sim] [--until-stdin-closes]
//! DIR defaults to `${XDG_STATE_HOME:-$HOME/.local/state}/kubectl-vmchaos/sandbox`. When the demo
//! is Running, it writes `DIR/ready`; `DIR/pids` and `DIR/ports` list the PIDs it started and
//! the ports they listen on. `--until-stdin-closes` also stops it when its stdin reaches EOF
//! (its parent, a test, ended however). `--no-sim` starts no simulator (implies `--no-demo`):
//! nothing boots or changes a VMI, for benchmarks that create thousands of them as they want
//! them (`scripts/bench-list`). `--genuine` runs KubeVirt's own virt-api and virt-controller
//! (v1.9.0) with kube-controller-manager and the stand-in node agent instead of the simulator
//! (`scripts/build-genuine` builds them), with the same demo.

use std::{path::PathBuf, process::ExitCode, time::Instant};

use anyhow::{bail, Context, Result};
use testenv::{fixtures, Cluster, StartError};

const DEMO_NAMESPACE: &str = "demo";
const DEMO_VMS: [(&str, &str); 4] = [
    ("vm-always", "Always"),
    ("vm-once", "Once"),
    ("vm-rerunonfailure", "RerunOnFailure"),
    ("vm-manual", "Manual"),
];
const DEMO_HALTED: &str = "vm-halted";
const DEMO_LEGACY: &str = "vm-legacy";
const DEMO_VMI: &str = "vmi-standalone";
const DEMO_REPLICA_SET: (&str, usize) = ("web", 3);
const DEMO_POOL: (&str, usize) = ("pool", 2);
const USAGE: &str =
    "usage: vmchaos-sandbox [--dir DIR] [--genuine] [--no-demo] [--no-sim] [--until-stdin-closes]";

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
    let mut genuine = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(args.next().context("--dir needs a value")?)),
            "--no-demo" => demo = false,
            "--genuine" => genuine = true,
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
    if genuine {
        builder = builder.genuine(true);
    }
    let cluster = match builder.start() {
        Ok(cluster) => cluster,
        Err(StartError::Missing(m)) => bail!(
            "prerequisites missing:\n{m}\n(scripts/sandbox up builds them: scripts/install-deps, \
             scripts/build-genuine)"
        ),
        Err(e) => return Err(e.into()),
    };
    if cluster.is_genuine() {
        println!(
            "KubeVirt {} (its own virt-api and virt-controller; logs: {}, {}), \
             kube-controller-manager, stand-in node agent",
            testenv::GENUINE_KUBEVIRT_VERSION,
            cluster.component_log("virt-api").display(),
            cluster.component_log("virt-controller").display(),
        );
    }
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
        print_addresses(&cluster)?;
    }
    // A real Prometheus scraping KubeVirt's kubevirt_vmi_* metrics, for prom: and alert: probes
    // (when Debian's prometheus is installed; scripts/install-deps installs it).
    let prometheus = match (
        cluster.metrics_port(),
        testenv::prometheus::binary().is_ok(),
    ) {
        (Some(_), true) => cluster.start_prometheus(),
        _ => None,
    };
    if let Some(prom) = &prometheus {
        std::fs::write(dir.join("prometheus-url"), prom.url())?;
        let mut ports: String = std::fs::read_to_string(dir.join("ports"))?;
        ports.push_str(&format!("{}\n", prom.port()));
        std::fs::write(dir.join("ports"), ports)?;
        let mut pids: String = std::fs::read_to_string(dir.join("pids"))?;
        pids.extend(prom.pid().map(|p| format!("{p}\n")));
        std::fs::write(dir.join("pids"), pids)?;
        println!(
            "Prometheus at {} (scrapes kubevirt_vmi_* every 1s; alert {}): --prometheus {}",
            prom.url(),
            testenv::VMI_NOT_RUNNING_ALERT,
            prom.url()
        );
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
    drop(prometheus);
    cluster.stop();
    Ok(())
}

/// Creates the demo objects at once and waits for all of them.
fn create_demo(cluster: &Cluster) -> Result<()> {
    let client = cluster.client();
    let timeout = testenv::FIXTURE_TIMEOUT;
    let ns = DEMO_NAMESPACE;
    cluster.block_on(async {
        fixtures::ensure_namespace(&client, ns).await?;
        let vms = DEMO_VMS.iter().map(|(name, strategy)| {
            let client = client.clone();
            async move { fixtures::running_vm(&client, ns, name, strategy, &[], timeout).await }
        });
        let (vms, halted, legacy, vmi, set, pool) = futures::join!(
            futures::future::join_all(vms),
            fixtures::halted_vm(&client, ns, DEMO_HALTED, &[], timeout),
            fixtures::running_legacy_vm(&client, ns, DEMO_LEGACY, &[], timeout),
            fixtures::running_vmi(&client, ns, DEMO_VMI, &[], timeout),
            fixtures::running_replica_set(
                &client,
                ns,
                DEMO_REPLICA_SET.0,
                DEMO_REPLICA_SET.1,
                &[],
                timeout
            ),
            fixtures::running_pool(
                &client,
                ns,
                DEMO_POOL.0,
                DEMO_POOL.1,
                "Always",
                &[],
                timeout
            ),
        );
        for ((name, strategy), uid) in DEMO_VMS.iter().zip(vms) {
            println!(
                "  VM   {ns}/{name:<18} runStrategy {strategy:<15} VMI {}",
                uid?
            );
        }
        println!(
            "  VM   {ns}/{DEMO_LEGACY:<18} running: true               VMI {}",
            legacy?
        );
        halted?;
        println!("  VM   {ns}/{DEMO_HALTED:<18} runStrategy Halted          Stopped (no VMI)");
        println!(
            "  VMI  {ns}/{DEMO_VMI:<18} standalone                  VMI {}",
            vmi?
        );
        for vmi in set? {
            println!(
                "  VMI  {ns}/{:<18} replica set {:<15} VMI {}",
                vmi.name, DEMO_REPLICA_SET.0, vmi.uid
            );
        }
        for vmi in pool? {
            println!(
                "  VM   {ns}/{:<18} pool {:<10} Always     VMI {}",
                vmi.name, DEMO_POOL.0, vmi.uid
            );
        }
        Ok(())
    })
}

/// The addresses to probe: each VM's (and VMI replica set's) front address, the simulator's
/// stand-in for a Service, which forwards to whichever of its VMIs serves (probe it to see the
/// downtime users would), and the own address of each VMI without such an owner.
fn print_addresses(cluster: &Cluster) -> Result<()> {
    use kube::api::{Api, ApiResource, DynamicObject, ListParams};
    let client = cluster.client();
    let guest = testenv::SimConfig::default();
    let (tcp, http) = (guest.guest_tcp_port, guest.guest_http_port);
    let front = |o: &DynamicObject| {
        o.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(testenv::knobs::FRONT_ADDRESS))
            .cloned()
    };
    let replica_sets = ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: "VirtualMachineInstanceReplicaSet".into(),
        plural: "virtualmachineinstancereplicasets".into(),
    };
    cluster.block_on(async {
        let list = |resource: &ApiResource| {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), DEMO_NAMESPACE, resource);
            async move { api.list(&ListParams::default()).await }
        };
        // The simulator writes the annotation as soon as it sees the owner: wait for all.
        let deadline = Instant::now() + testenv::FIXTURE_TIMEOUT;
        let owners = loop {
            let mut owners = Vec::new();
            for (kind, resource) in [("VM", fixtures::vm_resource()), ("VMIRS", replica_sets.clone())] {
                // A cluster without replica sets simply has none.
                if let Ok(objects) = list(&resource).await {
                    owners.extend(objects.items.into_iter().map(|o| (kind, o)));
                }
            }
            if owners.iter().all(|(_, o)| front(o).is_some()) {
                break owners;
            }
            if Instant::now() > deadline {
                bail!("the simulator gave some of the demo's VMs no front address");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        println!("  addresses to probe (front: forwards to whichever VMI of the owner serves):");
        for (kind, owner) in &owners {
            let ip = front(owner).unwrap_or_default();
            let name = owner.metadata.name.clone().unwrap_or_default();
            println!("  front {kind:<5} {DEMO_NAMESPACE}/{name:<18} tcp://{ip}:{tcp}  http://{ip}:{http}/");
        }
        for vmi in list(&fixtures::vmi_resource()).await?.items {
            let owned = vmi.metadata.owner_references.as_ref().is_some_and(|o| !o.is_empty());
            let ip = vmi.data["status"]["interfaces"][0]["ipAddress"].as_str();
            if let (false, Some(ip)) = (owned, ip) {
                let name = vmi.metadata.name.clone().unwrap_or_default();
                println!("  own   VMI   {DEMO_NAMESPACE}/{name:<18} tcp://{ip}:{tcp}  http://{ip}:{http}/");
            }
        }
        Ok(())
    })
}
