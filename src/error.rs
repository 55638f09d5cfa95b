//! Typed errors with hints, and the one place that maps outcomes to exit codes. A failed API
//! call is put into words by [`describe`] (kubectl's words where kubectl has some), never shown
//! as a Rust debug struct.

use std::{path::PathBuf, time::Duration};

use kube::core::Status;

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
    #[error("{}", connect_message(server, context, source))]
    Connect {
        server: String,
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to {action}: no answer from the API server {server} (context {context}) within {} (--request-timeout)", humantime::format_duration(*.after))]
    TimedOut {
        action: String,
        server: String,
        context: String,
        after: Duration,
    },
    #[error("failed to {action}: the API server {server} rejected the credentials of user {user} in context {context} (401 Unauthorized)")]
    Unauthorized {
        action: String,
        server: String,
        context: String,
        user: String,
    },
    #[error("failed to {action}: cannot renew the credentials of context {context}: {reason}")]
    Credentials {
        action: String,
        context: String,
        reason: String,
    },
    #[error("KubeVirt is not installed in {context}: the API server does not serve kubevirt.io/v1 virtualmachineinstances")]
    KubeVirtMissing { context: String },
    #[error("KubeVirt's subresources (subresources.kubevirt.io/v1) are not served in {context}: the tool could not start a VM")]
    SubresourcesMissing { context: String },
    #[error("VMI {namespace}/{name} has no virt-launcher pod (pods labelled kubevirt.io=virt-launcher,kubevirt.io/created-by={uid}): there is nothing to crash")]
    LauncherMissing {
        namespace: String,
        name: String,
        uid: String,
    },
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
    #[error("{chosen} VMIs chosen, more than --max-targets {max}")]
    TooManyTargets { chosen: usize, max: usize },
    #[error("the choice takes down every serving replica of {kind} {namespace}/{name} at once ({chosen} of {running} Running and Ready)")]
    FullOutage {
        kind: &'static str,
        namespace: String,
        name: String,
        chosen: usize,
        running: u32,
    },
    #[error("--report {}: {problem}", dir.display())]
    ReportDir {
        dir: PathBuf,
        problem: String,
        hint: String,
    },
    #[error("declined at the prompt: nothing was changed")]
    Declined,
    #[error("interrupted: nothing was changed")]
    Interrupted { signal: crate::signals::Signal },
    #[error("failed to {action}: {}", describe(.source))]
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
            Error::LauncherMissing { namespace, name, uid } => format!(
                "look at `kubectl get pods -n {namespace} -l kubevirt.io/created-by={uid}`; use --fault delete to stop {name} through the API instead"
            ),
            Error::SubresourcesMissing { .. } => {
                "check virt-api: `kubectl get apiservice v1.subresources.kubevirt.io` should be Available".into()
            }
            Error::Connect { source, context, .. } => connect_hint(source, context),
            Error::TimedOut { context, .. } => format!(
                "the server or the network is stalled or slow: check `kubectl --context {context} version`; \
                 give it longer with --request-timeout (0 = no limit)"
            ),
            Error::Unauthorized { user, .. } if user == crate::cluster::TOKEN_FLAG_USER => {
                "check the token given with --token (or leave --token out to use the kubeconfig's \
                 credentials)"
                    .into()
            }
            Error::Unauthorized { context, user, .. } => format!(
                "log in again, or fix user {user}'s credentials in the kubeconfig (token, tokenFile, \
                 client certificate, exec plugin); `kubectl --context {context} auth whoami` shows the same"
            ),
            Error::Credentials { context, .. } => format!(
                "fix the kubeconfig user's credential plugin or token file; `kubectl --context \
                 {context} auth whoami` renews them the same way"
            ),
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
            Error::TooManyTargets { chosen, max } => format!(
                "raise the limit with --max-targets {chosen}, or choose fewer: a sample with --count {max} or --percent (a scenario's kill_count)"
            ),
            Error::FullOutage { .. } => {
                "leave at least one replica out (a sample with --count / --percent, or a scenario's kill_count, spares the last one by itself); add --allow-full-outage if a full outage is the test".into()
            }
            Error::ReportDir { hint, .. } => hint.clone(),
            Error::Api { source, .. } => match api_code(source) {
                Some(401) => "your credentials were rejected: log in again or check the kubeconfig's user".into(),
                Some(403) => "ask an admin for the RBAC in deploy/rbac.yaml".into(),
                Some(404) => "is KubeVirt installed there? `kubectl api-resources --api-group=kubevirt.io` lists what is served".into(),
                Some(429 | 500..=599) => "the API server is overloaded or failing: try again in a moment".into(),
                _ if is_connection_error(source) => {
                    "check that the cluster is up and reachable; `kubectl version` shows the same".into()
                }
                _ => return None,
            },
            Error::AlreadyRunning { .. } => "delete it first if you really want the snapshot's version".into(),
            Error::AfterInject { hint, .. } => hint.clone(),
            Error::Refused {
                refusal: crate::plan::Refusal::NotReady,
                namespace,
                name,
            } => format!(
                "wait until it is Ready: `kubectl wait vmi {name} -n {namespace} --for=condition=Ready`; `kubectl describe vmi {name} -n {namespace}` says why it is not"
            ),
            Error::Refused { refusal, .. } => refusal.hint(),
            Error::Declined
            | Error::Interrupted { .. }
            | Error::Io { .. }
            | Error::BadSnapshot { .. } => return None,
        })
    }

    /// The command that brings the VMI back, when the error came after the delete.
    pub fn restore_command(&self) -> Option<String> {
        match self {
            // The outage puts it at the end of its hint.
            Error::AfterInject { hint, .. } => hint
                .find("kubectl vmchaos restore")
                .map(|at| hint[at..].trim().to_string()),
            _ => None,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::AfterInject { .. } => Exit::FailedAfterInject,
            Error::Interrupted { signal } => Exit::from_signal(*signal),
            _ => Exit::NothingChanged,
        }
    }
}

