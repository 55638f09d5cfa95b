//! `kubectl vmchaos outage`: connect, check KubeVirt, choose the targets and their recovery
//! plans, check permissions, confirm, snapshot, then hand the targets to the outage core
//! (`core.rs`) and its shell (`shell.rs`). Emits events; never prints.

pub mod actions;
pub mod config;
pub mod core;
mod outcome;
pub mod preflight;
pub mod probing;
pub mod shell;
pub mod tracker;
mod watch;

pub use crate::{
    events::{self, Reporter},
    report,
};
pub use config::OutageConfig;

use std::{collections::HashSet, path::PathBuf, time::SystemTime};

use kube::api::{Api, DynamicObject};
use tokio::sync::mpsc;

use self::{
    core::{Core, CoreConfig, TargetSpec},
    preflight::Target,
    probing::Probing,
    shell::Armed,
};
use crate::{
    cluster::{self, Cluster},
    error::{Error, Result},
    events::{Note, Phase, Progress},
    kubevirt::{self, is_protected_namespace, Recovery},
    probe::{Alert, AlertWatch},
    prompt,
    report::{Report, RunReport},
    selection::{self, SelectionArgs},
    settings::DryRun,
    signals::Signals,
    snapshot::{self, SnapshotMeta},
    targets,
};

/// An outage from a configuration already resolved (`run -f` builds one per step).
pub async fn run_resolved(config: &OutageConfig, reporter: &mut Reporter) -> Result<RunReport> {
    let config = config.clone();
    let mut signals = Signals::install();
    // Until the first DELETE nothing has changed: a signal just ends the command.
    let prepared = tokio::select! {
        biased;
        (signal, at_prompt) = async { (signals.recv().await, crate::prompt::at_prompt()) } => {
            reporter.flush();
            return Err(crate::prompt::interrupted(signal, at_prompt));
        }
        prepared = prepare(&config, reporter) => prepared?,
    };
    match prepared {
        Prepared::DryRun(report) => Ok(report),
        Prepared::Go {
            cluster,
            targets,
            probing,
            alerts,
            choice,
        } => {
            let checks = Checks {
                probing: probing.map(|p| *p),
                alerts_before: alerts,
            };
            execute(
                &cluster,
                targets,
                checks,
                &choice,
                &config,
                reporter,
                &mut signals,
            )
            .await
        }
    }
}

enum Prepared {
    DryRun(RunReport),
    Go {
        cluster: Box<Cluster>,
        targets: Vec<Target>,
        probing: Option<Box<Probing>>,
        /// `--alerts`: the matching alerts firing before the delete.
        alerts: Option<Vec<Alert>>,
        choice: Box<outcome::Choice>,
    },
}

fn fail<T>(reporter: &mut Reporter, error: Error) -> Result<T> {
    reporter.fail(Progress::Error(error.to_string()));
    reporter.flush();
    Err(error)
}

fn refuse_protected(namespace: &str, allowed: bool) -> Result<()> {
    if is_protected_namespace(namespace) && !allowed {
        return Err(Error::ProtectedNamespace {
            namespace: namespace.into(),
        });
    }
    Ok(())
}

