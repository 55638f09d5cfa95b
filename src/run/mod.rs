//! `kubectl vmchaos run -f FILE`: Kraken's scenario files as they are. Everything is decided
//! before anything runs — every step's targets and recovery plans, the kinds this tool does
//! not run, the steps that match nothing — then the steps run in order and the run ends with
//! one game-day report.

mod config;
pub mod resolve;
pub mod sequence;
pub mod text;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, SystemTime},
};

use futures::FutureExt;
use kube::api::{Api, ListParams};

use self::resolve::{Choice, Defaults};
pub use self::{
    config::RunConfig,
    resolve::{PlannedStep, ResolvedStep},
    sequence::StepRunner,
};
use crate::{
    cluster::{self, Cluster},
    error::{self, Error, Exit, Result},
    events::Note,
    kraken::{self, Loaded, Step},
    kubevirt::{self, Recovery},
    outage::{
        report::{Aggregates, Endpoint, FleetReport, GameDayReport, Report, TargetRef},
        OutageConfig, Reporter,
    },
    probe::ProbeOptions,
    prompt,
    render::{PlainLines, Spinners},
    report::RunReport,
    settings::{DryRun, Terminal},
    signals::Signals,
    targets::{self, Target},
    verdict::{Decides, FleetVerdict, Judged, Verdict},
};

/// The outage's own defaults, for steps that leave `duration` or `timeout` out.
const DEFAULTS: Defaults = Defaults {
    duration: Duration::from_secs(60),
    timeout: Duration::from_secs(300),
};

/// Loads, plans, confirms and runs; the caller prints the report and writes `--report`.
pub async fn run(config: &RunConfig, term: &Terminal) -> Result<GameDayReport> {
    let dry_run = config.dry_run;
    let mut signals = Signals::install();
    // Reading stdin may wait on a terminal or a pipe: Ctrl-C ends the command (nothing changed).
    let files = config.files.clone();
    let reading = tokio::task::spawn_blocking(move || kraken::load(&files, kraken::read_stdin));
    let loaded = tokio::select! {
        biased;
        signal = signals.recv() => return Err(Error::Interrupted { signal }),
        loaded = reading => loaded.map_err(|e| Error::usage(
            format!("failed to read the scenario files: {e}"),
            "check the paths given to -f",
        ))??,
    };
    refuse_unsupported(&loaded, config.skip_unsupported)?;
    if !loaded.steps.iter().any(|s| matches!(s, Step::Outage(_))) {
        return Err(Error::usage(
            "no kubevirt_vm_outage step to run in the given files",
            "kubectl-vmchaos runs kubevirt_vm_outage scenarios; the rest are Kraken's",
        ));
    }
    for note in &loaded.ignored {
        eprintln!("note: {}", crate::render::notes::note(note));
    }
    let guards = alert_guards(&loaded)?;
    let alerts = alert_watch(&loaded, config)?;
    // Prometheus must answer before anything is deleted (each step reads its own before set).
    if let Some(options) = &alerts {
        if let Err(e) = options.firing().await {
            return Err(Error::usage(
                format!(
                    "Prometheus error: the firing alerts could not be read before the run: {e}"
                ),
                "check performance_monitoring.prometheus_url in the config (or PROMETHEUS_URL); \
                 nothing was changed",
            ));
        }
    }
    // Until the first step runs nothing has changed: a signal just ends the command.
    let prepared = tokio::select! {
        biased;
        (signal, at_prompt) = async { (signals.recv().await, crate::prompt::at_prompt()) } => {
            return Err(crate::prompt::interrupted(signal, at_prompt))
        }
        prepared = prepare(config, term, &loaded) => prepared?,
    };
    let Prepared {
        cluster,
        planned,
        seed,
    } = prepared;
    let mut runner = Engine {
        config: config.clone(),
        term: *term,
        cluster: cluster.clone(),
        guards,
        alerts,
    };
    refuse_runner(&planned, &runner)?;

    let mut notes: Vec<Note> = loaded.ignored.clone();
    notes.extend(loaded.alerts.as_ref().map(|p| {
        let critical = p.rules.iter().filter(|r| r.aborts()).count();
        Note::AlertProfile {
            file: p.file.clone(),
            critical,
            others: p.rules.len() - critical,
        }
    }));
    notes.push(Note::Seed(seed));
    let started = now();
    let steps = sequence::run_steps(&mut runner, &planned, config.continue_on_failure, || {
        signals.recv().now_or_never().is_some()
    })
    .await;
    let mut day = sequence::game_day(
        &cluster.context,
        &cluster.server,
        Some(started),
        Some(now()),
        steps,
        dry_run.is_some(),
        notes,
    );
    if let (Some(judged), None) = (&config.baseline, dry_run) {
        crate::repeat::judge_game_day(&mut day, &judged.baseline, judged.max_regression);
    }
    Ok(day)
}

