//! `kubectl vmchaos outage`: connect, check KubeVirt, pick and check the target, check
//! permissions, confirm, snapshot, inject, recover, validate. Emits events; never prints.

pub mod actions;
pub mod events;
mod preflight;
pub mod recovery;
pub mod report;
pub mod tracker;
mod watch;

pub use events::Reporter;

use std::{path::PathBuf, time::Duration};

use kube::api::{Api, DeleteParams, DynamicObject};

use self::{
    events::Phase,
    preflight::Target,
    recovery::{Outcome, Recovered, Settings},
    report::{Endpoint, Report, TargetRef},
};
use crate::{
    cli::{DryRun, GlobalArgs, OutageArgs},
    cluster::{self, Cluster},
    error::{Error, Exit, Result},
    kubevirt::{self, is_protected_namespace, Recovery},
    prompt,
    render::format_duration,
    settings::Terminal,
    signals::Signals,
    snapshot::{self, SnapshotMeta},
    targets,
};

pub async fn run(
    global: &GlobalArgs,
    args: &OutageArgs,
    term: &Terminal,
    reporter: &mut Reporter,
) -> Result<Report> {
    let dry_run = args.dry_run.filter(|d| *d != DryRun::None);
    // Usage problems first: they need no cluster.
    if args.vmi.is_none() && !term.interactive() {
        return Err(Error::usage(
            "no VMI named, and no terminal to pick one on",
            "name the VMI: kubectl vmchaos outage NAME -n NAMESPACE (see `kubectl vmchaos list -A`)",
        ));
    }
    if args.vmi.is_some() && global.all_namespaces {
        return Err(Error::usage(
            "-A/--all-namespaces only applies to the picker",
            "name the VMI's namespace with -n NAMESPACE instead",
        ));
    }
    if !args.yes && dry_run.is_none() && !term.interactive() {
        return Err(Error::usage(
            "refusing to delete without confirmation: there is no terminal to ask on",
            "add --yes to confirm on the command line (or --dry-run to only check)",
        ));
    }
    if let (Some(_), Some(ns)) = (&args.vmi, &global.namespace) {
        refuse_protected(ns, args.allow_protected_namespace)?;
    }
    let mut signals = Signals::install();

    reporter.start(Phase::Connect, "reading the kubeconfig");
    let cluster = match cluster::connect(global, Duration::from_secs(10)).await {
        Ok(c) => c,
        Err(e) => return fail(reporter, e),
    };
    reporter.progress(format!("asking {} for its version", cluster.server));
    let version = match cluster.client.apiserver_version().await {
        Ok(v) => v.git_version,
        Err(source) => {
            return fail(
                reporter,
                Error::Connect {
                    server: cluster.server.clone(),
                    context: cluster.context.clone(),
                    source,
                },
            )
        }
    };
    reporter.finish(format!(
        "context {}, {} ({version})",
        cluster.context, cluster.server
    ));

    reporter.start(Phase::KubeVirt, "looking for kubevirt.io/v1");
    match preflight::check_kubevirt(&cluster).await {
        Ok(detail) => reporter.finish(detail),
        Err(e) => return fail(reporter, e),
    }

    let (namespace, name) = match &args.vmi {
        Some(name) => (cluster.namespace.clone(), name.clone()),
        None => match pick(&cluster, global, reporter).await? {
            Some(t) => (t.namespace, t.name),
            None => return Err(Error::Declined),
        },
    };
    refuse_protected(&namespace, args.allow_protected_namespace)?;
    reporter.start(Phase::Target, format!("checking VMI {namespace}/{name}"));
    let target = match preflight::resolve_target(&cluster, &namespace, &name).await {
        Ok(t) => t,
        Err(e) => return fail(reporter, e),
    };
    reporter.finish(describe_target(&target));

    let perms = preflight::required_permissions(
        target.expected,
        target.vm.as_ref().map(|v| &v.run_strategy),
    );
    reporter.start(
        Phase::Permissions,
        "SelfSubjectAccessReview for every verb the run uses",
    );
    if let Err(e) = preflight::check_permissions(&cluster, &namespace, &perms).await {
        return fail(reporter, e);
    }
    reporter.finish(format!("allowed: {}", preflight::summarize(&perms)));

    let mut report = base_report(&cluster, &target);
    if let Some(mode) = dry_run {
        return dry_run_report(&cluster, &target, mode, report, reporter).await;
    }
    if !args.yes {
        reporter.flush();
        let question = format!(
            "Delete VMI {namespace}/{name} on {} in context {}? Expected recovery: {}",
            target.vmi.node.as_deref().unwrap_or("an unknown node"),
            cluster.context,
            target.expected.describe()
        );
        if !prompt::confirm(question).await? {
            return Err(Error::Declined);
        }
    }

    reporter.start(Phase::Snapshot, "saving the VMI's manifest");
    let base = args
        .save_dir
        .clone()
        .map_or_else(snapshot::default_base, Ok);
    let snapshot_dir = match base.and_then(|base| save_snapshot(&cluster, &target, &base)) {
        Ok(dir) => dir,
        Err(e) => return fail(reporter, e),
    };
    reporter.finish(format!("saved to {}", snapshot_dir.display()));
    report.snapshot = Some(snapshot_dir.clone());

    let settings = Settings {
        duration: args.duration,
        timeout: args.timeout,
        grace_period: args.grace_period,
        snapshot_dir: &snapshot_dir,
    };
    let recovered =
        recovery::inject_and_recover(&cluster, &target, &settings, reporter, &mut signals).await?;
    let mut notes = recovered.notes.clone();
    let mut strategy_failed = false;
    if recovered.tracker.running() {
        match recovery::restore_strategy(&cluster, &target, recovered.action).await {
            Some(Ok(note)) => {
                reporter.note(note.clone());
                notes.push(note);
            }
            Some(Err(note)) => {
                reporter.note(note.clone());
                notes.push(note);
                strategy_failed = true;
            }
            None => {}
        }
    }
    reporter.flush();
    finish_report(
        &mut report,
        &recovered,
        &args_summary(args),
        &cluster,
        &snapshot_dir,
    );
    report.notes = notes;
    if strategy_failed && report.exit == Exit::Recovered {
        report.set_exit(Exit::FailedAfterInject);
        report.verdict = format!(
            "{} — but the VM's runStrategy could not be restored (see notes)",
            report.verdict
        );
    }
    Ok(report)
}