async fn prepare(config: &OutageConfig, reporter: &mut Reporter) -> Result<Prepared> {
    if let Some(ns) = &config.connection.namespace {
        if !config.names.is_empty() {
            refuse_protected(ns, config.allow_protected_namespace)?;
        }
    }
    reporter.start(Phase::Connect, Progress::ReadingKubeconfig);
    let cluster =
        match cluster::connect(&config.connection, std::time::Duration::from_secs(10)).await {
            Ok(c) => c,
            Err(e) => return fail(reporter, e),
        };
    reporter.progress(Progress::AskingVersion {
        server: cluster.server.clone(),
    });
    let version = match cluster.bounded(cluster.client.apiserver_version()).await {
        Ok(v) => v.git_version,
        Err(source) => return fail(reporter, cluster.connect_error(source)),
    };
    reporter.finish(Progress::Connected {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        version,
    });

    reporter.start(Phase::KubeVirt, Progress::LookingForKubeVirt);
    match preflight::check_kubevirt(&cluster).await {
        Ok(object) => reporter.finish(Progress::KubeVirtServed(object)),
        Err(e) => return fail(reporter, e),
    }

    let mut choice = outcome::Choice::default();
    let sel = SelectionArgs::from_cli(
        &config.targets,
        config.all_namespaces,
        &cluster.namespace,
        config.allow_protected_namespace,
    )
    .with_fault(config.fault);
    // Names, flags or the picker: the same engine chooses, with every guard.
    let resolved = if !config.chosen_by_flags && config.names.is_empty() {
        match pick(&cluster, &sel, reporter).await? {
            Some(chosen) => {
                reporter.note(Note::Chosen(Box::new(chosen.clone())));
                choice.selection = Some(chosen.selection.clone());
                selection::Resolved { chosen, read: None }
            }
            None => return Err(Error::Declined),
        }
    } else if config.chosen_by_flags {
        reporter.start(
            Phase::Target,
            Progress::Choosing {
                scope: sel.scope.clone(),
            },
        );
        let resolved = match selection::resolve(&cluster, &sel).await {
            Ok(r) => r,
            Err(e) => return fail(reporter, e),
        };
        reporter.finish(Progress::Chosen(resolved.chosen.selection.clone()));
        // The chosen set with each plan, before anything is confirmed or deleted.
        reporter.note(Note::Chosen(Box::new(resolved.chosen.clone())));
        choice.selection = Some(resolved.chosen.selection.clone());
        resolved
    } else {
        let names: Vec<String> = sel
            .names
            .iter()
            .map(|n| format!("{}/{n}", cluster.namespace))
            .collect();
        reporter.start(Phase::Target, Progress::Checking { vmis: names });
        match selection::resolve(&cluster, &sel).await {
            Ok(r) => r,
            Err(e) => return fail(reporter, e),
        }
    };
    for t in &resolved.chosen.targets {
        if let Some(g) = &t.group {
            choice
                .groups
                .insert((t.namespace.clone(), t.name.clone()), g.clone());
        }
    }
    let names: Vec<(String, String)> = resolved
        .chosen
        .targets
        .iter()
        .map(|t| (t.namespace.clone(), t.name.clone()))
        .collect();
    for (ns, _) in &names {
        refuse_protected(ns, config.allow_protected_namespace)?;
    }
    if config.chosen_by_flags || config.names.is_empty() {
        let vmis = names.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
        reporter.start(Phase::Target, Progress::Checking { vmis });
    }
    // The VMIs (and VMs) as the outage saves and follows them; one named VMI was read already.
    let how = config.how();
    let targets = match resolved.read {
        Some(read) => preflight::target_from(read, how).map(|t| vec![t]),
        None => preflight::resolve_targets(&cluster, &names, how).await,
    };
    let mut targets = match targets {
        Ok(t) => t,
        Err(e) => return fail(reporter, e),
    };
    if config.fault == crate::plan::Fault::Crash {
        if let Err(e) = preflight::find_launchers(&cluster, &mut targets).await {
            return fail(reporter, e);
        }
    }
    reporter.finish(Progress::Checked {
        targets: targets.iter().map(preflight::checked).collect(),
    });
    for t in &targets {
        for w in t.plan.warnings() {
            reporter.note(Note::WarningFor {
                vmi: format!("{}/{}", t.vmi.namespace, t.vmi.name),
                warning: w.clone(),
            });
        }
    }

    let perms = preflight::required_permissions(
        &targets
            .iter()
            .map(|t| t.plan.recovery())
            .collect::<Vec<_>>(),
        config.keep_down,
        config.fault,
    );
    reporter.start(Phase::Permissions, Progress::CheckingPermissions);
    let namespaces: Vec<&str> = unique(targets.iter().map(|t| t.vmi.namespace.as_str()));
    for ns in &namespaces {
        if let Err(e) = preflight::check_permissions(&cluster, ns, &perms).await {
            return fail(reporter, e);
        }
    }
    if perms.iter().any(|p| p.group == "subresources.kubevirt.io") {
        if let Err(e) = preflight::check_subresources(&cluster).await {
            return fail(reporter, e);
        }
    }
    reporter.finish(Progress::Allowed {
        grants: preflight::grants(&perms),
    });

    // Steady state first: every probe passes a few times in a row, or nothing is changed.
    let probing = if config.probes.is_empty() {
        None
    } else {
        reporter.start(
            Phase::Probes,
            Progress::Steadying {
                in_a_row: crate::probe::STEADY_IN_A_ROW,
            },
        );
        let ips: Vec<Option<String>> = targets.iter().map(|t| t.vmi.ip.clone()).collect();
        let mut probing = Probing::start(config.probes.clone(), &ips);
        if let Err(e) = probing.steady().await {
            let hint = e.hint();
            return fail(
                reporter,
                Error::usage(format!("not steady before the outage: {e}"), hint),
            );
        }
        reporter.finish(Progress::Steady {
            probes: config
                .probes
                .probes
                .iter()
                .map(|p| p.text.clone())
                .collect(),
        });
        Some(Box::new(probing))
    };

    if let Some(mode) = config.dry_run {
        // A dry run checks that Prometheus answers, too.
        alerts_before(config, reporter).await?;
        let report = dry_run(&cluster, &targets, mode, &choice, config, reporter).await?;
        return Ok(Prepared::DryRun(report));
    }
    if !config.yes {
        reporter.flush();
        let question = crate::render::confirm::outage(&crate::events::OutageQuestion {
            fault: config.fault,
            context: cluster.context.clone(),
            targets: targets
                .iter()
                .map(|t| preflight::planned(t, config.how()))
                .collect(),
            trials: config.repeat.map(|plan| plan.count),
        });
        if !prompt::confirm(question).await? {
            return Err(Error::Declined);
        }
    }
    // After the confirmation, which may take a while: what fires now is not the outage's doing.
    let alerts = alerts_before(config, reporter).await?;
    Ok(Prepared::Go {
        cluster: Box::new(cluster),
        targets,
        probing,
        alerts,
        choice: Box::new(choice),
    })
}

