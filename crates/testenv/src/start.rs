//! Starting a cluster: the control plane, then KubeVirt's API, then the simulator.

use std::{
    path::PathBuf,
    process::Child,
    sync::{atomic::AtomicUsize, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use kube::Client;

use crate::{
    control_plane, kubevirt, prereqs, watchdog, Binaries, Cluster, CrdSource, Processes, SimConfig,
};

/// Why a cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// etcd or kube-apiserver is not installed/built; the message says how to get them.
    #[error("{0}")]
    Missing(String),
    #[error("failed to start the test cluster: {0:?}")]
    Failed(anyhow::Error),
}

/// How long each part of the start took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// etcd + kube-apiserver until `/readyz` answers ok.
    pub control_plane: Duration,
    /// CRDs created and Established, discovery serving them, `kubevirt/kubevirt` Deployed.
    pub kubevirt_api: Duration,
    /// The simulator's controllers and its APIService Available.
    pub simulator: Duration,
    pub total: Duration,
}

/// What to start. `Cluster::builder()` gives the full stack in a temporary directory.
#[derive(Debug, Clone)]
pub struct Builder {
    dir: Option<PathBuf>,
    kubevirt: bool,
    crds: Option<CrdSource>,
    simulator: Option<SimConfig>,
    context: String,
    watch_cache: bool,
    genuine: bool,
    genuine_dir: Option<PathBuf>,
    token_webhook: bool,
}

impl Builder {
    /// A token-review webhook whose tokens expire and can be revoked (see
    /// [`crate::TokenWebhook`]), for tests of credential renewal (default: none).
    pub fn token_webhook(mut self, on: bool) -> Self {
        self.token_webhook = on;
        self
    }

    /// Use this directory (created if missing) and KEEP it at the end; the default is a fresh
    /// temporary directory that the watchdog removes.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Install the VM, VMI and KubeVirt CRDs and `kubevirt/kubevirt` (default: yes). Without
    /// them there is no simulator either.
    pub fn kubevirt(mut self, install: bool) -> Self {
        self.kubevirt = install;
        self
    }

    /// Which VM/VMI CRDs to install (default: `CrdSource::detect()`).
    pub fn crds(mut self, source: CrdSource) -> Self {
        self.crds = Some(source);
        self
    }

    /// The simulator's configuration (`log_path` defaults to `<dir>/sim.log`); None: none runs.
    pub fn simulator(mut self, config: Option<SimConfig>) -> Self {
        self.simulator = config;
        self
    }

    /// The API server's watch cache (default: on, as in production). Off, every watch goes to
    /// etcd, so `Cluster::compact_etcd` makes a watch from an older resourceVersion get 410
    /// Gone; with it on, the cache serves recent history from memory and hides the compaction.
    pub fn watch_cache(mut self, on: bool) -> Self {
        self.watch_cache = on;
        self
    }

    /// KubeVirt's own virt-api and virt-controller (with kube-controller-manager and the
    /// stand-in node agent) instead of the simulator; the simulator's configuration (nodes,
    /// delays, guest network) goes to the node agent.
    pub fn genuine(mut self, genuine: bool) -> Self {
        self.genuine = genuine;
        self
    }

    /// The genuine tier from this folder instead of `scripts/build-genuine`'s (implies
    /// `genuine(true)`): to start it with a component replaced.
    pub fn genuine_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.genuine = true;
        self.genuine_dir = Some(dir.into());
        self
    }

    /// The context name in the kubeconfig files (default `vmchaos-test`).
    pub fn context(mut self, name: impl Into<String>) -> Self {
        self.context = name.into();
        self
    }

    pub fn start(self) -> Result<Cluster, StartError> {
        let binaries = prereqs::find().map_err(StartError::Missing)?;
        let genuine = match (&self.genuine_dir, self.genuine) {
            (Some(dir), _) => Some(crate::genuine::GenuineFiles { dir: dir.clone() }),
            (None, true) => Some(prereqs::find_genuine().map_err(StartError::Missing)?),
            (None, false) => None,
        };
        launch(self, binaries, genuine).map_err(StartError::Failed)
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            dir: None,
            kubevirt: true,
            crds: None,
            simulator: Some(SimConfig::default()),
            context: "vmchaos-test".into(),
            watch_cache: true,
            genuine: false,
            genuine_dir: None,
            token_webhook: false,
        }
    }
}

