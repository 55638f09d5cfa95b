//! One watch on one VMI name, started at a known resourceVersion and resumed on disconnect
//! (re-read on 410 Expired), turned into tracker observations.

use std::time::Duration;

use futures::{stream::BoxStream, StreamExt};
use kube::{
    api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams},
    ResourceExt,
};

use super::tracker::Observation;
use crate::kubevirt::Vmi;

/// Consecutive failures to (re)open the watch before giving up.
const MAX_RECONNECTS: u32 = 8;

pub struct VmiWatch {
    api: Api<DynamicObject>,
    name: String,
    resource_version: String,
    stream: Option<BoxStream<'static, kube::Result<WatchEvent<DynamicObject>>>>,
    failures: u32,
    /// Observations produced by a re-read, handed out one at a time.
    pending: Vec<Observation>,
}

impl VmiWatch {
    pub fn new(api: Api<DynamicObject>, name: &str, resource_version: &str) -> Self {
        VmiWatch {
            api,
            name: name.to_string(),
            resource_version: resource_version.to_string(),
            stream: None,
            failures: 0,
            pending: Vec::new(),
        }
    }

    fn params(&self) -> WatchParams {
        WatchParams::default()
            .fields(&format!("metadata.name={}", self.name))
            .timeout(290)
    }

    /// The next observation. Errors only when the API server stays unreachable or refuses.
    pub async fn next(&mut self) -> kube::Result<Observation> {
        loop {
            if let Some(obs) = self.pending.pop() {
                return Ok(obs);
            }
            let stream = match self.stream.as_mut() {
                Some(s) => s,
                None => {
                    match self.api.watch(&self.params(), &self.resource_version).await {
                        Ok(s) => self.stream = Some(s.boxed()),
                        Err(e) => self.backoff(e).await?,
                    }
                    continue;
                }
            };
            match stream.next().await {
                Some(Ok(WatchEvent::Added(obj))) | Some(Ok(WatchEvent::Modified(obj))) => {
                    self.failures = 0;
                    self.remember(&obj);
                    return Ok(Observation::Seen(Box::new(Vmi::from_object(&obj))));
                }
                Some(Ok(WatchEvent::Deleted(obj))) => {
                    self.failures = 0;
                    self.remember(&obj);
                    return Ok(Observation::Gone { uid: obj.uid() });
                }
                Some(Ok(WatchEvent::Bookmark(b))) => {
                    self.resource_version = b.metadata.resource_version;
                }
                Some(Ok(WatchEvent::Error(e))) if e.code == 410 => {
                    self.stream = None;
                    self.reread().await?;
                }
                Some(Ok(WatchEvent::Error(e))) => {
                    self.stream = None;
                    self.backoff(kube::Error::Api(e)).await?;
                }
                Some(Err(e)) => {
                    self.stream = None;
                    self.backoff(e).await?;
                }
                // The server ended the watch (its timeout): resume where we were.
                None => self.stream = None,
            }
        }
    }

    fn remember(&mut self, obj: &DynamicObject) {
        if let Some(rv) = obj.resource_version() {
            self.resource_version = rv;
        }
    }

    /// After 410 Expired: read the name's current state and resume from the list's version.
    async fn reread(&mut self) -> kube::Result<()> {
        let params = ListParams::default().fields(&format!("metadata.name={}", self.name));
        let list = self.api.list(&params).await?;
        if let Some(rv) = list.metadata.resource_version.clone() {
            self.resource_version = rv;
        }
        match list.items.first() {
            Some(obj) => self
                .pending
                .push(Observation::Seen(Box::new(Vmi::from_object(obj)))),
            None => self.pending.push(Observation::Gone { uid: None }),
        }
        Ok(())
    }

    async fn backoff(&mut self, err: kube::Error) -> kube::Result<()> {
        // A refusal (403, 404 on the type…) won't go away by retrying.
        if let kube::Error::Api(s) = &err {
            if matches!(s.code, 401 | 403 | 404 | 400) {
                return Err(err);
            }
        }
        self.failures += 1;
        if self.failures > MAX_RECONNECTS {
            return Err(err);
        }
        tracing::debug!(error = %err, attempt = self.failures, "watch interrupted, resuming");
        let delay = Duration::from_millis(100 * 2u64.pow(self.failures.min(5)));
        tokio::time::sleep(delay).await;
        Ok(())
    }
}
