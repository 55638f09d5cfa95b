//! Kraken's `performance_monitoring` in `config.yaml`: with `enable_alerts: True`, its
//! `alert_profile` (a list of `{expr, description, severity}`) is read, and each `critical` (or
//! `error`) entry guards every step as an abort condition: the step stops and recovers its
//! targets as soon as the expression has a result. Kraken evaluates them once the run is over;
//! here they are watched all along, like `--abort-if alert:…`.

use std::path::{Path, PathBuf};

use super::{
    invalid, key_name,
    node::{Located, Node},
    read_file, scalar_text, yaml, KrakenError, Loaded,
};
use crate::{
    events::Note,
    probe::{AbortIf, ProbeOptions, ProbeSpec, PromServer, Target},
};

/// `performance_monitoring`, as far as alerts go.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertProfile {
    /// The profile file, resolved.
    pub file: PathBuf,
    /// `prometheus_url` (empty: not given; `PROMETHEUS_URL` is then asked).
    pub prometheus_url: Option<String>,
    pub prometheus_bearer_token: Option<String>,
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub expr: String,
    pub description: String,
    pub severity: String,
    pub line: u64,
}

impl AlertRule {
    /// Kraken fails a run on these; here they abort the step.
    pub fn aborts(&self) -> bool {
        matches!(self.severity.as_str(), "critical" | "error")
    }
}

impl AlertProfile {
    /// The abort conditions of every step: one per critical rule, passing while its expression
    /// has no result. `url`, `token`: `PROMETHEUS_URL`, `PROMETHEUS_TOKEN`, when the config
    /// names none.
    pub fn probe_options(
        &self,
        url: Option<String>,
        token: Option<String>,
    ) -> Result<ProbeOptions, String> {
        let abort: Vec<AbortIf> = self
            .rules
            .iter()
            .filter(|r| r.aborts())
            .map(|r| AbortIf::ProbeFails {
                probe: ProbeSpec {
                    text: format!("alert_profile {:?}", r.description),
                    target: Target::Prom {
                        query: r.expr.clone(),
                        alerts: true,
                        server: None,
                    },
                },
                allowed: std::time::Duration::ZERO,
            })
            .collect();
        if abort.is_empty() {
            return Ok(ProbeOptions::none());
        }
        let url = self.prometheus_url.clone().or(url).ok_or_else(|| {
            format!(
                "{}: performance_monitoring.prometheus_url is empty and PROMETHEUS_URL is not set: \
                 the alert profile needs a Prometheus to ask",
                self.file.display()
            )
        })?;
        let server = PromServer::new(&url, self.prometheus_bearer_token.clone().or(token), None)?;
        ProbeOptions::new(
            &[],
            &abort,
            crate::probe::ProbeTiming::DEFAULT_INTERVAL,
            None,
        )?
        .with_prometheus(Some(server))
    }
}

/// Reads `performance_monitoring` (a top-level key of Kraken's config).
pub(super) fn performance_monitoring(
    file: &Path,
    base: &Path,
    section: &Located,
    loaded: &mut Loaded,
) -> Result<(), KrakenError> {
    let Node::Map(entries) = &section.node else {
        return Err(invalid(
            file,
            section.line,
            format!(
                "performance_monitoring must be a mapping, not {}",
                section.node.kind()
            ),
            None,
        ));
    };
    let text = |v: &Located| scalar_text(v).map(|s| s.trim().to_string());
    let (mut url, mut token, mut enabled, mut profile) = (None, None, false, None);
    for (k, v) in entries {
        match key_name(file, k)? {
            "prometheus_url" => url = text(v).filter(|s| !s.is_empty()),
            "prometheus_bearer_token" => token = text(v).filter(|s| !s.is_empty()),
            "enable_alerts" => {
                enabled = match (&v.node, text(v)) {
                    (Node::Bool(b), _) => *b,
                    (_, Some(s)) if s.eq_ignore_ascii_case("true") => true,
                    (_, Some(s)) if s.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(invalid(
                            file,
                            v.line,
                            format!("enable_alerts must be True or False, not {}", v.node.kind()),
                            None,
                        ))
                    }
                }
            }
            "alert_profile" => profile = text(v).filter(|s| !s.is_empty()).map(|p| (p, v.line)),
            other => loaded.ignored.push(Note::KrakenOwn {
                file: file.to_path_buf(),
                line: k.line,
                key: format!("performance_monitoring.{other}"),
            }),
        }
    }
    match (enabled, profile) {
        (false, _) => loaded.ignored.push(Note::AlertsOff {
            file: file.to_path_buf(),
            line: section.line,
        }),
        (true, None) => {
            return Err(invalid(
                file,
                section.line,
                "enable_alerts is True but there is no alert_profile".into(),
                Some("name the profile: alert_profile: config/alerts.yaml".into()),
            ))
        }
        (true, Some((path, line))) => {
            let path = base.join(path);
            let text = read_file(&path).map_err(|e| match e {
                KrakenError::Read { source, .. } => invalid(
                    file,
                    line,
                    format!("cannot read the alert profile {}: {source}", path.display()),
                    Some(
                        "paths in performance_monitoring are relative to the config's folder"
                            .into(),
                    ),
                ),
                other => other,
            })?;
            let rules = profile_rules(&path, &text)?;
            loaded.alerts = Some(AlertProfile {
                file: path,
                prometheus_url: url,
                prometheus_bearer_token: token,
                rules,
            });
        }
    }
    Ok(())
}

