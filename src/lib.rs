//! kubectl-vmchaos: chaos tests for KubeVirt VMs. `main.rs` parses and calls [`run`]; all logic
//! lives here so tests can reach it.

pub mod cli;
pub mod cluster;
pub mod complete;
pub mod error;
pub mod kubevirt;
pub mod outage;
pub mod outage_targets;
pub mod plan;
pub mod prompt;
pub mod render;
pub mod restore;
pub mod selection;
pub mod settings;
pub mod signals;
pub mod snapshot;
pub mod targets;

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
        term.color(cli.global.color, term.stderr),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return Exit::FailedAfterInject;
        }
    };
    let exit = runtime.block_on(dispatch(cli, term));
    // Don't wait for a lingering watch connection to close.
    runtime.shutdown_timeout(Duration::from_millis(100));
    exit
}

async fn dispatch(mut cli: Cli, term: Terminal) -> Exit {
    let color_err = term.color(cli.global.color, term.stderr);
    if let Command::Outage(args) = &mut cli.command {
        match outage_targets::resolve(&cli.global, args, &term).await {
            Ok(outage_targets::Next::Single(global)) => cli.global = global,
            Ok(outage_targets::Next::Done(text, exit)) => {
                print_stdout(&text);
                return exit;
            }
            Err(e) => return report_error(&e, color_err),
        }
    }
    let result = match &cli.command {
        Command::Outage(args) => {
            let renderer: Box<dyn outage::events::Renderer> = if term.spinners(args.no_progress) {
                Box::new(Spinners::new(color_err))
            } else {
                Box::new(PlainLines::new(Box::new(std::io::stderr())))
            };
            let mut reporter = Reporter::new(renderer);
            let result = outage::run(&cli.global, args, &term, &mut reporter).await;
            reporter.flush();
            result.map(|report| {
                let color = term.color(cli.global.color, term.stdout);
                print_stdout(&summary::render(&report, args.output, color));
                report.exit
            })
        }
        Command::List(args) => list(&cli, args.output, args.selector.as_deref()).await,
        Command::Restore(args) => restore::run(&cli.global, args).await.map(|(exit, line)| {
            print_stdout(&format!("{line}\n"));
            exit
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
    result.unwrap_or_else(|e| report_error(&e, color_err))
}

async fn list(cli: &Cli, format: ListFormat, selector: Option<&str>) -> Result<Exit, Error> {
    let cluster = cluster::connect(&cli.global, Duration::from_secs(10)).await?;
    let scope = if cli.global.all_namespaces {
        None
    } else {
        Some(cluster.namespace.as_str())
    };
    let mut scope_text = scope.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
    if let Some(s) = selector {
        scope_text.push_str(&format!(" matching {s}"));
    }
    let query = targets::Query {
        namespace: scope,
        selector,
        running_only: true,
    };
    let rows =
        targets::list_with(&cluster.client, &query)
            .await
            .map_err(|e| match error::api_code(&e) {
                Some(404) => Error::KubeVirtMissing {
                    context: cluster.context.clone(),
                },
                _ => cluster.request_error(format!("list VMIs in {scope_text}"), e),
            })?;
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

/// The error, its causes, and what to do: once, on stderr, with one prefix.
fn report_error(error: &Error, color: bool) -> Exit {
    let style = |s: console::Style| {
        if color {
            s.force_styling(true)
        } else {
            console::Style::new().force_styling(false)
        }
    };
    let mut text = format!(
        "{} {error}",
        style(console::Style::new().red().bold()).apply_to("error:")
    );
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!("\n  caused by: {cause_text}"));
        }
        source = cause.source();
    }
    if let Some(hint) = error.hint() {
        text.push_str(&format!(
            "\n{} {hint}",
            style(console::Style::new().cyan()).apply_to("hint:")
        ));
    }
    eprintln!("{text}");
    error.exit()
}

/// stdout, where a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> Exit {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    Exit::Recovered
}

fn init_logging(verbose: u8, color: bool) {
    let level = match verbose {
        0 => return,
        1 => "kubectl_vmchaos=debug,kube=debug",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .try_init();
}
