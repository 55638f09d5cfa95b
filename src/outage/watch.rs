//! One watch per namespace feeds every target in it. It starts at the resourceVersion of the
//! list taken before the first DELETE, resumes where it was after a disconnect (with back-off,
//! for as long as the run lasts: the task is dropped when the run ends), re-lists after a 410
//! Gone, and treats a watch that stays silent past its own server-side timeout as a dead
//! connection.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use futures::StreamExt;
use kube::{
    api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams},
    ResourceExt,
};
use tokio::{sync::mpsc, task::JoinHandle};

use super::core::Input;
use crate::{cluster::bounded, error::describe, kubevirt::Vmi};

/// The server ends each watch after this long; the client then resumes from the last version.
const WATCH_SECONDS: u32 = 30;
/// No event and no end of stream for this long: the connection is dead.
const SILENCE: Duration = Duration::from_secs(WATCH_SECONDS as u64 + 10);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// 200 ms after the first failure of a streak, doubling up to `MAX_BACKOFF`, for as long as the
/// run lasts.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(200))
        .with_factor(2.0)
        .with_max_delay(MAX_BACKOFF)
        .without_max_times()
}

/// What the watch tells the shell.
#[derive(Debug)]
pub enum WatchMsg {
    Input(Input),
    /// The watch broke (first failure of a streak).
    Trouble {
        namespace: String,
        error: String,
    },
    /// It works again after trouble.
    Restored {
        namespace: String,
    },
}

/// The namespace's VMIs as one list: the objects and the version to watch from.
pub async fn list(
    api: &Api<DynamicObject>,
    timeout: Duration,
) -> Result<(Vec<DynamicObject>, String), kube::Error> {
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = bounded(timeout, api.list(&params)).await?;
        let version = page.metadata.resource_version.clone().unwrap_or_default();
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok((items, version)),
        }
    }
}

/// Spawns the watch of `namespace` from `version`.
pub fn spawn(
    api: Api<DynamicObject>,
    namespace: String,
    version: String,
    request_timeout: Duration,
    tx: mpsc::UnboundedSender<WatchMsg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut watch = NamespaceWatch {
            api,
            namespace,
            version,
            request_timeout,
            tx,
            failures: 0,
            backoff: None,
            replay_until: None,
        };
        watch.run().await;
    })
}

struct NamespaceWatch {
    api: Api<DynamicObject>,
    namespace: String,
    version: String,
    request_timeout: Duration,
    tx: mpsc::UnboundedSender<WatchMsg>,
    failures: u32,
    /// The pauses of the current streak of failures (a fresh one after the watch works again).
    backoff: Option<ExponentialBackoff>,
    /// After trouble, the resumed watch first replays what was missed: those events are not
    /// live, and their steps are timed from the server's timestamps.
    replay_until: Option<tokio::time::Instant>,
}

/// How long after a resume events count as replayed.
const REPLAY: Duration = Duration::from_secs(1);

enum End {
    /// Resume from the last version.
    Resume,
    /// The version is too old (410): re-list.
    Relist,
    Failed(String),
}

impl NamespaceWatch {
    async fn run(&mut self) {
        loop {
            let end = self.watch_once().await;
            let end = match end {
                End::Relist => match self.relist().await {
                    Ok(()) => End::Resume,
                    Err(e) => End::Failed(e),
                },
                other => other,
            };
            match end {
                End::Resume => {}
                End::Relist => unreachable!("handled above"),
                End::Failed(error) => {
                    self.failures += 1;
                    if self.failures == 1 {
                        let _ = self.tx.send(WatchMsg::Trouble {
                            namespace: self.namespace.clone(),
                            error,
                        });
                    }
                    let pause = self
                        .backoff
                        .get_or_insert_with(|| backoff().build())
                        .next()
                        .unwrap_or(MAX_BACKOFF);
                    tokio::time::sleep(pause).await;
                }
            }
            if self.tx.is_closed() {
                return;
            }
        }
    }

    fn healthy(&mut self) {
        self.backoff = None;
        if self.failures > 0 {
            self.failures = 0;
            let _ = self.tx.send(WatchMsg::Restored {
                namespace: self.namespace.clone(),
            });
        }
    }

    async fn watch_once(&mut self) -> End {
        let params = WatchParams::default().timeout(WATCH_SECONDS);
        let stream =
            match bounded(self.request_timeout, self.api.watch(&params, &self.version)).await {
                Ok(s) => s,
                Err(kube::Error::Api(s)) if s.code == 410 => return End::Relist,
                Err(e) => return End::Failed(describe(&e)),
            };
        if self.failures > 0 {
            self.replay_until = Some(tokio::time::Instant::now() + REPLAY);
        }
        let mut stream = stream.boxed();
        loop {
            let next = match tokio::time::timeout(SILENCE, stream.next()).await {
                Ok(next) => next,
                Err(_) => return End::Failed("the watch went silent (connection lost?)".into()),
            };
            let input = match next {
                Some(Ok(WatchEvent::Added(obj))) | Some(Ok(WatchEvent::Modified(obj))) => {
                    self.remember(&obj);
                    let replayed = self
                        .replay_until
                        .is_some_and(|u| tokio::time::Instant::now() < u);
                    Input::Seen {
                        vmi: Box::new(Vmi::from_object(&obj)),
                        live: !replayed,
                    }
                }
                Some(Ok(WatchEvent::Deleted(obj))) => {
                    self.remember(&obj);
                    Input::Gone {
                        namespace: self.namespace.clone(),
                        uid: obj.uid().unwrap_or_default(),
                    }
                }
                Some(Ok(WatchEvent::Bookmark(b))) => {
                    self.version = b.metadata.resource_version;
                    continue;
                }
                Some(Ok(WatchEvent::Error(e))) if e.code == 410 => return End::Relist,
                Some(Ok(WatchEvent::Error(e))) => {
                    return End::Failed(describe(&kube::Error::Api(e)))
                }
                Some(Err(e)) => return End::Failed(describe(&e)),
                // The server ended the watch (its timeout): resume.
                None => {
                    self.healthy();
                    return End::Resume;
                }
            };
            self.healthy();
            if self.tx.send(WatchMsg::Input(input)).is_err() {
                return End::Resume;
            }
        }
    }

    fn remember(&mut self, obj: &DynamicObject) {
        if let Some(rv) = obj.resource_version() {
            self.version = rv;
        }
    }

    /// After 410 Gone: the namespace as it is now, and a new version to watch from.
    async fn relist(&mut self) -> Result<(), String> {
        let (items, version) = list(&self.api, self.request_timeout)
            .await
            .map_err(|e| describe(&e))?;
        self.version = version;
        self.healthy();
        let vmis = items.iter().map(Vmi::from_object).collect();
        let _ = self.tx.send(WatchMsg::Input(Input::Relisted {
            namespace: self.namespace.clone(),
            vmis,
        }));
        Ok(())
    }
}
