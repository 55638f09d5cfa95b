//! `--probe SPEC` and `--abort-if SPEC[,for=DURATION]|unready=N`, parsed into typed values.

use std::{fmt, ops::RangeInclusive, str::FromStr, time::Duration};

/// One thing to probe, as the user wrote it (`text`, used in every message) and as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub text: String,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `tcp://HOST:PORT`: a TCP connect.
    Tcp { host: String, port: u16 },
    /// `http://…` or `https://…`: a GET whose status must be in `status`.
    Http {
        tls: bool,
        host: String,
        port: u16,
        /// Path and query, at least "/".
        path: String,
        status: StatusRange,
    },
    /// `vmi:tcp:PORT`: a TCP connect to the target VMI's own address.
    VmiTcp { port: u16 },
    /// `vmi:http:PORT/PATH`: a GET on the target VMI's own address.
    VmiHttp {
        port: u16,
        path: String,
        status: StatusRange,
    },
    /// `prom:EXPR`: a PromQL expression that must have a result; `server` is filled from
    /// `--prometheus` once the flags are resolved.
    Prom {
        query: String,
        /// `alert:…`: `query` selects `ALERTS`, and the probe passes while it is empty (no
        /// matching alert fires); a firing one fails it as `AlertFiring`, named.
        alerts: bool,
        server: Option<super::prom::PromServer>,
    },
}

impl Target {
    /// Probes the target VMI's own address (which changes when the VMI is re-created).
    pub fn follows_the_vmi(&self) -> bool {
        matches!(self, Target::VmiTcp { .. } | Target::VmiHttp { .. })
    }
}

/// The HTTP statuses that count as success (`#status=200-399`, the default, or `#status=204`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRange(pub RangeInclusive<u16>);

impl Default for StatusRange {
    fn default() -> Self {
        StatusRange(200..=399)
    }
}

impl StatusRange {
    pub fn contains(&self, status: u16) -> bool {
        self.0.contains(&status)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.start() == self.0.end() {
            write!(f, "{}", self.0.start())
        } else {
            write!(f, "{}-{}", self.0.start(), self.0.end())
        }
    }
}

/// A `--probe` or `--abort-if` value that doesn't parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid probe {text:?}: {reason} (expected {expected})")]
pub struct SpecError {
    pub text: String,
    pub reason: String,
    pub expected: &'static str,
}

const SYNTAX: &str = "tcp://HOST:PORT, http(s)://HOST[:PORT]/PATH[#status=200-399], \
                      vmi:tcp:PORT, vmi:http:PORT/PATH, prom:PROMQL or \
                      alert:NAME|LABEL=VALUE[,…]";

fn error(text: &str, reason: impl Into<String>) -> SpecError {
    SpecError {
        text: text.to_string(),
        reason: reason.into(),
        expected: SYNTAX,
    }
}