struct Prepared {
    cluster: Cluster,
    planned: Vec<PlannedStep>,
    seed: u64,
}

/// Lists, resolves, shows the plan and asks: everything before the first step.
async fn prepare(config: &RunConfig, term: &Terminal, loaded: &Loaded) -> Result<Prepared> {
    let dry_run = config.dry_run;
    let cluster = cluster::connect(&config.connection, Duration::from_secs(10)).await?;
    let scopes: Vec<Option<String>> = match resolve::namespaces_to_list(&loaded.steps) {
        Some(names) => names.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let rows = list_running(&cluster, &scopes, config.fault).await?;
    let labelled = label_matches(&cluster, &scopes, &loaded.steps).await?;
    let seed = config.seed.unwrap_or_else(random_seed);
    let choice = Choice {
        allow_protected_namespace: config.allow_protected_namespace,
        allow_full_outage: config.allow_full_outage,
        max_targets: config.max_targets,
        seed,
        fault: config.fault,
    };
    let planned = plan(loaded, &rows, &labelled, &choice)?;
    let color = term.color(config.color, term.stderr);
    eprint!(
        "{}",
        text::plan(&planned, &cluster.context, seed, dry_run.is_some(), color)
    );
    if !config.yes && dry_run.is_none() {
        let targets: usize = planned
            .iter()
            .map(|s| match s {
                PlannedStep::Outage(o) => o.targets.len(),
                PlannedStep::Skip(_) => 0,
            })
            .sum();
        let question = crate::render::confirm::game_day(&crate::events::GameDayQuestion {
            context: cluster.context.clone(),
            targets,
            fault: config.fault,
        });
        if !prompt::confirm(question).await? {
            return Err(Error::Declined);
        }
    }
    Ok(Prepared {
        cluster,
        planned,
        seed,
    })
}

fn refuse_unsupported(loaded: &Loaded, skip: bool) -> Result<()> {
    let unsupported: Vec<String> = loaded
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Unsupported(u) => Some(format!(
                "{} \"{}\" ({}{})",
                u.kind,
                u.name,
                u.file.display(),
                u.line.map(|l| format!(" line {l}")).unwrap_or_default()
            )),
            Step::Outage(_) => None,
        })
        .collect();
    if unsupported.is_empty() || skip {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "kubectl-vmchaos runs only kubevirt_vm_outage; these steps are of other kinds:\n  {}",
            unsupported.join("\n  ")
        ),
        "run those with Kraken, or add --skip-unsupported to run the rest and report them as skipped",
    ))
}

/// Every step's targets, or one error listing every step that matches nothing or that a guard
/// refuses.
fn plan(
    loaded: &Loaded,
    rows: &[Target],
    labelled: &HashMap<String, HashSet<(String, String)>>,
    choice: &Choice,
) -> Result<Vec<PlannedStep>> {
    let mut planned = Vec::new();
    let mut empty = Vec::new();
    let mut guarded: Vec<(String, Option<String>)> = Vec::new();
    for (i, step) in loaded.steps.iter().enumerate() {
        match step {
            Step::Unsupported(u) => planned.push(PlannedStep::Skip(u.clone())),
            Step::Outage(o) => {
                let set = o
                    .params
                    .label_selector
                    .as_ref()
                    .and_then(|l| labelled.get(l));
                let r = match resolve::resolve(o, i + 1, rows, set, choice) {
                    Ok(r) => r,
                    Err(e) => {
                        guarded.push((
                            format!(
                                "step \"{}\" ({} line {}): {e}",
                                o.name,
                                o.file.display(),
                                o.line
                            ),
                            e.hint(),
                        ));
                        continue;
                    }
                };
                if r.chosen.is_empty() {
                    empty.push(resolve::describe_no_match(o, &r));
                }
                planned.push(PlannedStep::Outage(resolve::resolved_step(
                    o,
                    i + 1,
                    r,
                    DEFAULTS,
                )));
            }
        }
    }
    if !guarded.is_empty() {
        let hint = guarded.iter().find_map(|(_, h)| h.clone());
        let message = guarded
            .into_iter()
            .map(|(m, _)| m)
            .chain(empty)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::Usage { message, hint });
    }
    if !empty.is_empty() {
        return Err(Error::usage(
            empty.join("\n"),
            "Kraken passes when nothing matches; kubectl-vmchaos doesn't: fix vm_name, namespace or label_selector (see `kubectl vmchaos list -A`)",
        ));
    }
    Ok(planned)
}

