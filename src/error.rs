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
    /// Interrupted by Ctrl-C (SIGINT).
    Interrupted,
    /// Stopped by SIGTERM.
    Terminated,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Recovered => 0,
            Exit::NotRecovered => 1,
            Exit::NothingChanged => 2,
            Exit::FailedAfterInject => 3,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }

    /// The exit of a run interrupted by this signal.
    pub fn from_signal(signal: crate::signals::Signal) -> Exit {
        match signal {
            crate::signals::Signal::Interrupt => Exit::Interrupted,
            crate::signals::Signal::Terminate => Exit::Terminated,
        }
    }

    /// Several outcomes in one run (a fleet, a game day): the most serious wins.
    pub fn worst(exits: impl IntoIterator<Item = Exit>) -> Exit {
        let rank = |e: &Exit| match e {
            Exit::Recovered => 0,
            Exit::NothingChanged => 1,
            Exit::NotRecovered => 2,
            Exit::FailedAfterInject => 3,
            Exit::Interrupted | Exit::Terminated => 4,
        };
        exits
            .into_iter()
            .max_by_key(rank)
            .unwrap_or(Exit::Recovered)
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
    #[error("KubeVirt's subresources (subresources.kubevirt.io/v1) are not served in {context}: the tool could not start a VM")]
    SubresourcesMissing { context: String },
    #[error("no VMI named {name} in namespace {namespace}")]
    VmiNotFound {
        name: String,
        namespace: String,
        running: Vec<String>,
    },
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
    #[error("interrupted: nothing was changed")]
    Interrupted { signal: crate::signals::Signal },
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
            Error::SubresourcesMissing { .. } => {
                "check virt-api: `kubectl get apiservice v1.subresources.kubevirt.io` should be Available".into()
            }
            Error::KubeVirtMissing { .. } => {
                "install KubeVirt (or OpenShift Virtualization), or pick the right cluster with --context".into()
            }
            Error::VmiNotFound { running, .. } if running.is_empty() => {
                "there is no running VMI in that namespace; list targets with `kubectl vmchaos list -A`".into()
            }
            Error::VmiNotFound { running, .. } => format!("running VMIs there: {}", running.join(", ")),
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
            Error::Declined
            | Error::Interrupted { .. }
            | Error::Io { .. }
            | Error::BadSnapshot { .. } => return None,
        })
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::AfterInject { .. } => Exit::FailedAfterInject,
            Error::Interrupted { signal } => Exit::from_signal(*signal),
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

/// A kube error in kubectl's words: the server's own message and the HTTP status, never a
/// debug struct.
pub fn describe_kube_error(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            let reason = match status.code {
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "Not Found",
                409 => "Conflict",
                410 => "Gone",
                422 => "Invalid",
                429 => "Too Many Requests",
                500 => "Internal Server Error",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => "",
            };
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match (status.code, reason) {
                (401, _) => "the server rejected the credentials (401 Unauthorized)".into(),
                (code, "") => format!("{message} ({code})"),
                (code, reason) => format!("{message} ({code} {reason})"),
            }
        }
        other => {
            // Connection-level errors: the innermost cause says the most.
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let c = cause.to_string();
                if !text.contains(&c) {
                    text = format!("{text}: {c}");
                }
                source = cause.source();
            }
            text
        }
    }
}
