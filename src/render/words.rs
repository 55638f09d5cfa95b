//! The words for what happens to a target and for a plan's warnings: one place, used by every
//! renderer and by `render::notes`.

use crate::{
    events::{NotDeleted, NotRecovered, Outcome, ProbeChange, ProbeState, Step, TargetEvent},
    kubevirt::Recovery,
    plan::Warning,
    probe::AbortReason,
    render::format_duration,
};

pub fn step(step: &Step) -> String {
    match step {
        Step::OldTerminating { finalizers } if finalizers.is_empty() => {
            "old VMI terminating".into()
        }
        Step::OldTerminating { finalizers } => {
            format!(
                "old VMI terminating (finalizers: {})",
                finalizers.join(", ")
            )
        }
        Step::OldFailed => "old VMI Failed (its launcher is gone)".into(),
        Step::OldGone => "old VMI gone".into(),
        Step::NewCreated { name, uid } => format!("new VMI {name} created (uid {uid})"),
        Step::Phase { phase } => phase.clone(),
        Step::Ready => "Ready".into(),
        Step::ReadyLost => "Ready lost".into(),
        Step::NewGone { uid } => format!("new VMI {uid} deleted again"),
    }
}

/// How the tool (or KubeVirt) brings a target back, while waiting for it.
pub fn waiting(recovery: Recovery, vm: Option<&str>, wait: std::time::Duration) -> String {
    let wait = format_duration(wait);
    match (recovery, vm) {
        (Recovery::Automatic, _) => "waiting for KubeVirt to re-create it".into(),
        (Recovery::Follow, _) => "waiting for its replica set's replacement".into(),
        (Recovery::Start, Some(vm)) => {
            format!("KubeVirt won't restart it; the tool starts VM {vm} after {wait}")
        }
        _ => format!("nothing re-creates a standalone VMI; the tool does after {wait}"),
    }
}

pub fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Recovered => "recovered".into(),
        Outcome::NotRecovered(why) => format!("not recovered: {}", not_recovered(why)),
        Outcome::Failed(why) => format!("tool failed: {why}"),
        Outcome::Interrupted { running: true } => "interrupted (Running again)".into(),
        Outcome::Interrupted { running: false } => "interrupted (may still be down)".into(),
        Outcome::NotDeleted(why) => format!("not deleted: {}", not_deleted(why)),
        Outcome::Aborted { reason, .. } => format!("aborted: {}", abort_reason(reason)),
    }
}

pub fn not_deleted(why: &NotDeleted) -> String {
    match why {
        NotDeleted::Refused(reason) => reason.clone(),
        NotDeleted::SwitchFailed(reason) => reason.clone(),
        NotDeleted::InterruptedFirst => "interrupted before the delete".into(),
        NotDeleted::AbortedFirst => "aborted before the delete".into(),
        NotDeleted::AnswerLost => {
            "the DELETE's answer was lost and the VMI was never deleted".into()
        }
    }
}

/// Why an abort condition (`--abort-if`) stopped the run.
pub fn abort_reason(reason: &AbortReason) -> String {
    match reason {
        AbortReason::ProbeDown {
            probe,
            failed_for,
            failure,
            ..
        } => format!(
            "{probe} failed for {} ({})",
            seconds(*failed_for),
            failure.detail
        ),
        AbortReason::Unready { max, vmis } => format!(
            "{} other {} not Ready (more than {max}): {}",
            vmis.len(),
            if vmis.len() == 1 {
                "VMI is"
            } else {
                "VMIs are"
            },
            vmis.join(", ")
        ),
    }
}

