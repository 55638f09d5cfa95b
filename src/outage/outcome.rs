//! From the core's finished runs to the documents the user reads: one `Report` per target,
//! a `FleetReport` around several, each with its verdict and exit code.

use std::{path::Path, time::Duration};

use super::{
    config::OutageConfig,
    core::{Comeback, Run, Signal, Strategy},
    preflight::Target,
};
use crate::{
    cluster::Cluster,
    error::Exit,
    events::Outcome,
    kubevirt::Recovery,
    render::{format_duration, words},
    report::{Aggregates, Endpoint, FleetReport, Report, RunReport, TargetRef},
    snapshot,
};

fn base(cluster: &Cluster, t: &Target) -> Report {
    let owner = |kind: &str| {
        t.vmi
            .owner
            .as_ref()
            .filter(|o| o.kind == kind)
            .map(|o| o.name.clone())
    };
    Report {
        target: TargetRef {
            namespace: t.vmi.namespace.clone(),
            name: t.vmi.name.clone(),
        },
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        vm: t.vm.as_ref().map(|v| v.name.clone()),
        run_strategy: t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string()),
        replica_set: owner("VirtualMachineInstanceReplicaSet"),
        pool: t.vm.as_ref().and_then(|v| v.pool.clone()),
        expected_recovery: t.plan.recovery(),
        recovery: Recovery::None,
        recovered: false,
        dry_run: None,
        interrupted: false,
        before: Endpoint {
            name: None,
            uid: t.vmi.uid.clone(),
            node: t.vmi.node.clone(),
            ip: t.vmi.ip.clone(),
        },
        after: None,
        injected_at: None,
        timings: Default::default(),
        timing_sources: Default::default(),
        snapshot: None,
        restore_command: None,
        verdict: String::new(),
        exit_code: 0,
        group: None,
        warnings: t.plan.warnings().iter().map(|w| w.describe()).collect(),
        probes: Vec::new(),
        notes: Vec::new(),
        series: Default::default(),
        exit: Exit::Recovered,
    }
}

pub fn dry_run_report(cluster: &Cluster, t: &Target, mode: &str) -> Report {
    let mut r = base(cluster, t);
    r.dry_run = Some(mode.into());
    r.verdict = format!(
        "DRY RUN ({mode}): would delete VMI {}/{} (uid {}); plan: {}; nothing was changed",
        t.vmi.namespace,
        t.vmi.name,
        t.vmi.uid,
        t.plan.recovery().describe()
    );
    r.set_exit(Exit::Recovered);
    r
}

pub fn report(
    cluster: &Cluster,
    t: &Target,
    run: &Run,
    snapshot_dir: &Path,
    config: &OutageConfig,
    signal: Option<Signal>,
    probes: Vec<crate::probe::ProbeReport>,
) -> Report {
    let mut r = base(cluster, t);
    r.probes = probes;
    r.snapshot = Some(snapshot_dir.to_path_buf());
    r.injected_at = run
        .injected_at
        .map(|t| humantime::format_rfc3339_millis(t).to_string());
    r.timings = run.tracker.timings.clone();
    r.timing_sources = run.tracker.sources.clone();
    let current = run.tracker.current();
    r.after = current.map(|c| Endpoint {
        name: (c.name != t.vmi.name).then(|| c.name.clone()),
        uid: c.uid.clone(),
        node: c.node.clone(),
        ip: c.ip.clone(),
    });
    r.recovery = match (run.acted(), current) {
        (Some(a), Some(_)) => a,
        (None, Some(_)) if t.plan.recovery() == Recovery::Follow => Recovery::Follow,
        (None, Some(_)) => Recovery::Automatic,
        (_, None) => Recovery::None,
    };
    r.notes = run.notes.iter().filter_map(words::target_event).collect();
    let outcome = run
        .outcome()
        .cloned()
        .unwrap_or(Outcome::Interrupted { running: false });
    r.recovered = outcome == Outcome::Recovered;
    let limits = format!(
        "--duration {} + --timeout {}",
        format_duration(config.duration),
        format_duration(config.timeout)
    );
    let expected = if config.keep_down && t.plan.recovery() == Recovery::Automatic {
        Recovery::Start
    } else {
        t.plan.recovery()
    };
    let how = match r.recovery {
        Recovery::Automatic => "KubeVirt re-created it",
        Recovery::Start => "the tool started its VM",
        Recovery::Recreate => "the tool re-created it",
        Recovery::Follow => "its replica set replaced it",
        Recovery::None => "nothing brought it back",
    };
    let (exit, verdict) = match &outcome {
        Outcome::Recovered => {
            let ready = r
                .timings
                .ready_ms
                .map(|ms| format_duration(Duration::from_millis(ms)))
                .unwrap_or_default();
            let expectation = if r.recovery == expected {
                "as planned".to_string()
            } else {
                format!("planned: {}", expected.describe())
            };
            let named = match r.after.as_ref().and_then(|a| a.name.as_ref()) {
                Some(name) => format!(" as {name}"),
                None => String::new(),
            };
            // With probes, users served again decides; without, Ready does.
            let served = probe_downtime(&r.probes)
                .map(|t| format!("users served again (probes; longest downtime {t}); "))
                .unwrap_or_default();
            (
                Exit::Recovered,
                format!("RECOVERED{named}: {served}Running and Ready {ready} after the delete; {how} ({expectation})"),
            )
        }
        Outcome::NotRecovered(why) => (
            Exit::NotRecovered,
            format!("NOT RECOVERED: {} ({limits})", words::not_recovered(why)),
        ),
        Outcome::Failed(why) => (
            Exit::FailedAfterInject,
            format!("TOOL FAILED after the delete: {why}"),
        ),
        Outcome::Interrupted { running } => {
            r.interrupted = true;
            let state = if *running {
                "the VMI is Running again"
            } else {
                "the VMI may still be down"
            };
            (
                signal.map_or(Exit::Interrupted, Exit::from_signal),
                format!("INTERRUPTED: {state}"),
            )
        }
        Outcome::NotDeleted(why) => (
            Exit::NothingChanged,
            format!("NOT DELETED: {why}; nothing was changed"),
        ),
        Outcome::Aborted { reason, running } => {
            let state = if *running {
                "the VMI is Running again"
            } else {
                "the VMI may still be down"
            };
            (Exit::NotRecovered, format!("ABORTED ({reason}): {state}"))
        }
    };
    let (exit, verdict) = match (&run.strategy, exit) {
        (Strategy::RestoreFailed(_), Exit::Recovered) => (
            Exit::FailedAfterInject,
            format!("{verdict} — but the VM's runStrategy could not be put back (see notes)"),
        ),
        (_, e) => (e, verdict),
    };
    // Only what would work is suggested: `restore` refuses a VMI that exists, and never
    // re-creates a replica set's VMI by hand.
    match run.comeback() {
        Comeback::Restore => {
            r.restore_command = Some(snapshot::restore_command(snapshot_dir, &cluster.context));
        }
        Comeback::ReplicaSet if !r.recovered => {
            let set = r.replica_set.clone().unwrap_or_default();
            r.notes.push(format!(
                "replica set {set} replaces the VMI itself (the tool never re-creates it): `kubectl get vmirs {set} -n {}` shows its replicas",
                t.vmi.namespace
            ));
        }
        Comeback::ReplacementExists { name } if !r.recovered => {
            r.notes.push(format!(
                "VMI {}/{name} exists but is not Running and Ready: `kubectl describe vmi {name} -n {}` says why (no restore: it exists)",
                t.vmi.namespace, t.vmi.namespace
            ));
        }
        _ => {}
    }
    if matches!(outcome, Outcome::NotDeleted(_)) && run.deleted_at.is_none() {
        r.snapshot = None;
    }
    r.verdict = verdict;
    r.set_exit(exit);
    r
}