impl fmt::Display for ProbeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ProbeSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<ProbeSpec, SpecError> {
        let text = text.trim();
        if let Some(filter) = text.strip_prefix("alert:") {
            return Ok(ProbeSpec {
                text: text.to_string(),
                target: Target::Prom {
                    query: alert_selector(text, filter)?,
                    alerts: true,
                    server: None,
                },
            });
        }
        // PromQL may hold '#' and ','; it is taken whole.
        if let Some(query) = text.strip_prefix("prom:") {
            let query = query.trim();
            if query.is_empty() {
                return Err(error(text, "missing PromQL expression after prom:"));
            }
            return Ok(ProbeSpec {
                text: text.to_string(),
                target: Target::Prom {
                    query: query.to_string(),
                    alerts: false,
                    server: None,
                },
            });
        }
        let (body, fragment) = match text.split_once('#') {
            Some((body, fragment)) => (body, Some(fragment)),
            None => (text, None),
        };
        let status = match fragment {
            None => StatusRange::default(),
            Some(fragment) => parse_status(text, fragment)?,
        };
        let target = if let Some(rest) = body.strip_prefix("tcp://") {
            if fragment.is_some() {
                return Err(error(text, "#status applies to HTTP probes only"));
            }
            let (host, port) = host_port(text, rest.trim_end_matches('/'), None)?;
            Target::Tcp { host, port }
        } else if let Some((tls, rest)) = body
            .strip_prefix("http://")
            .map(|r| (false, r))
            .or_else(|| body.strip_prefix("https://").map(|r| (true, r)))
        {
            let (authority, path) = match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
                Some(i) => (&rest[..i], rest[i..].to_string()),
                None => (rest, "/".to_string()),
            };
            if authority.contains('@') {
                return Err(error(
                    text,
                    "user names and passwords in probe URLs are not supported",
                ));
            }
            let (host, port) = host_port(text, authority, Some(if tls { 443 } else { 80 }))?;
            Target::Http {
                tls,
                host,
                port,
                path,
                status,
            }
        } else if let Some(rest) = body.strip_prefix("vmi:") {
            if let Some(port) = rest.strip_prefix("tcp:") {
                if fragment.is_some() {
                    return Err(error(text, "#status applies to HTTP probes only"));
                }
                Target::VmiTcp {
                    port: port_number(text, port)?,
                }
            } else if let Some(rest) = rest.strip_prefix("http:") {
                let (port, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], rest[i..].to_string()),
                    None => (rest, "/".to_string()),
                };
                Target::VmiHttp {
                    port: port_number(text, port)?,
                    path,
                    status,
                }
            } else if rest.starts_with("https:") {
                return Err(error(
                    text,
                    "a VMI's own address has no certificate to verify: use vmi:http:PORT/PATH, \
                     or https:// on a name the certificate is for",
                ));
            } else {
                return Err(error(text, "after vmi: comes tcp:PORT or http:PORT/PATH"));
            }
        } else {
            return Err(error(text, "unknown kind of probe"));
        };
        Ok(ProbeSpec {
            text: text.to_string(),
            target,
        })
    }
}

/// `alert:NAME` or `alert:LABEL=VALUE[,LABEL=VALUE…]` (e.g. `alert:severity=critical`): passes
/// while no such alert fires: the selector `ALERTS{alertstate="firing",…}`.
pub(super) fn alert_selector(text: &str, filter: &str) -> Result<String, SpecError> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Err(error(
            text,
            "missing alert name or LABEL=VALUE after alert: (e.g. alert:severity=critical)",
        ));
    }
    let label_name = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut matchers = vec![r#"alertstate="firing""#.to_string()];
    for part in filter.split(',') {
        let (label, value) = match part.split_once('=') {
            Some((label, value)) => (label.trim(), value.trim()),
            None => ("alertname", part.trim()),
        };
        if !label_name(label) {
            return Err(error(text, format!("{label:?} is not a label name")));
        }
        let value = value.replace('\\', "\\\\").replace('"', "\\\"");
        matchers.push(format!("{label}=\"{value}\""));
    }
    Ok(format!("ALERTS{{{}}}", matchers.join(",")))
}

fn parse_status(text: &str, fragment: &str) -> Result<StatusRange, SpecError> {
    let Some(value) = fragment.strip_prefix("status=") else {
        return Err(error(text, format!("unknown option #{fragment}")));
    };
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| error(text, format!("{s:?} is not an HTTP status (100-599)")))
    };
    let (low, high) = match value.split_once('-') {
        Some((low, high)) => (code(low)?, code(high)?),
        None => {
            let c = code(value)?;
            (c, c)
        }
    };
    if low > high {
        return Err(error(text, format!("empty status range {low}-{high}")));
    }
    Ok(StatusRange(low..=high))
}

fn port_number(text: &str, port: &str) -> Result<u16, SpecError> {
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(error(text, format!("{port:?} is not a port (1-65535)"))),
        Ok(port) => Ok(port),
    }
}