fn seconds(d: std::time::Duration) -> String {
    if d < std::time::Duration::from_secs(10) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `1 VMI`, `3 VMIs`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub fn not_recovered(why: &NotRecovered) -> String {
    match why {
        NotRecovered::NotReady => "the new VMI is Running but not Ready".into(),
        NotRecovered::NotServed => {
            "the new VMI is Ready, but its probes never passed again: users are not served".into()
        }
        NotRecovered::NotRunning { phase } => format!("the new VMI is still {phase} (not Running)"),
        NotRecovered::StillTerminating => {
            "the old VMI is still terminating: a finalizer blocks it".into()
        }
        NotRecovered::NoReplacement => "no new VMI appeared".into(),
    }
}

/// One line per target event (None: nothing worth a line of its own).
pub fn target_event(what: &TargetEvent) -> Option<String> {
    Some(match what {
        TargetEvent::KeptDown { vm, from } => {
            format!("runStrategy of VM {vm} switched from {from} to Manual: KubeVirt keeps it down")
        }
        TargetEvent::Queued { after: None } => "waits for its turn (--serial)".into(),
        TargetEvent::Queued { after: Some(d) } => format!(
            "next: its delete goes out in {} (--interval)",
            format_duration(*d)
        ),
        TargetEvent::Deleted {
            uid,
            node,
            launcher: None,
        } => format!(
            "deleted VMI (uid {uid}) on {}",
            node.as_deref().unwrap_or("an unknown node")
        ),
        TargetEvent::Deleted {
            uid,
            node,
            launcher: Some(pod),
        } => format!(
            "crashed VMI (uid {uid}) on {}: its virt-launcher pod {pod} deleted with no grace period",
            node.as_deref().unwrap_or("an unknown node")
        ),
        TargetEvent::DeleteRefused { reason } => format!("the API server refused the delete: {reason}"),
        TargetEvent::DeleteUncertain { reason } => format!(
            "no answer to the delete ({reason}): the watch will tell whether it happened"
        ),
        TargetEvent::Waiting { recovery, vm, wait } => waiting(*recovery, vm.as_deref(), *wait),
        TargetEvent::Step(s) => step(s),
        TargetEvent::Acting { recovery: Recovery::Start } => "tool: starting its VM".into(),
        TargetEvent::Acting { .. } => "tool: re-creating the VMI from the snapshot".into(),
        TargetEvent::Acted { uid: Some(uid), .. } => format!("tool: re-created the VMI (uid {uid})"),
        TargetEvent::Acted { .. } => "tool: started its VM".into(),
        TargetEvent::ActionFailed { reason, .. } => format!("tool: {reason}"),
        TargetEvent::AlreadyRecreated => {
            "someone else re-created the VMI first: following that one".into()
        }
        TargetEvent::StrategyRestored { vm, to } => format!("runStrategy of VM {vm} put back to {to}"),
        TargetEvent::StrategyRestoreFailed { vm, to, reason } => format!(
            "could not put VM {vm}'s runStrategy back to {to} ({reason}): run `kubectl patch vm {vm} --type merge -p '{{\"spec\":{{\"runStrategy\":\"{to}\"}}}}'`"
        ),
        TargetEvent::KubeVirtSlow {
            waited,
            old_terminating: false,
        } => format!(
            "KubeVirt has not re-created the VMI after {}",
            format_duration(*waited)
        ),
        TargetEvent::KubeVirtSlow {
            waited,
            old_terminating: true,
        } => format!(
            "KubeVirt has not re-created the VMI after {}: the old VMI is still terminating, and KubeVirt re-creates it once it is gone",
            format_duration(*waited)
        ),
        TargetEvent::StillTerminating { waited, finalizers } => format!(
            "the old VMI is still terminating after {} (finalizers: {}); the tool recovers it once it is gone",
            format_duration(*waited),
            finalizers.join(", ")
        ),
        TargetEvent::Running { node } => format!(
            "new VMI Running on {}",
            node.as_deref().unwrap_or("an unknown node")
        ),
        TargetEvent::Done { outcome: o, ready_after } => match (o, ready_after) {
            (Outcome::Recovered, Some(d)) => {
                format!("Running and Ready {} after the delete", format_duration(*d))
            }
            (o, _) => outcome(o),
        },
    })
}

/// A plan's warning about a target.
pub fn warning(w: &Warning) -> String {
    match w {
        Warning::StartBackoff {
            consecutive,
            retry_after,
        } => format!(
            "KubeVirt's start-failure back-off is active ({consecutive} failed starts): the VM will not start again before {}",
            retry_after.as_deref().unwrap_or("the back-off ends")
        ),
    }
}

/// A probe starts failing or passes again; `vmi`: the VMI a `vmi:` probe follows.
pub fn probe_change(change: &ProbeChange, vmi: Option<&str>) -> String {
    let name = match vmi {
        Some(vmi) => format!("probe {} (VMI {vmi})", change.probe),
        None => format!("probe {}", change.probe),
    };
    match &change.state {
        ProbeState::Failing(detail) => format!("{name}: failing ({detail})"),
        ProbeState::PassingAgain(down) => {
            format!(
                "{name}: passing again after {} down",
                format_duration(*down)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vmi_probe_names_the_vmi_it_follows() {
        let change = ProbeChange {
            probe: "vmi:tcp:22".into(),
            target: Some(2),
            state: ProbeState::Failing("connection refused".into()),
        };
        assert_eq!(
            probe_change(&change, Some("prod/db-2")),
            "probe vmi:tcp:22 (VMI prod/db-2): failing (connection refused)"
        );
        let again = ProbeChange {
            probe: "tcp://db:5432".into(),
            target: None,
            state: ProbeState::PassingAgain(std::time::Duration::from_millis(2400)),
        };
        assert_eq!(
            probe_change(&again, None),
            "probe tcp://db:5432: passing again after 2.40s down"
        );
    }

    #[test]
    fn a_slow_kubevirt_says_whether_the_old_vmi_is_still_in_the_way() {
        let slow = |old_terminating| TargetEvent::KubeVirtSlow {
            waited: std::time::Duration::from_secs(2),
            old_terminating,
        };
        assert_eq!(
            target_event(&slow(false)).as_deref(),
            Some("KubeVirt has not re-created the VMI after 2s")
        );
        assert_eq!(
            target_event(&slow(true)).as_deref(),
            Some("KubeVirt has not re-created the VMI after 2s: the old VMI is still terminating, and KubeVirt re-creates it once it is gone")
        );
    }

    #[test]
    fn an_abort_says_aborted_once() {
        let o = Outcome::Aborted {
            reason: AbortReason::Unready {
                max: 1,
                vmis: vec!["prod/a".into(), "prod/b".into()],
            },
            running: false,
        };
        assert_eq!(
            outcome(&o),
            "aborted: 2 other VMIs are not Ready (more than 1): prod/a, prod/b"
        );
        assert_eq!(count(1, "VMI"), "1 VMI");
        assert_eq!(count(0, "step"), "0 steps");
    }
}
