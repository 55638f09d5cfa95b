//! Command-line syntax (clap). clap's types stop here: `resolve.rs` turns them, once, into the
//! plain configuration of the layers below (`OutageConfig`, `RunConfig`, `RestoreConfig`,
//! `Connection`, `Targets`, …).

mod resolve;

#[cfg(test)]
pub(crate) use resolve::scheduled_outage;

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::durations::{parse_duration, parse_request_timeout, parse_timeout};

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
  kubectl vmchaos schedule weekly --cron '0 3 * * 1' -n prod -- db-0
                                               the same outage every Monday 3 am, from a CronJob
  kubectl vmchaos run -f scenario.yaml --report out   run Kraken's scenario file, write reports

Exit codes: 0 recovered, 1 not recovered in time, 2 nothing was changed,
            3 the tool failed after deleting (see the summary), 130 interrupted.";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-vmchaos",
    bin_name = "kubectl vmchaos",
    // The same words as `kubectl vmchaos version`: v-prefixed, as kubectl prints versions.
    version = concat!("v", env!("CARGO_PKG_VERSION")),
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
    /// The API server's URL, instead of the kubeconfig's
    #[arg(short = 's', long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for the API server, instead of the kubeconfig user's credentials
    #[arg(long, global = true, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Act as this user (impersonation, as kubectl --as)
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Act as this group; repeat for several (needs --as)
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// Don't verify the API server's certificate (insecure, as kubectl)
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
    /// The name to verify the API server's certificate against (and send as SNI)
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)
    #[arg(long, global = true, value_parser = parse_request_timeout, allow_hyphen_values = true, default_value = "30s", value_name = "DURATION")]
    pub request_timeout: Duration,
}

