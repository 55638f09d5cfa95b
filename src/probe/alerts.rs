//! `--alerts[=SELECTOR]`: which Prometheus alerts the outage set off. Before the delete the
//! firing alerts (all, or those the selector matches) are recorded; during the outage and after
//! recovery (plus an optional, bounded settle for rules with `for:`) Prometheus is asked again
//! every interval, and each alert that fires and was not firing before the delete is kept with
//! the time it was first seen and whether it still fired at the end.
//!
//! The alerts are read from the `ALERTS{alertstate="firing",…}` series through
//! `/api/v1/query`, the endpoint (and the permission, behind a kube-rbac-proxy) `prom:` and
//! `alert:` probes already use, with the selector applied by Prometheus itself.

use std::{
    collections::BTreeMap,
    fmt,
    str::FromStr,
    sync::Arc,
    time::{Duration, SystemTime},
};

use tokio::{
    sync::mpsc,
    task::JoinHandle,
    time::{sleep_until, Instant, MissedTickBehavior},
};
use tokio_rustls::rustls;

use super::{
    attempt::{failure, Failure, FailureKind},
    prom::{self, PromServer},
    spec::alert_selector,
};

/// `--alerts[=SELECTOR]`: `NAME` or `LABEL=VALUE[,LABEL=VALUE…]` (every matcher must hold), as
/// `alert:` takes it; empty for every firing alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSelector {
    /// As given (empty: every alert).
    pub text: String,
    /// The PromQL selector asked for.
    pub query: String,
}

impl FromStr for AlertSelector {
    type Err = String;

    fn from_str(text: &str) -> Result<AlertSelector, String> {
        let text = text.trim();
        let query = if text.is_empty() {
            r#"ALERTS{alertstate="firing"}"#.to_string()
        } else {
            alert_selector(text, text).map_err(|e| {
                format!(
                    "--alerts={text}: {} (expected NAME or LABEL=VALUE[,LABEL=VALUE…], e.g. \
                     --alerts=severity=critical)",
                    e.reason
                )
            })?
        };
        Ok(AlertSelector {
            text: text.to_string(),
            query,
        })
    }
}

/// One alert, named by `alertname` and its labels (without `alertstate`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Alert {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        write!(f, "{}{{{}}}", self.name, labels.join(","))
    }
}

/// The alert watch of a run: what to ask, where, how often, and how long to wait after recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    pub selector: AlertSelector,
    pub server: PromServer,
    /// Between two questions: `--probe-interval`, at least [`AlertOptions::MIN_INTERVAL`].
    pub interval: Duration,
    /// How long one question may take.
    pub timeout: Duration,
    /// `--alerts-settle`: after recovery, how long to keep watching for alerts whose rule has
    /// a `for:` (0 by default).
    pub settle: Duration,
}

impl AlertOptions {
    /// Prometheus evaluates rules every few seconds at best: asking more often adds nothing.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
    /// The longest `--alerts-settle`: every target is back by then, and the run must end.
    pub const MAX_SETTLE: Duration = Duration::from_secs(600);

    pub fn new(
        selector: AlertSelector,
        server: Option<PromServer>,
        interval: Duration,
        timeout: Duration,
        settle: Duration,
    ) -> Result<AlertOptions, String> {
        let server = server.ok_or_else(|| {
            "--alerts needs a Prometheus to ask: give --prometheus URL (a `kubectl port-forward` \
             address or an in-cluster Service) or set PROMETHEUS_URL"
                .to_string()
        })?;
        if server.is_tls() {
            server.tls_config()?;
        }
        if settle > Self::MAX_SETTLE {
            return Err(format!(
                "--alerts-settle {}s is too long: at most {}s",
                settle.as_secs(),
                Self::MAX_SETTLE.as_secs()
            ));
        }
        Ok(AlertOptions {
            selector,
            server,
            interval: interval.max(Self::MIN_INTERVAL),
            timeout: timeout.max(Duration::from_secs(1)),
            settle,
        })
    }

    fn tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        if !self.server.is_tls() {
            return None;
        }
        self.server
            .tls_config()
            .map_err(|e| tracing::warn!("{e}"))
            .ok()
    }

    /// The matching alerts firing now (one question, within the timeout).
    pub async fn firing(&self) -> Result<Vec<Alert>, Failure> {
        firing(self, self.tls().as_ref()).await
    }
}