/// serde-saphyr's message as one sentence of ours: without its "line L column C:" prefix (the
/// caller names the line), its source excerpt, and its advice to programmers ("use
/// from_str_multiple").
pub fn yaml_words(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match first.split_once(": ") {
        Some((at, rest)) if at.starts_with("line ") => rest,
        _ => first,
    };
    if message.starts_with("multiple YAML documents detected") {
        return "a second YAML document (after a `---` line): the file must hold exactly one"
            .into();
    }
    message.to_string()
}

/// The HTTP status of an API error, if the server answered with one.
pub fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The request never got an answer from the server: refused, reset, TLS, proxy, timeout.
pub fn is_connection_error(err: &kube::Error) -> bool {
    matches!(
        err,
        kube::Error::HyperError(_)
            | kube::Error::Service(_)
            | kube::Error::ReadEvents(_)
            | kube::Error::RustlsTls(_)
            | kube::Error::ProxyProtocolUnsupported { .. }
            | kube::Error::ProxyProtocolDisabled { .. }
    )
}

/// The request got no answer within --request-timeout (the client's own timeout layer).
pub fn is_request_timeout(err: &kube::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<tower::timeout::error::Elapsed>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A failed API call in words: what kubectl would say, never a Rust debug struct. Every message
/// about a `kube::Error` goes through here.
pub fn describe(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => describe_status(status),
        kube::Error::Auth(e) => format!("failed to get credentials: {}", chain(e)),
        kube::Error::SerdeError(e) => format!("the server's answer could not be read: {e}"),
        kube::Error::ReadEvents(e) => {
            let text = chain(e);
            if text.contains("close_notify") || text.contains("peer closed connection") {
                "the watch stream broke: the API server closed the connection".into()
            } else {
                format!("the watch stream broke: {text}")
            }
        }
        kube::Error::InferKubeconfig(e) => chain(e),
        kube::Error::ProxyProtocolUnsupported { proxy_url }
        | kube::Error::ProxyProtocolDisabled { proxy_url, .. } => {
            format!("proxy-url {proxy_url}: only http:// proxies (HTTP CONNECT) are supported")
        }
        kube::Error::RustlsTls(e) => format!("TLS set-up failed: {}", chain(e)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => transport(err),
        other => chain(other),
    }
}

/// A watch that failed, in words.
pub fn describe_watch(err: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error as W;
    match err {
        W::InitialListFailed(e) | W::WatchStartFailed(e) | W::WatchFailed(e) => describe(e),
        W::WatchError(status) => describe_status(status),
        W::NoResourceVersion => err.to_string(),
    }
}

/// An answer from the server, as kubectl prints it ("Error from server (Forbidden): ...").
pub fn describe_status(status: &Status) -> String {
    let message = status.message.trim();
    let reason = if status.reason.is_empty() {
        http::StatusCode::from_u16(status.code)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("")
            .replace(' ', "")
    } else {
        status.reason.clone()
    };
    match status.code {
        401 => "the server rejected the credentials (401 Unauthorized)".into(),
        403 if message.is_empty() => "forbidden (403)".into(),
        403 => format!("forbidden: {message} (403)"),
        404 if message.is_empty()
            || message == "the server could not find the requested resource" =>
        {
            "the server could not find the requested resource (404)".into()
        }
        410 => format!(
            "{} (410 Gone)",
            if message.is_empty() {
                "the requested resourceVersion is too old"
            } else {
                message
            }
        ),
        0 if message.is_empty() => "the server answered with an error it did not explain".into(),
        code if message.is_empty() => format!("{code} {reason}"),
        code => format!("{message} ({code} {reason})"),
    }
}

/// A transport failure: the innermost causes that say something (not hyper's "client error
/// (Connect)" wrapper), with the usual ones in plain words.
fn transport(err: &kube::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut parts: Vec<String> = Vec::new();
    while let Some(cause) = source {
        if cause.is::<tower::timeout::error::Elapsed>() {
            return "no answer within --request-timeout".into();
        }
        if let Some(renew) = cause.downcast_ref::<crate::credentials::RenewError>() {
            return renew.to_string();
        }
        if let Some(tls) = find_tls_error(cause) {
            parts.push(tls_words(tls));
            break;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if let Some(words) = io_words(io.kind()) {
                parts.push(words.into());
                break;
            }
        }
        let text = cause.to_string();
        if text.contains("keep-alive timed out") {
            return "the connection stopped answering (HTTP/2 ping unanswered)".into();
        }
        let wrapper = text.starts_with("client error (") || text.is_empty();
        if !wrapper && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        // No cause to show: kube's own text, without its "HyperError: " style prefix.
        let text = err.to_string();
        return text
            .split_once(": ")
            .map_or(text.clone(), |(_, rest)| rest.to_string());
    }
    parts.join(": ")
}

/// The rustls error inside a cause, also when io::Errors wrap it (tokio-rustls, hyper-util
/// do), whose `source()` would skip it.
fn find_tls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = err.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_tls_error(inner)
}

