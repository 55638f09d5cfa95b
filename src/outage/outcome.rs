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
    events::{Note, Outcome},
    kubevirt::Recovery,
    plan::Fault,
    report::{Aggregates, Endpoint, FleetReport, Report, RunReport, TargetRef},
    settings::DryRun,
    snapshot,
    verdict::{FleetVerdict, Judged, Verdict},
};

fn base(cluster: &Cluster, t: &Target, fault: Fault, verdict: Verdict) -> Report {
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
        fault,
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
        result: Judged::new(verdict),
        group: None,
        warnings: t
            .plan
            .warnings()
            .iter()
            .cloned()
            .map(Note::Warning)
            .collect(),
        probes: Vec::new(),
        alerts: None,
        notes: Vec::new(),
        series: Default::default(),
    }
}

pub fn dry_run_report(cluster: &Cluster, t: &Target, mode: DryRun, fault: Fault) -> Report {
    let verdict = Verdict::DryRun {
        mode,
        vmi: format!("{}/{}", t.vmi.namespace, t.vmi.name),
        uid: t.vmi.uid.clone(),
        plan: t.plan.recovery(),
        launcher: t.launcher.clone(),
    };
    let mut r = base(cluster, t, fault, verdict);
    r.dry_run = Some(mode);
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
    let current = run.tracker.current();
    let recovery = match (run.acted(), current) {
        (Some(a), Some(_)) => a,
        (None, Some(_)) if t.plan.recovery() == Recovery::Follow => Recovery::Follow,
        (None, Some(_)) => Recovery::Automatic,
        (_, None) => Recovery::None,
    };
    let after = current.map(|c| Endpoint {
        name: (c.name != t.vmi.name).then(|| c.name.clone()),
        uid: c.uid.clone(),
        node: c.node.clone(),
        ip: c.ip.clone(),
    });
    let outcome = run
        .outcome()
        .cloned()
        .unwrap_or(Outcome::Interrupted { running: false });
    let planned = if config.keep_down && t.plan.recovery() == Recovery::Automatic {
        Recovery::Start
    } else {
        t.plan.recovery()
    };
    let verdict = match outcome.clone() {
        Outcome::Recovered => Verdict::Recovered {
            by: recovery,
            planned,
            replaced_by: after.as_ref().and_then(|a| a.name.clone()),
            ready_after: run.tracker.timings.ready_ms.map(Duration::from_millis),
            probe_downtime: probe_downtime(&probes),
            strategy_not_restored: matches!(run.strategy, Strategy::RestoreFailed(_)),
            crashed: config.fault == crate::plan::Fault::Crash,
        },
        Outcome::NotRecovered(why) => Verdict::NotRecovered {
            why,
            duration: config.duration,
            timeout: config.timeout,
        },
        Outcome::Failed(reason) => Verdict::ToolFailed { reason },
        Outcome::Interrupted { running } => Verdict::Interrupted { signal, running },
        Outcome::NotDeleted(why) => Verdict::NotDeleted(why),
        Outcome::Aborted { reason, running } => Verdict::Aborted { reason, running },
    };
    let mut r = base(cluster, t, config.fault, verdict);
    r.interrupted = matches!(outcome, Outcome::Interrupted { .. });
    r.probes = probes;
    r.snapshot = Some(snapshot_dir.to_path_buf());
    r.injected_at = run
        .injected_at
        .map(|t| humantime::format_rfc3339_millis(t).to_string());
    r.timings = run.tracker.timings.clone();
    r.timing_sources = run.tracker.sources.clone();
    r.after = after;
    r.recovery = recovery;
    r.notes = run.notes.iter().cloned().map(Note::Target).collect();
    r.recovered = outcome == Outcome::Recovered;
    // Only what would work is suggested: `restore` refuses a VMI that exists, and never
    // re-creates a replica set's VMI by hand.
    match run.comeback() {
        Comeback::Restore => {
            r.restore_command = Some(snapshot::restore_command(snapshot_dir, &cluster.context));
        }
        Comeback::ReplicaSet if !r.recovered => {
            let set = r.replica_set.clone().unwrap_or_default();
            r.notes.push(Note::ReplicaSetReplaces {
                set,
                namespace: t.vmi.namespace.clone(),
            });
        }
        Comeback::ReplacementExists { name } if !r.recovered => {
            r.notes.push(Note::ReplacementExists {
                namespace: t.vmi.namespace.clone(),
                name: name.clone(),
            });
        }
        _ => {}
    }
    if matches!(outcome, Outcome::NotDeleted(_)) && run.deleted_at.is_none() {
        r.snapshot = None;
    }
    r
}

/// One target: its own document. Several: a fleet document with aggregates.
pub fn combine(
    cluster: &Cluster,
    mut reports: Vec<Report>,
    signal: Option<Signal>,
    dry_run: Option<DryRun>,
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
    let verdict = FleetVerdict::of(reports.iter().map(|r| &r.result), signal, dry_run);
    let started_at = reports.iter().filter_map(|r| r.injected_at.clone()).min();
    RunReport::Fleet(Box::new(FleetReport {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        dry_run,
        started_at,
        finished_at: Some(
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        ),
        interrupted: signal.is_some(),
        selection: choice.selection.clone(),
        aggregates: Aggregates::of(&reports),
        targets: reports,
        alerts: None,
        result: Judged::new(verdict),
        notes: Vec::new(),
        series: Default::default(),
    }))
}

/// The longest user-visible downtime any probe of the target measured.
fn probe_downtime(probes: &[crate::probe::ProbeReport]) -> Option<Duration> {
    let worst = probes.iter().map(|p| p.downtime_ms.unwrap_or(0)).max()?;
    Some(Duration::from_millis(worst))
}

/// How the targets were chosen, for the documents.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Set when flags chose the targets (`-l`, `--all`, a sample, several names).
    pub selection: Option<crate::selection::Selection>,
    pub groups: std::collections::HashMap<(String, String), crate::targets::Group>,
}
