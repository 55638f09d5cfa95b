//! `--report DIR`: the game day as files people and CI servers read. `report.json` (the whole
//! document), `junit.xml` (a test case per target outage), `report.md` (a write-up to paste),
//! `timeline.svg` (every outage on one time axis) and `report.html` (all of it, self-contained).
//! Pure renderers from a [`GameDayReport`]; [`write_reports`] is the only part that touches disk.

mod cells;
mod html;
mod junit;
mod markdown;
mod probes;
pub mod timeline;

use std::path::{Path, PathBuf};

use crate::{
    error::{Error, Result},
    report::GameDayReport,
};

pub use self::{
    cells::escape,
    html::html,
    junit::junit,
    markdown::markdown,
    probes::{game_day_probe_tracks, probe_tracks, ProbeInterval, TimelineProbe},
    timeline::svg,
};

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
