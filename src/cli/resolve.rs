//! The command line turned, once, into the plain configuration of the layers below: usage
//! problems found here need no cluster and change nothing (exit 2). Nothing below the command
//! layer sees a clap type.

use std::time::Duration;

use clap::Parser;

use super::{
    Cli, ColorChoice, Command, DryRunArg, FaultArg, GlobalArgs, OutageArgs, OutputFormat,
    PrometheusArgs, RepeatArgs, RestoreArgs, RunArgs, ScheduleArgs, TargetArgs,
};
use crate::{
    error::{Error, Result},
    outage::{config::Judged, OutageConfig},
    repeat::RepeatPlan,
    run::RunConfig,
    schedule::{Action, Create, ScheduleConfig, ScheduledOutage},
    settings::{DryRun, Terminal},
};

impl GlobalArgs {
    /// The flags the cluster layer needs, and nothing of clap.
    pub fn connection(&self) -> crate::cluster::Connection {
        crate::cluster::Connection {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            server: self.server.clone(),
            token: self.token.clone(),
            as_user: self.as_user.clone(),
            as_group: self.as_group.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            tls_server_name: self.tls_server_name.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

impl PrometheusArgs {
    /// `--prometheus` with its token and CA; None when not given.
    pub fn server(&self) -> Result<Option<crate::probe::PromServer>, String> {
        self.url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(|url| crate::probe::PromServer::new(url, self.token.clone(), self.ca.clone()))
            .transpose()
    }
}

impl From<&TargetArgs> for crate::selection::Targets {
    fn from(t: &TargetArgs) -> Self {
        crate::selection::Targets {
            names: t.names.clone(),
            selector: t.selector.clone(),
            all: t.all,
            count: t.count,
            percent: t.percent,
            seed: t.seed,
            max_targets: t.max_targets,
            allow_full_outage: t.allow_full_outage,
        }
    }
}

impl RestoreArgs {
    pub fn config(&self, global: &GlobalArgs) -> crate::restore::RestoreConfig {
        crate::restore::RestoreConfig {
            snapshot: self.snapshot.clone(),
            timeout: self.timeout,
            allow_protected_namespace: self.allow_protected_namespace,
            connection: global.connection(),
        }
    }
}

impl FaultArg {
    pub fn resolve(self) -> crate::plan::Fault {
        match self {
            FaultArg::Delete => crate::plan::Fault::Delete,
            FaultArg::Crash => crate::plan::Fault::Crash,
        }
    }
}

impl From<ColorChoice> for crate::settings::ColorChoice {
    fn from(c: ColorChoice) -> Self {
        match c {
            ColorChoice::Auto => crate::settings::ColorChoice::Auto,
            ColorChoice::Always => crate::settings::ColorChoice::Always,
            ColorChoice::Never => crate::settings::ColorChoice::Never,
        }
    }
}

impl DryRunArg {
    /// The mode of a dry run; None for a real run (`--dry-run=none` or no flag).
    pub fn resolve(arg: Option<Self>) -> Option<DryRun> {
        match arg? {
            DryRunArg::Client => Some(DryRun::Client),
            DryRunArg::Server => Some(DryRun::Server),
            DryRunArg::None => None,
        }
    }
}

impl OutageArgs {
    /// The probes and abort rules, validated (the probe specs were parsed by clap already).
    pub fn probe_options(&self) -> Result<crate::probe::ProbeOptions, String> {
        crate::probe::ProbeOptions::new(
            &self.probes,
            &self.abort_if,
            self.probe_interval,
            self.probe_timeout,
        )?
        .with_prometheus(self.prometheus.server()?)
    }

    /// `--alerts` and `--alerts-settle`, with the Prometheus they ask; None without `--alerts`.
    pub fn alert_options(&self) -> Result<Option<crate::probe::AlertOptions>, String> {
        let Some(selector) = &self.alerts else {
            return Ok(None);
        };
        let timing = crate::probe::ProbeTiming::new(self.probe_interval, self.probe_timeout);
        crate::probe::AlertOptions::new(
            selector.clone(),
            self.prometheus.server()?,
            timing.interval,
            timing.timeout,
            self.alerts_settle.unwrap_or_default(),
        )
        .map(Some)
    }

    /// `--dry-run`'s mode (None for a real run).
    pub fn dry_run(&self) -> Option<DryRun> {
        DryRunArg::resolve(self.dry_run)
    }

    /// Usage problems first: they need no cluster.
    pub fn config(&self, global: &GlobalArgs, term: &Terminal) -> Result<OutageConfig> {
        let args = self;
        let dry_run = self.dry_run();
        if args.grace_period.is_some() {
            return Err(Error::usage(
                "--grace-period was removed: the API server ignores a DELETE's grace period for VMIs",
                "a VMI's shutdown time is its spec.terminationGracePeriodSeconds; drop the flag",
            ));
        }
        let t = &crate::selection::Targets::from(&args.targets);
        let chosen_by_flags =
            t.selector.is_some() || t.all || t.count.is_some() || t.percent.is_some();
        if t.names.is_empty() && !chosen_by_flags && !term.interactive() {
            return Err(Error::usage(
                "no VMI named, and no terminal to pick one on",
                "name the VMI: kubectl vmchaos outage NAME -n NAMESPACE (see `kubectl vmchaos list -A`)",
            ));
        }
        if !args.yes && dry_run.is_none() && !term.interactive() {
            return Err(Error::usage(
                "refusing to delete without confirmation: there is no terminal to ask on",
                "add --yes to confirm on the command line (or --dry-run to only check)",
            ));
        }
        if args.interval.is_some() && !args.serial && args.repeat.repeat.is_none() {
            return Err(Error::usage(
                "--interval only applies with --serial or --repeat",
                "add --serial to delete the targets one after the other, or --repeat N to run the outage N times",
            ));
        }
        let probes = args.probe_options().map_err(|e| {
            Error::usage(e, "see `kubectl vmchaos outage --help` for the probe flags")
        })?;
        let alerts = args
            .alert_options()
            .map_err(|e| Error::usage(e, "see `kubectl vmchaos outage --help` for --alerts"))?;
        // `--alerts severity=critical` (a space, not `=`) leaves the selector as a VMI name.
        if let (Some(a), Some(name)) = (&alerts, t.names.iter().find(|n| n.contains('='))) {
            if a.selector.text.is_empty() {
                return Err(Error::usage(
                    format!("{name:?} is not a VMI name"),
                    format!("to narrow --alerts, join them with '=': --alerts={name}"),
                ));
            }
        }
        let mut names: Vec<String> = Vec::new();
        for n in &t.names {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let by_flags = chosen_by_flags
            || names.len() > 1
            || names.iter().any(|n| n.contains('/'))
            || (global.all_namespaces && !names.is_empty());
        Ok(OutageConfig {
            targets: crate::selection::Targets {
                names: names.clone(),
                ..t.clone()
            },
            names,
            chosen_by_flags: by_flags,
            duration: args.duration,
            timeout: args.timeout,
            interrupt_wait: OutageConfig::INTERRUPT_WAIT,
            yes: args.yes,
            dry_run,
            save_dir: args.save_dir.clone(),
            allow_protected_namespace: args.allow_protected_namespace,
            keep_down: args.keep_down,
            fault: args.fault.resolve(),
            serial_interval: args.serial.then(|| args.interval.unwrap_or(Duration::ZERO)),
            probes,
            repeat: args.repeat.plan(args.interval),
            baseline: args.repeat.judged()?,
            alerts,
            connection: global.connection(),
            all_namespaces: global.all_namespaces,
        })
    }
}

impl RunArgs {
    /// `--dry-run`'s mode (None for a real run).
    pub fn dry_run(&self) -> Option<DryRun> {
        DryRunArg::resolve(self.dry_run)
    }

    /// Usage problems first (they need no cluster), and the baseline read before anything
    /// changes.
    pub fn config(&self, global: &GlobalArgs, term: &Terminal) -> Result<RunConfig> {
        let dry_run = self.dry_run();
        if !self.yes && dry_run.is_none() && !term.interactive() {
            return Err(Error::usage(
                "refusing to run a game day without confirmation: there is no terminal to ask on",
                "add --yes to confirm on the command line (or --dry-run to only check)",
            ));
        }
        if global.namespace.is_some() || global.all_namespaces {
            return Err(Error::usage(
                "-n/-A do not apply to run: each step's namespace comes from its file",
                "set namespace: in the scenario's parameters (a regex; default: default)",
            ));
        }
        Ok(RunConfig {
            files: self.files.clone(),
            continue_on_failure: self.continue_on_failure,
            skip_unsupported: self.skip_unsupported,
            dry_run,
            yes: self.yes,
            seed: self.seed,
            save_dir: self.save_dir.clone(),
            no_progress: self.no_progress,
            allow_protected_namespace: self.allow_protected_namespace,
            max_targets: self.max_targets,
            allow_full_outage: self.allow_full_outage,
            fault: self.fault.resolve(),
            repeat: self.repeat.plan(self.interval),
            baseline: self.repeat.judged()?,
            alerts: self.alerts.clone(),
            alerts_settle: self.alerts_settle.unwrap_or_default(),
            connection: global.connection(),
            color: global.color.into(),
        })
    }
}

impl RepeatArgs {
    /// `--repeat N` and `--interval` as a plan (None for one trial).
    pub fn plan(&self, interval: Option<Duration>) -> Option<RepeatPlan> {
        self.repeat.map(|count| RepeatPlan {
            count,
            interval: interval.unwrap_or(Duration::ZERO),
        })
    }

    /// `--baseline` and `--max-regression`, the file read now: before anything is changed.
    pub fn judged(&self) -> Result<Option<Judged>> {
        let Some(file) = &self.baseline else {
            return Ok(None);
        };
        Ok(Some(Judged {
            baseline: std::sync::Arc::new(crate::repeat::load_baseline(file)?),
            max_regression: self
                .max_regression
                .unwrap_or(crate::repeat::MaxRegression::DEFAULT),
        }))
    }
}

impl ScheduleArgs {
    /// The schedule's name, what to do, and the outage after `--` read by `outage`'s own parser:
    /// every usage problem before the cluster is asked anything.
    pub fn config(&self, global: &GlobalArgs) -> Result<ScheduleConfig> {
        crate::schedule::validate_name(&self.name)?;
        let action = if self.suspend || self.resume || self.delete {
            if !self.outage.is_empty() {
                return Err(Error::usage(
                    "--suspend, --resume and --delete take no outage arguments",
                    format!(
                        "kubectl vmchaos schedule {} --suspend -n NAMESPACE",
                        self.name
                    ),
                ));
            }
            match self.delete {
                true => Action::Delete,
                false => Action::Suspend(self.suspend),
            }
        } else {
            let Some(cron) = &self.cron else {
                return Err(Error::usage(
                    "--cron is required to create a schedule",
                    "e.g. --cron '0 3 * * 1' (Mondays at 03:00, in the cluster's time zone)",
                ));
            };
            crate::schedule::cron::validate(cron)?;
            Action::Create(Box::new(Create {
                cron: cron.clone(),
                apply: self.apply,
                image: self.image.clone(),
                output: self.output,
                outage: scheduled_outage(&self.outage)?,
            }))
        };
        Ok(ScheduleConfig {
            name: self.name.clone(),
            action,
            connection: global.connection(),
        })
    }
}

/// The arguments after `--`, parsed by the real `outage` parser, plus the rules of a scheduled
/// run: a named VMI, and nothing the schedule sets itself.
pub fn scheduled_outage(words: &[String]) -> Result<ScheduledOutage> {
    let hint = "they are `kubectl vmchaos outage`'s arguments: the VMI and its flags (see `kubectl vmchaos outage --help`)";
    let argv = ["kubectl-vmchaos", "outage"]
        .into_iter()
        .map(String::from)
        .chain(words.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.render().to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        Error::usage(
            format!("the outage arguments after -- are not valid: {first}"),
            hint,
        )
    })?;
    let Command::Outage(outage) = cli.command else {
        unreachable!("the parse started with `outage`")
    };
    let g = &cli.global;
    let refuse = |flag: &str, hint: &str| -> Result<ScheduledOutage> {
        Err(Error::usage(
            format!("{flag} has no place in a scheduled outage's arguments"),
            hint.to_string(),
        ))
    };
    if g.namespace.is_some() {
        return refuse(
            "-n/--namespace",
            "give -n before --: the schedule lives in the target's namespace",
        );
    }
    if g.kubeconfig.is_some() || g.context.is_some() {
        return refuse(
            "--kubeconfig/--context",
            "a scheduled run uses its ServiceAccount; give --context before -- to pick the cluster",
        );
    }
    if g.all_namespaces {
        return refuse("-A/--all-namespaces", "name the VMI and give -n before --");
    }
    if outage.output != OutputFormat::Text {
        return refuse(
            "-o/--output",
            "a scheduled run always prints JSON (the Job's log)",
        );
    }
    if outage.repeat.baseline.is_some() {
        return refuse(
            "--baseline",
            "the Job's pod has no file of yours: compare a Job's JSON log with --baseline on your machine",
        );
    }
    if outage.save_dir.is_some() {
        return refuse(
            "--save-dir",
            "a scheduled run saves its snapshot on an emptyDir",
        );
    }
    let t = &outage.targets;
    let chosen_by_flags = t.selector.is_some() || t.all || t.count.is_some() || t.percent.is_some();
    if t.names.is_empty() && !chosen_by_flags {
        return Err(Error::usage(
            "no VMI named in the outage arguments: a scheduled run has no terminal to pick one on",
            "name it after --: kubectl vmchaos schedule NAME --cron SPEC -n NS -- VMI",
        ));
    }
    Ok(ScheduledOutage {
        words: words.to_vec(),
        targets: crate::selection::Targets::from(t),
        allow_protected_namespace: outage.allow_protected_namespace,
        yes: outage.yes,
        keep_down: outage.keep_down,
        fault: outage.fault.resolve(),
        duration: outage.duration,
        timeout: outage.timeout,
        serial: outage.serial,
        interval: outage.interval,
        trials: outage.repeat.repeat.unwrap_or(1),
        alerts_settle: outage.alerts_settle.unwrap_or_default(),
    })
}
