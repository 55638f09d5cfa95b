//! `--report DIR`: the game day as files people and CI servers read. `report.json` (the whole
//! document), `junit.xml` (a test case per target outage), `report.md` (a write-up to paste),
//! `timeline.svg` (every outage on one time axis) and `report.html` (all of it, self-contained).
//! Pure renderers from a [`GameDayReport`]; [`write_reports`] is the only part that touches disk.

mod html;
mod junit;
mod markdown;
pub mod timeline;

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::{
    error::{Error, Result},
    render::format_duration,
    report::{GameDayReport, Report},
};

pub use self::{html::html, junit::junit, markdown::markdown, timeline::svg};

/// One probe's results for one target, drawn as a track under that VMI's outage. Times are
/// Unix epoch milliseconds, so any probe (ping, TCP, HTTP, guest agent) maps onto the axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineProbe {
    pub namespace: String,
    /// The target VMI's name.
    pub name: String,
    /// What was probed, e.g. `tcp 10.0.0.4:22`.
    pub label: String,
    pub intervals: Vec<ProbeInterval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeInterval {
    pub start_unix_ms: u64,
    pub end_unix_ms: u64,
    /// The probe succeeded throughout.
    pub ok: bool,
}

impl TimelineProbe {
    /// From attempts in time order, `(when it started, whether it passed)`: each attempt's
    /// verdict holds until the next one (the last until `end`); equal neighbours merge.
    pub fn from_samples(
        namespace: impl Into<String>,
        name: impl Into<String>,
        label: impl Into<String>,
        samples: impl IntoIterator<Item = (SystemTime, bool)>,
        end: SystemTime,
    ) -> TimelineProbe {
        let unix = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default()
        };
        let mut intervals: Vec<ProbeInterval> = Vec::new();
        for (at, ok) in samples {
            let at = unix(at);
            if let Some(last) = intervals.last_mut() {
                last.end_unix_ms = at.max(last.start_unix_ms);
                if last.ok == ok {
                    continue;
                }
            }
            intervals.push(ProbeInterval {
                start_unix_ms: at,
                end_unix_ms: at,
                ok,
            });
        }
        if let Some(last) = intervals.last_mut() {
            last.end_unix_ms = unix(end).max(last.start_unix_ms);
        }
        TimelineProbe {
            namespace: namespace.into(),
            name: name.into(),
            label: label.into(),
            intervals,
        }
    }
}

/// The probe tracks of an outage's timeline, from each target's probe figures: up until the
/// last success before the outage, down from the first failure to the first success after it,
/// up after that (or down to the end while still failing).
pub fn probe_tracks(run: &crate::report::RunReport) -> Vec<TimelineProbe> {
    tracks_of(run.targets())
}

/// The probe tracks of every step of a game day (`run -f`), as [`probe_tracks`].
pub fn game_day_probe_tracks(day: &GameDayReport) -> Vec<TimelineProbe> {
    tracks_of(
        day.steps
            .iter()
            .flat_map(|s| s.fleet.iter().flat_map(|f| &f.targets)),
    )
}

fn tracks_of<'a>(targets: impl IntoIterator<Item = &'a Report>) -> Vec<TimelineProbe> {
    let when = |t: &Option<String>| t.as_deref().and_then(|t| humantime::parse_rfc3339(t).ok());
    let end = SystemTime::now();
    let mut tracks = Vec::new();
    for r in targets {
        let start = when(&r.injected_at);
        for p in &r.probes {
            let mut samples: Vec<(SystemTime, bool)> = Vec::new();
            samples.extend(when(&p.last_success_before).or(start).map(|t| (t, true)));
            samples.extend(when(&p.first_failure).map(|t| (t, false)));
            samples.extend(when(&p.first_success_after).map(|t| (t, true)));
            samples.sort_by_key(|(t, _)| *t);
            tracks.push(TimelineProbe::from_samples(
                &r.target.namespace,
                &r.target.name,
                &p.probe,
                samples,
                end,
            ));
        }
    }
    tracks
}

/// The file names, in the order they are written.
pub const FILES: [&str; 5] = [
    "report.json",
    "junit.xml",
    "report.md",
    "timeline.svg",
    "report.html",
];

/// `--report DIR`, before anything changes: DIR is a folder (or can be made one) that this user
/// can write to, and holds no reports of an earlier run unless `overwrite`. A real run creates
/// the folder now; a dry run writes nothing there (its check leaves no file behind).
pub fn check_dir(dir: &Path, overwrite: bool, create: bool) -> Result<()> {
    let refuse = |problem: String, hint: &str| Error::ReportDir {
        dir: dir.to_path_buf(),
        problem,
        hint: hint.to_string(),
    };
    let unwritable =
        "give a folder you can write to (it is created if missing), e.g. --report ./gameday-report";
    let writable_at = match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(refuse("it exists and is not a folder".into(), unwritable))
        }
        Ok(_) => dir.to_path_buf(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(dir)
                .map_err(|e| refuse(format!("the folder cannot be created: {e}"), unwritable))?;
            dir.to_path_buf()
        }
        // A dry run: the nearest folder that exists must let the real run create it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => dir
            .ancestors()
            .skip(1)
            .map(|a| {
                if a.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    a
                }
            })
            .find(|a| a.is_dir())
            .ok_or_else(|| refuse("no folder above it exists".into(), unwritable))?
            .to_path_buf(),
        Err(e) => {
            return Err(refuse(
                format!("it cannot be used as a folder: {e}"),
                unwritable,
            ))
        }
    };
    let existing: Vec<&str> = FILES
        .iter()
        .copied()
        .filter(|f| dir.join(f).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !overwrite {
        return Err(refuse(
            format!("it already holds {} of an earlier run", existing.join(", ")),
            "choose another --report folder, or add --overwrite to replace them",
        ));
    }
    // Only writing tells (permissions, ACLs, a read-only mount): a file made and removed.
    let probe = writable_at.join(format!(".kubectl-vmchaos-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(refuse(
            format!("{} is not writable: {e}", writable_at.display()),
            unwritable,
        )),
    }
}

