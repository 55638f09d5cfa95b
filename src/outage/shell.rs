//! The small async shell around the outage core: it carries out the core's effects (each
//! request bounded by the request timeout, all of them concurrent), feeds it the watch, the
//! effects' results, signals and deadlines, and never decides anything itself.

use std::{collections::HashMap, future::Future, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use kube::api::DynamicObject;
use tokio::{
    sync::mpsc,
    task::{JoinHandle, JoinSet},
    time::{sleep_until, Instant},
};

use super::{
    actions::{self, Recreated},
    core::{ActionResult, Core, DeleteResult, Effect, Input, TargetId},
    probing::Probing,
    watch::WatchMsg,
};
use crate::{
    cluster::Cluster,
    cluster_events::{self, EventObject},
    error::describe,
    events::{Event, Note, Reporter, TargetEvent},
    signals::Signals,
};

/// The longest pause between two tries of the tool's own recovery.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// Once the run ends (a second Ctrl-C included), how long requests already sent may take to
/// finish: a `start` just sent is completed, not abandoned halfway.
pub const FINISH_REQUESTS: Duration = Duration::from_secs(10);

/// A request the shell carries out for the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Delete(TargetId),
    Start(TargetId),
    Recreate(TargetId),
    /// A runStrategy switch (`restore`: putting it back).
    Switch {
        target: TargetId,
        restore: bool,
    },
}

impl Request {
    /// The answer of a request whose task died (a panic): a failure the core acts on, never
    /// a silent wait.
    fn failed(self, why: String) -> Input {
        match self {
            // It may or may not have reached the API server: the watch tells.
            Request::Delete(target) => Input::Deleted {
                target,
                result: DeleteResult::Unknown(why),
            },
            Request::Start(target) | Request::Recreate(target) => Input::ActionDone {
                target,
                result: ActionResult::Failed(why),
            },
            Request::Switch {
                target,
                restore: false,
            } => Input::KeptDown {
                target,
                result: Err(why),
            },
            Request::Switch {
                target,
                restore: true,
            } => Input::StrategyRestored {
                target,
                result: Err(why),
            },
        }
    }
}

/// The requests out, each in its own task; every one ends as an input for the core.
#[derive(Default)]
pub struct InFlight {
    tasks: JoinSet<Input>,
    requests: HashMap<tokio::task::Id, Request>,
}

impl InFlight {
    pub fn spawn(&mut self, request: Request, task: impl Future<Output = Input> + Send + 'static) {
        let handle = self.tasks.spawn(task);
        self.requests.insert(handle.id(), request);
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The next answer (None when nothing is out). A task that panicked or was cancelled
    /// answers with the failure of its request.
    pub async fn next(&mut self) -> Option<Input> {
        loop {
            match self.tasks.join_next_with_id().await? {
                Ok((id, input)) => {
                    self.requests.remove(&id);
                    return Some(input);
                }
                Err(e) => {
                    let request = self.requests.remove(&e.id());
                    let why = if e.is_panic() {
                        let payload = e.into_panic();
                        let text = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "no message".into());
                        format!("the request failed inside the tool (a bug: {text})")
                    } else {
                        "the request was cancelled".to_string()
                    };
                    // Every task has its request: one without would be skipped, never waited on.
                    if let Some(request) = request {
                        return Some(request.failed(why));
                    }
                }
            }
        }
    }
}

/// Everything the shell needs once the targets are armed.
pub struct Armed<'a> {
    pub cluster: &'a Cluster,
    /// Each target's saved VMI manifest (what a re-create sends).
    pub saved: Vec<DynamicObject>,
    /// What each target's Kubernetes Events are about (its VM, or the standalone VMI).
    pub event_objects: Vec<EventObject>,
    pub watch: mpsc::UnboundedReceiver<WatchMsg>,
    pub watch_tasks: Vec<JoinHandle<()>>,
    /// How long the tool's own recovery keeps trying when the API server doesn't answer
    /// (the run's --timeout: the VM must not stay down because a connection broke).
    pub retry_for: Duration,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        for task in &self.watch_tasks {
            task.abort();
        }
    }
}