fn launch(
    builder: Builder,
    binaries: Binaries,
    genuine_files: Option<crate::genuine::GenuineFiles>,
) -> anyhow::Result<Cluster> {
    let started = Instant::now();
    let (dir, remove) = match &builder.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
            (dir.canonicalize()?, false)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("vmchaos-testenv-")
                .tempdir()?;
            (dir.keep(), true)
        }
    };
    let mut watchdog = watchdog::Watchdog::spawn(remove.then_some(dir.as_path()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("testenv")
        .enable_all()
        .build()?;
    let crds = match &genuine_files {
        Some(files) => Some(CrdSource::Real(files.dir.clone())),
        None => builder
            .kubevirt
            .then(|| builder.crds.clone().unwrap_or_else(CrdSource::detect)),
    };
    let result = runtime.block_on(async {
        // Parse the CRDs (the real ones are 1 MB of YAML) while the control plane boots.
        let parsed = crds
            .clone()
            .filter(|_| genuine_files.is_none())
            .map(|source| tokio::task::spawn_blocking(move || kubevirt::load_crds(&source)));
        let webhook = match builder.token_webhook {
            true => {
                let config = dir.join("token-webhook.kubeconfig");
                let webhook = crate::TokenWebhook::start(&config).await?;
                Some((webhook, crate::token_webhook::apiserver_args(&config)))
            }
            false => None,
        };
        let extra_args = webhook.as_ref().map(|(_, a)| a.clone()).unwrap_or_default();
        let webhook = webhook.map(|(w, _)| w);
        let cp = control_plane::start(
            &binaries,
            &dir,
            &mut watchdog,
            &builder.context,
            builder.watch_cache,
            &extra_args,
        )
        .await?;
        let control_plane_ready = started.elapsed();
        let mut processes = Processes {
            etcd: Some(cp.etcd),
            apiserver: Some(cp.apiserver),
            watchdog: None,
            sim: None,
            supervisors: Vec::new(),
            node_agent: None,
        };
        let mut genuine_ports = Vec::new();
        let mut timings = Timings {
            control_plane: control_plane_ready,
            ..Timings::default()
        };
        let rest = async {
            if let Some(files) = &genuine_files {
                let t = Instant::now();
                crate::genuine::install_crds(&cp.client, files).await?;
                crate::genuine::create_kubevirt(&cp.client).await?;
                timings.kubevirt_api = t.elapsed();
                let t = Instant::now();
                let mut config = builder.simulator.clone().unwrap_or_default();
                config.log_path.get_or_insert_with(|| dir.join("sim.log"));
                let started = crate::genuine::start(
                    &cp.client,
                    &cp.server,
                    &dir,
                    files,
                    &mut watchdog,
                    config,
                )
                .await;
                let genuine = started?;
                processes.supervisors = genuine.supervisors;
                processes.node_agent = Some(genuine.node_agent);
                genuine_ports = genuine.ports;
                timings.simulator = t.elapsed();
            } else if let Some(parsed) = parsed {
                let t = Instant::now();
                kubevirt::install(&cp.client, parsed.await??).await?;
                timings.kubevirt_api = t.elapsed();
                if let Some(mut config) = builder.simulator.clone() {
                    let t = Instant::now();
                    config.log_path.get_or_insert_with(|| dir.join("sim.log"));
                    processes.sim = Some(start_simulator(cp.client.clone(), config).await?);
                    timings.simulator = t.elapsed();
                }
            }
            Ok::<_, anyhow::Error>(())
        }
        .await;
        Ok::<_, anyhow::Error>((
            cp.server,
            cp.client,
            cp.ports,
            cp.apiserver_command,
            processes,
            timings,
            rest,
            genuine_ports,
            webhook,
        ))
    });
    let (
        server,
        client,
        ports,
        apiserver_command,
        mut processes,
        mut timings,
        rest,
        genuine_ports,
        token_webhook,
    ) = match result {
        Ok(started) => started,
        Err(e) => {
            watchdog.finish();
            return Err(e);
        }
    };
    let pids = [&processes.etcd, &processes.apiserver]
        .iter()
        .filter_map(|c| c.as_ref().map(Child::id))
        .chain(processes.supervisors.iter().map(Child::id))
        .chain([watchdog.pid()])
        .collect();
    processes.watchdog = Some(watchdog);
    timings.total = started.elapsed();
    let genuine = processes.node_agent.is_some();
    let simulator = processes.sim.is_some();
    let sim_port = processes.sim.as_ref().map(kubevirt_sim::Sim::port);
    let cluster = Cluster {
        runtime,
        dir,
        server,
        client,
        crds,
        simulator,
        genuine,
        ports: ports
            .iter()
            .copied()
            .chain(sim_port)
            .chain(genuine_ports)
            .collect(),
        pids,
        timings,
        processes: Mutex::new(processes),
        next: AtomicUsize::new(1),
        apiserver_command,
        context: builder.context.clone(),
        token_webhook,
    };
    if let Err(e) = rest {
        let logs = control_plane::tail(&cluster.apiserver_log(), 20);
        cluster.stop();
        return Err(e.context(logs));
    }
    eprintln!(
        "testenv: cluster at {} ready in {:.1?} (control plane {:.1?}, KubeVirt API {:.1?} \
             with {} CRDs, {} {:.1?}); files in {}",
        cluster.server,
        timings.total,
        timings.control_plane,
        timings.kubevirt_api,
        match &cluster.crds {
            Some(CrdSource::Real(_)) => "the real",
            Some(CrdSource::Minimal) => "minimal",
            None => "no",
        },
        if genuine {
            "genuine KubeVirt v1.9.0 + node agent"
        } else {
            "simulator"
        },
        timings.simulator,
        cluster.dir.display()
    );
    Ok(cluster)
}

/// Starts the simulator; a panic in it (e.g. while it is still being written) becomes an error.
async fn start_simulator(client: Client, config: SimConfig) -> anyhow::Result<kubevirt_sim::Sim> {
    let task = tokio::spawn(kubevirt_sim::start(client.clone(), config));
    match tokio::time::timeout(Duration::from_secs(60), task).await {
        Err(_) => anyhow::bail!("the simulated KubeVirt did not start within 60 s"),
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            anyhow::bail!("the simulated KubeVirt panicked while starting: {message}")
        }
        Ok(Err(join)) => Err(join.into()),
        Ok(Ok(sim)) => {
            let sim = sim.context("failed to start the simulated KubeVirt")?;
            wait_subresources_served(&client).await?;
            Ok(sim)
        }
    }
}