/// `HOST:PORT`, `[V6]:PORT`, or `HOST` when a default port is given; the host without brackets.
fn host_port(
    text: &str,
    authority: &str,
    default: Option<u16>,
) -> Result<(String, u16), SpecError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| error(text, "missing ] after an IPv6 address"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(error(text, format!("unexpected {after:?} after ]"))),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(error(text, "missing host"));
    }
    let port = match (port, default) {
        (Some(port), _) => port_number(text, port)?,
        (None, Some(default)) => default,
        (None, None) => return Err(error(text, "missing port")),
    };
    Ok((host.to_string(), port))
}

/// `--abort-if`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortIf {
    /// `SPEC[,for=DURATION]`: this probe must not fail for longer than `allowed` (default 0:
    /// the first failed attempt aborts).
    ProbeFails { probe: ProbeSpec, allowed: Duration },
    /// `unready=N`: more than N other running VMIs in scope become not Ready.
    Unready { max: usize },
}

impl FromStr for AbortIf {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<AbortIf, SpecError> {
        let text = text.trim();
        let expected = "SPEC[,for=DURATION] (SPEC as for --probe) or unready=N";
        let fail = |reason: String| SpecError {
            text: text.to_string(),
            reason,
            expected,
        };
        if let Some(n) = text.strip_prefix("unready=") {
            let max = n
                .trim()
                .parse::<usize>()
                .map_err(|_| fail(format!("{n:?} is not a number of VMIs")))?;
            return Ok(AbortIf::Unready { max });
        }
        let (spec, allowed) = match text.rsplit_once(",for=") {
            Some((spec, duration)) => {
                let allowed = crate::durations::parse_duration(duration)
                    .map_err(|e| fail(format!("for={duration}: {e}")))?;
                (spec, allowed)
            }
            None => (text, Duration::ZERO),
        };
        let probe: ProbeSpec = spec.parse()?;
        if probe.target.follows_the_vmi() {
            return Err(fail(
                "a vmi: probe follows the VMI the outage takes down; --abort-if watches \
                 something that must stay up (a Service, another VM's address)"
                    .into(),
            ));
        }
        Ok(AbortIf::ProbeFails { probe, allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Target {
        text.parse::<ProbeSpec>()
            .unwrap_or_else(|e| panic!("{e}"))
            .target
    }

    fn reason(text: &str) -> String {
        text.parse::<ProbeSpec>().unwrap_err().reason
    }

    #[test]
    fn tcp_needs_host_and_port() {
        assert_eq!(
            parse("tcp://db.prod.svc:5432"),
            Target::Tcp {
                host: "db.prod.svc".into(),
                port: 5432
            }
        );
        assert_eq!(
            parse("tcp://[::1]:22"),
            Target::Tcp {
                host: "::1".into(),
                port: 22
            }
        );
        assert_eq!(reason("tcp://db"), "missing port");
        assert_eq!(reason("tcp://:80"), "missing host");
        assert!(reason("tcp://db:99999").contains("not a port"));
        assert!(reason("tcp://db:1#status=200").contains("HTTP probes only"));
    }

    #[test]
    fn http_urls_with_default_ports_paths_and_status_ranges() {
        assert_eq!(
            parse("http://web.prod.svc"),
            Target::Http {
                tls: false,
                host: "web.prod.svc".into(),
                port: 80,
                path: "/".into(),
                status: StatusRange(200..=399)
            }
        );
        assert_eq!(
            parse("https://shop.example.com:8443/health?deep=1#status=200-204"),
            Target::Http {
                tls: true,
                host: "shop.example.com".into(),
                port: 8443,
                path: "/health?deep=1".into(),
                status: StatusRange(200..=204)
            }
        );
        let Target::Http { path, status, .. } = parse("http://10.0.0.1?x=1#status=204") else {
            panic!()
        };
        assert_eq!((path.as_str(), status), ("/?x=1", StatusRange(204..=204)));
        assert!(reason("http://a/#status=399-200").contains("empty status range"));
        assert!(reason("http://a/#status=700").contains("not an HTTP status"));
        assert!(reason("http://a/#code=200").contains("unknown option"));
        assert!(reason("http://u:p@a/").contains("passwords"));
        assert_eq!(reason("ftp://a:21"), "unknown kind of probe");
    }

    #[test]
    fn prom_takes_the_whole_expression() {
        assert_eq!(
            parse("prom:sum(kubevirt_vmi_phase_count{phase=\"running\"}) >= 3 # comment"),
            Target::Prom {
                query: "sum(kubevirt_vmi_phase_count{phase=\"running\"}) >= 3 # comment".into(),
                alerts: false,
                server: None
            }
        );
        assert!(!parse("prom:up").follows_the_vmi());
        let Target::Prom { query, .. } = parse("alert:severity=critical, namespace=prod") else {
            panic!()
        };
        assert_eq!(
            query,
            r#"ALERTS{alertstate="firing",severity="critical",namespace="prod"}"#
        );
        let Target::Prom { query, .. } = parse("alert:KubeVirtVMINotRunning") else {
            panic!()
        };
        assert_eq!(
            query,
            r#"ALERTS{alertstate="firing",alertname="KubeVirtVMINotRunning"}"#
        );
        assert!(reason("alert:").contains("missing alert name"));
        assert!(reason("alert:sev-erity=x").contains("not a label name"));
        assert_eq!(
            "alert:severity=critical,for=2s".parse::<AbortIf>().unwrap(),
            AbortIf::ProbeFails {
                probe: "alert:severity=critical".parse().unwrap(),
                allowed: Duration::from_secs(2)
            }
        );
        assert!(reason("prom: ").contains("missing PromQL"));
        assert_eq!(
            "prom:up{job=\"a,b\"} == 1,for=5s"
                .parse::<AbortIf>()
                .unwrap(),
            AbortIf::ProbeFails {
                probe: "prom:up{job=\"a,b\"} == 1".parse().unwrap(),
                allowed: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn vmi_probes_follow_the_vmi() {
        assert_eq!(parse("vmi:tcp:22"), Target::VmiTcp { port: 22 });
        assert_eq!(
            parse("vmi:http:8080/healthz#status=200"),
            Target::VmiHttp {
                port: 8080,
                path: "/healthz".into(),
                status: StatusRange(200..=200)
            }
        );
        assert_eq!(
            parse("vmi:http:80"),
            Target::VmiHttp {
                port: 80,
                path: "/".into(),
                status: StatusRange::default()
            }
        );
        assert!(parse("vmi:tcp:22").follows_the_vmi());
        assert!(!parse("tcp://a:22").follows_the_vmi());
        assert!(reason("vmi:udp:53").contains("tcp:PORT or http:PORT/PATH"));
        assert!(reason("vmi:https:443").contains("no certificate"));
        assert!(reason("vmi:tcp:0").contains("not a port"));
        let e = "bogus".parse::<ProbeSpec>().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "invalid probe \"bogus\": unknown kind of probe (expected tcp://HOST:PORT"
            ),
            "{e}"
        );
    }

    #[test]
    fn abort_if_takes_a_probe_with_a_tolerance_or_an_unready_count() {
        assert_eq!(
            "tcp://db:5432,for=5s".parse::<AbortIf>().unwrap(),
            AbortIf::ProbeFails {
                probe: "tcp://db:5432".parse().unwrap(),
                allowed: Duration::from_secs(5)
            }
        );
        assert_eq!(
            "http://a/x?y=1,2".parse::<AbortIf>().unwrap(),
            AbortIf::ProbeFails {
                probe: "http://a/x?y=1,2".parse().unwrap(),
                allowed: Duration::ZERO
            }
        );
        assert_eq!(
            "unready=2".parse::<AbortIf>().unwrap(),
            AbortIf::Unready { max: 2 }
        );
        assert!("unready=some".parse::<AbortIf>().is_err());
        assert!("tcp://db:1,for=soon"
            .parse::<AbortIf>()
            .unwrap_err()
            .reason
            .contains("for=soon"));
        assert!("vmi:tcp:22"
            .parse::<AbortIf>()
            .unwrap_err()
            .reason
            .contains("must stay up"));
    }
}