/// Runs the core to its end: every target has an outcome, or a second signal stopped it.
pub async fn drive(
    core: &mut Core,
    armed: &mut Armed<'_>,
    probing: &mut Option<Probing>,
    reporter: &mut Reporter,
    signals: &mut Signals,
) {
    let mut inflight = InFlight::default();
    // Kubernetes Events: best-effort, off the outage's path; their warnings are said once.
    let mut events: JoinSet<Option<Note>> = JoinSet::new();
    let mut warned = false;
    let mut effects = core.handle(Input::Begin, Instant::now());
    loop {
        for effect in effects.drain(..) {
            if let Effect::Emit(Event::Target { target, at, what }) = &effect {
                record_event(core, armed, *target, *at, what, &mut events);
            }
            perform(effect, core, armed, reporter, &mut inflight);
        }
        while let Some(done) = events.try_join_next() {
            if let (Ok(Some(warning)), false) = (done, warned) {
                warned = true;
                reporter.note(warning);
            }
        }
        if let Some(p) = probing.as_ref() {
            p.follow_addresses(core);
            // What the probes say becomes input like anything else.
            if let Some(input) = probe_input(core, p, Instant::now()) {
                effects = core.handle(input, Instant::now());
                continue;
            }
        }
        if core.done() {
            break;
        }
        let now = Instant::now();
        let deadline = match (
            core.next_deadline(),
            probing.as_ref().and_then(|p| p.next_check(now)),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let input = tokio::select! {
            biased;
            signal = signals.recv() => {
                reporter.note(if core.interrupted().is_none() {
                    Note::Interrupted { targets: core.runs().len() }
                } else {
                    Note::InterruptedAgain
                });
                Input::Signal(signal)
            }
            Some(input) = inflight.next(), if !inflight.is_empty() => input,
            sample = next_sample(probing) => {
                if let Some(p) = probing.as_mut() {
                    if let Some(change) = p.record(sample, Instant::now()) {
                        let vmi = change.target.and_then(|t| core.runs().get(t)).map(|r| {
                            format!("{}/{}", r.spec.namespace, r.spec.name)
                        });
                        reporter.note(Note::Probe { change, vmi });
                    }
                }
                Input::Tick
            }
            Some(msg) = armed.watch.recv() => match msg {
                WatchMsg::Input(input) => {
                    if let Some(p) = probing.as_mut() {
                        match &input {
                            Input::Seen { vmi, .. } => {
                                p.other_changed(&vmi.uid, vmi.is_running() && vmi.ready)
                            }
                            Input::Gone { uid, .. } => p.other_changed(uid, false),
                            _ => {}
                        }
                    }
                    input
                }
                WatchMsg::Trouble { namespace, error } => {
                    reporter.note(Note::WatchBroke { namespace, error });
                    continue;
                }
                WatchMsg::Restored { namespace } => {
                    reporter.note(Note::WatchBack { namespace });
                    continue;
                }
            },
            _ = sleep_or_wait(deadline) => Input::Tick,
        };
        effects = core.handle(input, Instant::now());
    }
    finish_requests(core, armed, reporter, &mut inflight, &mut events).await;
    // Let the last Events land (each is bounded by its own timeout).
    let last = async {
        while let Some(done) = events.join_next().await {
            if let (Ok(Some(warning)), false) = (done, warned) {
                warned = true;
                reporter.note(warning);
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(6), last).await;
}

/// Requests already sent when the run ended (a second Ctrl-C, or every outcome known) are
/// finished, for at most `FINISH_REQUESTS`, and their answers recorded: a `start` just sent
/// is never abandoned halfway, and a runStrategy a late answer left at Manual is put back.
async fn finish_requests(
    core: &mut Core,
    armed: &Armed<'_>,
    reporter: &mut Reporter,
    inflight: &mut InFlight,
    events: &mut JoinSet<Option<Note>>,
) {
    if inflight.is_empty() {
        return;
    }
    let until = Instant::now() + FINISH_REQUESTS;
    if core.interrupted().is_some() {
        reporter.note(Note::FinishingRequests {
            count: inflight.len(),
            within: FINISH_REQUESTS,
        });
    }
    while !inflight.is_empty() {
        let Ok(Some(input)) = tokio::time::timeout_at(until, inflight.next()).await else {
            reporter.note(Note::GaveUpOnRequests {
                count: inflight.len(),
                after: FINISH_REQUESTS,
            });
            return;
        };
        for effect in core.handle(input, Instant::now()) {
            if let Effect::Emit(Event::Target { target, at, what }) = &effect {
                record_event(core, armed, *target, *at, what, events);
            }
            perform(effect, core, armed, reporter, inflight);
        }
    }
}

/// The Kubernetes Event a target event is worth, recorded in the background.
fn record_event(
    core: &Core,
    armed: &Armed<'_>,
    target: TargetId,
    at: Duration,
    what: &TargetEvent,
    events: &mut JoinSet<Option<Note>>,
) {
    let run = &core.runs()[target];
    let Some((kind, message)) = cluster_events::describe(
        &run.spec.name,
        run.spec.effective_recovery(),
        at,
        what,
        &run.tracker.timings,
    ) else {
        return;
    };
    let client = armed.cluster.client.clone();
    // The OutageStarted goes on the deleted object; what follows, on its replacement if it
    // has one (see `EventObject::after_replacement`).
    let replacement = match what {
        TargetEvent::Deleted { .. } => None,
        TargetEvent::Acted { uid: Some(uid), .. } => Some((run.spec.name.as_str(), uid.as_str())),
        _ => run
            .tracker
            .current()
            .map(|v| (v.name.as_str(), v.uid.as_str())),
    };
    let object = armed.event_objects[target].after_replacement(replacement);
    events.spawn(async move { cluster_events::record(&client, &object, kind, message).await });
}

async fn next_sample(probing: &mut Option<Probing>) -> crate::probe::ProbeSample {
    match probing.as_mut() {
        Some(p) => p.next().await,
        None => std::future::pending().await,
    }
}

/// Users served again (a target's probes pass after its Ready), or an abort condition.
fn probe_input(core: &Core, probing: &Probing, now: Instant) -> Option<Input> {
    if core.aborted().is_none() && core.interrupted().is_none() && !core.done() {
        if let Some(reason) = probing.abort(now) {
            return Some(Input::Abort { reason });
        }
    }
    core.runs().iter().enumerate().find_map(|(t, run)| {
        let waiting =
            run.outcome().is_none() && run.spec.probed && !run.served && run.tracker.recovered();
        let ready = run.deleted_at? + Duration::from_millis(run.tracker.timings.ready_ms?);
        (waiting && probing.served(t, ready)).then_some(Input::Served { target: t })
    })
}

async fn sleep_or_wait(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn perform(
    effect: Effect,
    core: &Core,
    armed: &Armed<'_>,
    reporter: &mut Reporter,
    inflight: &mut InFlight,
) {
    let client = armed.cluster.client.clone();
    let timeout = armed.cluster.request_timeout;
    let retry_for = armed.retry_for;
    let spec = |t: TargetId| core.runs()[t].spec.clone();
    match effect {
        Effect::Emit(event) => reporter.emit(&event),
        Effect::Delete { target } => {
            let s = spec(target);
            inflight.spawn(Request::Delete(target), async move {
                let result = match &s.launcher {
                    Some(pod) => {
                        bounded(
                            timeout,
                            actions::crash_launcher(&client, &s.namespace, pod, false),
                        )
                        .await
                    }
                    None => {
                        bounded(
                            timeout,
                            actions::delete_vmi(&client, &s.namespace, &s.name, &s.uid, false),
                        )
                        .await
                    }
                };
                let result = match result {
                    // A launcher pod already gone: the VMI can't be brought down this way.
                    Err(Failure::Api(404, _)) if s.launcher.is_some() => {
                        DeleteResult::Refused("its virt-launcher pod was already gone".into())
                    }
                    Ok(()) => DeleteResult::Accepted,
                    // Gone already: it is down all the same.
                    Err(Failure::Api(404, _)) => DeleteResult::Accepted,
                    Err(Failure::Api(409, _)) => DeleteResult::Refused(
                        "the VMI was replaced before the delete reached it (its UID changed)"
                            .into(),
                    ),
                    Err(Failure::Api(_, text)) => DeleteResult::Refused(text),
                    Err(Failure::NoAnswer(text)) => DeleteResult::Unknown(text),
                };
                Input::Deleted { target, result }
            });
        }
        Effect::Start { target } => {
            let s = spec(target);
            inflight.spawn(Request::Start(target), async move {
                let vm = s.vm.clone().unwrap_or_default();
                let result = retried(timeout, retry_for, || {
                    actions::start_vm(&client, &s.namespace, &vm, false)
                })
                .await;
                let result = match result {
                    Ok(()) => ActionResult::Started,
                    Err(f) => ActionResult::Failed(format!(
                        "failed to start VM {}/{vm}: {}",
                        s.namespace,
                        f.text()
                    )),
                };
                Input::ActionDone { target, result }
            });
        }
        Effect::Recreate { target } => {
            let saved = armed.saved[target].clone();
            let s = spec(target);
            inflight.spawn(Request::Recreate(target), async move {
                // A crashed VMI stays Failed: the tool deletes it first, waiting within one
                // request's bound for its name to be free.
                let crashed = s.launcher.is_some();
                let free_within = if timeout.is_zero() {
                    Duration::from_secs(10)
                } else {
                    (timeout / 2).min(Duration::from_secs(10))
                };
                let result = retried(timeout, retry_for, || {
                    let (client, saved) = (&client, &saved);
                    async move {
                        if crashed {
                            actions::recreate_after_crash(client, saved, free_within).await
                        } else {
                            actions::recreate_vmi(client, saved).await
                        }
                    }
                })
                .await;
                let result = match result {
                    Ok(Recreated::Created { uid }) => ActionResult::Created { uid },
                    Ok(Recreated::AlreadyExists) => ActionResult::AlreadyExists,
                    Err(f) => ActionResult::Failed(format!(
                        "failed to re-create VMI {}/{}: {}",
                        s.namespace,
                        s.name,
                        f.text()
                    )),
                };
                Input::ActionDone { target, result }
            });
        }
        Effect::SetStrategy {
            target,
            vm,
            from,
            to,
            restore,
        } => {
            let s = spec(target);
            inflight.spawn(Request::Switch { target, restore }, async move {
                let attempt =
                    || actions::switch_run_strategy(&client, &s.namespace, &vm, &from, &to);
                let result = retried(timeout, retry_for, attempt).await.map_err(|f| {
                    format!(
                        "failed to switch VM {}/{vm} from runStrategy {from} to {to}: {}",
                        s.namespace,
                        f.text()
                    )
                });
                if restore {
                    Input::StrategyRestored { target, result }
                } else {
                    Input::KeptDown { target, result }
                }
            });
        }
    }
}

/// How a bounded request failed.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with this status.
    Api(u16, String),
    /// No answer: timed out, or the connection failed.
    NoAnswer(String),
}

impl Failure {
    pub fn text(&self) -> &str {
        match self {
            Failure::Api(_, t) | Failure::NoAnswer(t) => t,
        }
    }
}

/// One request, bounded by the request timeout.
pub async fn bounded<T>(
    timeout: Duration,
    request: impl Future<Output = kube::Result<T>>,
) -> Result<T, Failure> {
    match crate::cluster::within(timeout, request).await {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(match &e {
            kube::Error::Api(s) => Failure::Api(s.code, describe(&e)),
            _ => Failure::NoAnswer(describe(&e)),
        }),
        None => Err(Failure::NoAnswer(format!(
            "no answer within {} (--request-timeout)",
            crate::render::format_duration(timeout)
        ))),
    }
}

/// A request of the tool's own recovery: retried (with back-off) when there was no answer,
/// since the VM must not stay down because one connection broke.
async fn retried<T, F, Fut>(
    timeout: Duration,
    retry_for: Duration,
    mut request: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let now = Instant::now();
    let give_up = now
        .checked_add(retry_for.min(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now);
    (|| bounded(timeout, request()))
        .retry(retry_pauses())
        .sleep(tokio::time::sleep)
        // No answer, or one that says "try again": the API server restarting answers 503.
        .when(|f| matches!(f, Failure::NoAnswer(_) | Failure::Api(429 | 503 | 504, _)))
        // Never sleep past the time the run may take.
        .adjust(move |_, pause| pause.filter(|p| Instant::now() + *p < give_up))
        .await
}

/// 250 ms, doubling, at most `MAX_RETRY_PAUSE`, for as long as `retried` allows.
fn retry_pauses() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_factor(2.0)
        .with_max_delay(MAX_RETRY_PAUSE)
        .without_max_times()
}

/// The shell's own events before the core runs (used by the outage command).
pub fn targets_event(names: Vec<String>) -> Event {
    Event::Targets { names }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status answer the API server gives while it restarts.
    fn unavailable() -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure("restarting", "ServiceUnavailable").with_code(503),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn recovery_requests_are_retried_with_doubling_pauses_until_they_answer() {
        let start = Instant::now();
        let mut calls = Vec::new();
        let result = retried(Duration::from_secs(1), Duration::from_secs(60), || {
            calls.push(start.elapsed());
            let n = calls.len();
            async move {
                if n < 4 {
                    Err(unavailable())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert!(matches!(result, Ok(4)), "{result:?}");
        let ms: Vec<u128> = calls.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 250, 750, 1750], "250 ms, doubling");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_run_s_limit_and_never_on_a_refusal() {
        let start = Instant::now();
        let result: Result<(), Failure> =
            retried(Duration::from_secs(1), Duration::from_secs(5), || async {
                Err(unavailable())
            })
            .await;
        assert!(matches!(result, Err(Failure::Api(503, _))), "{result:?}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(start.elapsed() >= Duration::from_millis(250 + 500 + 1000 + 2000));
        let mut calls = 0;
        let refused: Result<(), Failure> =
            retried(Duration::from_secs(1), Duration::from_secs(60), || {
                calls += 1;
                async {
                    Err(kube::Error::Api(Box::new(
                        kube::core::Status::failure("no", "Forbidden").with_code(403),
                    )))
                }
            })
            .await;
        assert!(matches!(refused, Err(Failure::Api(403, _))));
        assert_eq!(calls, 1, "a refusal is an answer: not retried");
    }

    fn boom() -> Input {
        panic!("instant overflow")
    }

    #[tokio::test]
    async fn a_request_whose_task_panics_answers_with_its_failure() {
        let mut inflight = InFlight::default();
        let requests = [
            Request::Delete(0),
            Request::Start(1),
            Request::Recreate(2),
            Request::Switch {
                target: 3,
                restore: false,
            },
            Request::Switch {
                target: 4,
                restore: true,
            },
        ];
        for r in requests {
            inflight.spawn(r, async move { boom() });
        }
        let mut answers = Vec::new();
        while let Some(input) = inflight.next().await {
            answers.push(input);
        }
        assert_eq!(answers.len(), 5);
        let why = |t: &str| t.contains("a bug: instant overflow");
        for a in &answers {
            let ok = match a {
                Input::Deleted {
                    target: 0,
                    result: DeleteResult::Unknown(t),
                } => why(t),
                Input::ActionDone {
                    target: 1 | 2,
                    result: ActionResult::Failed(t),
                } => why(t),
                Input::KeptDown {
                    target: 3,
                    result: Err(t),
                } => why(t),
                Input::StrategyRestored {
                    target: 4,
                    result: Err(t),
                } => why(t),
                _ => false,
            };
            assert!(ok, "{a:?}");
        }
        assert!(inflight.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_request_is_waited_for() {
        let mut inflight = InFlight::default();
        inflight.spawn(Request::Start(0), async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Input::ActionDone {
                target: 0,
                result: ActionResult::Started,
            }
        });
        let got = tokio::time::timeout(FINISH_REQUESTS, inflight.next()).await;
        assert!(matches!(
            got,
            Ok(Some(Input::ActionDone {
                result: ActionResult::Started,
                ..
            }))
        ));
    }
}
