//! Why a step of a game day was skipped or not run.

use serde::{Serialize, Serializer};

use crate::report::{StepReason, StepReport, StepStatus};

pub fn reason(r: &StepReason) -> String {
    match r {
        StepReason::Unsupported { kind } => {
            format!("scenario kind {kind} is not run by kubectl-vmchaos (--skip-unsupported)")
        }
        StepReason::InterruptedBefore => "interrupted before this step".into(),
        StepReason::InterruptedDuring { step } => format!("interrupted during step {step}"),
        StepReason::EarlierFailed { step, name } => format!(
            "step {step} \"{name}\" did not recover; --continue-on-failure runs the rest anyway"
        ),
    }
}

/// A step that did not run: `skipped: …` or `not run: …` (the reports' words for it).
pub fn not_run(step: &StepReport) -> String {
    let why = step.reason.as_ref().map(reason).unwrap_or_default();
    match step.status {
        StepStatus::Skipped => format!("skipped: {why}"),
        StepStatus::Ran | StepStatus::NotRun => format!("not run: {why}"),
    }
}

/// In documents, a step's `reason` is its words.
impl Serialize for StepReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&reason(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_words() {
        let rows = [
            (
                StepReason::Unsupported { kind: "node_stop_start_scenario".into() },
                "scenario kind node_stop_start_scenario is not run by kubectl-vmchaos (--skip-unsupported)",
            ),
            (StepReason::InterruptedBefore, "interrupted before this step"),
            (StepReason::InterruptedDuring { step: 2 }, "interrupted during step 2"),
            (
                StepReason::EarlierFailed { step: 1, name: "s1".into() },
                "step 1 \"s1\" did not recover; --continue-on-failure runs the rest anyway",
            ),
        ];
        for (r, words) in rows {
            // A new reason without a row fails to compile here.
            match &r {
                StepReason::Unsupported { .. }
                | StepReason::InterruptedBefore
                | StepReason::InterruptedDuring { .. }
                | StepReason::EarlierFailed { .. } => {}
            }
            assert_eq!(reason(&r), words);
            assert_eq!(serde_json::to_value(&r).unwrap(), words);
        }
    }
}
