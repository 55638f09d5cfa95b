//! Typed errors with hints, and the one place that maps outcomes to exit codes.

use std::path::PathBuf;

/// Exit codes are part of the interface (README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Exit {
    /// The VMI was deleted and came back Running and Ready.
    Recovered,
    /// Injected, but not recovered within the timeouts: the resilience test failed.
    NotRecovered,
    /// Nothing was changed: usage, kubeconfig, connection, permission, validation, declined prompt.
    NothingChanged,
    /// The tool itself failed after injecting; the summary says how to restore.
    FailedAfterInject,
    /// Interrupted (Ctrl-C / SIGTERM).
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Recovered => 0,
            Exit::NotRecovered => 1,
            Exit::NothingChanged => 2,
            Exit::FailedAfterInject => 3,
            Exit::Interrupted => 130,
        }
    }
}

/// Everything that stops a command before it changes anything (exit 2), plus the few failures
/// of `restore` and of the tool after injecting (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("failed to load the kubeconfig: {reason}")]
    Kubeconfig { reason: String },
    #[error("failed to reach the API server {server} (context {context}): {source}")]
    Connect {
        server: String,
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("KubeVirt is not installed in {context}: the API server does not serve kubevirt.io/v1 virtualmachineinstances")]
    KubeVirtMissing { context: String },
    #[error("no VMI named {name} in namespace {namespace}")]
    VmiNotFound {
        name: String,
        namespace: String,
        running: Vec<String>,
    },
    #[error("VMI {namespace}/{name} is {phase}, not Running: only a running VMI can be an outage target")]
    NotRunning {
        name: String,
        namespace: String,
        phase: String,
    },
    #[error("VMI {namespace}/{name} is already being deleted")]
    AlreadyTerminating { name: String, namespace: String },
    #[error(
        "namespace {namespace} is protected: an outage there can take down the platform itself"
    )]
    ProtectedNamespace { namespace: String },
    #[error("permission denied: {user} cannot {verb} {resource} in namespace {namespace}{reason}")]
    Forbidden {
        user: String,
        verb: String,
        resource: String,
        namespace: String,
        reason: String,
    },
    #[error("no running VMI in {scope}")]
    NoTargets { scope: String },
    #[error("declined at the prompt: nothing was changed")]
    Declined,
    #[error("failed to {action}: {source}")]
    Api {
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a vmchaos snapshot: {reason}")]
    BadSnapshot { path: PathBuf, reason: String },
    #[error("refusing VMI {namespace}/{name}: {}", refusal.reason())]
    Refused {
        namespace: String,
        name: String,
        refusal: crate::plan::Refusal,
    },
    #[error("VMI {namespace}/{name} already exists ({phase}): nothing to restore")]
    AlreadyRunning {
        name: String,
        namespace: String,
        phase: String,
    },
    #[error("{message}")]
    AfterInject { message: String, hint: String },
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action: action.into(),
            source,
        }
    }

    /// What the user can do about it, as a sentence or a command to paste.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Usage { hint, .. } => return hint.clone(),
            Error::Kubeconfig { .. } => {
                "point --kubeconfig or KUBECONFIG at a valid kubeconfig, or pick one with --context".into()
            }
            Error::Connect { .. } => {
                "check that the cluster is up and that `kubectl --context <context> version` works".into()
            }
            Error::KubeVirtMissing { .. } => {
                "install KubeVirt (or OpenShift Virtualization), or pick the right cluster with --context".into()
            }
            Error::VmiNotFound { running, .. } if running.is_empty() => {
                "there is no running VMI in that namespace; list targets with `kubectl vmchaos list -A`".into()
            }
            Error::VmiNotFound { running, .. } => format!("running VMIs there: {}", running.join(", ")),
            Error::NotRunning { .. } => "list running targets with `kubectl vmchaos list`".into(),
            Error::AlreadyTerminating { .. } => "wait for it to come back, then try again".into(),
            Error::ProtectedNamespace { .. } => {
                "if you really mean it, add --allow-protected-namespace".into()
            }
            Error::Forbidden { .. } => {
                "ask an admin to bind the role in deploy/rbac.yaml, or check with `kubectl auth can-i`".into()
            }
            Error::NoTargets { .. } => "start a VM, or look elsewhere with -n NAMESPACE or -A".into(),
            Error::Api { source, .. } => match api_code(source) {
                Some(401) => "your credentials were rejected: log in again or check the kubeconfig's user".into(),
                Some(403) => "ask an admin for the RBAC in deploy/rbac.yaml".into(),
                _ => return None,
            },
            Error::AlreadyRunning { .. } => "delete it first if you really want the snapshot's version".into(),
            Error::AfterInject { hint, .. } => hint.clone(),
            Error::Refused { refusal, .. } => refusal.hint(),
            Error::Declined | Error::Io { .. } | Error::BadSnapshot { .. } => return None,
        })
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::AfterInject { .. } => Exit::FailedAfterInject,
            _ => Exit::NothingChanged,
        }
    }
}

/// The HTTP status of an API error, if the server answered with one.
pub fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