fn refuse_runner(planned: &[PlannedStep], runner: &impl StepRunner) -> Result<()> {
    let refusals: Vec<String> = planned
        .iter()
        .filter_map(|s| match s {
            PlannedStep::Outage(o) => runner.refuse(o).map(|why| {
                format!(
                    "step \"{}\" ({} line {}): {why}",
                    o.name,
                    o.file.display(),
                    o.line
                )
            }),
            PlannedStep::Skip(_) => None,
        })
        .collect();
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Error::usage(
        refusals.join("\n"),
        "change those steps, or run them with the outage command",
    ))
}

/// One list of running VMIs: per namespace when every step names one literally, else one
/// across the cluster.
async fn list_running(
    cluster: &Cluster,
    scopes: &[Option<String>],
    fault: crate::plan::Fault,
) -> Result<Vec<Target>> {
    let mut rows = Vec::new();
    for scope in scopes {
        let text = scope
            .as_ref()
            .map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
        let query = targets::Query {
            namespace: scope.as_deref(),
            selector: None,
            running_only: true,
            fault,
        };
        let found = targets::list_with(&cluster.client, &query)
            .await
            .map_err(|e| match error::api_code(&e) {
                Some(404) => Error::KubeVirtMissing {
                    context: cluster.context.clone(),
                },
                _ => cluster.request_error(format!("list VMIs in {text}"), e),
            })?;
        rows.extend(found);
    }
    Ok(rows)
}

/// For each distinct label_selector, the VMIs it selects in the listed scopes: the API server
/// parses the selector (metadata-only lists, one per selector and scope, not per step).
async fn label_matches(
    cluster: &Cluster,
    scopes: &[Option<String>],
    steps: &[Step],
) -> Result<HashMap<String, HashSet<(String, String)>>> {
    let mut out: HashMap<String, HashSet<(String, String)>> = HashMap::new();
    for step in steps {
        let Step::Outage(o) = step else { continue };
        let Some(selector) = &o.params.label_selector else {
            continue;
        };
        if out.contains_key(selector) {
            continue;
        }
        let mut set = HashSet::new();
        for scope in scopes {
            let api: Api<kube::api::DynamicObject> = match scope {
                Some(ns) => {
                    Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource())
                }
                None => Api::all_with(cluster.client.clone(), &kubevirt::vmi_resource()),
            };
            let list = api
                .list_metadata(&ListParams::default().labels(selector))
                .await
                .map_err(|e| match error::api_code(&e) {
                    Some(400) => Error::usage(
                        format!(
                            "{} line {}: label_selector {selector} is not a valid label selector",
                            o.file.display(),
                            o.params.label_selector_line.unwrap_or(o.line)
                        ),
                        "write it as kubectl -l takes it: app=db, tier in (web,db), !canary",
                    ),
                    _ => cluster.request_error(format!("list VMIs with labels {selector}"), e),
                })?;
            set.extend(list.items.iter().map(|m| {
                (
                    m.metadata.namespace.clone().unwrap_or_default(),
                    m.metadata.name.clone().unwrap_or_default(),
                )
            }));
        }
        out.insert(selector.clone(), set);
    }
    Ok(out)
}

fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Runs a step on the outage engine: one fleet per namespace of the step's targets (the
/// engine takes one namespace per run), all at once, with the step's duration, timeout and
/// keep-down.
struct Engine {
    config: RunConfig,
    term: Terminal,
    cluster: Cluster,
    /// The config's alert profile, as abort conditions of every step.
    guards: ProbeOptions,
    /// `--alerts`: each step's watch.
    alerts: Option<crate::probe::AlertOptions>,
}

