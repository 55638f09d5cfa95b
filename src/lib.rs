//! kubectl-vmchaos: chaos tests for KubeVirt VMs. `main.rs` parses and calls [`run`]; all logic
//! lives here so tests can reach it.

mod bounded;
pub mod cli;
pub mod cluster;
pub mod cluster_events;
pub(crate) mod complete;
pub(crate) mod credentials;
pub(crate) mod durations;
pub mod error;
pub mod events;
pub mod figures;
pub(crate) mod kraken;
pub mod kubevirt;
pub mod outage;
pub mod plan;
pub mod probe;
pub(crate) mod prompt;
pub mod render;
pub mod repeat;
pub mod report;
pub mod report_files;
mod request_log;
pub(crate) mod restore;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod selection;
pub mod settings;
pub mod signals;
pub(crate) mod snapshot;
pub(crate) mod targets;
pub mod verdict;

use std::{io::Write, time::Duration};

use clap::CommandFactory;

use crate::{
    cli::{Cli, Command, ListFormat},
    error::{Error, Exit},
    outage::Reporter,
    render::{summary, PlainLines, Spinners},
    settings::Terminal,
};

pub const VERSION_LINE: &str = concat!("kubectl-vmchaos v", env!("CARGO_PKG_VERSION"));

/// Runs a parsed command line; returns the exit code. Errors are printed here, once.
pub fn run(cli: Cli) -> Exit {
    let term = Terminal::detect();
    match &cli.command {
        Command::Version => return print_stdout(&format!("{VERSION_LINE}\n")),
        Command::Completion { shell } => {
            let mut cmd = Cli::command().bin_name("kubectl-vmchaos");
            let mut out = Vec::new();
            let bin = "kubectl-vmchaos";
            match shell {
                cli::Shell::Bash => {
                    clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, bin, &mut out)
                }
                cli::Shell::Zsh => {
                    clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, bin, &mut out)
                }
                cli::Shell::Fish => {
                    clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, bin, &mut out)
                }
                cli::Shell::Powershell => clap_complete::generate(
                    clap_complete::Shell::PowerShell,
                    &mut cmd,
                    bin,
                    &mut out,
                ),
            }
            return print_stdout(&String::from_utf8_lossy(&out));
        }
        _ => {}
    }
    init_logging(
        cli.global.verbose,
        term.color(cli.global.color.into(), term.stderr),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            // Nothing was started, so nothing was changed.
            eprintln!("error: failed to start the async runtime: {e}");
            return Exit::NothingChanged;
        }
    };
    let exit = runtime.block_on(dispatch(cli, term));
    // Don't wait for a lingering watch connection to close.
    runtime.shutdown_timeout(Duration::from_millis(100));
    exit
}