async fn firing(
    options: &AlertOptions,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Vec<Alert>, Failure> {
    let (status, body) = prom::fetch(
        &options.server,
        &options.selector.query,
        tls,
        options.timeout,
    )
    .await?;
    parse_firing(&options.server.url, status, &body)
}

/// The alerts of one `ALERTS` answer, sorted, each once (pure, for tests).
pub(crate) fn parse_firing(url: &str, status: u16, body: &[u8]) -> Result<Vec<Alert>, Failure> {
    let data = prom::data(url, status, body)?;
    let Some(series) = data.result.as_array() else {
        return Err(failure(
            FailureKind::Prometheus,
            format!("Prometheus at {url} answered something else than a list of alerts"),
        ));
    };
    let mut alerts: Vec<Alert> = series
        .iter()
        .map(|s| {
            let metric = s["metric"].as_object().cloned().unwrap_or_default();
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            Alert {
                name: metric.get("alertname").map(text).unwrap_or_default(),
                labels: metric
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "alertstate" | "__name__"))
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect(),
            }
        })
        .collect();
    alerts.sort();
    alerts.dedup();
    Ok(alerts)
}

/// When an alert was first seen firing after the delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    since_delete: Duration,
    wall: SystemTime,
}

/// Everything the watch saw (pure: fed answers, gives the report).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    before: Vec<Alert>,
    new: BTreeMap<Alert, Seen>,
    /// The last answer (what fires "at the end" once the watch stops).
    last: Option<Vec<Alert>>,
    questions: usize,
    errors: usize,
    last_error: Option<String>,
}

impl AlertRecord {
    /// `before`: the alerts firing before the delete.
    pub fn new(before: Vec<Alert>) -> AlertRecord {
        AlertRecord {
            before,
            new: BTreeMap::new(),
            last: None,
            questions: 0,
            errors: 0,
            last_error: None,
        }
    }

    /// One answer, asked `since_delete` after the delete (at `wall`).
    pub fn observe(
        &mut self,
        since_delete: Duration,
        wall: SystemTime,
        answer: Result<Vec<Alert>, Failure>,
    ) {
        self.questions += 1;
        match answer {
            Ok(firing) => {
                for alert in &firing {
                    if !self.before.contains(alert) && !self.new.contains_key(alert) {
                        self.new.insert(alert.clone(), Seen { since_delete, wall });
                    }
                }
                self.last = Some(firing);
            }
            Err(e) => {
                self.errors += 1;
                self.last_error = Some(e.detail);
            }
        }
    }

    /// The report: new alerts in the order they were first seen.
    pub fn report(&self, options: &AlertOptions) -> AlertsReport {
        let mut new: Vec<NewAlert> = self
            .new
            .iter()
            .map(|(alert, seen)| NewAlert {
                alert: alert.clone(),
                first_seen_ms: seen.since_delete.as_millis() as u64,
                first_seen_at: humantime::format_rfc3339_millis(seen.wall).to_string(),
                still_firing: self.last.as_ref().is_some_and(|l| l.contains(alert)),
            })
            .collect();
        new.sort_by(|a, b| (a.first_seen_ms, &a.alert).cmp(&(b.first_seen_ms, &b.alert)));
        AlertsReport {
            selector: options.selector.text.clone(),
            query: options.selector.query.clone(),
            before: self.before.clone(),
            new,
            questions: self.questions,
            errors: self.errors,
            last_error: self.last_error.clone(),
            settle_ms: options.settle.as_millis() as u64,
        }
    }
}

/// `alerts` in the JSON: the selector, what fired before the delete, what fired since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertsReport {
    /// `--alerts=SELECTOR` as given (empty: every alert).
    pub selector: String,
    /// The PromQL asked.
    pub query: String,
    /// Firing before the delete (never counted as new).
    pub before: Vec<Alert>,
    /// Fired after the delete and were not firing before it, in the order first seen.
    pub new: Vec<NewAlert>,
    /// Questions asked after the delete, and how many could not reach Prometheus.
    pub questions: usize,
    pub errors: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// `--alerts-settle`.
    pub settle_ms: u64,
}