/// Writes every file into `dir` (created if missing); an existing report is replaced only with
/// `overwrite`.
pub fn write_reports(
    dir: &Path,
    report: &GameDayReport,
    probes: &[TimelineProbe],
    overwrite: bool,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create the report folder",
        path: dir.to_path_buf(),
        source,
    })?;
    let svg_text = svg(report, probes);
    let mut json = serde_json::to_string_pretty(report).unwrap_or_default();
    json.push('\n');
    let contents = [
        json,
        junit(report),
        markdown(report),
        svg_text.clone(),
        html(report, &svg_text),
    ];
    let mut written = Vec::new();
    for (name, text) in FILES.iter().zip(contents) {
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        options
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|source| Error::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

/// `&`, `<`, `>`, `"` and `'` as XML entities (XML, SVG and HTML alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(
        || "—".into(),
        |ms| format_duration(Duration::from_millis(ms)),
    )
}

fn parse_time(text: Option<&str>) -> Option<SystemTime> {
    text.and_then(|t| humantime::parse_rfc3339_weak(t).ok())
}

/// How long a target's outage lasted as far as it was seen: to Ready, else to the last step.
fn observed_ms(r: &Report) -> Option<u64> {
    let t = &r.timings;
    t.ready_ms.or_else(|| {
        [
            t.running_ms,
            t.scheduled_ms,
            t.scheduling_ms,
            t.created_ms,
            t.gone_ms,
        ]
        .into_iter()
        .flatten()
        .max()
    })
}

/// What happened to a target, in one word for tables.
fn outcome(r: &Report) -> &'static str {
    use crate::error::Exit;
    match r.exit() {
        _ if r.dry_run.is_some() && r.exit() == Exit::Recovered => "dry run",
        Exit::Recovered => "recovered",
        Exit::NotRecovered => "not recovered",
        Exit::FailedAfterInject => "tool failed",
        Exit::Interrupted | Exit::Terminated => "interrupted",
        Exit::NothingChanged => "not hit",
    }
}

/// The columns of the per-target table (Markdown and HTML alike).
const TARGET_COLUMNS: [&str; 10] = [
    "VMI",
    "owner",
    "node before → after",
    "plan",
    "actual",
    "gone",
    "created",
    "Running",
    "Ready",
    "outcome",
];

fn target_cells(r: &Report) -> [String; 10] {
    let owner = match (&r.vm, &r.run_strategy, &r.replica_set) {
        (Some(vm), Some(s), _) => format!("VM {vm} ({s})"),
        (_, _, Some(set)) => format!("VirtualMachineInstanceReplicaSet {set}"),
        _ => "standalone VMI".into(),
    };
    let after = r.after.as_ref().and_then(|a| a.node.clone());
    let t = &r.timings;
    [
        format!("{}/{}", r.target.namespace, r.target.name),
        owner,
        format!(
            "{} → {}",
            r.before.node.as_deref().unwrap_or("—"),
            after.as_deref().unwrap_or("—")
        ),
        r.expected_recovery.as_str().to_string(),
        if r.dry_run.is_some() {
            "—".into()
        } else {
            r.recovery.as_str().to_string()
        },
        ms(t.gone_ms),
        ms(t.created_ms),
        ms(t.running_ms),
        ms(t.ready_ms),
        outcome(r).to_string(),
    ]
}

/// One row per probe of each target: what the users saw.
const PROBE_COLUMNS: [&str; 6] = [
    "VMI",
    "probe",
    "downtime",
    "attempts (failed / all)",
    "first failure",
    "Ready → first success",
];

fn probe_rows(targets: &[Report]) -> Vec<[String; 6]> {
    targets
        .iter()
        .flat_map(|r| {
            r.probes.iter().map(move |p| {
                let downtime = match (p.downtime_ms, p.still_failing) {
                    (_, true) => format!("{} (still failing)", ms(p.downtime_ms)),
                    (None, false) => "none".into(),
                    (Some(d), false) => ms(Some(d)),
                };
                [
                    format!("{}/{}", r.target.namespace, r.target.name),
                    p.probe.clone(),
                    downtime,
                    format!("{} / {}", p.failed_attempts, p.attempts),
                    p.failure
                        .as_ref()
                        .map_or("—".into(), |f| format!("{}: {}", f.kind, f.detail)),
                    ms(p.ready_to_success_ms),
                ]
            })
        })
        .collect()
}

const AGGREGATE_COLUMNS: [&str; 6] = ["from the delete to", "targets", "min", "p50", "p95", "max"];

fn aggregate_rows(a: &crate::report::Aggregates) -> Vec<[String; 6]> {
    [
        ("old VMI gone", &a.gone),
        ("new VMI created", &a.created),
        ("Running", &a.running),
        ("Ready", &a.ready),
    ]
    .into_iter()
    .map(|(name, s)| {
        [
            name.to_string(),
            s.count.to_string(),
            ms(s.min_ms),
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.max_ms),
        ]
    })
    .collect()
}

/// Every restore command still worth knowing, as `(ns/name, command)`.
fn restore_commands(report: &GameDayReport) -> Vec<(String, String)> {
    report
        .steps
        .iter()
        .flat_map(|s| s.fleet.iter().flat_map(|f| &f.targets))
        .filter_map(|r| {
            r.restore_command.as_ref().map(|c| {
                (
                    format!("{}/{}", r.target.namespace, r.target.name),
                    c.clone(),
                )
            })
        })
        .collect()
}
