//! The outage's flags, checked and resolved once: the rest of the run never sees clap.

use std::{path::PathBuf, time::Duration};

use crate::{
    cli::{DryRun, GlobalArgs, OutageArgs},
    error::{Error, Result},
    settings::Terminal,
};

#[derive(Debug, Clone)]
pub struct OutageConfig {
    /// The VMIs named on the command line, in the namespace of -n (empty: flags, or pick on
    /// the terminal).
    pub names: Vec<String>,
    /// Names, `-l`, `--all`, `--count`/`--percent` and the guards (`--max-targets`,
    /// `--allow-full-outage`): whichever way the targets are given (names, flags, the picker),
    /// `crate::selection` chooses them with these.
    pub targets: crate::selection::Targets,
    /// `-l`, `--all`, `--count`/`--percent`, several names or NAMESPACE/NAME: the result is a
    /// fleet's document whatever the number of targets, with how they were chosen.
    pub chosen_by_flags: bool,
    pub duration: Duration,
    pub timeout: Duration,
    pub interrupt_wait: Duration,
    pub yes: bool,
    pub dry_run: Option<DryRun>,
    pub save_dir: Option<PathBuf>,
    pub allow_protected_namespace: bool,
    /// Switch Always/Once VMs to Manual for the outage, start them after `duration`, put the
    /// runStrategy back.
    pub keep_down: bool,
    /// `--fault`: delete the VMI, or crash it (its launcher pod deleted with no grace).
    pub fault: crate::plan::Fault,
    /// One target at a time, this long apart.
    pub serial_interval: Option<Duration>,
    /// `--probe`, `--abort-if` and their timing.
    pub probes: crate::probe::ProbeOptions,
    /// `--alerts[=SELECTOR]` and `--alerts-settle`: the alerts the outage sets off.
    pub alerts: Option<crate::probe::AlertOptions>,
    /// `--repeat N` with `--interval` (None: one trial).
    pub repeat: Option<crate::repeat::RepeatPlan>,
    /// `--baseline FILE` (read and checked already) with `--max-regression`.
    pub baseline: Option<Judged>,
    /// The global flags' connection (kubeconfig, context, -n, …).
    pub connection: crate::cluster::Connection,
    /// `-A`: names may be NAMESPACE/NAME, flags choose in every namespace.
    pub all_namespaces: bool,
}

/// A baseline to judge the run against.
#[derive(Debug, Clone)]
pub struct Judged {
    pub baseline: std::sync::Arc<crate::repeat::Baseline>,
    pub max_regression: crate::repeat::MaxRegression,
}

impl Judged {
    /// `--baseline` and `--max-regression`, the file read now: before anything is changed.
    pub fn resolve(args: &crate::cli::RepeatArgs) -> Result<Option<Judged>> {
        let Some(file) = &args.baseline else {
            return Ok(None);
        };
        Ok(Some(Judged {
            baseline: std::sync::Arc::new(crate::repeat::load_baseline(file)?),
            max_regression: args
                .max_regression
                .unwrap_or(crate::repeat::MaxRegression::DEFAULT),
        }))
    }
}

/// `--repeat N` and `--interval` as a plan (None for one trial).
pub fn repeat_plan(
    args: &crate::cli::RepeatArgs,
    interval: Option<Duration>,
) -> Option<crate::repeat::RepeatPlan> {
    args.repeat.map(|count| crate::repeat::RepeatPlan {
        count,
        interval: interval.unwrap_or(Duration::ZERO),
    })
}

impl OutageConfig {
    /// What the targets' plans depend on besides the cluster.
    pub fn how(&self) -> super::preflight::How {
        super::preflight::How {
            keep_down: self.keep_down,
            fault: self.fault,
        }
    }

    /// How long an interrupted run waits for its targets to come back before it exits.
    pub const INTERRUPT_WAIT: Duration = Duration::from_secs(30);

    /// Usage problems first: they need no cluster.
    pub fn resolve(global: &GlobalArgs, args: &OutageArgs, term: &Terminal) -> Result<Self> {
        let dry_run = args.dry_run.filter(|d| *d != DryRun::None);
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
            interrupt_wait: Self::INTERRUPT_WAIT,
            yes: args.yes,
            dry_run,
            save_dir: args.save_dir.clone(),
            allow_protected_namespace: args.allow_protected_namespace,
            keep_down: args.keep_down,
            fault: args.fault.resolve(),
            serial_interval: args.serial.then(|| args.interval.unwrap_or(Duration::ZERO)),
            probes,
            repeat: repeat_plan(&args.repeat, args.interval),
            baseline: Judged::resolve(&args.repeat)?,
            alerts,
            connection: global.connection(),
            all_namespaces: global.all_namespaces,
        })
    }
}