/// The APIService turns Available a moment before the API server routes the group to its
/// proxy (until then: a bare "404 page not found"), so ask through the API server.
async fn wait_subresources_served(client: &Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request = http::Request::get("/apis/subresources.kubevirt.io/v1").body(Vec::new())?;
        match client.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("the API server does not route subresources.kubevirt.io/v1")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_crds_parse_with_kubevirts_names() {
        let crds = kubevirt::load_crds(&CrdSource::Minimal).unwrap();
        let names: Vec<_> = crds
            .iter()
            .filter_map(|c| c.metadata.name.as_deref())
            .collect();
        assert_eq!(
            names,
            [
                "kubevirts.kubevirt.io",
                "virtualmachines.kubevirt.io",
                "virtualmachineinstances.kubevirt.io",
                "virtualmachineinstancereplicasets.kubevirt.io",
                "virtualmachinepools.pool.kubevirt.io"
            ]
        );
        for crd in &crds {
            assert_eq!(crd.spec.scope, "Namespaced");
            assert_eq!(crd.spec.names.categories, Some(vec!["all".to_string()]));
        }
        for owner in &crds[3..] {
            let served = &owner.spec.versions[0];
            let scale = served.subresources.as_ref().and_then(|s| s.scale.as_ref());
            assert_eq!(
                scale.map(|s| s.spec_replicas_path.as_str()),
                Some(".spec.replicas"),
                "{:?}",
                owner.metadata.name
            );
        }
    }
}
