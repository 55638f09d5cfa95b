//! The questions asked before anything changes (`outage`, `run -f`), and each target's plan in
//! a few words.

use crate::{
    events::{GameDayQuestion, OutageQuestion, PlannedTarget},
    kubevirt::Recovery,
    plan::Fault,
};

/// The prompt's first word.
fn verb(fault: Fault) -> &'static str {
    match fault {
        Fault::Delete => "Delete",
        Fault::Crash => "Crash",
    }
}

/// `outage`'s question: one target on a line with its plan, several as a list.
pub fn outage(q: &OutageQuestion) -> String {
    let question = match q.targets.as_slice() {
        [t] => format!(
            "{} VMI {}/{} on {} in context {}? Plan: {}",
            verb(q.fault),
            t.namespace,
            t.name,
            t.node.as_deref().unwrap_or("an unknown node"),
            q.context,
            plan(t)
        ),
        many => format!(
            "{} {} VMIs in context {}?\n{}",
            verb(q.fault),
            many.len(),
            q.context,
            many.iter()
                .map(|t| format!(
                    "  {}/{} on {} → {}",
                    t.namespace,
                    t.name,
                    t.node.as_deref().unwrap_or("?"),
                    plan(t)
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    match q.trials {
        Some(count) if count > 1 => {
            format!("{question}\n{}", super::trials::repeat_question(count))
        }
        _ => question,
    }
}

/// `run -f`'s question.
pub fn game_day(q: &GameDayQuestion) -> String {
    let doing = match q.fault {
        Fault::Delete => "deleting",
        Fault::Crash => "crashing",
    };
    format!(
        "Run these steps in context {}, {doing} {} VMI(s)?",
        q.context, q.targets
    )
}

/// The plan in a few words, for prompts.
pub fn plan(t: &PlannedTarget) -> String {
    let words = plan_words(t);
    match (t.recovery, t.fault) {
        (_, Fault::Delete) => words,
        (Recovery::Automatic, Fault::Crash) if !t.keep_down => {
            "crashed (launcher pod deleted, VMI Failed), KubeVirt deletes the Failed VMI and re-creates it".into()
        }
        (Recovery::Recreate, Fault::Crash) => {
            "crashed (launcher pod deleted, VMI Failed), the tool deletes the Failed VMI and re-creates it from the snapshot after --duration".into()
        }
        (_, Fault::Crash) => format!("crashed (launcher pod deleted, VMI Failed), {words}"),
    }
}

fn plan_words(t: &PlannedTarget) -> String {
    match (t.recovery, &t.vm) {
        (Recovery::Automatic, Some((vm, strategy))) if t.keep_down => format!(
            "runStrategy {strategy} switched to Manual, the tool starts VM {vm} after --duration, then {strategy} is put back"
        ),
        (Recovery::Start, Some((vm, _))) => format!("the tool starts VM {vm} after --duration"),
        (Recovery::Follow, _) => format!(
            "replica set {} creates a replacement; the tool follows it",
            t.replica_set.as_deref().unwrap_or("?")
        ),
        (r, _) => r.describe().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, recovery: Recovery, fault: Fault) -> PlannedTarget {
        PlannedTarget {
            namespace: "prod".into(),
            name: name.into(),
            node: Some("node-a".into()),
            recovery,
            vm: Some((name.into(), "Always".into())),
            replica_set: None,
            keep_down: false,
            fault,
        }
    }

    #[test]
    fn one_target_is_asked_on_one_line_with_its_plan() {
        let q = OutageQuestion {
            fault: Fault::Delete,
            context: "kind".into(),
            targets: vec![target("db-0", Recovery::Start, Fault::Delete)],
            trials: None,
        };
        assert_eq!(
            outage(&q),
            "Delete VMI prod/db-0 on node-a in context kind? Plan: the tool starts VM db-0 after --duration"
        );
    }

    #[test]
    fn several_targets_a_crash_and_trials_are_said() {
        let mut kept = target("db-1", Recovery::Automatic, Fault::Crash);
        kept.keep_down = true;
        let mut member = target("web-x", Recovery::Follow, Fault::Crash);
        member.vm = None;
        member.replica_set = Some("web".into());
        member.node = None;
        let q = OutageQuestion {
            fault: Fault::Crash,
            context: "kind".into(),
            targets: vec![
                target("db-0", Recovery::Automatic, Fault::Crash),
                kept,
                member,
            ],
            trials: Some(3),
        };
        assert_eq!(
            outage(&q),
            "Crash 3 VMIs in context kind?\n\
             \x20 prod/db-0 on node-a → crashed (launcher pod deleted, VMI Failed), KubeVirt deletes the Failed VMI and re-creates it\n\
             \x20 prod/db-1 on node-a → crashed (launcher pod deleted, VMI Failed), runStrategy Always switched to Manual, the tool starts VM db-1 after --duration, then Always is put back\n\
             \x20 prod/web-x on ? → crashed (launcher pod deleted, VMI Failed), replica set web creates a replacement; the tool follows it\n\
             (--repeat 3: 3 trials, each once every target is Running and Ready again; this answer covers them all)"
        );
    }

    #[test]
    fn the_game_day_question_names_its_fault() {
        let q = |fault| GameDayQuestion {
            context: "kind".into(),
            targets: 2,
            fault,
        };
        assert_eq!(
            game_day(&q(Fault::Delete)),
            "Run these steps in context kind, deleting 2 VMI(s)?"
        );
        assert_eq!(
            game_day(&q(Fault::Crash)),
            "Run these steps in context kind, crashing 2 VMI(s)?"
        );
    }
}
