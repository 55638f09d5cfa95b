//! Kubernetes Events for every outage, so `kubectl get events`, dashboards and alerting see game
//! days where they already look. Recording is best-effort: an Event that can't be created (no
//! `create events` permission, a slow API server) comes back as a warning for the user to read,
//! never as an error that changes the run's outcome.

use std::time::Duration;

use k8s_openapi::{
    api::core::v1::{Event, EventSource, ObjectReference},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time},
    jiff::Timestamp,
};
use kube::{
    api::{Api, DynamicObject, PostParams},
    Client,
};

use crate::{
    error::api_code,
    events::{EventFailure, Note, Outcome, TargetEvent},
    kubevirt::{self, Recovery},
    render::{format_duration, words},
    report::Timings,
};

/// `reportingComponent` and `source.component` of every Event the tool records.
pub const COMPONENT: &str = "kubectl-vmchaos";

/// The API server keeps at most this much of a message (events.k8s.io's note limit).
const MESSAGE_LIMIT: usize = 1024;

/// An Event is a side note: it never holds up the outage for longer than this.
const RECORD_TIMEOUT: Duration = Duration::from_secs(5);

/// The Event a target event is worth, in words (None: not worth one). `vmi`: the target's
/// name; `plan`: how it comes back; `at`: since the delete.
pub fn describe(
    vmi: &str,
    plan: Recovery,
    at: Duration,
    what: &TargetEvent,
    timings: &Timings,
) -> Option<(EventKind, String)> {
    let plan = plan.as_str();
    let ms = |v: Option<u64>| v.map_or("—".to_string(), |v| format!("{v}ms"));
    Some(match what {
        TargetEvent::Deleted {
            uid,
            launcher: None,
            ..
        } => (
            EventKind::OutageStarted,
            format!("kubectl-vmchaos deleted VMI {vmi} (uid {uid}) for a chaos test; plan: {plan}"),
        ),
        TargetEvent::Deleted {
            uid,
            launcher: Some(pod),
            ..
        } => (
            EventKind::OutageStarted,
            format!(
                "kubectl-vmchaos crashed VMI {vmi} (uid {uid}) for a chaos test: deleted its virt-launcher pod {pod} with no grace period; plan: {plan}"
            ),
        ),
        TargetEvent::Acted { .. } => (
            EventKind::ToolRecovered,
            format!(
                "kubectl-vmchaos brought VMI {vmi} back itself ({plan}) {} after the delete",
                format_duration(at)
            ),
        ),
        TargetEvent::Done { outcome, .. } => {
            let kind = match outcome {
                Outcome::Recovered => EventKind::Recovered,
                Outcome::NotRecovered(_) | Outcome::Aborted { .. } => EventKind::NotRecovered,
                Outcome::Failed(_) => EventKind::ToolFailed,
                Outcome::Interrupted { .. } => EventKind::Interrupted,
                // Nothing was deleted: nothing to tell the cluster.
                Outcome::NotDeleted(_) => return None,
            };
            (
                kind,
                format!(
                    "VMI {vmi}: {} (plan {plan}; gone {}, created {}, Running {}, Ready {})",
                    words::outcome(outcome),
                    ms(timings.gone_ms),
                    ms(timings.created_ms),
                    ms(timings.running_ms),
                    ms(timings.ready_ms)
                ),
            )
        }
        _ => return None,
    })
}

