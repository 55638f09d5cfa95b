//! Inject and recover: DELETE the VMI, then one watch reports every step while the tool waits
//! for KubeVirt, recovers the VMI itself when KubeVirt won't, and validates Running + Ready.

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use either::Either;
use kube::api::{Api, DeleteParams, DynamicObject};
use tokio::time::sleep_until;

use super::{
    actions::{self, Recreated},
    events::Phase,
    preflight::Target,
    tracker::{Observation, Step, Tracker},
    watch::VmiWatch,
    Reporter,
};
use crate::{
    cluster::Cluster,
    error::{api_code, Error, Result},
    kubevirt::{self, Recovery, RunStrategy, Vmi},
    render::format_duration,
    signals::Signals,
    snapshot,
};

/// How long an interrupted run waits for the VMI to come back before exiting.
const INTERRUPT_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recovered,
    /// Not Running and Ready in time: the resilience test failed.
    NotRecovered(String),
    /// Ctrl-C / SIGTERM; `running` says whether the VMI was back when the tool exited.
    Interrupted {
        running: bool,
    },
    /// The tool itself failed after the DELETE.
    Failed(String),
}

pub struct Recovered {
    pub tracker: Tracker,
    pub action: Option<Recovery>,
    pub outcome: Outcome,
    pub injected_at: SystemTime,
    pub notes: Vec<String>,
}

/// The decision the scenario makes on every observation and deadline: should the tool bring
/// the VMI back itself now? Only when the wait is over (or the user interrupted), the old VMI
/// is gone (same name: a new one can't exist before), nothing replaced it, the tool hasn't
/// acted yet, and KubeVirt isn't the one expected to do it.
pub fn should_act(expected: Recovery, wait_over: bool, acted: bool, tracker: &Tracker) -> bool {
    wait_over
        && !acted
        && tracker.old_gone()
        && tracker.current().is_none()
        && matches!(expected, Recovery::Start | Recovery::Recreate)
}

pub struct Settings<'a> {
    pub duration: Duration,
    pub timeout: Duration,
    pub grace_period: Option<u32>,
    pub snapshot_dir: &'a Path,
}

