//! krew's install of an archive, simulated on file names: the `files` operations and `bin`.

use std::collections::BTreeSet;

use crate::rules::FileOperation;

/// The files scripts/release packs into the archive for `os` (tests/krew.rs holds this against
/// the real archives): the completion helper is a shell script, so not on Windows.
pub fn archive_contents(os: &str) -> Vec<String> {
    let mut files = vec!["LICENSE".to_owned(), "README.md".to_owned()];
    if os == "windows" {
        files.push("kubectl-vmchaos.exe".into());
    } else {
        files.push("completions/kubectl_complete-vmchaos".into());
        files.push("kubectl-vmchaos".into());
    }
    files
}

/// krew's file operations on an extracted archive: a `from` naming an entry moves it (to "."
/// keeps its name), otherwise `from` is a glob whose matches move into the `to` directory.
/// Returns the installed files.
pub fn install(
    archive: &[String],
    files: Option<&[FileOperation]>,
) -> Result<BTreeSet<String>, String> {
    let default = [FileOperation {
        from: "*".into(),
        to: ".".into(),
    }];
    let mut installed = BTreeSet::new();
    for op in files.unwrap_or(&default) {
        if !is_clean_relative(&op.to) {
            return Err(format!(
                "files.to {:?} is not a clean path inside the install dir",
                op.to
            ));
        }
        let under = |dir: &str| {
            archive
                .iter()
                .filter_map(move |f| f.strip_prefix(&format!("{dir}/")).map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        let join = |dir: &str, name: &str| {
            if dir == "." {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        let direct = archive.contains(&op.from) || !under(&op.from).is_empty();
        let moves: Vec<(String, String)> = if direct {
            let target = if op.to == "." {
                base(&op.from)
            } else {
                op.to.clone()
            };
            vec![(op.from.clone(), target)]
        } else {
            let mut candidates: BTreeSet<String> = BTreeSet::new();
            for f in archive {
                let parts: Vec<&str> = f.split('/').collect();
                for n in 1..=parts.len() {
                    candidates.insert(parts[..n].join("/"));
                }
            }
            let hits: Vec<(String, String)> =
                (candidates.into_iter().filter(|c| glob_match(&op.from, c)))
                    .map(|c| {
                        let target = join(&op.to, &base(&c));
                        (c, target)
                    })
                    .collect();
            if hits.is_empty() {
                return Err(format!(
                    "no file in the archive matches files.from {:?}",
                    op.from
                ));
            }
            hits
        };
        for (from, to) in moves {
            if archive.contains(&from) {
                installed.insert(to);
            } else {
                installed.extend(under(&from).iter().map(|rest| format!("{to}/{rest}")));
            }
        }
    }
    Ok(installed)
}

/// Go's `filepath.Match`, without character classes: `*` and `?` stay within one path segment.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segment(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => segment(&p[1..], s) || (!s.is_empty() && segment(p, &s[1..])),
            (Some(b'?'), Some(_)) => segment(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => segment(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let (p, s): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| segment(p.as_bytes(), s.as_bytes()))
}

/// krew refuses a `to` that `filepath.Clean` would change or that leaves the install dir.
pub fn is_clean_relative(path: &str) -> bool {
    path == "."
        || (!path.is_empty()
            && !path.starts_with('/')
            && path.split('/').all(|s| !matches!(s, "" | "." | "..")))
}
