//! The words of every phase's step message (`events::Progress`): the spinners and the plain
//! lines both word them here.

use super::{alerts, chosen, format_duration, trials};
use crate::{
    events::{CheckedTarget, Grant, KubeVirtObject, Owner, Progress},
    plan::Fault,
};

/// One step message, as the user reads it.
pub fn progress(p: &Progress) -> String {
    match p {
        Progress::ReadingKubeconfig => "reading the kubeconfig".into(),
        Progress::AskingVersion { server } => format!("asking {server} for its version"),
        Progress::Connected {
            context,
            server,
            version,
        } => format!("context {context}, {server} ({version})"),
        Progress::LookingForKubeVirt => "looking for kubevirt.io/v1".into(),
        Progress::KubeVirtServed(object) => kubevirt(object),
        Progress::Listing { scope } => format!("listing running VMIs in {scope}"),
        Progress::Listed { count, scope } => format!("{count} running VMI(s) in {scope}"),
        Progress::Choosing { scope } => format!("choosing VMIs in {scope}"),
        Progress::Chosen(selection) => chosen::how(selection),
        Progress::Checking { vmis } => format!("checking {}", vmis.join(", ")),
        Progress::Checked { targets } => targets
            .iter()
            .map(target)
            .collect::<Vec<_>>()
            .join("; "),
        Progress::CheckingPermissions => {
            "SelfSubjectAccessReview for every verb the run uses".into()
        }
        Progress::Allowed { grants } => format!("allowed: {}", permissions(grants)),
        Progress::Steadying { in_a_row } => {
            format!("steady state: every probe must pass {in_a_row} times in a row")
        }
        Progress::Steady { probes } => format!("steady: {} passing", probes.join(", ")),
        Progress::AskingAlerts { server } => format!("asking {server} for the firing alerts"),
        Progress::AlertsBefore { selector, firing } => alerts::before(selector, firing),
        Progress::WatchingAlerts { settle } => format!(
            "watching the alerts {} more (--alerts-settle)",
            format_duration(*settle)
        ),
        Progress::NewAlerts { count } => format!("{count} new alert(s)"),
        Progress::Saving => "saving the VMIs' manifests".into(),
        Progress::Saved { dirs, base } => match dirs.as_slice() {
            [one] => format!("saved to {}", one.display()),
            many => format!("{} snapshots saved under {}", many.len(), base.display()),
        },
        Progress::DryRunSending { fault } => match fault {
            Fault::Delete => "sending the delete (and the tool's start) with dryRun=All",
            Fault::Crash => {
                "sending the launcher pods' delete (and the tool's start) with dryRun=All"
            }
        }
        .into(),
        Progress::DryRunAccepted => {
            "the API server accepted the delete and the recovery (dry run: nothing changed)".into()
        }
        Progress::Injecting { fault } => match fault {
            Fault::Delete => "deleting",
            Fault::Crash => "crashing (launcher pods deleted with no grace period)",
        }
        .into(),
        Progress::FaultsSent {
            targets,
            serial: false,
        } => format!("{targets} VMIs: the deletes went out"),
        Progress::FaultsSent {
            targets,
            serial: true,
        } => format!("{targets} VMIs, one at a time (--serial): the first delete went out"),
        Progress::Following { targets } => format!("following {targets} VMIs"),
        Progress::FleetDone { recovered, targets } => {
            format!("{recovered} of {targets} VMIs recovered")
        }
        Progress::WaitingForReady => "waiting for the Ready condition".into(),
        Progress::BetweenTrials {
            trial,
            of,
            interval,
        } => format!(
            "trial {trial} of {of}: waiting {} (--interval), then for every target Running and Ready",
            format_duration(*interval)
        ),
        Progress::TargetsReady => "every target is Running and Ready".into(),
        Progress::Stopped(stop) => trials::stopped(stop),
        Progress::InterruptedBetweenTrials => {
            "interrupted between trials: nothing is down".into()
        }
        Progress::Error(text) => text.clone(),
    }
}

fn kubevirt(object: &KubeVirtObject) -> String {
    match object {
        KubeVirtObject::Found {
            namespace,
            name,
            phase,
            version,
        } => format!("kubevirt.io/v1 served; KubeVirt {namespace}/{name} {phase} ({version})"),
        KubeVirtObject::None => "kubevirt.io/v1 served (no KubeVirt object found)".into(),
        KubeVirtObject::NotReadable => {
            "kubevirt.io/v1 served (KubeVirt object not readable)".into()
        }
    }
}

/// `prod/db-0 Running on node-a, VM db-0 (runStrategy Always)`: one target found by the
/// pre-flight (also `schedule`'s line per target).
pub fn target(t: &CheckedTarget) -> String {
    let owner = match &t.owner {
        Owner::Vm {
            name,
            pool,
            run_strategy,
        } => {
            let pool = pool
                .as_ref()
                .map(|p| format!(" of pool {p}"))
                .unwrap_or_default();
            format!("VM {name}{pool} (runStrategy {run_strategy})")
        }
        Owner::Controller { kind, name } => format!("{kind} {name}"),
        Owner::Standalone => "standalone VMI".into(),
    };
    format!(
        "{}/{} Running on {}, {owner}",
        t.namespace,
        t.name,
        t.node.as_deref().unwrap_or("an unknown node"),
    )
}

/// `delete, list, watch virtualmachineinstances; update virtualmachines/start`.
pub fn permissions(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(|g| format!("{} {}", g.verbs.join(", "), g.resource))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `schedule nightly: prod/db-0 Running on node-a, …`: one target a schedule will hit.
pub fn schedule_target(schedule: &str, t: &CheckedTarget) -> String {
    format!("schedule {schedule}: {}", target(t))
}

/// `schedule nightly: Role allows …`: the schedule's Role.
pub fn schedule_role(schedule: &str, grants: &[Grant]) -> String {
    format!("schedule {schedule}: Role allows {}", permissions(grants))
}

/// Printing a schedule's manifests, `kind/name` could not be read (forbidden): whether it
/// exists, and is the schedule's, is unknown.
pub fn schedule_unchecked(kind: &str, name: &str, namespace: &str) -> String {
    format!(
        "warning: could not check whether {kind}/{name} exists in namespace {namespace} (forbidden): if it does and is not the schedule's, applying these manifests would change it"
    )
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
