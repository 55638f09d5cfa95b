//! `kubevirt-sim`: runs the simulated KubeVirt against any cluster (a local API server: the
//! aggregation layer must reach https://localhost:<port>) until Ctrl-C.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A simulated KubeVirt: VM/VMI controllers and the start/stop/restart subresources.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Kubeconfig of a cluster-admin (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig.
    #[arg(long)]
    context: Option<String>,
    /// Fake node names, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "node-a,node-b,node-c")]
    nodes: Vec<String>,
    /// Default Pending -> Running time.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1500ms")]
    boot_delay: Duration,
    /// Default Running -> Ready time.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "200ms")]
    ready_delay: Duration,
    /// Simulated guest shutdown = terminationGracePeriodSeconds x this.
    #[arg(long, default_value_t = 0.01)]
    grace_scale: f64,
    /// Append a JSON-lines event log here.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Address of the HTTPS subresource server (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The simulated guests' network, 127.X.0.0 (default: a free X).
    #[arg(long)]
    guest_network: Option<std::net::Ipv4Addr>,
    /// The guests' HTTP port (also on each VM's front address).
    #[arg(long, default_value_t = 8080)]
    guest_http_port: u16,
    /// The guests' TCP port (a greeting line, then an echo).
    #[arg(long, default_value_t = 2222)]
    guest_tcp_port: u16,
    /// Default Ready -> the guest serves.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "500ms")]
    guest_boot_delay: Duration,
    /// Leave the APIService and Service in place on exit.
    #[arg(long)]
    keep_registration: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube_runtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let client = client(&args).await?;
    let config = kubevirt_sim::SimConfig {
        nodes: args.nodes.clone(),
        boot_delay: args.boot_delay,
        ready_delay: args.ready_delay,
        grace_scale: args.grace_scale,
        log_path: args.log.clone(),
        listen: args.listen,
        guest_network: args.guest_network,
        guest_http_port: args.guest_http_port,
        guest_tcp_port: args.guest_tcp_port,
        guest_boot_delay: args.guest_boot_delay,
    };
    let sim = kubevirt_sim::start(client.clone(), config).await?;
    eprintln!(
        "kubevirt-sim: serving subresources on port {}, guests on {}/16; Ctrl-C to stop",
        sim.port(),
        sim.guest_network()
    );
    tokio::signal::ctrl_c()
        .await
        .context("failed to wait for Ctrl-C")?;
    sim.stop().await;
    if !args.keep_registration {
        tokio::time::timeout(Duration::from_secs(5), kubevirt_sim::unregister(&client))
            .await
            .context("timed out removing the APIService")??;
    }
    Ok(())
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?
        }
        None => kube::Config::from_kubeconfig(&options).await?,
    };
    Ok(kube::Client::try_from(config)?)
}
