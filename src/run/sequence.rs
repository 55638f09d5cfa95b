//! The game day's order: steps one after the other, a failed step stops the rest unless
//! --continue-on-failure, an interruption stops everything. Pure over a [`StepRunner`], so the
//! rules are tested with a scripted runner and the fleet engine plugs in unchanged.

use std::future::Future;

use super::resolve::{PlannedStep, ResolvedStep};
use crate::{
    error::Exit,
    events::Note,
    kraken::KUBEVIRT_VM_OUTAGE,
    report::{FleetReport, GameDayReport, StepReport, StepStatus, INTERRUPTED_BEFORE_STEP},
    verdict::{GameDayVerdict, Judged},
};

/// Runs one outage step: every target of it, and returns their reports.
pub trait StepRunner {
    /// Why this runner cannot run the step at all, asked for every step before anything runs.
    fn refuse(&self, _step: &ResolvedStep) -> Option<String> {
        None
    }

    fn run(&mut self, step: &ResolvedStep) -> impl Future<Output = FleetReport>;
}

/// Runs the steps in order and reports each: ran, skipped (an unsupported kind) or not run.
/// `interrupted` is asked before each step: Ctrl-C between steps stops the rest.
pub async fn run_steps<R: StepRunner>(
    runner: &mut R,
    steps: &[PlannedStep],
    continue_on_failure: bool,
    mut interrupted: impl FnMut() -> bool,
) -> Vec<StepReport> {
    let mut reports = Vec::new();
    let mut stopped: Option<String> = None;
    for step in steps {
        let s = match step {
            PlannedStep::Skip(u) => {
                reports.push(StepReport {
                    name: u.name.clone(),
                    scenario: u.kind.clone(),
                    file: Some(u.file.clone()),
                    line: u.line,
                    status: StepStatus::Skipped,
                    reason: Some(format!(
                        "scenario kind {} is not run by kubectl-vmchaos (--skip-unsupported)",
                        u.kind
                    )),
                    fleet: None,
                });
                continue;
            }
            PlannedStep::Outage(s) => s,
        };
        if stopped.is_none() && interrupted() {
            stopped = Some(INTERRUPTED_BEFORE_STEP.into());
        }
        if let Some(why) = &stopped {
            reports.push(step_report(s, StepStatus::NotRun, Some(why.clone()), None));
            continue;
        }
        let mut fleet = runner.run(s).await;
        // How the targets were chosen belongs with the step's outcome.
        fleet.notes.splice(0..0, s.notes.iter().cloned());
        if fleet.interrupted || matches!(fleet.exit(), Exit::Interrupted | Exit::Terminated) {
            stopped = Some(format!("interrupted during step {}", s.number));
        } else if fleet.exit() != Exit::Recovered && !continue_on_failure {
            stopped = Some(format!(
                "step {} \"{}\" did not recover; --continue-on-failure runs the rest anyway",
                s.number, s.name
            ));
        }
        reports.push(step_report(s, StepStatus::Ran, None, Some(fleet)));
    }
    reports
}

fn step_report(
    s: &ResolvedStep,
    status: StepStatus,
    reason: Option<String>,
    fleet: Option<FleetReport>,
) -> StepReport {
    StepReport {
        name: s.name.clone(),
        scenario: KUBEVIRT_VM_OUTAGE.into(),
        file: Some(s.file.clone()),
        line: Some(s.line),
        status,
        reason,
        fleet,
    }
}