/// An alert profile: a list of `{expr, description, severity}`.
pub(super) fn profile_rules(file: &Path, text: &str) -> Result<Vec<AlertRule>, KrakenError> {
    let doc = yaml(file, text)?;
    let Node::Seq(items) = &doc.node else {
        return Err(invalid(
            file,
            doc.line,
            format!(
                "an alert profile is a list of {{expr, description, severity}}, not {}",
                doc.node.kind()
            ),
            None,
        ));
    };
    let mut rules = Vec::new();
    for item in items {
        let Node::Map(entries) = &item.node else {
            return Err(invalid(
                file,
                item.line,
                format!("each alert is a mapping, not {}", item.node.kind()),
                None,
            ));
        };
        let (mut expr, mut description, mut severity) = (None, None, None);
        for (k, v) in entries {
            let value = scalar_text(v).map(|s| s.trim().to_string());
            match key_name(file, k)? {
                "expr" => expr = value,
                "description" => description = value,
                "severity" => severity = value.map(|s| s.to_lowercase()),
                other => {
                    return Err(invalid(
                        file,
                        k.line,
                        format!("unknown key {other} in an alert (expr, description, severity)"),
                        None,
                    ))
                }
            }
        }
        let expr = expr
            .filter(|e| !e.is_empty())
            .ok_or_else(|| invalid(file, item.line, "an alert without expr".into(), None))?;
        let severity = severity.unwrap_or_else(|| "warning".into());
        if !["critical", "error", "warning", "info"].contains(&severity.as_str()) {
            return Err(invalid(
                file,
                item.line,
                format!("severity {severity:?}: expected critical, error, warning or info"),
                None,
            ));
        }
        rules.push(AlertRule {
            description: description.unwrap_or_else(|| expr.clone()),
            expr,
            severity,
            line: item.line,
        });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_turns_its_critical_alerts_into_abort_conditions() {
        let text = "- expr: avg_over_time(etcd_fsync[10m:]) > 0.01\n  description: etcd \
                    fsync slow {{$labels.pod}}\n  severity: warning\n- expr: \
                    kubevirt_vmi_info{phase!=\"running\"}\n  description: a VMI is not \
                    running\n  severity: critical\n";
        let rules = profile_rules(Path::new("alerts.yaml"), text).unwrap();
        assert_eq!(rules.len(), 2);
        assert!(!rules[0].aborts() && rules[1].aborts());
        assert_eq!(rules[1].line, 4);
        let profile = AlertProfile {
            file: "alerts.yaml".into(),
            prometheus_url: None,
            prometheus_bearer_token: None,
            rules,
        };
        let e = profile.probe_options(None, None).unwrap_err();
        assert!(e.contains("PROMETHEUS_URL"), "{e}");
        let o = profile
            .probe_options(Some("http://127.0.0.1:9090".into()), None)
            .unwrap();
        assert_eq!((o.probes.len(), o.targets, o.abort.len()), (1, 0, 1));
        assert_eq!(o.probes[0].text, "alert_profile \"a VMI is not running\"");
        let Target::Prom { alerts, server, .. } = &o.probes[0].target else {
            panic!()
        };
        assert!(*alerts && server.is_some());
        let bad = profile_rules(Path::new("a.yaml"), "- expr: up\n  severity: fatal\n");
        assert!(bad.unwrap_err().to_string().contains("fatal"));
        let no_expr = profile_rules(Path::new("a.yaml"), "- description: x\n");
        assert!(no_expr.unwrap_err().to_string().contains("without expr"));
    }
}
