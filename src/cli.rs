//! Command-line syntax (clap). Turned into validated settings once, in `settings.rs`.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str =
    "Chaos tests for KubeVirt virtual machines: delete a running VMI and follow its recovery live";

const AFTER_HELP: &str = "\
Examples:
  kubectl vmchaos outage db-0 -n prod          delete VMI db-0, follow the recovery, print a summary
  kubectl vmchaos outage                       pick a running VMI from a list, then confirm
  kubectl vmchaos outage db-0 --yes -o json    for CI: no prompt, JSON result on stdout
  kubectl vmchaos outage db-0 --dry-run=server check RBAC and admission, change nothing
  kubectl vmchaos list -A                      the running VMIs and how each would recover
  kubectl vmchaos restore <snapshot-dir>       bring a VMI back from a saved snapshot

Exit codes: 0 recovered, 1 not recovered in time, 2 nothing was changed,
            3 the tool failed after deleting (see the summary), 130 interrupted.";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-vmchaos",
    bin_name = "kubectl vmchaos",
    version,
    about = ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Cluster access, as kubectl does it (kubectl passes no global flags to plugins).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: the current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else "default")
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Look in all namespaces (list and the interactive picker)
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// When to use colours (NO_COLOR is honoured by "auto")
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Log API traffic and decisions to stderr (-vv for more)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Delete a running VMI and follow its recovery, phase by phase, then print a summary
    Outage(OutageArgs),
    /// List the running VMIs an outage can target, with the recovery each would get
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Re-create a VMI (or start its VM) from a snapshot saved by `outage`
    Restore(RestoreArgs),
    /// Print the version
    Version,
    /// Print a shell completion script (bash, zsh, fish, powershell)
    Completion {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Completion candidates for kubectl's plugin completion (used by kubectl_complete-vmchaos)
    #[command(name = "__complete", hide = true)]
    Complete {
        /// The words typed after `kubectl vmchaos`, the last being the one to complete
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct OutageArgs {
    /// Which VMIs: names, -l, --all, --count/--percent, and the guards
    #[command(flatten)]
    pub targets: TargetArgs,
    /// The one VMI the single-target outage runs on, set from `targets` once they are chosen
    /// (not a flag).
    #[arg(skip)]
    pub vmi: Option<String>,
    /// How long to wait for KubeVirt to recover the VM on its own before the tool recovers it
    /// (seconds, or 90s, 2m); recovery seen earlier ends the wait at once
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub duration: Duration,
    /// After a new VMI appears or the tool's own recovery, how long to wait for it to be
    /// Running and Ready before declaring it not recovered
    #[arg(long, value_parser = parse_duration, default_value = "5m", value_name = "DURATION")]
    pub timeout: Duration,
    /// Grace period for the delete, in seconds (0 = hard kill); default: the VMI's own
    #[arg(long, value_name = "SECONDS")]
    pub grace_period: Option<u32>,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// client: validate and say what would happen; server: also send the delete with dryRun=All
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRun>,
    /// Summary format: text (a table), json or yaml (one document on stdout)
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Where to save the VMI's manifest before deleting it (default: the user's state directory)
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
    /// Plain timestamped lines instead of spinners (automatic without a terminal)
    #[arg(long)]
    pub no_progress: bool,
    /// Allow targets in kube-system, kube-public, kubevirt and openshift-*
    #[arg(long)]
    pub allow_protected_namespace: bool,
}

/// Choosing the targets of an outage (see `selection.rs`).
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// The VMIs to delete: NAME (in -n's namespace) or NAMESPACE/NAME; omit them on a terminal
    /// to pick from the running VMIs
    #[arg(value_name = "VMI")]
    pub names: Vec<String>,
    /// Every running VMI matching this label selector (sent to the API server), e.g. app=db
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Every running VMI in the namespace (or, with -A, in all namespaces)
    #[arg(long)]
    pub all: bool,
    /// Hit N of the chosen VMIs, picked at random without replacement
    #[arg(long, value_name = "N", conflicts_with = "percent")]
    pub count: Option<usize>,
    /// Hit P percent of the chosen VMIs (rounded up, at least one), picked at random
    #[arg(long, value_name = "P", value_parser = parse_percent)]
    pub percent: Option<crate::selection::Percent>,
    /// Seed for --count/--percent: the same seed picks the same VMIs (printed when not given)
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,
    /// Refuse to hit more VMIs than this at once
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_targets: usize,
    /// Allow taking down every running replica of a VirtualMachineInstanceReplicaSet or
    /// VirtualMachinePool at once
    #[arg(long)]
    pub allow_full_outage: bool,
}

fn parse_percent(text: &str) -> Result<crate::selection::Percent, String> {
    text.parse()
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only VMIs matching this label selector (sent to the API server), e.g. app=db
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Output format: a table, a wider table, json or yaml
    #[arg(short = 'o', long, value_enum, default_value_t = ListFormat::Table, value_name = "FORMAT")]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A snapshot folder printed by `outage` (or the vmi.yaml inside it)
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,
    /// How long to wait for the restored VMI to be Running and Ready
    #[arg(long, value_parser = parse_duration, default_value = "5m", value_name = "DURATION")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Validate only; send nothing that changes the cluster
    Client,
    /// Also send the DELETE with dryRun=All (proves admission and RBAC)
    Server,
    /// A real run
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Plain seconds (`60`), or a humantime duration (`90s`, `2m`, `1m30s`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: use seconds (60) or a duration like 90s, 2m, 1m30s"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn bare_dry_run_means_client() {
        let cli = Cli::try_parse_from(["kubectl-vmchaos", "outage", "db-0", "--dry-run"]).unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        assert_eq!(args.dry_run, Some(DryRun::Client));
        let cli =
            Cli::try_parse_from(["kubectl-vmchaos", "outage", "--dry-run=server", "db-0"]).unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        assert_eq!(args.dry_run, Some(DryRun::Server));
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = Cli::try_parse_from([
            "kubectl-vmchaos",
            "outage",
            "-n",
            "prod",
            "db-0",
            "--context",
            "c1",
        ])
        .unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("prod"));
        assert_eq!(cli.global.context.as_deref(), Some("c1"));
    }
}