pub async fn inject_and_recover(
    cluster: &Cluster,
    target: &Target,
    settings: &Settings<'_>,
    reporter: &mut Reporter,
    signals: &mut Signals,
) -> Result<Recovered> {
    let old = &target.vmi;
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        &old.namespace,
        &kubevirt::vmi_resource(),
    );
    reporter.start(
        Phase::Inject,
        format!("deleting VMI {}/{}", old.namespace, old.name),
    );
    signals.arm();
    let params = DeleteParams {
        grace_period_seconds: settings.grace_period,
        preconditions: Some(kube::api::Preconditions {
            uid: Some(old.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let injected_at = SystemTime::now();
    let sent = Instant::now();
    let response = match api.delete(&old.name, &params).await {
        Ok(r) => r,
        Err(e) if matches!(e, kube::Error::Api(_)) => {
            // The API server refused: nothing changed.
            reporter.fail(format!("the API server refused the delete: {e}"));
            return Err(Error::api(
                format!("delete VMI {}/{}", old.namespace, old.name),
                e,
            ));
        }
        Err(e) => {
            reporter.fail(format!("the delete may or may not have happened: {e}"));
            return Err(Error::AfterInject {
                message: format!(
                    "lost the API server while deleting VMI {}/{}: {e}",
                    old.namespace, old.name
                ),
                hint: format!(
                    "check with `kubectl get vmi -n {} {}`; if it is gone: {}",
                    old.namespace,
                    old.name,
                    snapshot::restore_command(settings.snapshot_dir, &cluster.context)
                ),
            });
        }
    };
    let mut tracker = Tracker::new(old.uid.clone());
    let at = sent.elapsed();
    let (steps, resource_version) = match &response {
        Either::Left(obj) => (
            tracker.observe(Observation::Seen(Box::new(Vmi::from_object(obj))), at),
            obj.metadata.resource_version.clone().unwrap_or_default(),
        ),
        Either::Right(_) => (
            tracker.observe(
                Observation::Gone {
                    uid: Some(old.uid.clone()),
                },
                at,
            ),
            old.resource_version.clone(),
        ),
    };
    let grace = settings
        .grace_period
        .map(|g| format!(", grace period {g}s"))
        .unwrap_or_default();
    reporter.finish(format!(
        "deleted VMI {}/{} (uid {}) on {}{grace}",
        old.namespace,
        old.name,
        old.uid,
        old.node.as_deref().unwrap_or("an unknown node")
    ));
    let mut run = Run {
        cluster,
        target,
        settings,
        tracker,
        watch: VmiWatch::new(api, &old.name, &resource_version),
        sent,
        action: None,
        notes: Vec::new(),
        running_reported: false,
        first_steps: steps.into_iter().map(|step| (at, step)).collect(),
    };
    let outcome = run.follow(reporter, signals).await;
    Ok(Recovered {
        tracker: run.tracker,
        action: run.action,
        outcome,
        injected_at,
        notes: run.notes,
    })
}

struct Run<'a> {
    cluster: &'a Cluster,
    target: &'a Target,
    settings: &'a Settings<'a>,
    tracker: Tracker,
    watch: VmiWatch,
    sent: Instant,
    action: Option<Recovery>,
    notes: Vec<String>,
    running_reported: bool,
    /// What the DELETE's own response showed, reported once the Recovery phase starts.
    first_steps: Vec<(Duration, Step)>,
}

impl Run<'_> {
    fn waiting_message(&self) -> String {
        let name = &self.target.vmi.name;
        let wait = format_duration(self.settings.duration);
        match (self.target.expected, &self.target.vm) {
            (Recovery::Automatic, _) => format!("waiting for KubeVirt to re-create {name}"),
            (Recovery::Start, Some(vm)) => format!(
                "runStrategy {}: KubeVirt won't restart it; the tool starts VM {} after {wait}",
                vm.run_strategy.as_str(),
                vm.name
            ),
            _ => format!("standalone VMI: nothing re-creates it; the tool does after {wait}"),
        }
    }

    async fn follow(&mut self, reporter: &mut Reporter, signals: &mut Signals) -> Outcome {
        reporter.start(Phase::Recovery, self.waiting_message());
        for (at, step) in std::mem::take(&mut self.first_steps) {
            reporter.step(at, step.describe());
        }
        let wait_until = self.sent + self.settings.duration;
        // Set once a replacement exists or the tool acted: then it has `timeout` to be Ready.
        let mut settle_until: Option<Instant> = None;
        let mut wait_over = false;
        loop {
            if self.tracker.recovered() {
                self.report_running(reporter);
                reporter.finish(format!(
                    "Running and Ready {} after the delete",
                    format_duration(self.sent.elapsed())
                ));
                return Outcome::Recovered;
            }
            if should_act(
                self.target.expected,
                wait_over,
                self.action.is_some(),
                &self.tracker,
            ) {
                if let Err(message) = self.act(reporter).await {
                    reporter.fail(message.clone());
                    return Outcome::Failed(message);
                }
                settle_until = Some(Instant::now() + self.settings.timeout);
            }
            let deadline = settle_until.unwrap_or(wait_until);
            tokio::select! {
                biased;
                _ = signals.recv() => return self.interrupted(reporter, signals).await,
                observation = self.watch.next() => match observation {
                    Ok(o) => {
                        self.observe(o, reporter);
                        if self.tracker.current().is_some() && settle_until.is_none() {
                            settle_until = Some(Instant::now() + self.settings.timeout);
                        }
                    }
                    Err(e) => {
                        let message = format!("lost the watch on the VMI: {e}");
                        reporter.fail(message.clone());
                        return Outcome::Failed(message);
                    }
                },
                _ = sleep_until(deadline.into()) => {
                    if settle_until.is_some() || wait_over {
                        let message = self.timeout_message();
                        reporter.fail(message.clone());
                        return Outcome::NotRecovered(message);
                    }
                    wait_over = true;
                    let waited = format_duration(self.settings.duration);
                    if self.target.expected == Recovery::Automatic {
                        self.note(reporter, format!("KubeVirt has not re-created the VMI after {waited}"));
                        settle_until = Some(Instant::now() + self.settings.timeout);
                    } else if !self.tracker.old_gone() {
                        self.note(reporter, format!(
                            "the old VMI is still terminating after {waited} (finalizers: {}); the tool recovers it once it is gone",
                            self.target.vmi.finalizers.join(", ")
                        ));
                        settle_until = Some(Instant::now() + self.settings.timeout);
                    }
                }
            }
        }
    }

    fn observe(&mut self, observation: Observation, reporter: &mut Reporter) {
        let at = self.sent.elapsed();
        for step in self.tracker.observe(observation, at) {
            reporter.step(at, step.describe());
        }
        if self.tracker.running() {
            self.report_running(reporter);
        }
    }

    /// Ends the Recovery phase and starts Validate the first time a replacement runs.
    fn report_running(&mut self, reporter: &mut Reporter) {
        if self.running_reported {
            return;
        }
        self.running_reported = true;
        let node = self
            .tracker
            .current()
            .and_then(|c| c.node.clone())
            .unwrap_or_default();
        let how = self.action.unwrap_or(Recovery::Automatic).as_str();
        reporter.finish(format!(
            "new VMI Running on {node} {} after the delete ({how})",
            format_duration(self.sent.elapsed())
        ));
        reporter.start(Phase::Validate, "waiting for the Ready condition");
    }

    fn timeout_message(&self) -> String {
        let limits = format!(
            "--duration {} + --timeout {}",
            format_duration(self.settings.duration),
            format_duration(self.settings.timeout)
        );
        match self.tracker.current() {
            Some(c) if c.is_running() => {
                format!("the new VMI is Running but not Ready within {limits}")
            }
            Some(c) => format!(
                "the new VMI is still {} (not Running) within {limits}",
                c.phase
            ),
            None if !self.tracker.old_gone() => {
                format!("the old VMI is still terminating after {limits}: a finalizer blocks it")
            }
            None => format!("no new VMI appeared within {limits}"),
        }
    }

    fn note(&mut self, reporter: &mut Reporter, message: String) {
        reporter.note(message.clone());
        self.notes.push(message);
    }

    /// The tool's own recovery: start the VM, or re-create the standalone VMI.
    async fn act(&mut self, reporter: &mut Reporter) -> std::result::Result<(), String> {
        let vmi = &self.target.vmi;
        let client = &self.cluster.client;
        let expected = self.target.expected;
        self.action = Some(expected);
        match (expected, &self.target.vm) {
            (Recovery::Start, Some(vm)) => {
                reporter.progress(format!("starting VM {}", vm.name));
                actions::start_vm(client, &vmi.namespace, &vm.name)
                    .await
                    .map_err(|e| {
                        format!("failed to start VM {}/{}: {e}", vmi.namespace, vm.name)
                    })?;
                reporter.step(self.sent.elapsed(), format!("tool: started VM {}", vm.name));
            }
            _ => {
                reporter.progress(format!("re-creating VMI {} from the snapshot", vmi.name));
                match actions::recreate_vmi(client, &self.target.object).await {
                    Ok(Recreated::Created { uid }) => reporter.step(
                        self.sent.elapsed(),
                        format!("tool: re-created VMI (uid {uid})"),
                    ),
                    Ok(Recreated::AlreadyExists) => {
                        self.action = None;
                        self.note(
                            reporter,
                            "someone else re-created the VMI first: following that one".into(),
                        );
                    }
                    Err(e) => {
                        return Err(format!(
                            "failed to re-create VMI {}/{}: {e}",
                            vmi.namespace, vmi.name
                        ))
                    }
                }
            }
        }
        reporter.progress(format!("waiting for {} to run", vmi.name));
        Ok(())
    }

    /// Ctrl-C after the DELETE: recover as the tool would have, wait briefly, then exit 130.
    /// A second Ctrl-C exits at once with the restore command.
    async fn interrupted(&mut self, reporter: &mut Reporter, signals: &mut Signals) -> Outcome {
        let restore = snapshot::restore_command(self.settings.snapshot_dir, &self.cluster.context);
        self.note(
            reporter,
            "interrupted: bringing the VMI back before exiting (Ctrl-C again to exit at once)"
                .into(),
        );
        let until = Instant::now() + INTERRUPT_WAIT.min(self.settings.timeout);
        loop {
            if self.tracker.running() {
                self.report_running(reporter);
                return Outcome::Interrupted { running: true };
            }
            if should_act(
                self.target.expected,
                true,
                self.action.is_some(),
                &self.tracker,
            ) {
                if let Err(message) = self.act(reporter).await {
                    self.note(reporter, message);
                    return Outcome::Interrupted { running: false };
                }
            }
            tokio::select! {
                biased;
                _ = signals.recv() => {
                    reporter.flush();
                    eprintln!("interrupted twice: exiting now. If the VMI does not come back:\n  {restore}");
                    std::process::exit(130);
                }
                observation = self.watch.next() => match observation {
                    Ok(o) => self.observe(o, reporter),
                    Err(_) => return Outcome::Interrupted { running: false },
                },
                _ = sleep_until(until.into()) => return Outcome::Interrupted { running: false },
            }
        }
    }
}

/// After `start` on a Halted VM (which switches it to Always), put Halted back.
pub async fn restore_strategy(
    cluster: &Cluster,
    target: &Target,
    action: Option<Recovery>,
) -> Option<std::result::Result<String, String>> {
    let vm = target.vm.as_ref()?;
    if action != Some(Recovery::Start) || vm.run_strategy != RunStrategy::Halted {
        return None;
    }
    let ns = &target.vmi.namespace;
    Some(
        match actions::set_run_strategy(&cluster.client, ns, &vm.name, "Halted").await {
            Ok(()) => Ok(format!("runStrategy of VM {} restored to Halted (start had set Always)", vm.name)),
            Err(e) => Err(format!(
                "failed to restore runStrategy Halted on VM {ns}/{} ({}): run `kubectl patch vm {} -n {ns} --type merge -p '{{\"spec\":{{\"runStrategy\":\"Halted\"}}}}'`",
                vm.name,
                if api_code(&e) == Some(403) { "forbidden".to_string() } else { e.to_string() },
                vm.name
            )),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmi(uid: &str) -> Vmi {
        Vmi {
            uid: uid.into(),
            phase: "Pending".into(),
            ..Vmi::default()
        }
    }

    #[test]
    fn the_tool_acts_only_when_the_wait_is_over_and_nothing_came_back() {
        let mut t = Tracker::new("old");
        // Old VMI still there: never.
        assert!(!should_act(Recovery::Start, true, false, &t));
        t.observe(
            Observation::Gone {
                uid: Some("old".into()),
            },
            Duration::ZERO,
        );
        assert!(
            !should_act(Recovery::Start, false, false, &t),
            "wait not over"
        );
        assert!(should_act(Recovery::Start, true, false, &t));
        assert!(should_act(Recovery::Recreate, true, false, &t));
        assert!(
            !should_act(Recovery::Automatic, true, false, &t),
            "KubeVirt's job"
        );
        assert!(
            !should_act(Recovery::Start, true, true, &t),
            "already acted"
        );
        t.observe(Observation::Seen(Box::new(vmi("new"))), Duration::ZERO);
        assert!(
            !should_act(Recovery::Start, true, false, &t),
            "a replacement exists"
        );
    }
}