/// `--alerts`: the matching alerts firing now, before anything is deleted.
async fn alerts_before(
    config: &OutageConfig,
    reporter: &mut Reporter,
) -> Result<Option<Vec<Alert>>> {
    let Some(options) = &config.alerts else {
        return Ok(None);
    };
    reporter.start(
        Phase::Probes,
        Progress::AskingAlerts {
            server: options.server.url.clone(),
        },
    );
    match options.firing().await {
        Ok(before) => {
            reporter.finish(Progress::AlertsBefore {
                selector: options.selector.text.clone(),
                firing: before.clone(),
            });
            Ok(Some(before))
        }
        Err(e) => fail(reporter, alerts_unreadable(&e)),
    }
}

/// Prometheus could not say which alerts fire before the delete: nothing is changed.
fn alerts_unreadable(e: &crate::probe::Failure) -> Error {
    Error::usage(
        format!("Prometheus error: the firing alerts could not be read before the outage: {e}"),
        "check --prometheus (or PROMETHEUS_URL): a `kubectl port-forward` that is still \
         running, or an in-cluster Service this machine reaches; nothing was changed",
    )
}

/// `--alerts`: the rest of the watch once every target is done (the settle, cut short by a
/// signal), and a Warning Event on each target's object naming the alerts that newly fired.
async fn finish_alerts(
    watch: AlertWatch,
    settle: std::time::Duration,
    cluster: &Cluster,
    objects: &[crate::cluster_events::EventObject],
    reporter: &mut Reporter,
    signals: &mut Signals,
) -> crate::probe::AlertsReport {
    if !settle.is_zero() {
        reporter.start(Phase::Probes, Progress::WatchingAlerts { settle });
    }
    let report = watch
        .finish(async {
            if !settle.is_zero() {
                signals.recv().await;
            }
        })
        .await;
    if !settle.is_zero() {
        reporter.finish(Progress::NewAlerts {
            count: report.new.len(),
        });
    }
    if let Some(message) = crate::render::alerts::event_message(&report) {
        let mut seen = Vec::new();
        for object in objects {
            if !seen.contains(&object) {
                seen.push(object);
            }
        }
        // One Event per object, all at once: each is bounded, so all of them are.
        let kind = crate::cluster_events::EventKind::AlertsFiring;
        let recorded = futures::future::join_all(seen.into_iter().map(|object| {
            crate::cluster_events::record(&cluster.client, object, kind, message.clone())
        }))
        .await;
        for warning in recorded.into_iter().flatten() {
            reporter.note(warning);
        }
    }
    report
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen
}