/// `--alerts` of `run`: Prometheus is the config's `prometheus_url`, else `PROMETHEUS_URL`.
fn alert_watch(loaded: &Loaded, config: &RunConfig) -> Result<Option<crate::probe::AlertOptions>> {
    let Some(selector) = &config.alerts else {
        return Ok(None);
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let profile = loaded.alerts.as_ref();
    let url = profile
        .and_then(|p| p.prometheus_url.clone())
        .or_else(|| env("PROMETHEUS_URL"));
    let token = profile
        .and_then(|p| p.prometheus_bearer_token.clone())
        .or_else(|| env("PROMETHEUS_TOKEN"));
    let hint = "set performance_monitoring.prometheus_url in the config, or PROMETHEUS_URL";
    let server = url
        .map(|u| crate::probe::PromServer::new(&u, token, None))
        .transpose()
        .map_err(|e| Error::usage(e, hint))?;
    let timing = crate::probe::ProbeTiming::default();
    crate::probe::AlertOptions::new(
        selector.clone(),
        server,
        timing.interval,
        timing.timeout,
        config.alerts_settle,
    )
    .map(Some)
    .map_err(|e| Error::usage(e, hint))
}

/// The critical alerts of a config's alert profile as abort conditions (none without one).
fn alert_guards(loaded: &Loaded) -> Result<ProbeOptions> {
    let Some(profile) = &loaded.alerts else {
        return Ok(ProbeOptions::none());
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    profile
        .probe_options(env("PROMETHEUS_URL"), env("PROMETHEUS_TOKEN"))
        .map_err(|e| {
            Error::usage(
                e,
                "set performance_monitoring.prometheus_url in the config, or PROMETHEUS_URL",
            )
        })
}

impl StepRunner for Engine {
    async fn run(&mut self, step: &ResolvedStep) -> FleetReport {
        let started = now();
        let mut namespaces: Vec<&str> = Vec::new();
        for t in &step.targets {
            if !namespaces.contains(&t.namespace.as_str()) {
                namespaces.push(&t.namespace);
            }
        }
        let mut reports = Vec::new();
        let mut series = crate::repeat::Series::default();
        let mut stopped = None;
        let mut alerts = Vec::new();
        for ns in namespaces {
            let targets: Vec<&Target> = step.targets.iter().filter(|t| t.namespace == ns).collect();
            eprintln!("{}", text::step_header(step.number, &step.name, &targets));
            let (batch, batch_series, batch_stopped, watched) =
                self.namespace(step, ns, &targets).await;
            alerts.extend(watched);
            let interrupted = |e: Exit| matches!(e, Exit::Interrupted | Exit::Terminated);
            let stop = batch.iter().any(|r| interrupted(r.exit()))
                || batch_stopped.as_ref().is_some_and(|(_, e)| interrupted(*e));
            reports.extend(batch);
            // A stop between a batch's trials counts in the step's exit too.
            stopped = stopped.or(batch_stopped);
            series.absorb(batch_series);
            if stop {
                break;
            }
        }
        let mut fleet = fleet_report(&self.cluster, self.config.dry_run, started, reports);
        fleet.interrupted |= stopped
            .as_ref()
            .is_some_and(|(_, e)| matches!(e, Exit::Interrupted | Exit::Terminated));
        fleet.result.amends.stopped = stopped;
        fleet.series = series;
        fleet.alerts = crate::probe::AlertsReport::merge(alerts);
        fleet
    }
}

impl Engine {
    /// The step's targets in `ns` (the last trial's, with `--repeat`), its trials, and what its
    /// alert watch saw.
    async fn namespace(
        &self,
        step: &ResolvedStep,
        ns: &str,
        targets: &[&Target],
    ) -> (
        Vec<Report>,
        crate::repeat::Series,
        Option<(crate::repeat::series::Stopped, Exit)>,
        Option<crate::probe::AlertsReport>,
    ) {
        let connection = crate::cluster::Connection {
            namespace: Some(ns.to_string()),
            ..self.config.connection.clone()
        };
        // The step's VMIs by name: the outage chooses them again through `selection`, so the
        // guards hold for the cluster as it is when the step runs (an earlier step's VMI may
        // not be Ready again yet).
        let names: Vec<String> = targets
            .iter()
            .map(|t| format!("{}/{}", t.namespace, t.name))
            .collect();
        let config = OutageConfig {
            targets: crate::selection::Targets::named(
                names.clone(),
                self.config.max_targets,
                self.config.allow_full_outage,
            ),
            names,
            chosen_by_flags: true,
            duration: step.duration,
            timeout: step.timeout,
            interrupt_wait: OutageConfig::INTERRUPT_WAIT,
            yes: true,
            dry_run: self.config.dry_run,
            save_dir: self.config.save_dir.clone(),
            allow_protected_namespace: self.config.allow_protected_namespace,
            keep_down: step.keep_down,
            fault: self.config.fault,
            serial_interval: None,
            probes: self.guards.clone(),
            repeat: self.config.repeat,
            baseline: None,
            alerts: self.alerts.clone(),
            connection,
            all_namespaces: false,
        };
        let renderer: Box<dyn crate::events::Renderer> =
            if self.term.spinners(self.config.no_progress) {
                Box::new(Spinners::new(
                    self.term.color(self.config.color, self.term.stderr),
                ))
            } else {
                Box::new(PlainLines::new(Box::new(std::io::stderr())))
            };
        let mut reporter = Reporter::new(renderer);
        let result = crate::repeat::run(&config, &mut reporter).await;
        reporter.flush();
        match result {
            Ok(run) => {
                let series = match &run {
                    RunReport::Single(r) => r.series.clone(),
                    RunReport::Fleet(f) => f.series.clone(),
                };
                let stopped = match &run {
                    RunReport::Single(r) => r.result.amends.stopped.clone(),
                    RunReport::Fleet(f) => f.result.amends.stopped.clone(),
                };
                (
                    run.targets().into_iter().cloned().collect(),
                    series,
                    stopped,
                    run.alerts(),
                )
            }
            Err(e) => (
                targets
                    .iter()
                    .map(|t| unrun_report(&self.cluster, t, &self.config, &e))
                    .collect(),
                Default::default(),
                None,
                None,
            ),
        }
    }
}

/// A target the outage stopped on with an error: nothing changed unless it says otherwise.
fn unrun_report(cluster: &Cluster, t: &Target, config: &RunConfig, e: &Error) -> Report {
    let verdict = match e {
        Error::Interrupted { signal } => Verdict::NotHit {
            reason: e.to_string(),
            signal: Some(*signal),
        },
        _ if e.exit() == Exit::FailedAfterInject => Verdict::ToolFailed {
            reason: e.to_string(),
        },
        _ => Verdict::NotHit {
            reason: e.to_string(),
            signal: None,
        },
    };
    Report {
        target: TargetRef {
            namespace: t.namespace.clone(),
            name: t.name.clone(),
        },
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        vm: t.vm.clone(),
        run_strategy: t.run_strategy.clone(),
        replica_set: None,
        pool: None,
        fault: config.fault,
        expected_recovery: t.expected_recovery,
        recovery: Recovery::None,
        recovered: false,
        dry_run: config.dry_run,
        interrupted: false,
        before: Endpoint {
            name: None,
            uid: t.uid.clone(),
            node: t.node.clone(),
            ip: t.ip.clone(),
        },
        after: None,
        injected_at: None,
        timings: Default::default(),
        timing_sources: Default::default(),
        snapshot: None,
        restore_command: None,
        result: Judged::new(verdict),
        group: None,
        warnings: Vec::new(),
        probes: Vec::new(),
        alerts: None,
        notes: e.hint().into_iter().map(Note::Hint).collect(),
        series: Default::default(),
    }
}

/// A step's document from its targets' reports.
pub fn fleet_report(
    cluster: &Cluster,
    dry_run: Option<DryRun>,
    started_at: String,
    targets: Vec<Report>,
) -> FleetReport {
    let verdict = FleetVerdict::of(targets.iter().map(|r| &r.result), None, dry_run);
    let exit = verdict.exit();
    FleetReport {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        dry_run,
        started_at: Some(started_at),
        finished_at: Some(now()),
        interrupted: matches!(exit, Exit::Interrupted | Exit::Terminated),
        selection: None,
        aggregates: Aggregates::of(&targets),
        alerts: None,
        targets,
        result: Judged::new(verdict),
        notes: Vec::new(),
        series: Default::default(),
    }
}
