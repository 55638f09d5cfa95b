//! The JSON-lines event log: the ground truth benchmarks compare the tool's timings with. Each
//! line is written and flushed right after the API write it reports has succeeded.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::Path,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Map, Value};

#[derive(Clone, Default)]
pub struct EventLog {
    file: Option<Arc<Mutex<File>>>,
}

impl EventLog {
    /// Appends to `path` (created if missing); None: events are dropped.
    pub fn open(path: Option<&Path>) -> std::io::Result<EventLog> {
        let file = match path {
            Some(path) => Some(Arc::new(Mutex::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            ))),
            None => None,
        };
        Ok(EventLog { file })
    }

    /// One line: `{"ts","unixMs","event","namespace","name","uid", ...extra}`.
    pub fn record(&self, event: &str, namespace: &str, name: &str, uid: &str, extra: Value) {
        let Some(file) = &self.file else { return };
        let line = render(SystemTime::now(), event, namespace, name, uid, extra);
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            tracing::warn!("failed to write the event log: {e}");
        }
    }
}

/// Milliseconds since the Unix epoch, with the microseconds as fraction.
pub fn unix_ms(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn render(
    now: SystemTime,
    event: &str,
    namespace: &str,
    name: &str,
    uid: &str,
    extra: Value,
) -> String {
    let mut line: Map<String, Value> = json!({
        "ts": humantime::format_rfc3339_micros(now).to_string(),
        "unixMs": unix_ms(now),
        "event": event,
        "namespace": namespace,
        "name": name,
        "uid": uid,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    if let Value::Object(extra) = extra {
        line.extend(extra);
    }
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_line_has_both_clocks_and_the_extra_fields() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let line = render(at, "phase", "ns", "db-0", "u1", json!({"phase": "Running"}));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v["unixMs"].as_f64().unwrap(), 1_700_000_000_123.456);
        assert_eq!(
            (&v["event"], &v["name"], &v["phase"]),
            (&json!("phase"), &json!("db-0"), &json!("Running"))
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    }

    #[test]
    fn lines_are_appended_to_the_file() {
        let dir = std::env::temp_dir().join(format!("kubevirt-sim-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        let log = EventLog::open(Some(&path)).unwrap();
        log.record("created", "ns", "a", "u1", json!({}));
        log.record("gone", "ns", "a", "u1", json!({}));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let events: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .into()
            })
            .collect();
        assert_eq!(events, ["created", "gone"]);
    }
}