impl AlertsReport {
    /// The records of several watches of one step (one per namespace it runs in): every alert
    /// once, new ones in the order first seen, questions and errors added up.
    pub fn merge(reports: Vec<AlertsReport>) -> Option<AlertsReport> {
        let mut all = reports.into_iter();
        let mut merged = all.next()?;
        for r in all {
            for alert in r.before {
                if !merged.before.contains(&alert) {
                    merged.before.push(alert);
                }
            }
            for new in r.new {
                if !merged.new.iter().any(|n| n.alert == new.alert) {
                    merged.new.push(new);
                }
            }
            merged.questions += r.questions;
            merged.errors += r.errors;
            merged.last_error = r.last_error.or(merged.last_error);
        }
        merged.before.sort();
        merged
            .new
            .sort_by(|a, b| (&a.first_seen_at, &a.alert).cmp(&(&b.first_seen_at, &b.alert)));
        Some(merged)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAlert {
    #[serde(flatten)]
    pub alert: Alert,
    /// First seen firing, in milliseconds after the (first) delete, and on the wall clock.
    pub first_seen_ms: u64,
    pub first_seen_at: String,
    /// Still firing at the last answer (after recovery and the settle).
    pub still_firing: bool,
}

/// The running watch; [`AlertWatch::finish`] ends it with its report.
pub struct AlertWatch {
    options: AlertOptions,
    before: Vec<Alert>,
    /// `false`: every target is done, settle; `true`: stop now (after one last question).
    stop: mpsc::UnboundedSender<bool>,
    task: Option<JoinHandle<AlertRecord>>,
}

impl Drop for AlertWatch {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl AlertWatch {
    /// Starts asking every interval; `before`: the answer before the delete. Times count from
    /// now: call it just before the delete.
    pub fn start(options: AlertOptions, before: Vec<Alert>) -> AlertWatch {
        let (stop, stopped) = mpsc::unbounded_channel();
        let task = tokio::spawn(watch(
            options.clone(),
            AlertRecord::new(before.clone()),
            stopped,
        ));
        AlertWatch {
            options,
            before,
            stop,
            task: Some(task),
        }
    }

    /// Every target is done: keep watching for the settle, ask a last time, and report.
    /// `cut_short` (e.g. Ctrl-C) ends the settle at once. Bounded by the settle and one
    /// question's timeout.
    pub async fn finish(
        mut self,
        cut_short: impl std::future::Future<Output = ()>,
    ) -> AlertsReport {
        let _ = self.stop.send(false);
        let mut task = self.task.take().expect("finished once");
        let joined = tokio::select! {
            biased;
            joined = &mut task => joined,
            () = cut_short => {
                let _ = self.stop.send(true);
                task.await
            }
        };
        match joined {
            Ok(record) => record.report(&self.options),
            Err(e) => {
                let mut record = AlertRecord::new(self.before.clone());
                record.observe(
                    Duration::ZERO,
                    SystemTime::now(),
                    Err(failure(
                        FailureKind::Prometheus,
                        format!("the alert watch stopped: {e}"),
                    )),
                );
                record.report(&self.options)
            }
        }
    }
}

async fn watch(
    options: AlertOptions,
    mut record: AlertRecord,
    mut stop: mpsc::UnboundedReceiver<bool>,
) -> AlertRecord {
    let start = Instant::now();
    let tls = options.tls();
    let mut ticks = tokio::time::interval(options.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut until: Option<Instant> = None;
    let mut open = true;
    let ask = |record: &mut AlertRecord, answer, at: Instant, wall| {
        record.observe(at.saturating_duration_since(start), wall, answer);
    };
    loop {
        tokio::select! {
            biased;
            now = stop.recv(), if open => {
                open = now.is_some();
                let now = now.unwrap_or(true);
                if now || until.is_none() {
                    let settle = if now { Duration::ZERO } else { options.settle };
                    until = Some(Instant::now() + settle);
                }
            }
            _ = sleep_until(until.unwrap_or_else(Instant::now)), if until.is_some() => break,
            _ = ticks.tick() => {
                let (at, wall) = (Instant::now(), SystemTime::now());
                let answer = firing(&options, tls.as_ref()).await;
                ask(&mut record, answer, at, wall);
            }
        }
    }
    // The last answer: what still fires at the end.
    let (at, wall) = (Instant::now(), SystemTime::now());
    let answer = firing(&options, tls.as_ref()).await;
    ask(&mut record, answer, at, wall);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, labels: &[(&str, &str)]) -> Alert {
        Alert {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn options(settle: Duration) -> AlertOptions {
        AlertOptions::new(
            "severity=critical".parse().unwrap(),
            Some(PromServer::new("http://p:9090", None, None).unwrap()),
            Duration::from_millis(250),
            Duration::from_millis(400),
            settle,
        )
        .unwrap()
    }

    /// A Prometheus that answers every query with `alerts` firing; counts the questions.
    async fn fake_prometheus(
        alerts: &'static str,
    ) -> (PromServer, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = asked.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = format!(
                        r#"{{"status":"success","data":{{"resultType":"vector","result":[{alerts}]}}}}"#
                    );
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \
                         {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        let server = PromServer::new(&format!("http://127.0.0.1:{port}"), None, None).unwrap();
        (server, asked)
    }

    #[tokio::test]
    async fn the_watch_asks_until_finished_and_a_cut_short_settle_ends_at_once() {
        let (server, asked) = fake_prometheus(
            r#"{"metric":{"__name__":"ALERTS","alertname":"VMIDown","alertstate":"firing","name":"db"},"value":[1,"1"]}"#,
        )
        .await;
        let options = AlertOptions {
            server,
            // Ten minutes of settle: only the cut short ends it within the guard below.
            ..options(AlertOptions::MAX_SETTLE)
        };
        let watch = AlertWatch::start(options, vec![alert("Old", &[])]);
        // The first question is at once; wait for it.
        while asked.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let report = tokio::time::timeout(Duration::from_secs(60), watch.finish(async {}))
            .await
            .expect("a cut-short settle ends after one last question");
        assert_eq!(report.before, [alert("Old", &[])]);
        assert_eq!(report.new.len(), 1, "{report:?}");
        assert_eq!(report.new[0].alert.to_string(), "VMIDown{name=db}");
        assert!(report.new[0].still_firing, "the last question saw it");
        assert!(report.questions >= 2, "{report:?}");
        assert_eq!(report.errors, 0, "{report:?}");
        assert_eq!(report.settle_ms, 600_000);
    }

    #[tokio::test]
    async fn a_watch_that_cannot_reach_prometheus_counts_errors_and_still_ends() {
        // Nothing listens on port 9 (discard) here.
        let options = AlertOptions {
            server: PromServer::new("http://127.0.0.1:9", None, None).unwrap(),
            ..options(Duration::ZERO)
        };
        let watch = AlertWatch::start(options, Vec::new());
        let report = tokio::time::timeout(
            Duration::from_secs(60),
            watch.finish(std::future::pending()),
        )
        .await
        .expect("no settle: one last question, then the report");
        assert!(report.new.is_empty());
        assert!(
            report.errors >= 1 && report.errors == report.questions,
            "{report:?}"
        );
        assert!(
            report
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("unreachable"),
            "{report:?}"
        );
    }

    #[test]
    fn a_step_s_watches_merge_into_one_record() {
        let o = options(Duration::ZERO);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (a, b, old) = (alert("A", &[]), alert("B", &[]), alert("Old", &[]));
        let mut one = AlertRecord::new(vec![old.clone()]);
        one.observe(
            Duration::from_secs(3),
            t0 + Duration::from_secs(3),
            Ok(vec![b.clone()]),
        );
        let mut two = AlertRecord::new(vec![old.clone()]);
        two.observe(
            Duration::from_secs(1),
            t0 + Duration::from_secs(1),
            Ok(vec![a.clone()]),
        );
        two.observe(
            Duration::from_secs(2),
            t0 + Duration::from_secs(2),
            Err(failure(FailureKind::Prometheus, "down")),
        );
        let merged = AlertsReport::merge(vec![one.report(&o), two.report(&o)]).unwrap();
        assert_eq!(merged.before, [old]);
        let new: Vec<&Alert> = merged.new.iter().map(|n| &n.alert).collect();
        assert_eq!(new, [&a, &b], "in the order first seen");
        assert_eq!((merged.questions, merged.errors), (3, 1));
        assert_eq!(AlertsReport::merge(Vec::new()), None);
    }

    #[test]
    fn the_selector_is_the_alert_matcher_and_empty_means_every_alert() {
        let all: AlertSelector = "".parse().unwrap();
        assert_eq!(all.query, r#"ALERTS{alertstate="firing"}"#);
        let some: AlertSelector = "severity=critical, namespace=prod".parse().unwrap();
        assert_eq!(
            some.query,
            r#"ALERTS{alertstate="firing",severity="critical",namespace="prod"}"#
        );
        let named: AlertSelector = "KubeVirtVMINotRunning".parse().unwrap();
        assert_eq!(
            named.query,
            r#"ALERTS{alertstate="firing",alertname="KubeVirtVMINotRunning"}"#
        );
        let bad = "sev-erity=x".parse::<AlertSelector>().unwrap_err();
        assert!(
            bad.contains("not a label name") && bad.contains("--alerts="),
            "{bad}"
        );
    }

    #[test]
    fn options_need_a_prometheus_a_bounded_settle_and_ask_at_most_every_second() {
        let none = AlertOptions::new(
            "".parse().unwrap(),
            None,
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::ZERO,
        )
        .unwrap_err();
        assert!(none.contains("PROMETHEUS_URL"), "{none}");
        let o = options(Duration::from_secs(30));
        assert_eq!(
            (o.interval, o.timeout),
            (Duration::from_secs(1), Duration::from_secs(1))
        );
        let long = AlertOptions::new(
            "".parse().unwrap(),
            Some(o.server.clone()),
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(601),
        )
        .unwrap_err();
        assert!(long.contains("at most 600s"), "{long}");
    }

    #[test]
    fn an_answer_lists_each_alert_once_with_its_labels() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"ALERTS","alertname":"VMIDown","alertstate":"firing","name":"db","severity":"critical"},"value":[1,"1"]},
            {"metric":{"__name__":"ALERTS","alertname":"AppSlow","alertstate":"firing"},"value":[1,"1"]},
            {"metric":{"__name__":"ALERTS","alertname":"AppSlow","alertstate":"firing"},"value":[1,"1"]}]}}"#;
        let alerts = parse_firing("http://p:9090", 200, body).unwrap();
        assert_eq!(
            alerts,
            [
                alert("AppSlow", &[]),
                alert("VMIDown", &[("name", "db"), ("severity", "critical")])
            ]
        );
        assert_eq!(alerts[1].to_string(), "VMIDown{name=db,severity=critical}");
        let refused = br#"{"status":"error","errorType":"bad_data","error":"x"}"#;
        assert_eq!(
            parse_firing("http://p:9090", 400, refused)
                .unwrap_err()
                .kind,
            FailureKind::Prometheus
        );
    }

    #[test]
    fn only_alerts_not_firing_before_the_delete_are_new_first_seen_once() {
        let old = alert("Old", &[("severity", "warning")]);
        let down = alert("VMIDown", &[("name", "db")]);
        let late = alert("Late", &[]);
        let mut record = AlertRecord::new(vec![old.clone()]);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |ms: u64| (Duration::from_millis(ms), t0 + Duration::from_millis(ms));
        let (d, w) = at(0);
        record.observe(d, w, Ok(vec![old.clone()]));
        let (d, w) = at(2000);
        record.observe(d, w, Ok(vec![old.clone(), down.clone()]));
        let (d, w) = at(3000);
        record.observe(d, w, Err(failure(FailureKind::Prometheus, "unreachable")));
        let (d, w) = at(4000);
        record.observe(d, w, Ok(vec![down.clone(), late.clone()]));
        let (d, w) = at(5000);
        record.observe(d, w, Ok(vec![late.clone()]));
        let report = record.report(&options(Duration::from_secs(5)));
        assert_eq!(report.before, [old]);
        let new: Vec<(String, u64, bool)> = report
            .new
            .iter()
            .map(|n| (n.alert.to_string(), n.first_seen_ms, n.still_firing))
            .collect();
        assert_eq!(
            new,
            [
                ("VMIDown{name=db}".to_string(), 2000, false),
                ("Late{}".to_string(), 4000, true)
            ]
        );
        assert_eq!(report.new[0].first_seen_at, "2027-01-15T08:00:02.000Z");
        assert_eq!((report.questions, report.errors), (5, 1));
        assert_eq!(report.last_error.as_deref(), Some("unreachable"));
        assert_eq!(report.settle_ms, 5000);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["new"][0]["name"], "VMIDown");
        assert_eq!(json["new"][0]["labels"]["name"], "db");
        assert_eq!(json["new"][0]["firstSeenMs"], 2000);
        assert_eq!(json["new"][1]["stillFiring"], true);
        assert_eq!(json["selector"], "severity=critical");
    }
}