async fn dispatch(cli: Cli, term: Terminal) -> Exit {
    let color_err = term.color(cli.global.color.into(), term.stderr);
    let result = match &cli.command {
        Command::Outage(args) => {
            let dry_run = args.dry_run().is_some();
            match check_report_dir(args.report.as_deref(), args.overwrite, dry_run) {
                Err(e) => Err(e),
                Ok(()) => {
                    let renderer: Box<dyn outage::events::Renderer> =
                        if term.spinners(args.no_progress) {
                            Box::new(Spinners::new(color_err))
                        } else {
                            Box::new(PlainLines::new(Box::new(std::io::stderr())))
                        };
                    let mut reporter = Reporter::new(renderer);
                    let result = outage_command(&cli.global, args, &term, &mut reporter).await;
                    reporter.flush();
                    result.map(|mut report| {
                        if let Some(dir) = args.report.as_deref().filter(|_| !dry_run) {
                            let probes = report_files::probe_tracks(&report);
                            let day =
                                report.game_day(format!("outage of {}", target_names(&report)));
                            if let Err(why) =
                                write_report_files(dir, &day, &probes, args.overwrite, color_err)
                            {
                                report.reports_not_written(&why);
                            }
                        }
                        let color = term.color(cli.global.color.into(), term.stdout);
                        print_stdout(&summary::render_run(&report, args.output, color));
                        report.exit()
                    })
                }
            }
        }
        Command::Run(args) => {
            let dry_run = args.dry_run().is_some();
            let config = check_report_dir(args.report.as_deref(), args.overwrite, dry_run)
                .and_then(|()| args.config(&cli.global, &term));
            match config {
                Err(e) => Err(e),
                Ok(config) => run::run(&config, &term).await.map(|mut report| {
                    if let Some(dir) = args.report.as_deref().filter(|_| !dry_run) {
                        let probes = report_files::game_day_probe_tracks(&report);
                        if let Err(why) =
                            write_report_files(dir, &report, &probes, args.overwrite, color_err)
                        {
                            report.reports_not_written(&why);
                        }
                    }
                    let color = term.color(cli.global.color.into(), term.stdout);
                    print_stdout(&run::text::summary(&report, args.output, color));
                    report.exit()
                }),
            }
        }
        Command::List(args) => {
            list(
                &cli,
                args.output,
                args.selector.as_deref(),
                args.fault.resolve(),
            )
            .await
        }
        Command::Schedule(args) => match args.config(&cli.global) {
            Ok(config) => schedule::run(&config).await.map(|text| print_stdout(&text)),
            Err(e) => Err(e),
        },
        Command::Restore(args) => restore::run(&args.config(&cli.global), |waiting| {
            eprintln!("{}", render::restore::waiting(waiting))
        })
        .await
        .map(|restored| {
            print_stdout(&format!("{}\n", render::restore::outcome(&restored)));
            restored.exit()
        }),
        Command::Complete { words } => {
            let (candidates, directive) = complete::complete(words).await;
            let mut text = candidates.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!(":{directive}\n"));
            Ok(print_stdout(&text))
        }
        Command::Version | Command::Completion { .. } => Ok(Exit::Recovered),
    };
    result.unwrap_or_else(|e| {
        if let Some(format) = document_format(&cli.command) {
            print_stdout(&error_document(&e, format));
        }
        report_error(&e, color_err)
    })
}

/// The structured format a command promised on stdout (-o json|yaml), if any: a failure still
/// prints one document there, so a pipeline always has something to parse.
fn document_format(command: &Command) -> Option<cli::OutputFormat> {
    use cli::OutputFormat as F;
    match command {
        Command::Outage(args) => Some(args.output).filter(|f| *f != F::Text),
        Command::Run(args) => Some(args.output).filter(|f| *f != F::Text),
        Command::List(args) => match args.output {
            ListFormat::Json => Some(F::Json),
            ListFormat::Yaml => Some(F::Yaml),
            ListFormat::Table | ListFormat::Wide => None,
        },
        _ => None,
    }
}

/// `outage`: the flags resolved once, the trials (`--repeat`), the baseline's judgement.
async fn outage_command(
    global: &cli::GlobalArgs,
    args: &cli::OutageArgs,
    term: &Terminal,
    reporter: &mut Reporter,
) -> Result<report::RunReport, Error> {
    let config = args.config(global, term)?;
    let mut report = repeat::run(&config, reporter).await?;
    if let (Some(judged), None) = (&config.baseline, config.dry_run) {
        repeat::judge(&mut report, &judged.baseline, judged.max_regression);
    }
    Ok(report)
}

/// A failure as one JSON or YAML document for stdout.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDocument {
    error: String,
    hint: Option<String>,
    exit_code: u8,
    /// False when the error came before anything in the cluster was changed.
    changed: bool,
    restore_command: Option<String>,
}

fn error_document(error: &Error, format: cli::OutputFormat) -> String {
    let exit = error.exit();
    let doc = ErrorDocument {
        error: error.to_string(),
        hint: error.hint(),
        exit_code: exit.code(),
        changed: exit == Exit::FailedAfterInject,
        restore_command: error.restore_command(),
    };
    match format {
        cli::OutputFormat::Yaml => serde_saphyr::to_string(&doc).unwrap_or_default(),
        _ => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
    }
}

