//! `outage` up to its targets: resolve names, -l, --all, --count/--percent (or the picker) into
//! a `selection::Chosen`, show it, and hand one target to the single-VMI outage core. A dry run
//! of several targets prints the chosen set with each plan; a real run of several targets needs
//! the fleet engine (the outage core's job, `src/outage`).

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject};
use serde::Serialize;

use crate::{
    cli::{DryRun, GlobalArgs, OutageArgs, OutputFormat},
    cluster::{self, Cluster},
    error::{Error, Exit, Result},
    kubevirt, prompt,
    selection::{self, Chosen, SelectionArgs},
    settings::Terminal,
    targets::{self, Query},
};

/// What `outage` goes on with once its targets are known.
pub enum Next {
    /// Run the single-VMI outage with these arguments (the VMI named in `args.vmi`).
    Single(GlobalArgs),
    /// Done: print this on stdout and exit with this code.
    Done(String, Exit),
}

/// Decides the targets of `outage`. A single plain name goes straight to the outage core (it
/// checks the VMI itself), as does "no name" without a terminal (it says what to do).
pub async fn resolve(global: &GlobalArgs, args: &mut OutageArgs, term: &Terminal) -> Result<Next> {
    let t = &args.targets;
    let set_given = !t.names.is_empty()
        || t.selector.is_some()
        || t.all
        || t.count.is_some()
        || t.percent.is_some();
    let single_plain_name =
        t.names.len() == 1 && !t.names[0].contains('/') && !global.all_namespaces;
    if single_plain_name
        && t.selector.is_none()
        && !t.all
        && t.count.is_none()
        && t.percent.is_none()
    {
        args.vmi = Some(t.names[0].clone());
        return Ok(Next::Single(global.clone()));
    }
    if !set_given && !term.interactive() {
        // The outage core explains that a name (or a terminal) is needed.
        return Ok(Next::Single(global.clone()));
    }
    let cluster = cluster::connect(global, Duration::from_secs(10)).await?;
    let mut sel = SelectionArgs::from_cli(
        t,
        global.all_namespaces,
        &cluster.namespace,
        args.allow_protected_namespace,
    );
    let chosen = if set_given {
        selection::resolve(&cluster, &sel).await?
    } else {
        match pick(&cluster, &mut sel).await? {
            Some(chosen) => chosen,
            None => return Err(Error::Declined),
        }
    };
    let dry_mode = args.dry_run.filter(|d| *d != DryRun::None);
    if let Some(mode) = dry_mode.filter(|_| set_given || chosen.targets.len() > 1) {
        return dry_run(&cluster, &chosen, mode, args.output).await;
    }
    eprint!("{}", selection::render(&chosen));
    match chosen.targets.as_slice() {
        [one] => {
            args.vmi = Some(one.name.clone());
            let mut global = global.clone();
            global.namespace = Some(one.namespace.clone());
            global.all_namespaces = false;
            Ok(Next::Single(global))
        }
        many => Err(Error::usage(
            format!(
                "{} VMIs chosen: an outage of several VMIs at once needs the fleet engine, which this build does not have yet",
                many.len()
            ),
            "check the choice with --dry-run, or hit one VMI at a time (--count 1)",
        )),
    }
}

/// The interactive picker over the running VMIs in scope; the picked ones go through the same
/// checks as named ones.
async fn pick(cluster: &Cluster, sel: &mut SelectionArgs) -> Result<Option<Chosen>> {
    let query = Query {
        namespace: sel.scope.namespace(),
        selector: None,
        running_only: true,
    };
    let rows = targets::list_with(&cluster.client, &query)
        .await
        .map_err(|e| match crate::error::api_code(&e) {
            Some(404) => Error::KubeVirtMissing {
                context: cluster.context.clone(),
            },
            _ => cluster.request_error(format!("list VMIs in {}", sel.scope), e),
        })?;
    if rows.is_empty() {
        return Err(Error::NoTargets {
            scope: sel.scope.to_string(),
        });
    }
    let Some(picked) = prompt::pick_many(rows.clone()).await? else {
        return Ok(None);
    };
    sel.names = picked
        .iter()
        .map(|t| format!("{}/{}", t.namespace, t.name))
        .collect();
    selection::choose_picked(&rows, sel).map(Some)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRunDocument<'a> {
    dry_run: &'static str,
    #[serde(flatten)]
    chosen: &'a Chosen,
    verdict: String,
    exit_code: u8,
}

/// Prints the chosen set; `server` also sends each DELETE with dryRun=All.
async fn dry_run(
    cluster: &Cluster,
    chosen: &Chosen,
    mode: DryRun,
    output: OutputFormat,
) -> Result<Next> {
    let mode_name = if mode == DryRun::Server {
        "server"
    } else {
        "client"
    };
    if mode == DryRun::Server {
        let params = DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        };
        for t in &chosen.targets {
            let api: Api<DynamicObject> = Api::namespaced_with(
                cluster.client.clone(),
                &t.namespace,
                &kubevirt::vmi_resource(),
            );
            api.delete(&t.name, &params).await.map_err(|e| {
                Error::api(
                    format!("delete VMI {}/{} (dry run)", t.namespace, t.name),
                    e,
                )
            })?;
        }
    }
    let verdict = format!(
        "DRY RUN ({mode_name}): would delete {} VMI(s); nothing was changed",
        chosen.targets.len()
    );
    let doc = DryRunDocument {
        dry_run: mode_name,
        chosen,
        verdict: verdict.clone(),
        exit_code: Exit::Recovered.code(),
    };
    let text = match output {
        OutputFormat::Json => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(&doc).unwrap_or_default(),
        OutputFormat::Text => format!("{}{verdict}\n", selection::render(chosen)),
    };
    Ok(Next::Done(text, Exit::Recovered))
}
