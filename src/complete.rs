//! Completion candidates for `kubectl vmchaos <TAB>` (kubectl >= 1.26 runs
//! `kubectl_complete-vmchaos`, which calls `kubectl-vmchaos __complete WORDS...`). Values come
//! from the cluster like kubectl's own: VMI names, namespaces, contexts, honouring the
//! --kubeconfig/--context/-n already typed. Quick, and never an error on the prompt.

use std::time::Duration;

use clap::CommandFactory;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use crate::{
    cli::{Cli, GlobalArgs},
    cluster, targets,
};

/// cobra's directives: 4 = no file completion, 0 = default (files).
const NO_FILES: u8 = 4;
const FILES: u8 = 0;
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(2);

/// The candidates (`value\tdescription`) and the directive line.
pub async fn complete(words: &[String]) -> (Vec<String>, u8) {
    let Some((current, before)) = words.split_last() else {
        return (subcommands(""), NO_FILES);
    };
    let global = typed_globals(before);
    let subcommand = before
        .iter()
        .find(|w| !w.starts_with('-') && !is_flag_value(before, w))
        .cloned();
    if let Some(flag) = before
        .last()
        .filter(|w| w.starts_with('-') && !w.contains('='))
    {
        if let Some(result) = complete_flag_value(flag, current, &global).await {
            return result;
        }
    }
    if let Some((flag, value)) = current.split_once('=').filter(|(f, _)| f.starts_with("--")) {
        if let Some((values, d)) = complete_flag_value(flag, value, &global).await {
            return (
                values.into_iter().map(|v| format!("{flag}={v}")).collect(),
                d,
            );
        }
    }
    if current.starts_with('-') {
        return (flags(subcommand.as_deref(), current), NO_FILES);
    }
    match subcommand.as_deref() {
        None => (subcommands(current), NO_FILES),
        // Several VMIs can be named: offer the ones not typed yet.
        Some("outage") if positional_count(before) >= 1 => {
            let names = vmi_names(&global, current).await;
            let typed = |c: &String| {
                let name = c.split('\t').next().unwrap_or_default();
                before.iter().any(|w| w == name)
            };
            (names.into_iter().filter(|c| !typed(c)).collect(), NO_FILES)
        }
        // `schedule NAME --cron SPEC -- <TAB>`: the outage's VMI.
        Some("schedule") if before.last().is_some_and(|w| w == "--") => {
            (vmi_names(&global, current).await, NO_FILES)
        }
        Some("restore") => (Vec::new(), FILES),
        Some("completion") => (
            filter(["bash", "zsh", "fish", "powershell"], current),
            NO_FILES,
        ),
        _ => (Vec::new(), NO_FILES),
    }
}

fn filter<'a>(values: impl IntoIterator<Item = &'a str>, prefix: &str) -> Vec<String> {
    values
        .into_iter()
        .filter(|v| v.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn value_flags() -> &'static [&'static str] {
    &[
        "--kubeconfig",
        "--context",
        "--server",
        "-s",
        "--token",
        "--as",
        "--as-group",
        "--tls-server-name",
        "--request-timeout",
        "-n",
        "--namespace",
        "--color",
        "-o",
        "--output",
        "--duration",
        "--timeout",
        "--grace-period",
        "--save-dir",
        "--cron",
        "--image",
        "-f",
        "--filename",
        "--report",
        "--seed",
        "-l",
        "--selector",
        "--count",
        "--percent",
        "--max-targets",
    ]
}

fn is_flag_value(words: &[String], word: &String) -> bool {
    words
        .iter()
        .position(|w| std::ptr::eq(w, word))
        .and_then(|i| i.checked_sub(1))
        .is_some_and(|prev| value_flags().contains(&words[prev].as_str()))
}

fn positional_count(words: &[String]) -> usize {
    words
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            let after_value_flag = *i > 0 && value_flags().contains(&words[i - 1].as_str());
            !w.starts_with('-') && !after_value_flag
        })
        .count()
}

fn typed_globals(words: &[String]) -> GlobalArgs {
    let mut g = GlobalArgs::default();
    let mut it = words.iter().peekable();
    while let Some(w) = it.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.peek().map(|v| v.to_string()));
        match flag {
            "--kubeconfig" => g.kubeconfig = value().map(Into::into),
            "--context" => g.context = value(),
            "-s" | "--server" => g.server = value(),
            "--token" => g.token = value(),
            "--as" => g.as_user = value(),
            "--as-group" => g.as_group.extend(value()),
            "--tls-server-name" => g.tls_server_name = value(),
            "--insecure-skip-tls-verify" => g.insecure_skip_tls_verify = true,
            "-n" | "--namespace" => g.namespace = value(),
            "-A" | "--all-namespaces" => g.all_namespaces = true,
            _ => {}
        }
    }
    g
}