// Parsed once per run: the size of the largest variant costs nothing, and boxing it would
// ripple through every `Command::Outage(args)`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Delete a running VMI and follow its recovery, phase by phase, then print a summary
    Outage(OutageArgs),
    /// Run Kraken scenario files (or Kraken's config.yaml): every kubevirt_vm_outage step, in
    /// order, then one game-day report
    Run(RunArgs),
    /// List the running VMIs an outage can target, with the recovery each would get
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Re-create a VMI (or start its VM) from a snapshot saved by `outage`
    Restore(RestoreArgs),
    /// Print (or --apply) a ServiceAccount, Role, RoleBinding and CronJob that run an outage on a
    /// schedule, inside the cluster
    Schedule(ScheduleArgs),
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
    /// How long to wait for KubeVirt to recover the VM on its own before the tool recovers it
    /// (seconds, or 90s, 2m); recovery seen earlier ends the wait at once
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, default_value = "60s", value_name = "DURATION")]
    pub duration: Duration,
    /// After a new VMI appears or the tool's own recovery, how long to wait for it to be
    /// Running and Ready before declaring it not recovered (at least 1s)
    #[arg(long, value_parser = parse_timeout, allow_hyphen_values = true, default_value = "5m", value_name = "DURATION")]
    pub timeout: Duration,
    /// Removed: the API server ignores a DELETE's grace period for VMIs (kept to say so)
    #[arg(long, value_name = "SECONDS", hide = true)]
    pub grace_period: Option<u32>,
    /// Keep an Always/Once VM down for --duration: switch it to Manual (KubeVirt then leaves it
    /// down), start it after --duration, then put its runStrategy back (Kraken's
    /// disable_auto_restart)
    #[arg(long)]
    pub keep_down: bool,
    /// How the VM goes down: delete (DELETE the VMI, a clean stop) or crash (delete its
    /// virt-launcher pod with no grace period, as a host or QEMU failure: KubeVirt sets the VMI
    /// Failed and recovers it by its runStrategy)
    #[arg(long, value_enum, default_value_t = FaultArg::Delete, value_name = "FAULT")]
    pub fault: FaultArg,
    /// Delete the targets one after the other (each recovered or given up before the next)
    #[arg(long)]
    pub serial: bool,
    /// With --serial: the pause between two targets; with --repeat: the pause between two
    /// trials (e.g. 30s)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub interval: Option<Duration>,
    #[command(flatten)]
    pub repeat: RepeatArgs,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// client: validate and say what would happen; server: also send the delete with dryRun=All
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRunArg>,
    /// Summary format: text (a table), json or yaml (one document on stdout)
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Where to save the VMI's manifest before deleting it (default: the user's state directory)
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
    /// Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked
    /// before anything changes; never written by a dry run)
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// With --report: replace the reports an earlier run left in DIR
    #[arg(long, requires = "report")]
    pub overwrite: bool,
    /// Plain timestamped lines instead of spinners (automatic without a terminal)
    #[arg(long)]
    pub no_progress: bool,
    /// Allow targets in kube-system, kube-public, kubevirt and openshift-*
    #[arg(long)]
    pub allow_protected_namespace: bool,
    /// Probe what users reach, before, during and after the outage (repeatable):
    /// tcp://HOST:PORT, http(s)://HOST[:PORT]/PATH[#status=200-399], vmi:tcp:PORT or
    /// vmi:http:PORT/PATH (the target VMI's own address, followed as it is re-created),
    /// prom:PROMQL (passes while it has a result; needs --prometheus) or
    /// alert:NAME|LABEL=VALUE[,...] (passes while no such alert fires)
    #[arg(long = "probe", value_name = "SPEC")]
    pub probes: Vec<crate::probe::ProbeSpec>,
    /// Time between two attempts of each probe
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, default_value = "250ms", value_name = "DURATION")]
    pub probe_interval: Duration,
    /// How long one attempt may take (default: 4 x the interval, at most 1s)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub probe_timeout: Option<Duration>,
    /// Stop the experiment (recover every target, exit 1) when this probe fails for longer than
    /// DURATION (default: at its first failure), or when more than N other running VMIs in
    /// scope are not Ready (repeatable): SPEC[,for=DURATION] or unready=N; e.g.
    /// alert:severity=critical aborts when a critical alert fires in Prometheus
    #[arg(long = "abort-if", value_name = "CONDITION")]
    pub abort_if: Vec<crate::probe::AbortIf>,
    /// List the Prometheus alerts that newly fire during and after the outage (needs
    /// --prometheus): --alerts for every alert, --alerts=NAME or
    /// --alerts=LABEL=VALUE[,...] to narrow them (e.g. --alerts=severity=critical)
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_name = "SELECTOR"
    )]
    pub alerts: Option<crate::probe::AlertSelector>,
    /// With --alerts: after every target is back, keep watching this long for alerts whose
    /// rule waits (`for:`) before firing (at most 10m)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", requires = "alerts")]
    pub alerts_settle: Option<Duration>,
    #[command(flatten)]
    pub prometheus: Box<PrometheusArgs>,
}