/// The game day's document, from its steps.
pub fn game_day(
    context: &str,
    server: &str,
    started_at: Option<String>,
    finished_at: Option<String>,
    steps: Vec<StepReport>,
    dry_run: bool,
    notes: Vec<Note>,
) -> GameDayReport {
    GameDayReport {
        context: context.into(),
        server: server.into(),
        started_at,
        finished_at,
        result: Judged::new(GameDayVerdict::of(&steps, dry_run)),
        steps,
        notes,
        series: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::VecDeque, path::PathBuf, time::Duration};

    use super::*;
    use crate::{
        kraken::UnsupportedStep,
        render::verdicts,
        report::{Aggregates, FleetReport},
        verdict::{Decides, FleetVerdict},
    };

    fn exit_of(steps: &[StepReport]) -> Exit {
        GameDayVerdict::of(steps, false).exit()
    }

    fn verdict_of(steps: &[StepReport]) -> String {
        verdicts::game_day_verdict(&GameDayVerdict::of(steps, false))
    }

    /// Answers each step with the next scripted exit, and records what it was asked to run.
    struct Scripted {
        exits: VecDeque<Exit>,
        ran: Vec<String>,
    }

    impl StepRunner for Scripted {
        async fn run(&mut self, step: &ResolvedStep) -> FleetReport {
            self.ran.push(step.name.clone());
            let exit = self.exits.pop_front().expect("a scripted exit per step");
            fleet(exit)
        }
    }

    fn fleet(exit: Exit) -> FleetReport {
        FleetReport {
            context: "c".into(),
            server: "s".into(),
            dry_run: None,
            started_at: None,
            finished_at: None,
            interrupted: exit == Exit::Interrupted,
            selection: None,
            targets: Vec::new(),
            aggregates: Aggregates {
                targets: 1,
                recovered: usize::from(exit == Exit::Recovered),
                ..Aggregates::default()
            },
            alerts: None,
            result: Judged::new(FleetVerdict {
                dry_run: None,
                signal: None,
                targets: 1,
                recovered: usize::from(exit == Exit::Recovered),
                running_again: usize::from(exit == Exit::Recovered),
                worst: exit,
            }),
            notes: Vec::new(),
            series: Default::default(),
        }
    }

    fn outage(n: usize) -> PlannedStep {
        PlannedStep::Outage(ResolvedStep {
            number: n,
            name: format!("s{n}"),
            file: PathBuf::from("g.yaml"),
            line: n as u64,
            targets: Vec::new(),
            duration: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            keep_down: false,
            notes: Vec::new(),
        })
    }

    fn skip(n: usize) -> PlannedStep {
        PlannedStep::Skip(UnsupportedStep {
            kind: "node_stop_start_scenario".into(),
            name: format!("s{n}"),
            file: PathBuf::from("g.yaml"),
            line: Some(n as u64),
        })
    }

    fn play(
        steps: &[PlannedStep],
        exits: &[Exit],
        continue_on_failure: bool,
    ) -> (Vec<String>, Vec<StepReport>) {
        let mut runner = Scripted {
            exits: exits.iter().copied().collect(),
            ran: Vec::new(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let reports = rt.block_on(run_steps(&mut runner, steps, continue_on_failure, || false));
        (runner.ran, reports)
    }

    fn statuses(r: &[StepReport]) -> Vec<StepStatus> {
        r.iter().map(|s| s.status).collect()
    }

    #[test]
    fn all_steps_run_in_order_and_skips_are_reported() {
        let steps = [outage(1), skip(2), outage(3)];
        let (ran, reports) = play(&steps, &[Exit::Recovered, Exit::Recovered], false);
        assert_eq!(ran, ["s1", "s3"]);
        assert_eq!(
            statuses(&reports),
            [StepStatus::Ran, StepStatus::Skipped, StepStatus::Ran]
        );
        assert_eq!(
            reports[1].reason.as_deref(),
            Some("scenario kind node_stop_start_scenario is not run by kubectl-vmchaos (--skip-unsupported)")
        );
        assert_eq!(exit_of(&reports), Exit::Recovered);
        assert_eq!(
            verdict_of(&reports),
            "RECOVERED: all 2 targets of 2 steps came back Running and Ready; 1 step skipped"
        );
    }

    #[test]
    fn a_failed_step_stops_the_rest() {
        let steps = [outage(1), outage(2), outage(3)];
        let (ran, reports) = play(&steps, &[Exit::NotRecovered], false);
        assert_eq!(ran, ["s1"]);
        assert_eq!(
            statuses(&reports),
            [StepStatus::Ran, StepStatus::NotRun, StepStatus::NotRun]
        );
        assert_eq!(
            reports[2].reason.as_deref(),
            Some("step 1 \"s1\" did not recover; --continue-on-failure runs the rest anyway")
        );
        assert_eq!(exit_of(&reports), Exit::NotRecovered);
        assert_eq!(
            verdict_of(&reports),
            "NOT RECOVERED: 0 of 1 target recovered; failed: \"s1\"; 2 steps not run"
        );
    }

    #[test]
    fn continue_on_failure_runs_the_rest() {
        let steps = [outage(1), outage(2), outage(3)];
        let (ran, reports) = play(
            &steps,
            &[Exit::NotRecovered, Exit::Recovered, Exit::Recovered],
            true,
        );
        assert_eq!(ran, ["s1", "s2", "s3"]);
        assert_eq!(exit_of(&reports), Exit::NotRecovered);
    }

    #[test]
    fn an_interruption_stops_even_with_continue_on_failure() {
        let steps = [outage(1), outage(2)];
        let (ran, reports) = play(&steps, &[Exit::Interrupted], true);
        assert_eq!(ran, ["s1"]);
        assert_eq!(statuses(&reports), [StepStatus::Ran, StepStatus::NotRun]);
        assert_eq!(
            reports[1].reason.as_deref(),
            Some("interrupted during step 1")
        );
        assert_eq!(exit_of(&reports), Exit::Interrupted);
    }

    #[test]
    fn ctrl_c_between_steps_stops_before_the_next() {
        let steps = [outage(1), outage(2)];
        let mut runner = Scripted {
            exits: [Exit::Recovered].into(),
            ran: Vec::new(),
        };
        let mut asked = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let reports = rt.block_on(run_steps(&mut runner, &steps, true, || {
            asked += 1;
            asked > 1
        }));
        assert_eq!(runner.ran, ["s1"]);
        assert_eq!(statuses(&reports), [StepStatus::Ran, StepStatus::NotRun]);
        assert_eq!(exit_of(&reports), Exit::Interrupted);
    }

    #[test]
    fn exits_combine_worst_first() {
        let reports = |exits: &[Exit]| {
            let steps: Vec<PlannedStep> = (1..=exits.len()).map(outage).collect();
            play(&steps, exits, true).1
        };
        use Exit::*;
        assert_eq!(exit_of(&reports(&[Recovered, Recovered])), Recovered);
        assert_eq!(exit_of(&reports(&[Recovered, NotRecovered])), NotRecovered);
        assert_eq!(
            exit_of(&reports(&[NotRecovered, FailedAfterInject])),
            FailedAfterInject
        );
        assert_eq!(
            exit_of(&reports(&[Recovered, NothingChanged])),
            NothingChanged
        );
        assert_eq!(exit_of(&[]), NothingChanged);
    }
}