/// The object an Event is about: the VM, or the standalone VMI (`involvedObject`, with its uid so
/// `kubectl describe` of that very object lists it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl EventObject {
    /// The object as read from the API server (kind and apiVersion from its type, else a VMI's).
    pub fn of(object: &DynamicObject) -> Self {
        let types = object.types.clone().unwrap_or_default();
        let or = |value: String, default: &str| {
            if value.is_empty() {
                default.to_string()
            } else {
                value
            }
        };
        EventObject {
            api_version: or(types.api_version, kubevirt::API_VERSION),
            kind: or(types.kind, "VirtualMachineInstance"),
            namespace: object.metadata.namespace.clone().unwrap_or_default(),
            name: object.metadata.name.clone().unwrap_or_default(),
            uid: object.metadata.uid.clone().unwrap_or_default(),
        }
    }

    /// What an outage's Events are about: the owner that outlives the deleted VMI, so that
    /// `kubectl describe` of what the user cares about lists them — the VM, or the VMI replica
    /// set (its replacement has another name and UID) — else the VMI itself.
    pub fn of_target(vmi: &DynamicObject, vm: Option<&DynamicObject>) -> Self {
        if let Some(vm) = vm {
            return Self::of(vm);
        }
        let replica_set =
            vmi.metadata.owner_references.iter().flatten().find(|o| {
                o.controller == Some(true) && o.kind == "VirtualMachineInstanceReplicaSet"
            });
        match replica_set {
            Some(owner) => EventObject {
                api_version: owner.api_version.clone(),
                kind: owner.kind.clone(),
                namespace: vmi.metadata.namespace.clone().unwrap_or_default(),
                name: owner.name.clone(),
                uid: owner.uid.clone(),
            },
            None => Self::of(vmi),
        }
    }

    /// Where an Event goes once the target has a replacement (`name`, `uid`): a standalone VMI
    /// comes back as a new object (the tool re-creates it, same name, new UID), and `kubectl
    /// describe vmi` lists only the Events of the UID it shows, so what follows the delete goes
    /// on the re-created VMI. A VM's or replica set's Events stay on them.
    pub fn after_replacement(&self, replacement: Option<(&str, &str)>) -> Self {
        match replacement {
            Some((name, uid)) if self.kind == "VirtualMachineInstance" && !uid.is_empty() => {
                EventObject {
                    name: name.to_string(),
                    uid: uid.to_string(),
                    ..self.clone()
                }
            }
            _ => self.clone(),
        }
    }

    fn describe(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What happened: each maps to a reason, an Event type and an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The VMI was deleted: the outage began.
    OutageStarted,
    /// A new VMI is Running and Ready.
    Recovered,
    /// No new VMI was Running and Ready within `--duration` + `--timeout`.
    NotRecovered,
    /// The tool itself brought the VMI back (started its VM, or re-created it).
    ToolRecovered,
    /// The tool failed after the delete; the VMI may need `restore`.
    ToolFailed,
    /// The run was interrupted after the delete.
    Interrupted,
    /// `--alerts`: Prometheus alerts fired during or after the outage that did not fire before.
    AlertsFiring,
}

impl EventKind {
    pub fn reason(self) -> &'static str {
        match self {
            EventKind::OutageStarted => "OutageStarted",
            EventKind::Recovered => "Recovered",
            EventKind::NotRecovered => "NotRecovered",
            EventKind::ToolRecovered => "ToolRecovered",
            EventKind::ToolFailed => "ToolFailed",
            EventKind::Interrupted => "Interrupted",
            EventKind::AlertsFiring => "AlertsFiring",
        }
    }

    /// `Warning` for what an alert should fire on, `Normal` otherwise.
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::OutageStarted | EventKind::Recovered | EventKind::ToolRecovered => "Normal",
            EventKind::NotRecovered
            | EventKind::ToolFailed
            | EventKind::Interrupted
            | EventKind::AlertsFiring => "Warning",
        }
    }

    /// What the tool did (or was doing) when it recorded the Event.
    pub fn action(self) -> &'static str {
        match self {
            EventKind::OutageStarted => "DeleteVMI",
            EventKind::Recovered | EventKind::NotRecovered => "WaitForRecovery",
            EventKind::ToolRecovered | EventKind::ToolFailed => "RecoverVMI",
            EventKind::Interrupted => "Interrupt",
            EventKind::AlertsFiring => "WatchAlerts",
        }
    }
}

/// Which instance of the tool: the Pod's name inside a cluster (HOSTNAME), else the host's.
fn reporting_instance() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default();
    let instance = if host.is_empty() {
        COMPONENT.to_string()
    } else {
        format!("{COMPONENT}-{host}")
    };
    // The API server refuses a reportingInstance over 128 characters.
    instance.chars().take(128).collect()
}

fn truncate(message: String) -> String {
    if message.len() <= MESSAGE_LIMIT {
        return message;
    }
    let mut end = MESSAGE_LIMIT - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// The core/v1 Event as it will be created (`now` passed in so tests can pin it).
pub fn build(object: &EventObject, kind: EventKind, message: String, now: Timestamp) -> Event {
    // client-go's naming: the object's name and the time in hex nanoseconds, unique enough that
    // two Events of one run never collide.
    let nanos = now.as_nanosecond();
    let time = Time(now);
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", object.name, nanos)),
            namespace: Some(object.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(object.api_version.clone()),
            kind: Some(object.kind.clone()),
            name: Some(object.name.clone()),
            namespace: Some(object.namespace.clone()),
            uid: Some(object.uid.clone()).filter(|u| !u.is_empty()),
            ..ObjectReference::default()
        },
        reason: Some(kind.reason().into()),
        message: Some(truncate(message)),
        type_: Some(kind.event_type().into()),
        action: Some(kind.action().into()),
        reporting_component: Some(COMPONENT.into()),
        reporting_instance: Some(reporting_instance()),
        source: Some(EventSource {
            component: Some(COMPONENT.into()),
            host: None,
        }),
        event_time: Some(MicroTime(now)),
        first_timestamp: Some(time.clone()),
        last_timestamp: Some(time),
        count: Some(1),
        ..Event::default()
    }
}