/// A TLS failure as Go's x509 package (so kubectl) words it.
fn tls_words(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => "x509: certificate signed by unknown authority".into(),
            C::NotValidForNameContext {
                expected,
                presented,
            } => {
                // rustls lists names as `DnsName("a")` / `IpAddress(1.2.3.4)`.
                let names: Vec<String> = presented
                    .iter()
                    .map(|n| {
                        let inner = n
                            .split_once('(')
                            .map_or(n.as_str(), |(_, rest)| rest.trim_end_matches(')'));
                        inner.trim_matches('"').to_string()
                    })
                    .collect();
                format!(
                    "x509: certificate is valid for {}, not {}",
                    names.join(", "),
                    expected.to_str()
                )
            }
            C::NotValidForName => "x509: certificate is not valid for the server's name".into(),
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                "x509: certificate has expired or is not yet valid".into()
            }
            other => format!("x509: the server's certificate was refused: {other}"),
        },
        other => format!("TLS handshake failed: {other}"),
    }
}

fn io_words(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by the server or a proxy",
        K::ConnectionAborted => "connection aborted",
        K::TimedOut => "connection timed out",
        K::UnexpectedEof => "the connection closed before an answer came",
        K::BrokenPipe => "the connection broke",
        _ => return None,
    })
}

