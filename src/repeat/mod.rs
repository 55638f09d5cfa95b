//! `--repeat N`: the same outage N times, each trial starting once every target is Running and
//! Ready again; and `--baseline FILE`: the run's figures beside an earlier run's.
//!
//! A trial is a whole outage (`outage::run_resolved`) of the chosen targets; the next trial
//! hits the VMIs the previous one left (a replica set's replacement, as the core found it).
//! A failed trial, a signal, or a target not Ready again within `--timeout` ends the
//! repetition; the trials so far are in the document either way. Between trials nothing is
//! down by the tool's hand, so a signal there just ends the command.

pub mod baseline;
pub mod series;

use std::time::Duration;

use futures::StreamExt;
use kube::{
    api::{Api, DynamicObject},
    runtime::{wait::await_condition, watcher, WatchStreamExt},
};

pub use baseline::{Baseline, MaxRegression};
pub use series::{Amends, Series};
use series::{BackOff, Stopped, Trial, TrialTarget};

use crate::{
    cluster::{self, Cluster},
    error::{Error, Exit, Result},
    events::{Phase, Progress, Reporter},
    kubevirt,
    outage::{self, OutageConfig},
    report::{Report, RunReport},
    signals::{Signal, Signals},
    verdict::{Judged, RunVerdict},
};

/// `--repeat N` with `--interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatPlan {
    pub count: u32,
    pub interval: Duration,
}

impl RepeatPlan {
    /// The most trials one command runs.
    pub const MAX: u32 = 1000;
}

/// How soon the wait between trials watches a target again after its watch failed.
const RETRY: Duration = Duration::from_secs(1);

/// The outage, once or `--repeat` times, its document with every trial and the statistics.
pub async fn run(config: &OutageConfig, reporter: &mut Reporter) -> Result<RunReport> {
    let plan = match config.repeat {
        // A dry run changes nothing, so there is nothing to repeat.
        Some(plan) if config.dry_run.is_none() => plan,
        _ => return outage::run_resolved(config, reporter).await,
    };
    let mut trials: Vec<Trial> = Vec::new();
    let mut last: Option<RunReport> = None;
    let mut first_selection = None;
    let mut series = Series::default();
    let mut extra_exit = Exit::Recovered;
    let mut cluster: Option<Cluster> = None;
    let mut this = config.clone();
    // Listening from the start: a signal sent as soon as the wait between trials is announced
    // must not slip past a listener not yet registered.
    let mut signals = Signals::install();
    for n in 1..=plan.count {
        if let Some(prev) = &last {
            let c = match &cluster {
                Some(c) => c,
                None => match cluster::connect(&config.connection, Duration::from_secs(10)).await {
                    Ok(c) => cluster.insert(c),
                    Err(e) => {
                        series.stopped = Some(Stopped::NotStarted {
                            trial: n,
                            error: e.to_string(),
                        });
                        extra_exit = e.exit();
                        break;
                    }
                },
            };
            reporter.start(
                Phase::Recovery,
                Progress::BetweenTrials {
                    trial: n,
                    of: plan.count,
                    interval: plan.interval,
                },
            );
            let targets = prev.targets();
            match between(c, &targets, plan.interval, config.timeout, &mut signals).await {
                Between::Ready(back_off) => {
                    reporter.finish(Progress::TargetsReady);
                    for b in back_off {
                        reporter.note(crate::events::Note::BackOff(b.clone()));
                        series.back_off.push(BackOff {
                            after_trial: n - 1,
                            ..b
                        });
                    }
                }
                Between::NotReady(target) => {
                    let stop = Stopped::NotReadyAgain {
                        after_trial: n - 1,
                        target,
                        timeout_ms: config.timeout.as_millis() as u64,
                    };
                    reporter.fail(Progress::Stopped(stop.clone()));
                    series.stopped = Some(stop);
                    extra_exit = Exit::NotRecovered;
                    break;
                }
                Between::Signal(signal) => {
                    reporter.fail(Progress::InterruptedBetweenTrials);
                    series.stopped = Some(Stopped::Signal { after_trial: n - 1 });
                    extra_exit = Exit::from_signal(signal);
                    break;
                }
            }
            this = next_trial(config, &targets);
        }
        reporter.note(crate::events::Note::Trial { n, of: plan.count });
        match outage::run_resolved(&this, reporter).await {
            Ok(run) => {
                if let RunReport::Fleet(f) = &run {
                    first_selection = first_selection.or_else(|| f.selection.clone());
                }
                let trial = Trial::of(n, &run);
                let failed = trial.result.exit() != Exit::Recovered;
                trials.push(trial);
                last = Some(run);
                if failed {
                    if n < plan.count {
                        series.stopped = Some(Stopped::TrialFailed { trial: n });
                    }
                    break;
                }
            }
            Err(e) if last.is_none() => return Err(e),
            Err(e) => {
                series.stopped = Some(Stopped::NotStarted {
                    trial: n,
                    error: e.to_string(),
                });
                extra_exit = e.exit();
                break;
            }
        }
    }
    let Some(mut run) = last else {
        unreachable!("the first trial either ran or returned its error");
    };
    series.statistics = series::statistics(&trials);
    series.trials = trials;
    // A failed trial is the document's own verdict; a stop between trials amends it.
    let stopped = series
        .stopped
        .clone()
        .filter(|s| !matches!(s, Stopped::TrialFailed { .. }))
        .map(|s| (s, extra_exit));
    let interrupted = matches!(extra_exit, Exit::Interrupted | Exit::Terminated);
    match &mut run {
        RunReport::Single(r) => {
            r.interrupted |= interrupted;
            r.series = series;
            r.result.amends.stopped = stopped;
        }
        RunReport::Fleet(f) => {
            f.interrupted |= interrupted;
            f.selection = first_selection.or(f.selection.take());
            f.series = series;
            f.result.amends.stopped = stopped;
        }
    }
    Ok(run)
}