fn fail<T>(reporter: &mut Reporter, error: Error) -> Result<T> {
    reporter.fail(error.to_string());
    reporter.flush();
    Err(error)
}

fn refuse_protected(namespace: &str, allowed: bool) -> Result<()> {
    if is_protected_namespace(namespace) && !allowed {
        return Err(Error::ProtectedNamespace {
            namespace: namespace.into(),
        });
    }
    Ok(())
}

async fn pick(
    cluster: &Cluster,
    global: &GlobalArgs,
    reporter: &mut Reporter,
) -> Result<Option<targets::Target>> {
    let scope = if global.all_namespaces {
        None
    } else {
        Some(cluster.namespace.as_str())
    };
    let scope_text = scope.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
    reporter.start(
        Phase::Target,
        format!("listing running VMIs in {scope_text}"),
    );
    let rows = match targets::list(&cluster.client, scope, true).await {
        Ok(rows) => rows,
        Err(e) => {
            return fail(
                reporter,
                Error::api(format!("list VMIs in {scope_text}"), e),
            )
        }
    };
    if rows.is_empty() {
        return fail(reporter, Error::NoTargets { scope: scope_text });
    }
    reporter.finish(format!("{} running VMI(s) in {scope_text}", rows.len()));
    reporter.flush();
    prompt::pick(rows).await
}

fn describe_target(t: &Target) -> String {
    let owner = match &t.vm {
        Some(vm) => format!("VM {} (runStrategy {})", vm.name, vm.run_strategy.as_str()),
        None => "standalone VMI".into(),
    };
    format!(
        "{}/{} Running on {}, {owner}: {}",
        t.vmi.namespace,
        t.vmi.name,
        t.vmi.node.as_deref().unwrap_or("an unknown node"),
        t.expected.describe()
    )
}

fn base_report(cluster: &Cluster, t: &Target) -> Report {
    Report {
        target: TargetRef {
            namespace: t.vmi.namespace.clone(),
            name: t.vmi.name.clone(),
        },
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        vm: t.vm.as_ref().map(|v| v.name.clone()),
        run_strategy: t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string()),
        expected_recovery: t.expected,
        recovery: Recovery::None,
        recovered: false,
        dry_run: None,
        interrupted: false,
        before: Endpoint {
            uid: t.vmi.uid.clone(),
            node: t.vmi.node.clone(),
            ip: t.vmi.ip.clone(),
        },
        after: None,
        injected_at: None,
        timings: Default::default(),
        snapshot: None,
        restore_command: None,
        verdict: String::new(),
        exit_code: 0,
        notes: Vec::new(),
        exit: Exit::Recovered,
    }
}