/// Where Prometheus answers, for `prom:` probes.
#[derive(Debug, Args, Default)]
pub struct PrometheusArgs {
    /// Prometheus's address for prom: probes (a `kubectl port-forward` or an in-cluster
    /// Service), e.g. http://127.0.0.1:9090
    // Explicit ids: a field named `token` would take the id of the global --token and hide it.
    #[arg(
        id = "prometheus_url",
        long = "prometheus",
        env = "PROMETHEUS_URL",
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// Bearer token for Prometheus (e.g. `$(kubectl create token …)` for a kube-rbac-proxy)
    #[arg(
        id = "prometheus_token",
        long = "prometheus-token",
        env = "PROMETHEUS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A PEM file of CAs that sign Prometheus's https certificate (default: the system's roots)
    #[arg(id = "prometheus_ca", long = "prometheus-ca", value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A Kraken scenario file (top-level scenarios:) or Kraken's config.yaml; repeat for
    /// several, in order; - reads stdin
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Go on with the next steps when a step does not recover (default: stop, report the rest
    /// as not run)
    #[arg(long)]
    pub continue_on_failure: bool,
    /// Skip scenario kinds this tool does not run (e.g. node_stop_start_scenario) and report
    /// them as skipped, instead of refusing the whole file
    #[arg(long)]
    pub skip_unsupported: bool,
    /// Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked
    /// before anything changes; never written by a dry run)
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// With --report: replace the reports an earlier run left in DIR
    #[arg(long, requires = "report")]
    pub overwrite: bool,
    /// client: resolve every step and check each target; server: also send the deletes with
    /// dryRun=All
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRunArg>,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Result format: text (a summary), json or yaml (one game-day document on stdout)
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Seed for picking kill_count targets among the matching VMIs (printed by every run, so a
    /// dry run and the real run can pick the same ones)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Where to save each VMI's manifest before deleting it (default: the user's state directory)
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
    /// Plain timestamped lines instead of spinners (automatic without a terminal)
    #[arg(long)]
    pub no_progress: bool,
    /// Allow targets in kube-system, kube-public, kubevirt and openshift-*
    #[arg(long)]
    pub allow_protected_namespace: bool,
    /// Refuse a step that hits more VMIs than this at once
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_targets: usize,
    /// With --repeat: the pause between two trials of a step (e.g. 30s)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", requires = "repeat")]
    pub interval: Option<Duration>,
    #[command(flatten)]
    pub repeat: RepeatArgs,
    /// Allow a step to take down every running replica of a VirtualMachineInstanceReplicaSet or
    /// VirtualMachinePool at once
    #[arg(long)]
    pub allow_full_outage: bool,
    /// How every step's VMs go down: delete (the VMI, as Kraken does) or crash (delete each
    /// virt-launcher pod with no grace period; KubeVirt sets the VMI Failed)
    #[arg(long, value_enum, default_value_t = FaultArg::Delete, value_name = "FAULT")]
    pub fault: FaultArg,
    /// List, for each step, the Prometheus alerts that newly fire during and after it (as
    /// outage's --alerts; Prometheus: the config's performance_monitoring.prometheus_url, else
    /// PROMETHEUS_URL)
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_name = "SELECTOR"
    )]
    pub alerts: Option<crate::probe::AlertSelector>,
    /// With --alerts: after each step's targets are back, keep watching this long (at most 10m)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", requires = "alerts")]
    pub alerts_settle: Option<Duration>,
}

/// `--repeat`, `--baseline` and `--max-regression` (outage and run).
#[derive(Debug, Args, Clone, Default)]
pub struct RepeatArgs {
    /// Run the outage N times (1 to 1000), each trial once every target is Running and Ready
    /// again; the summary gives min/p50/p95/max per target
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=crate::repeat::RepeatPlan::MAX as i64))]
    pub repeat: Option<u32>,
    /// An earlier run's `-o json` document or report.json: each figure is shown beside its own,
    /// and a target slower by more than --max-regression fails the run (exit 1)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: how much worse (percent, 0 to 10000) the p95 time to Ready or user
    /// downtime of a target may be [default: 20%]
    #[arg(long, value_name = "PERCENT", requires = "baseline", value_parser = parse_max_regression)]
    pub max_regression: Option<crate::repeat::MaxRegression>,
}