/// The next trial: the VMIs the previous one left, by name, confirmed already.
fn next_trial(config: &OutageConfig, previous: &[&Report]) -> OutageConfig {
    let names: Vec<String> = previous
        .iter()
        .map(|r| {
            let name = current_name(r);
            if config.chosen_by_flags {
                format!("{}/{name}", r.target.namespace)
            } else {
                name.to_string()
            }
        })
        .collect();
    OutageConfig {
        targets: crate::selection::Targets::named(
            names.clone(),
            config.targets.max_targets,
            config.targets.allow_full_outage,
        ),
        names,
        yes: true,
        ..config.clone()
    }
}

/// The VMI a target is now: a replica set's replacement has another name.
fn current_name(r: &Report) -> &str {
    r.after
        .as_ref()
        .and_then(|a| a.name.as_deref())
        .unwrap_or(&r.target.name)
}

enum Between {
    /// Every target Running and Ready; KubeVirt's start back-off seen on the way, if any.
    Ready(Vec<BackOff>),
    /// This one (`ns/name`) was not, within the timeout.
    NotReady(String),
    Signal(Signal),
}

/// `--interval`, then until every target is Running and Ready (at most `timeout`), each followed
/// by a watch on its VMI, and its VM watched meanwhile for KubeVirt's start back-off. Ctrl-C or
/// SIGTERM ends the wait at once.
async fn between(
    cluster: &Cluster,
    targets: &[&Report],
    interval: Duration,
    timeout: Duration,
    signals: &mut Signals,
) -> Between {
    tokio::select! {
        biased;
        signal = signals.recv() => return Between::Signal(signal),
        () = tokio::time::sleep(interval) => {}
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut back_off: Vec<BackOff> = Vec::new();
    for r in targets {
        let ns = &r.target.namespace;
        let name = current_name(r);
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource());
        // The VM's changes, for `status.startFailure` (none for a VMI without a VM).
        let mut vm_changes = match &r.vm {
            Some(vm) => {
                let vms: Api<DynamicObject> =
                    Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vm_resource());
                let by_name = watcher::Config::default().fields(&format!("metadata.name={vm}"));
                watcher(vms, by_name)
                    .default_backoff()
                    .applied_objects()
                    .boxed()
            }
            None => futures::stream::pending().boxed(),
        };
        loop {
            let ready = await_condition(vmis.clone(), name, |o: Option<&DynamicObject>| {
                o.is_some_and(|o| {
                    let v = kubevirt::Vmi::from_object(o);
                    v.is_running() && v.ready
                })
            });
            tokio::pin!(ready);
            let retry = loop {
                tokio::select! {
                    biased;
                    signal = signals.recv() => return Between::Signal(signal),
                    () = tokio::time::sleep_until(deadline) => {
                        return Between::NotReady(format!("{ns}/{name}"));
                    }
                    done = &mut ready => break done.is_err(),
                    Some(vm) = vm_changes.next() => {
                        let b = vm.ok().zip(r.vm.as_deref()).and_then(|(obj, vm)| start_back_off(ns, vm, &obj));
                        if let Some(b) = b.filter(|b| !back_off.contains(b)) {
                            back_off.push(b);
                        }
                    }
                }
            };
            if !retry {
                break;
            }
            // The watch failed (the API server restarting, a connection cut): again, shortly.
            tokio::select! {
                biased;
                signal = signals.recv() => return Between::Signal(signal),
                () = tokio::time::sleep(RETRY.min(deadline - tokio::time::Instant::now())) => {}
            }
        }
    }
    Between::Ready(back_off)
}

/// KubeVirt's record of VMIs that failed before Running (`status.startFailure`), while it still
/// holds the VM's next VMI back (read and judged as the planner does).
fn start_back_off(ns: &str, vm: &str, obj: &DynamicObject) -> Option<BackOff> {
    let failure = kubevirt::Vm::from_object(obj).start_failure?;
    if !crate::plan::backoff_active(&failure, kubevirt::Timestamp::now()) {
        return None;
    }
    Some(BackOff {
        after_trial: 0,
        namespace: ns.to_string(),
        vm: vm.to_string(),
        consecutive_fail_count: Some(failure.consecutive),
        retry_after: failure.retry_after.map(|t| t.to_string()),
    })
}