async fn dry_run_report(
    cluster: &Cluster,
    target: &Target,
    mode: DryRun,
    mut report: Report,
    reporter: &mut Reporter,
) -> Result<Report> {
    let what = format!(
        "would delete VMI {}/{} (uid {}); expected recovery: {}",
        target.vmi.namespace,
        target.vmi.name,
        target.vmi.uid,
        target.expected.describe()
    );
    report.dry_run = Some(
        if mode == DryRun::Server {
            "server"
        } else {
            "client"
        }
        .into(),
    );
    if mode == DryRun::Server {
        reporter.start(Phase::Inject, "sending the delete with dryRun=All");
        let api: Api<DynamicObject> = Api::namespaced_with(
            cluster.client.clone(),
            &target.vmi.namespace,
            &kubevirt::vmi_resource(),
        );
        let params = DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        };
        if let Err(e) = api.delete(&target.vmi.name, &params).await {
            return fail(
                reporter,
                Error::api(
                    format!(
                        "delete VMI {}/{} (dry run)",
                        target.vmi.namespace, target.vmi.name
                    ),
                    e,
                ),
            );
        }
        reporter.finish("the API server accepted the delete (dry run: nothing changed)");
    }
    report.verdict = format!(
        "DRY RUN ({}): {what}; nothing was changed",
        report.dry_run.as_deref().unwrap_or("")
    );
    report.set_exit(Exit::Recovered);
    Ok(report)
}

fn save_snapshot(cluster: &Cluster, t: &Target, base: &std::path::Path) -> Result<PathBuf> {
    let meta = SnapshotMeta {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        namespace: t.vmi.namespace.clone(),
        name: t.vmi.name.clone(),
        uid: t.vmi.uid.clone(),
        vm: t.vm.as_ref().map(|v| v.name.clone()),
        run_strategy: t.vm.as_ref().map(|v| v.run_strategy.as_str().to_string()),
        expected_recovery: t.expected,
        saved_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    };
    snapshot::save(base, &meta, &t.object, t.vm_object.as_ref())
}

fn args_summary(args: &OutageArgs) -> String {
    format!(
        "--duration {} + --timeout {}",
        format_duration(args.duration),
        format_duration(args.timeout)
    )
}

fn finish_report(
    report: &mut Report,
    r: &Recovered,
    limits: &str,
    cluster: &Cluster,
    snapshot_dir: &std::path::Path,
) {
    report.injected_at = Some(humantime::format_rfc3339_millis(r.injected_at).to_string());
    report.timings = r.tracker.timings.clone();
    report.after = r.tracker.current().map(|c| Endpoint {
        uid: c.uid.clone(),
        node: c.node.clone(),
        ip: c.ip.clone(),
    });
    report.recovery = match (r.action, r.tracker.current()) {
        (Some(a), Some(_)) => a,
        (None, Some(_)) => Recovery::Automatic,
        (_, None) => Recovery::None,
    };
    report.recovered = r.tracker.recovered();
    let restore = snapshot::restore_command(snapshot_dir, &cluster.context);
    let ready = r
        .tracker
        .timings
        .ready_ms
        .map(|ms| format_duration(Duration::from_millis(ms)));
    let how = |rec: Recovery| match rec {
        Recovery::Automatic => "KubeVirt re-created it",
        Recovery::Start => "the tool started its VM",
        Recovery::Recreate => "the tool re-created it",
        Recovery::None => "nothing brought it back",
    };
    let (exit, verdict) = match &r.outcome {
        Outcome::Recovered => {
            let expectation = if report.recovery == report.expected_recovery {
                "as expected".to_string()
            } else {
                format!("expected: {}", report.expected_recovery.describe())
            };
            (
                Exit::Recovered,
                format!(
                    "RECOVERED: Running and Ready {} after the delete; {} ({expectation})",
                    ready.unwrap_or_default(),
                    how(report.recovery)
                ),
            )
        }
        Outcome::NotRecovered(why) => (
            Exit::NotRecovered,
            format!("NOT RECOVERED: {why} ({limits})"),
        ),
        Outcome::Interrupted { running } => {
            report.interrupted = true;
            let state = if *running {
                "the VMI is Running again"
            } else {
                "the VMI may still be down"
            };
            (Exit::Interrupted, format!("INTERRUPTED: {state}"))
        }
        Outcome::Failed(why) => (
            Exit::FailedAfterInject,
            format!("TOOL FAILED after the delete: {why}"),
        ),
    };
    if exit != Exit::Recovered && !matches!(r.outcome, Outcome::Interrupted { running: true }) {
        report.restore_command = Some(restore);
    }
    report.verdict = verdict;
    report.set_exit(exit);
}