async fn list(
    cli: &Cli,
    format: ListFormat,
    selector: Option<&str>,
    fault: plan::Fault,
) -> Result<Exit, Error> {
    let cluster = cluster::connect(&cli.global.connection(), Duration::from_secs(10)).await?;
    let scope = if cli.global.all_namespaces {
        None
    } else {
        Some(cluster.namespace.as_str())
    };
    let mut scope_text = scope.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
    if let Some(s) = selector {
        scope_text.push_str(&format!(" matching {s}"));
    }
    let action = format!("list VMIs in {scope_text}");
    let query = targets::Query {
        namespace: scope,
        selector,
        running_only: true,
        fault,
    };
    let rows = match cluster
        .within(targets::list_with(&cluster.client, &query))
        .await
    {
        Some(Ok(rows)) => rows,
        Some(Err(e)) if error::api_code(&e) == Some(404) => {
            return Err(Error::KubeVirtMissing {
                context: cluster.context.clone(),
            })
        }
        Some(Err(e)) => return Err(cluster.request_error(action, e)),
        None => return Err(cluster.timed_out(action)),
    };
    let text = match format {
        ListFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
        ListFormat::Yaml => serde_saphyr::to_string(&rows).unwrap_or_default(),
        ListFormat::Table | ListFormat::Wide if rows.is_empty() => {
            eprintln!("No running VMIs found in {scope_text}.");
            return Ok(Exit::Recovered);
        }
        ListFormat::Table => targets::table(&rows, false, scope.is_none()),
        ListFormat::Wide => targets::table(&rows, true, scope.is_none()),
    };
    Ok(print_stdout(&text))
}

/// `ns/a, ns/b` (the first few) for a report's title.
fn target_names(run: &report::RunReport) -> String {
    let names: Vec<String> = run
        .targets()
        .iter()
        .map(|r| format!("{}/{}", r.target.namespace, r.target.name))
        .collect();
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

/// `--report DIR` before anything changes (exit 2 when it can't be written, or holds an earlier
/// run's reports without --overwrite); a dry run writes nothing there, and says so.
fn check_report_dir(
    dir: Option<&std::path::Path>,
    overwrite: bool,
    dry_run: bool,
) -> Result<(), Error> {
    let Some(dir) = dir else { return Ok(()) };
    report_files::check_dir(dir, overwrite, !dry_run)?;
    if dry_run {
        eprintln!(
            "dry run: no reports will be written to {} (--report)",
            dir.display()
        );
    }
    Ok(())
}

/// `--report DIR`, written before the document goes to stdout so that the document's exit code
/// is the command's. On failure, the error is printed and its words returned.
fn write_report_files(
    dir: &std::path::Path,
    report: &report::GameDayReport,
    probes: &[report_files::TimelineProbe],
    overwrite: bool,
    color: bool,
) -> Result<(), String> {
    match report_files::write_reports(dir, report, probes, overwrite) {
        Ok(paths) => {
            let names: Vec<String> = paths
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            eprintln!("reports in {}: {}", dir.display(), names.join(", "));
            Ok(())
        }
        Err(e) => {
            report_error(&e, color);
            Err(e.to_string())
        }
    }
}

/// The error, its causes, and what to do: once, on stderr, with one prefix.
fn report_error(error: &Error, color: bool) -> Exit {
    let style = |s: console::Style| {
        if color {
            s.force_styling(true)
        } else {
            console::Style::new().force_styling(false)
        }
    };
    // Every message already says its cause in words (`error::describe`); the raw source chain
    // would repeat it as Rust types print themselves.
    let mut text = format!(
        "{} {error}",
        style(console::Style::new().red().bold()).apply_to("error:")
    );
    if let Some(hint) = error.hint() {
        text.push_str(&format!(
            "\n{} {hint}",
            style(console::Style::new().cyan()).apply_to("hint:")
        ));
    }
    eprintln!("{text}");
    error.exit()
}

/// stdout, where a closed pipe (`| head`) is not an error, but a full disk is.
fn print_stdout(text: &str) -> Exit {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Exit::Recovered,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Recovered,
        Err(e) => {
            eprintln!("error: failed to write the result to stdout: {e}");
            Exit::NothingChanged
        }
    }
}

fn init_logging(verbose: u8, color: bool) {
    // -v: the tool's own steps and each API request (kubectl's -v=6); -vv: kube's too; -vvv:
    // everything but the HTTP/2 and TLS internals, which only -vvvv shows.
    let level = match verbose {
        0 => return,
        1 => "kubectl_vmchaos=debug",
        2 => "kubectl_vmchaos=debug,kube=debug",
        3 => "debug,h2=info,hyper=info,hyper_util=info,rustls=info,tower=info",
        _ => "trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .try_init();
}