/// The interactive picker over the running VMIs in scope (several may be marked); the picked
/// ones go through the same choice and guards as named ones, with the command line's
/// --max-targets, --allow-full-outage and --allow-protected-namespace.
async fn pick(
    cluster: &Cluster,
    sel: &SelectionArgs,
    reporter: &mut Reporter,
) -> Result<Option<selection::Chosen>> {
    let mut sel = sel.clone();
    reporter.start(
        Phase::Target,
        Progress::Listing {
            scope: sel.scope.clone(),
        },
    );
    let query = targets::Query {
        namespace: sel.scope.namespace(),
        selector: None,
        running_only: true,
        fault: sel.fault,
    };
    let rows = match cluster
        .bounded(targets::list_with(&cluster.client, &query))
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            let e = cluster.request_error(format!("list VMIs in {}", sel.scope), e);
            return fail(reporter, e);
        }
    };
    if rows.is_empty() {
        let scope = sel.scope.to_string();
        return fail(reporter, Error::NoTargets { scope });
    }
    reporter.finish(Progress::Listed {
        count: rows.len(),
        scope: sel.scope.clone(),
    });
    reporter.flush();
    let Some(picked) = prompt::pick_many(rows.clone()).await? else {
        return Ok(None);
    };
    sel.names = picked
        .iter()
        .map(|t| format!("{}/{}", t.namespace, t.name))
        .collect();
    selection::choose_picked(&rows, &sel).map(Some)
}

/// A dry run: say what would happen; with `server`, also send the DELETE with dryRun=All and
/// the tool's own `start` with virt-api's dryRun, proving the recovery path too.
async fn dry_run(
    cluster: &Cluster,
    targets: &[Target],
    mode: DryRun,
    choice: &outcome::Choice,
    config: &OutageConfig,
    reporter: &mut Reporter,
) -> Result<RunReport> {
    if mode == DryRun::Server {
        reporter.start(
            Phase::Inject,
            Progress::DryRunSending {
                fault: config.fault,
            },
        );
        for t in targets {
            let (ns, name) = (&t.vmi.namespace, &t.vmi.name);
            let (sent, what) = match &t.launcher {
                Some(pod) => (
                    cluster
                        .bounded(actions::crash_launcher(&cluster.client, ns, pod, true))
                        .await,
                    format!("delete pod {ns}/{pod} with grace 0 (dry run)"),
                ),
                None => (
                    cluster
                        .bounded(actions::delete_vmi(
                            &cluster.client,
                            ns,
                            name,
                            &t.vmi.uid,
                            true,
                        ))
                        .await,
                    format!("delete VMI {ns}/{name} (dry run)"),
                ),
            };
            if let Err(e) = sent {
                let e = cluster.request_error(what, e);
                return fail(reporter, e);
            }
            if let (Recovery::Start, Some(vm)) = (t.plan.recovery(), &t.vm) {
                let start = actions::start_vm(&cluster.client, ns, &vm.name, true);
                match cluster.bounded(start).await {
                    Ok(()) => {}
                    // virt-api checks "already running" first, and the VMI runs until the
                    // real DELETE: the call was authorized, reached virt-api, and would be
                    // accepted once the VMI is gone.
                    Err(kube::Error::Api(s))
                        if s.code == 409 && s.message.contains("already running") =>
                    {
                        reporter.note(Note::DryRunStartServed {
                            vmi: format!("{ns}/{name}"),
                            vm: vm.name.clone(),
                        });
                    }
                    Err(e) => {
                        let e = cluster
                            .request_error(format!("start VM {ns}/{} (dry run)", vm.name), e);
                        return fail(reporter, e);
                    }
                }
            }
        }
        reporter.finish(Progress::DryRunAccepted);
    }
    let reports: Vec<Report> = targets
        .iter()
        .map(|t| outcome::dry_run_report(cluster, t, mode, config.fault))
        .collect();
    Ok(outcome::combine(cluster, reports, None, Some(mode), choice))
}