/// Records one Event about `object`, best-effort. Returns `None` when the Event was created, or
/// a warning for the user (never an error): a missing `create events` permission, a refusal or
/// no answer within 5 s. The outage goes on either way.
pub async fn record(
    client: &Client,
    object: &EventObject,
    kind: EventKind,
    message: String,
) -> Option<Note> {
    let event = build(object, kind, message, Timestamp::now());
    let api: Api<Event> = Api::namespaced(client.clone(), &object.namespace);
    let failure = match tokio::time::timeout(
        RECORD_TIMEOUT,
        api.create(&PostParams::default(), &event),
    )
    .await
    {
        Ok(Ok(_)) => return None,
        Ok(Err(e)) if api_code(&e) == Some(403) => EventFailure::NoPermission,
        Ok(Err(e)) => EventFailure::Refused(crate::error::describe(&e)),
        Err(_) => EventFailure::NoAnswer(RECORD_TIMEOUT),
    };
    Some(Note::EventNotRecorded {
        reason: kind.reason(),
        object: object.describe(),
        namespace: object.namespace.clone(),
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> EventObject {
        EventObject {
            api_version: "kubevirt.io/v1".into(),
            kind: "VirtualMachine".into(),
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "1234".into(),
        }
    }

    #[test]
    fn a_replica_set_vmi_s_events_go_on_its_replica_set() {
        let vmi: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "webx7k2p", "namespace": "prod", "uid": "vmi-1",
                "ownerReferences": [{"apiVersion": "kubevirt.io/v1",
                    "kind": "VirtualMachineInstanceReplicaSet", "name": "web", "uid": "rs-1",
                    "controller": true}]},
        }))
        .unwrap();
        let object = EventObject::of_target(&vmi, None);
        assert_eq!(
            (
                object.kind.as_str(),
                object.name.as_str(),
                object.uid.as_str()
            ),
            ("VirtualMachineInstanceReplicaSet", "web", "rs-1")
        );
    }

    #[test]
    fn an_event_names_its_object_reason_type_and_component() {
        let now: Timestamp = "2026-11-25T06:00:00Z".parse().unwrap();
        let event = build(&vm(), EventKind::NotRecovered, "late".into(), now);
        assert_eq!(event.metadata.namespace.as_deref(), Some("prod"));
        assert!(event.metadata.name.as_deref().unwrap().starts_with("db-0."));
        assert_eq!(
            event.involved_object.kind.as_deref(),
            Some("VirtualMachine")
        );
        assert_eq!(event.involved_object.uid.as_deref(), Some("1234"));
        assert_eq!(event.reason.as_deref(), Some("NotRecovered"));
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.action.as_deref(), Some("WaitForRecovery"));
        assert_eq!(event.reporting_component.as_deref(), Some(COMPONENT));
        assert_eq!(
            event.source.and_then(|s| s.component).as_deref(),
            Some(COMPONENT)
        );
        assert!(event.reporting_instance.unwrap().len() <= 128);
    }

    #[test]
    fn types_follow_what_an_alert_fires_on() {
        for (kind, ty) in [
            (EventKind::OutageStarted, "Normal"),
            (EventKind::Recovered, "Normal"),
            (EventKind::ToolRecovered, "Normal"),
            (EventKind::NotRecovered, "Warning"),
            (EventKind::ToolFailed, "Warning"),
            (EventKind::Interrupted, "Warning"),
        ] {
            assert_eq!(kind.event_type(), ty, "{kind:?}");
        }
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(1000);
        let cut = truncate(long);
        assert!(cut.len() <= MESSAGE_LIMIT);
        assert!(cut.ends_with("..."));
        assert_eq!(truncate("short".into()), "short");
    }

    #[test]
    fn a_standalone_vmi_s_later_events_go_on_the_re_created_vmi() {
        let vmi = EventObject {
            kind: "VirtualMachineInstance".into(),
            uid: "old".into(),
            ..vm()
        };
        let moved = vmi.after_replacement(Some(("db-0", "new")));
        assert_eq!((moved.name.as_str(), moved.uid.as_str()), ("db-0", "new"));
        assert_eq!(moved.kind, "VirtualMachineInstance");
        assert_eq!(vmi.after_replacement(None), vmi);
        // A VM keeps its Events: it outlives its VMIs.
        assert_eq!(vm().after_replacement(Some(("db-0", "new"))), vm());
    }

    #[test]
    fn the_vm_is_preferred_over_the_vmi() {
        let vmi: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "vmi-uid"}
        }))
        .unwrap();
        let vm: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "vm-uid"}
        }))
        .unwrap();
        assert_eq!(EventObject::of_target(&vmi, Some(&vm)).uid, "vm-uid");
        let standalone = EventObject::of_target(&vmi, None);
        assert_eq!(standalone.kind, "VirtualMachineInstance");
        assert_eq!(standalone.uid, "vmi-uid");
    }
}