/// An error and its causes on one line, each said once.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// "failed to reach" only when the server was not reached: an answer (401, 503) says so.
fn connect_message(server: &str, context: &str, source: &kube::Error) -> String {
    match source {
        kube::Error::Api(status) if status.code == 401 => format!(
            "the API server {server} rejected the credentials of context {context} (401 Unauthorized)"
        ),
        kube::Error::Api(_) => format!(
            "the API server {server} (context {context}) answered with an error: {}",
            describe(source)
        ),
        _ => format!(
            "failed to reach the API server {server} (context {context}): {}",
            describe(source)
        ),
    }
}

/// What to try when the server could not be reached, by cause.
fn connect_hint(source: &kube::Error, context: &str) -> String {
    let text = describe(source);
    if api_code(source) == Some(401) {
        format!(
            "log in again, or fix the credentials of context {context}'s user in the kubeconfig \
             (token, tokenFile, client certificate, exec plugin)"
        )
    } else if api_code(source).is_some() {
        format!("the API server answered with an error: `kubectl --context {context} version` shows it too")
    } else if text.contains("certificate") || text.contains("TLS") || text.contains("x509") {
        format!(
            "the server's certificate was not accepted: check certificate-authority and \
             tls-server-name of context {context} (or --tls-server-name)"
        )
    } else if text.contains("--request-timeout") {
        format!(
            "the server or the network is stalled: check `kubectl --context {context} version`; \
             give it longer with --request-timeout (0 = no limit)"
        )
    } else if text.contains("tunnel") || text.contains("proxy") {
        format!("the proxy of context {context} (proxy-url) did not connect: is it up?")
    } else {
        format!(
            "check that the cluster is up and reachable: `kubectl --context {context} version` \
             should work"
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            status: Some(kube::core::response::StatusSummary::Failure),
            code,
            message: message.into(),
            reason: reason.into(),
            ..Status::default()
        }))
    }

    #[test]
    fn api_errors_read_like_kubectl() {
        assert_eq!(
            describe(&status(401, "Unauthorized", "Unauthorized")),
            "the server rejected the credentials (401 Unauthorized)"
        );
        let forbidden = r#"virtualmachineinstances.kubevirt.io is forbidden: User "alice" cannot list resource "virtualmachineinstances""#;
        assert_eq!(
            describe(&status(403, "Forbidden", forbidden)),
            format!("forbidden: {forbidden} (403)")
        );
        assert_eq!(
            describe(&status(
                404,
                "NotFound",
                "the server could not find the requested resource"
            )),
            "the server could not find the requested resource (404)"
        );
        assert_eq!(
            describe(&status(
                409,
                "AlreadyExists",
                r#"virtualmachineinstances.kubevirt.io "db-0" already exists"#
            )),
            r#"virtualmachineinstances.kubevirt.io "db-0" already exists (409 AlreadyExists)"#
        );
        assert_eq!(describe(&status(503, "", "")), "503 ServiceUnavailable");
        for code in [401, 403, 404, 409, 410, 500] {
            let text = Error::api("list VMIs", status(code, "", "x")).to_string();
            assert!(
                !text.contains("Status {") && !text.contains("ApiError"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_request_timeout_names_the_flag() {
        let err = kube::Error::Service(Box::new(tower::timeout::error::Elapsed::new()));
        assert_eq!(describe(&err), "no answer within --request-timeout");
        assert!(is_connection_error(&err));
        assert!(is_request_timeout(&err));
    }

    #[test]
    fn the_restore_command_is_taken_from_an_after_inject_hint() {
        let err = Error::AfterInject {
            message: "lost the API server".into(),
            hint: "check with `kubectl get vmi`; if it is gone: kubectl vmchaos restore '/s' --context 'c'".into(),
        };
        assert_eq!(
            err.restore_command().as_deref(),
            Some("kubectl vmchaos restore '/s' --context 'c'")
        );
        assert_eq!(err.exit(), Exit::FailedAfterInject);
        assert!(Error::Declined.restore_command().is_none());
    }
}