async fn complete_flag_value(
    flag: &str,
    current: &str,
    global: &GlobalArgs,
) -> Option<(Vec<String>, u8)> {
    Some(match flag {
        "--kubeconfig" | "--save-dir" | "-f" | "--filename" | "--report" => (Vec::new(), FILES),
        "--seed" => (Vec::new(), NO_FILES),
        "--context" => (
            cluster::context_names_for(&global.connection())
                .into_iter()
                .filter(|c| c.starts_with(current))
                .collect(),
            NO_FILES,
        ),
        "-n" | "--namespace" => (namespaces(global, current).await, NO_FILES),
        "--color" => (filter(["auto", "always", "never"], current), NO_FILES),
        "-o" | "--output" => (
            filter(["text", "json", "yaml", "table", "wide"], current),
            NO_FILES,
        ),
        "--dry-run" => (filter(["client", "server", "none"], current), NO_FILES),
        "--duration" | "--timeout" => {
            (filter(["30s", "60s", "2m", "5m", "10m"], current), NO_FILES)
        }
        "--grace-period" | "-l" | "--selector" | "--count" | "--percent" | "--max-targets" => {
            (Vec::new(), NO_FILES)
        }
        _ => return None,
    })
}

fn subcommands(prefix: &str) -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name().starts_with(prefix))
        .map(|s| {
            format!(
                "{}\t{}",
                s.get_name(),
                s.get_about().map(|a| a.to_string()).unwrap_or_default()
            )
        })
        .collect()
}

fn flags(subcommand: Option<&str>, prefix: &str) -> Vec<String> {
    let cli = Cli::command();
    let sub = subcommand
        .and_then(|s| cli.find_subcommand(s).cloned())
        .unwrap_or(cli);
    let mut out = Vec::new();
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if flag.starts_with(prefix) {
                out.push(format!("{flag}\t{help}"));
            }
        }
    }
    out
}

async fn vmi_names(global: &GlobalArgs, prefix: &str) -> Vec<String> {
    let lookup = async {
        let cluster = cluster::connect(&global.connection(), CLUSTER_TIMEOUT)
            .await
            .ok()?;
        let scope = if global.all_namespaces {
            None
        } else {
            Some(cluster.namespace.as_str())
        };
        targets::list(&cluster.client, scope, false).await.ok()
    };
    let rows = tokio::time::timeout(CLUSTER_TIMEOUT, lookup)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    rows.into_iter()
        .filter(|r| r.name.starts_with(prefix))
        .map(|r| {
            format!(
                "{}\t{} on {}, {}",
                r.name,
                r.phase,
                r.node.as_deref().unwrap_or("?"),
                r.refused
                    .as_ref()
                    .map_or(r.expected_recovery.as_str().to_string(), |why| format!(
                        "refused: {why}"
                    ))
            )
        })
        .collect()
}

async fn namespaces(global: &GlobalArgs, prefix: &str) -> Vec<String> {
    let lookup = async {
        let cluster = cluster::connect(&global.connection(), CLUSTER_TIMEOUT)
            .await
            .ok()?;
        let api: Api<Namespace> = Api::all(cluster.client);
        api.list(&ListParams::default()).await.ok()
    };
    let list = tokio::time::timeout(CLUSTER_TIMEOUT, lookup)
        .await
        .ok()
        .flatten();
    list.map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn completes_subcommands_and_flags_without_a_cluster() {
        let (c, d) = complete(&words(&["ou"])).await;
        assert_eq!(d, NO_FILES);
        assert!(c[0].starts_with("outage\t"), "{c:?}");
        let (c, _) = complete(&words(&["outage", "--dur"])).await;
        assert!(c[0].starts_with("--duration\t"), "{c:?}");
        let (c, _) = complete(&words(&["outage", "-o", "j"])).await;
        assert_eq!(c, ["json"]);
        let (c, _) = complete(&words(&["outage", "--dry-run="])).await;
        assert!(c.contains(&"--dry-run=server".to_string()), "{c:?}");
        let (_, d) = complete(&words(&["restore", ""])).await;
        assert_eq!(d, FILES);
    }

    #[test]
    fn reads_the_flags_already_typed() {
        let g = typed_globals(&words(&[
            "outage",
            "-n",
            "prod",
            "--context=c1",
            "--kubeconfig",
            "/k",
        ]));
        assert_eq!(g.namespace.as_deref(), Some("prod"));
        assert_eq!(g.context.as_deref(), Some("c1"));
        assert_eq!(g.kubeconfig.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(positional_count(&words(&["outage", "-n", "prod"])), 1);
    }
}