fn parse_max_regression(text: &str) -> Result<crate::repeat::MaxRegression, String> {
    text.parse()
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
    /// Show the recovery plans for this fault: delete (the VMI) or crash (its launcher pod)
    #[arg(long, value_enum, default_value_t = FaultArg::Delete, value_name = "FAULT")]
    pub fault: FaultArg,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A snapshot folder printed by `outage` (or the vmi.yaml inside it)
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,
    /// How long to wait for the restored VMI to be Running and Ready (at least 1s)
    #[arg(long, value_parser = parse_timeout, allow_hyphen_values = true, default_value = "5m", value_name = "DURATION")]
    pub timeout: Duration,
    /// Allow a snapshot of kube-system, kube-public, kubevirt and openshift-*
    #[arg(long)]
    pub allow_protected_namespace: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubectl vmchaos schedule weekly-db -n prod --cron '0 3 * * 1' -- db-0 --duration 2m
  kubectl vmchaos schedule weekly-db -n prod --cron '0 3 * * 1' --apply -- db-0
  kubectl vmchaos schedule weekly-db -n prod --suspend      (or --resume, --delete)")]
pub struct ScheduleArgs {
    /// The schedule's name: its CronJob, ServiceAccount, Role and RoleBinding
    #[arg(value_name = "NAME")]
    pub name: String,
    /// When to run: five cron fields (minute hour day-of-month month day-of-week), or @daily,
    /// @weekly…, in the cluster's time zone
    #[arg(long, value_name = "SPEC", required_unless_present_any = ["suspend", "resume", "delete"])]
    pub cron: Option<String>,
    /// Create or update the objects in the cluster instead of printing them
    #[arg(long)]
    pub apply: bool,
    /// The container image to run (built by scripts/image)
    #[arg(long, value_name = "IMAGE", default_value = crate::schedule::DEFAULT_IMAGE)]
    pub image: String,
    /// Printed format: yaml (documents for `kubectl apply -f -`) or json (a List)
    #[arg(short = 'o', long, value_enum, default_value_t = ManifestFormat::Yaml, value_name = "FORMAT")]
    pub output: ManifestFormat,
    /// Stop an applied schedule from starting new runs
    #[arg(long, conflicts_with_all = ["cron", "apply", "resume", "delete"])]
    pub suspend: bool,
    /// Let a suspended schedule run again
    #[arg(long, conflicts_with_all = ["cron", "apply", "delete"])]
    pub resume: bool,
    /// Delete an applied schedule's CronJob, Role, RoleBinding and ServiceAccount
    #[arg(long, conflicts_with_all = ["cron", "apply"])]
    pub delete: bool,
    /// The outage to run, as `kubectl vmchaos outage` takes it (after --): the VMI and its flags
    #[arg(last = true, value_name = "OUTAGE ARGS")]
    pub outage: Vec<String>,
}

/// `--fault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FaultArg {
    #[default]
    Delete,
    Crash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `--dry-run[=MODE]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    /// Validate only; send nothing that changes the cluster
    Client,
    /// Also send the DELETE with dryRun=All (proves admission and RBAC)
    Server,
    /// A real run
    None,
}

/// `-o`: the renderers' own format type, given clap's words here so clap stays in this layer.
pub use crate::render::Format as OutputFormat;

impl ValueEnum for OutputFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Text, Self::Json, Self::Yaml]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Yaml => "yaml",
        }))
    }
}

/// `schedule -o`: the schedule's own format type, given clap's words here.
pub use crate::schedule::ManifestFormat;

impl ValueEnum for ManifestFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Yaml, Self::Json]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
        }))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn a_negative_duration_is_refused_in_our_words_not_clap_hint() {
        for args in [
            &["outage", "db-0", "--duration", "-1"][..],
            &["outage", "db-0", "--timeout", "-2m"],
            &["outage", "db-0", "--request-timeout", "-1"],
            &["outage", "db-0", "--interval", "-0.5s"],
        ] {
            let err =
                Cli::try_parse_from(std::iter::once("kubectl-vmchaos").chain(args.iter().copied()))
                    .err()
                    .unwrap();
            let text = err.to_string();
            assert!(
                text.contains("is negative: durations are positive"),
                "{text}"
            );
            assert!(!text.contains("-- -"), "{text}");
            assert_eq!(err.exit_code(), 2);
        }
        let err = Cli::try_parse_from(["kubectl-vmchaos", "outage", "db-0", "--duration", "--yes"]);
        let text = err.err().unwrap().to_string();
        assert!(text.contains("found the flag --yes"), "{text}");
    }

    #[test]
    fn the_global_token_is_not_shadowed_by_prometheus_token() {
        let cli = Cli::try_parse_from([
            "kubectl-vmchaos",
            "outage",
            "db-0",
            "--token",
            "t1",
            "--prometheus-token",
            "t2",
        ])
        .unwrap();
        assert_eq!(cli.global.token.as_deref(), Some("t1"));
    }

    #[test]
    fn request_timeout_reads_like_kubectl() {
        let cli = Cli::try_parse_from(["kubectl-vmchaos", "list"]).unwrap();
        assert_eq!(cli.global.request_timeout, Duration::from_secs(30));
        let cli = Cli::try_parse_from([
            "kubectl-vmchaos",
            "list",
            "--request-timeout=0",
            "--as",
            "alice",
            "--as-group",
            "g1",
            "--as-group",
            "g2",
        ])
        .unwrap();
        assert_eq!(cli.global.request_timeout, Duration::ZERO);
        assert_eq!(cli.global.as_user.as_deref(), Some("alice"));
        assert_eq!(cli.global.as_group, ["g1", "g2"]);
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_duration_flag_is_bounded_and_timeouts_have_a_floor() {
        // Every duration flag goes through the bound: clap refuses (exit 2) before anything runs.
        for flag in [
            "--duration",
            "--timeout",
            "--probe-interval",
            "--interval",
            "--probe-timeout",
        ] {
            let err = Cli::try_parse_from([
                "kubectl-vmchaos",
                "outage",
                "db-0",
                flag,
                "500000000000years",
            ])
            .expect_err(flag);
            assert_eq!(err.exit_code(), 2, "{flag}");
            assert!(
                err.to_string().contains("longest duration allowed"),
                "{flag}: {err}"
            );
        }
        for args in [
            &["outage", "db-0", "--timeout", "0"][..],
            &["outage", "db-0", "--timeout", "1ns"],
            &["restore", "/snap", "--timeout", "0"],
        ] {
            let err =
                Cli::try_parse_from(std::iter::once("kubectl-vmchaos").chain(args.iter().copied()))
                    .expect_err("a zero timeout");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn bare_dry_run_means_client() {
        let cli = Cli::try_parse_from(["kubectl-vmchaos", "outage", "db-0", "--dry-run"]).unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        assert_eq!(args.dry_run, Some(DryRunArg::Client));
        let cli =
            Cli::try_parse_from(["kubectl-vmchaos", "outage", "--dry-run=server", "db-0"]).unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        assert_eq!(args.dry_run, Some(DryRunArg::Server));
    }

    #[test]
    fn probe_flags_parse_into_typed_values() {
        let cli = Cli::try_parse_from([
            "kubectl-vmchaos",
            "outage",
            "db-0",
            "--probe",
            "tcp://db.prod.svc:5432",
            "--probe=vmi:http:8080/healthz",
            "--abort-if",
            "http://shop.prod.svc/,for=5s",
            "--abort-if",
            "unready=2",
            "--probe-interval",
            "100ms",
        ])
        .unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        let o = args.probe_options().unwrap();
        assert_eq!(o.probes.len(), 3);
        assert_eq!(o.targets, 2);
        assert_eq!(o.timing.interval, Duration::from_millis(100));
        assert_eq!(o.timing.timeout, Duration::from_millis(400));
        let e = Cli::try_parse_from(["kubectl-vmchaos", "outage", "--probe", "db:5432"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid probe \"db:5432\": unknown kind of probe"),
            "{e}"
        );
        let cli = Cli::try_parse_from(["kubectl-vmchaos", "outage", "db-0"]).unwrap();
        let Command::Outage(args) = cli.command else {
            panic!("not outage")
        };
        assert!(args.probe_options().unwrap().is_empty());
        assert_eq!(args.probe_interval, Duration::from_millis(250));
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