/// What watches the outage besides the VMIs' own states.
struct Checks {
    probing: Option<Probing>,
    /// `--alerts`: the matching alerts firing before the delete.
    alerts_before: Option<Vec<Alert>>,
}

async fn execute(
    cluster: &Cluster,
    targets: Vec<Target>,
    checks: Checks,
    choice: &outcome::Choice,
    config: &OutageConfig,
    reporter: &mut Reporter,
    signals: &mut Signals,
) -> Result<RunReport> {
    let Checks {
        mut probing,
        alerts_before,
    } = checks;
    // One list per namespace: the freshest manifests to save, the VMIs that exist before
    // anything is deleted, and the version each namespace's watch starts from.
    reporter.start(Phase::Snapshot, Progress::Saving);
    let (tx, rx) = mpsc::unbounded_channel();
    let mut known = HashSet::new();
    let mut fresh: Vec<Option<DynamicObject>> = vec![None; targets.len()];
    let mut listed = Vec::new();
    for ns in unique(targets.iter().map(|t| t.vmi.namespace.as_str())) {
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource());
        let (items, version) = match watch::list(&api, cluster.request_timeout).await {
            Ok(l) => l,
            Err(e) => {
                return fail(
                    reporter,
                    cluster.request_error(format!("list VMIs in {ns}"), e),
                )
            }
        };
        for obj in &items {
            let uid = obj.metadata.uid.clone().unwrap_or_default();
            match targets.iter().position(|t| t.vmi.uid == uid) {
                Some(i) => fresh[i] = Some(obj.clone()),
                None => {
                    // The other running VMIs in scope, for `--abort-if unready=N`.
                    let vmi = crate::kubevirt::Vmi::from_object(obj);
                    if let (Some(p), true) = (probing.as_mut(), vmi.is_running() && vmi.ready) {
                        p.watch_others(&uid, format!("{}/{}", vmi.namespace, vmi.name), true);
                    }
                }
            }
            known.insert(uid);
        }
        listed.push((api, ns.to_string(), version));
    }
    if let Some(i) = fresh.iter().position(Option::is_none) {
        let t = &targets[i];
        return fail(
            reporter,
            Error::usage(
                format!(
                    "VMI {}/{} changed while it was being checked (it is gone or was replaced): nothing was changed",
                    t.vmi.namespace, t.vmi.name
                ),
                "run the command again",
            ),
        );
    }
    let saved: Vec<DynamicObject> = fresh.into_iter().flatten().collect();
    let base = match &config.save_dir {
        Some(dir) => dir.clone(),
        None => match snapshot::default_base() {
            Ok(b) => b,
            Err(e) => return fail(reporter, e),
        },
    };
    let mut snapshot_dirs: Vec<PathBuf> = Vec::new();
    for (t, object) in targets.iter().zip(&saved) {
        match save_snapshot(cluster, t, object, &base, config.keep_down) {
            Ok(dir) => snapshot_dirs.push(dir),
            Err(e) => return fail(reporter, e),
        }
    }
    reporter.finish(Progress::Saved {
        dirs: snapshot_dirs.clone(),
        base,
    });

    let watch_tasks = listed
        .into_iter()
        .map(|(api, ns, version)| {
            watch::spawn(api, ns, version, cluster.request_timeout, tx.clone())
        })
        .collect();
    drop(tx);
    let specs: Vec<TargetSpec> = targets
        .iter()
        .map(|t| preflight::spec_for(t, config.keep_down, config.probes.targets > 0))
        .collect();
    let mut core = Core::new(
        CoreConfig {
            duration: config.duration,
            timeout: config.timeout,
            interrupt_wait: config.interrupt_wait,
            serial_interval: config.serial_interval,
        },
        specs,
        known,
        (tokio::time::Instant::now(), SystemTime::now()),
    );
    let event_objects = targets
        .iter()
        .zip(&saved)
        .map(|(t, vmi)| crate::cluster_events::EventObject::of_target(vmi, t.vm_object.as_ref()))
        .collect();
    let mut armed = Armed {
        cluster,
        saved,
        event_objects,
        watch: rx,
        watch_tasks,
        retry_for: config.timeout,
    };
    reporter.emit(&shell::targets_event(
        targets
            .iter()
            .map(|t| format!("{}/{}", t.vmi.namespace, t.vmi.name))
            .collect(),
    ));
    let event_objects = armed.event_objects.clone();
    // One alert watch for the whole run; its times count from here, just before the delete.
    let alert_watch = config
        .alerts
        .clone()
        .zip(alerts_before)
        .map(|(options, before)| (options.settle, AlertWatch::start(options, before)));
    reporter.start(
        Phase::Inject,
        Progress::Injecting {
            fault: config.fault,
        },
    );
    shell::drive(&mut core, &mut armed, &mut probing, reporter, signals).await;
    drop(armed);
    let alerts = match alert_watch {
        Some((settle, watch)) => {
            // An interrupted run ends as soon as it can: no settle.
            let settle = if core.interrupted().is_some() {
                std::time::Duration::ZERO
            } else {
                settle
            };
            Some(finish_alerts(watch, settle, cluster, &event_objects, reporter, signals).await)
        }
        None => None,
    };
    reporter.flush();
    let now = tokio::time::Instant::now();
    let probe_reports = |t: usize| -> Vec<crate::probe::ProbeReport> {
        let (Some(p), Some(since)) = (probing.as_ref(), core.runs()[t].deleted_at) else {
            return Vec::new();
        };
        let ready = core.runs()[t]
            .tracker
            .timings
            .ready_ms
            .map(|ms| since + std::time::Duration::from_millis(ms));
        p.reports(t, since, ready, now)
    };
    let reports: Vec<Report> = targets
        .iter()
        .zip(core.runs())
        .zip(&snapshot_dirs)
        .enumerate()
        .map(|(i, ((t, run), dir))| {
            outcome::report(
                cluster,
                t,
                run,
                dir,
                config,
                core.interrupted(),
                probe_reports(i),
            )
        })
        .collect();
    if core.interrupted().is_some() {
        for r in &reports {
            if let Some(cmd) = &r.restore_command {
                reporter.note(Note::IfNotBack {
                    vmi: format!("{}/{}", r.target.namespace, r.target.name),
                    command: cmd.clone(),
                });
            }
        }
        reporter.flush();
    }
    let mut run = outcome::combine(cluster, reports, core.interrupted(), None, choice);
    run.set_alerts(alerts);
    Ok(run)
}

fn save_snapshot(
    cluster: &Cluster,
    t: &Target,
    object: &DynamicObject,
    base: &std::path::Path,
    keep_down: bool,
) -> Result<PathBuf> {
    let meta = SnapshotMeta {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        namespace: t.vmi.namespace.clone(),
        name: t.vmi.name.clone(),
        uid: t.vmi.uid.clone(),
        vm: t.vm.as_ref().map(|v| v.name.clone()),
        run_strategy: t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string()),
        expected_recovery: t.plan.recovery(),
        kept_down: keep_down
            .then(|| t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string()))
            .flatten(),
        saved_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
    };
    snapshot::save(base, &meta, object, t.vm_object.as_ref())
}