/// One target: its own document. Several: a fleet document with aggregates.
pub fn combine(
    cluster: &Cluster,
    mut reports: Vec<Report>,
    signal: Option<Signal>,
    dry_run: Option<&str>,
    choice: &Choice,
) -> RunReport {
    for r in &mut reports {
        r.group = choice
            .groups
            .get(&(r.target.namespace.clone(), r.target.name.clone()))
            .cloned();
    }
    // Targets chosen by flags get the fleet document whatever their number.
    if reports.len() == 1 && choice.selection.is_none() {
        let mut reports = reports;
        return RunReport::Single(Box::new(reports.remove(0)));
    }
    let exit = Exit::worst(reports.iter().map(|r| r.exit));
    let exit = match (signal, exit) {
        (Some(s), _) => Exit::from_signal(s),
        (None, e) => e,
    };
    let aggregates = Aggregates::of(&reports);
    let verdict = match dry_run {
        Some(mode) => format!(
            "DRY RUN ({mode}): would delete {} VMIs; nothing was changed",
            reports.len()
        ),
        None => {
            let lead = match exit {
                Exit::Recovered => "RECOVERED",
                Exit::NotRecovered => "NOT RECOVERED",
                Exit::FailedAfterInject => "TOOL FAILED",
                Exit::Interrupted | Exit::Terminated => "INTERRUPTED",
                Exit::NothingChanged => "NOTHING CHANGED",
            };
            format!(
                "{lead}: {} of {} VMIs recovered",
                aggregates.recovered, aggregates.targets
            )
        }
    };
    let started_at = reports.iter().filter_map(|r| r.injected_at.clone()).min();
    let mut fleet = FleetReport {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        dry_run: dry_run.map(str::to_string),
        started_at,
        finished_at: Some(
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        ),
        interrupted: signal.is_some(),
        selection: choice.selection.clone(),
        targets: reports,
        aggregates,
        verdict,
        exit_code: 0,
        notes: Vec::new(),
        series: Default::default(),
        exit,
    };
    fleet.exit_code = exit.code();
    RunReport::Fleet(Box::new(fleet))
}

/// The longest user-visible downtime any probe of the target measured.
fn probe_downtime(probes: &[crate::probe::ProbeReport]) -> Option<String> {
    let worst = probes.iter().map(|p| p.downtime_ms.unwrap_or(0)).max()?;
    Some(format_duration(Duration::from_millis(worst)))
}

/// How the targets were chosen, for the documents.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Set when flags chose the targets (`-l`, `--all`, a sample, several names).
    pub selection: Option<crate::selection::Selection>,
    pub groups: std::collections::HashMap<(String, String), crate::targets::Group>,
}