/// Reads `--baseline FILE` before anything runs: unreadable or not ours is a usage error.
pub fn load_baseline(file: &std::path::Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::usage(
            format!("cannot read the baseline {}: {e}", file.display()),
            "give --baseline an earlier run's `-o json` output or its report.json (--report DIR)",
        )
    })?;
    Baseline::parse(file.to_path_buf(), &text).map_err(|why| {
        Error::usage(
            format!("{} is not a baseline: {why}", file.display()),
            "give --baseline an earlier run's `-o json` output or its report.json (--report DIR)",
        )
    })
}

/// The run judged against the baseline: the comparison in its document, and exit 1 when a
/// figure regressed (unless the run already failed worse).
pub fn judge(run: &mut RunReport, baseline: &Baseline, max: MaxRegression) {
    let doc = match run {
        RunReport::Single(r) => serde_json::to_value(&**r),
        RunReport::Fleet(f) => serde_json::to_value(&**f),
    };
    let current = doc
        .ok()
        .and_then(|d| baseline::figures_of(&d))
        .unwrap_or_default();
    let comparison = baseline::compare(baseline, &current, max);
    let (amends, series) = match run {
        RunReport::Single(r) => (&mut r.result.amends, &mut r.series),
        RunReport::Fleet(f) => (&mut f.result.amends, &mut f.series),
    };
    amend(amends, &comparison);
    series.baseline = Some(comparison);
}

fn amend(amends: &mut Amends, c: &baseline::Comparison) {
    amends.regressions = c
        .regressions
        .iter()
        .map(|r| (r.subject.clone(), r.figure))
        .collect();
    amends.max_regression_percent = c.max_regression_percent;
}

/// A game day judged against the baseline (every step's targets).
pub fn judge_game_day(
    day: &mut crate::report::GameDayReport,
    baseline: &Baseline,
    max: MaxRegression,
) {
    let current = serde_json::to_value(&*day)
        .ok()
        .and_then(|d| baseline::figures_of(&d))
        .unwrap_or_default();
    let comparison = baseline::compare(baseline, &current, max);
    amend(&mut day.result.amends, &comparison);
    day.series.baseline = Some(comparison);
}

impl Trial {
    /// Trial `number` of the run, with its verdict.
    pub fn of(number: u32, run: &RunReport) -> Trial {
        let started_at = match run {
            RunReport::Single(r) => r.injected_at.clone(),
            RunReport::Fleet(f) => f.started_at.clone(),
        };
        Trial {
            trial: number,
            started_at,
            result: match run {
                RunReport::Single(r) => Judged {
                    verdict: RunVerdict::Target(r.result.verdict.clone()),
                    reports_not_written: r.result.reports_not_written,
                    amends: r.result.amends.clone(),
                },
                RunReport::Fleet(f) => Judged {
                    verdict: RunVerdict::Fleet(f.result.verdict.clone()),
                    reports_not_written: f.result.reports_not_written,
                    amends: f.result.amends.clone(),
                },
            },
            targets: run
                .targets()
                .into_iter()
                .map(|r| TrialTarget {
                    target: r.target.clone(),
                    replica_set: r.replica_set.clone(),
                    recovered: r.recovered,
                    timings: r.timings.clone(),
                    user_downtime_ms: r.user_downtime_ms(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Judged, Verdict};

    #[test]
    fn a_stop_between_trials_and_a_regression_decide_the_exit_with_the_verdict() {
        let subject = series::Subject {
            namespace: "a".into(),
            name: "db".into(),
            kind: series::SubjectKind::Vmi,
        };
        let recovered = Verdict::Recovered {
            by: crate::kubevirt::Recovery::Automatic,
            planned: crate::kubevirt::Recovery::Automatic,
            replaced_by: None,
            ready_after: None,
            probe_downtime: None,
            strategy_not_restored: false,
            crashed: false,
        };
        let mut j = Judged::new(recovered);
        assert_eq!(j.exit(), Exit::Recovered);
        j.amends.regressions = vec![(subject, baseline::Figure::Ready)];
        assert_eq!(j.exit(), Exit::NotRecovered, "a regression is exit 1");
        j.amends.stopped = Some((Stopped::Signal { after_trial: 1 }, Exit::Terminated));
        assert_eq!(j.exit(), Exit::Terminated, "a signal outranks a regression");
        let words = crate::render::verdicts::verdict(&j.verdict);
        let said = crate::render::trials::amended(words, &j.amends);
        assert!(
            said.starts_with("REGRESSION against the baseline"),
            "{said}"
        );
        assert!(
            said.contains("INTERRUPTED: interrupted after trial 1"),
            "{said}"
        );
    }
}
