//! Kraken's files, as they are: a scenario file (top-level `scenarios:`, entries `{name,
//! scenario, parameters}`) or Kraken's `config.yaml` (`kraken.chaos_scenarios`, whose paths are
//! relative to the config's folder). The result is a typed list of steps in file order: an
//! outage of `kubevirt_vm_outage` parameters, or a scenario kind this tool does not run.
//!
//! Kraken silently ignores what it does not know; a game day built on a typo is worse than no
//! game day, so here every unknown key, wrong type and bad value is an error naming the file and
//! the line.

pub mod alerts;
pub mod node;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use regex::Regex;

use self::node::{Located, Node};
use crate::events::Note;

/// The scenario kind this tool runs.
pub const KUBEVIRT_VM_OUTAGE: &str = "kubevirt_vm_outage";

/// The parameters of `kubevirt_vm_outage`, as Kraken names them (`duration` is the seed's).
pub const OUTAGE_PARAMETERS: [&str; 7] = [
    "vm_name",
    "namespace",
    "label_selector",
    "timeout",
    "duration",
    "kill_count",
    "disable_auto_restart",
];

/// Everything read from the `-f` files.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub steps: Vec<Step>,
    /// Things in the files that are Kraken's own and that this tool reads past, one sentence
    /// each ("config.yaml line 40: cerberus is Kraken's own: not used by kubectl-vmchaos").
    pub ignored: Vec<Note>,
    /// A config's `performance_monitoring` alert profile (with `enable_alerts: True`).
    pub alerts: Option<alerts::AlertProfile>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Outage(Box<OutageStep>),
    Unsupported(UnsupportedStep),
}

#[cfg(test)]
impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::Outage(s) => &s.name,
            Step::Unsupported(s) => &s.name,
        }
    }
}

/// A `kubevirt_vm_outage` entry.
#[derive(Debug, Clone)]
pub struct OutageStep {
    pub name: String,
    /// The scenario file, as given (or as resolved from the config).
    pub file: PathBuf,
    /// The line of the entry in that file.
    pub line: u64,
    pub params: OutageParams,
}

#[derive(Debug, Clone)]
pub struct OutageParams {
    /// Matched against the whole VMI name.
    pub vm_name: Option<NamePattern>,
    /// Matched against the whole namespace name; `default` when not given.
    pub namespace: NamePattern,
    pub label_selector: Option<String>,
    /// Where `label_selector` is, for the API server's verdict on it.
    pub label_selector_line: Option<u64>,
    /// Kraken's `timeout`: how long the recovery may take (our `--timeout`).
    pub timeout: Option<Duration>,
    /// The seed's `duration`: how long to wait before the tool recovers (our `--duration`).
    pub duration: Option<Duration>,
    /// How many matching VMIs to hit, picked without replacement.
    pub kill_count: usize,
    /// Keep an `Always` VM down for `duration` (the outage's keep-down option).
    pub disable_auto_restart: bool,
}

/// A scenario kind this tool does not run (e.g. `node_stop_start_scenario`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedStep {
    pub kind: String,
    pub name: String,
    pub file: PathBuf,
    pub line: Option<u64>,
}

/// A Kraken name regex. Kraken applies Python's `re.match`, which anchors only at the start
/// (`vm-1` also hits `vm-10`); this tool matches the whole name and says where they differ.
#[derive(Debug, Clone)]
pub struct NamePattern {
    text: String,
    whole: Regex,
    prefix: Regex,
}

impl NamePattern {
    pub fn new(text: &str) -> Result<Self, regex::Error> {
        Ok(NamePattern {
            text: text.to_string(),
            whole: Regex::new(&format!("^(?:{text})$"))?,
            prefix: Regex::new(&format!("^(?:{text})"))?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// This tool's match: the whole name.
    pub fn matches(&self, name: &str) -> bool {
        self.whole.is_match(name)
    }

    /// Kraken's match: a prefix of the name.
    pub fn kraken_matches(&self, name: &str) -> bool {
        self.prefix.is_match(name)
    }

    /// True when the pattern is a plain name (no regex syntax), so one namespace is meant.
    pub fn literal(&self) -> Option<&str> {
        (regex::escape(&self.text) == self.text).then_some(self.text.as_str())
    }
}

/// Why a file can't be used. Nothing has run when this is returned (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum KrakenError {
    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid YAML: {message}", file.display())]
    Yaml { file: PathBuf, message: String },
    #[error("{} line {line}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: u64,
        message: String,
        hint: Option<String>,
    },
    #[error("{}: {message}", file.display())]
    Shape {
        file: PathBuf,
        message: String,
        hint: Option<String>,
    },
}

impl KrakenError {
    pub fn hint(&self) -> Option<String> {
        match self {
            KrakenError::Invalid { hint, .. } | KrakenError::Shape { hint, .. } => hint.clone(),
            KrakenError::Read { .. } => Some("check the path given to -f".into()),
            KrakenError::Yaml { .. } => None,
        }
    }
}

impl From<KrakenError> for crate::error::Error {
    fn from(e: KrakenError) -> Self {
        crate::error::Error::Usage {
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

/// Reads every `-f` file in order (`-` is stdin, read by `stdin`) and returns their steps.
pub fn load(
    files: &[PathBuf],
    stdin: impl FnOnce() -> Result<String, KrakenError>,
) -> Result<Loaded, KrakenError> {
    let mut loaded = Loaded::default();
    let mut stdin = Some(stdin);
    for file in files {
        if file.as_os_str() == "-" {
            let read = stdin.take().ok_or_else(|| KrakenError::Shape {
                file: file.clone(),
                message: "stdin (-) given twice".into(),
                hint: Some("give -f - only once".into()),
            })?;
            let text = read()?;
            parse_into(Path::new("-"), &text, Path::new("."), &mut loaded)?;
        } else {
            let text = read_file(file)?;
            let base = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parse_into(file, &text, base, &mut loaded)?;
        }
    }
    Ok(loaded)
}

/// Parses one file's text. `base` is the folder a config's scenario paths are relative to.
#[cfg(test)]
pub fn parse(file: &Path, text: &str, base: &Path) -> Result<Loaded, KrakenError> {
    let mut loaded = Loaded::default();
    parse_into(file, text, base, &mut loaded)?;
    Ok(loaded)
}

/// The most a scenario file, a config or stdin may hold: Kraken's files are a few KiB, and
/// anything past this (an endless pipe, a log given by mistake) is refused, not read on.
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024;

fn too_large(file: &Path) -> KrakenError {
    KrakenError::Shape {
        file: file.to_path_buf(),
        message: format!(
            "holds more than {} MiB: not a scenario file",
            MAX_INPUT_BYTES / (1024 * 1024)
        ),
        hint: Some("give Kraken's scenario file or config.yaml (a few KiB of YAML)".into()),
    }
}

/// At most [`MAX_INPUT_BYTES`] of UTF-8 text from `reader`; `file` names it in errors.
pub fn read_bounded(reader: impl std::io::Read, file: &Path) -> Result<String, KrakenError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| KrakenError::Read {
            path: file.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(file));
    }
    String::from_utf8(bytes).map_err(|e| KrakenError::Shape {
        file: file.to_path_buf(),
        message: format!(
            "is not UTF-8 text (byte {} is not): not a scenario file",
            e.utf8_error().valid_up_to()
        ),
        hint: Some("give Kraken's scenario file or config.yaml".into()),
    })
}

/// `-f -`: stdin, bounded like a file.
pub fn read_stdin() -> Result<String, KrakenError> {
    read_bounded(std::io::stdin().lock(), Path::new("-"))
}

/// A regular file only: a device (`/dev/zero`), a FIFO or a socket could be read forever, and a
/// folder is a mistake.
fn read_file(path: &Path) -> Result<String, KrakenError> {
    let read_error = |source| KrakenError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(KrakenError::Shape {
            file: path.to_path_buf(),
            message: format!("is not a regular file but {}", file_kind(&meta)),
            hint: Some(
                "give a scenario file; to read from a pipe, pass it on stdin with -f - (up to 1 MiB)"
                    .into(),
            ),
        });
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large(path));
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    read_bounded(file, path)
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a file"
}

fn yaml(file: &Path, text: &str) -> Result<Located, KrakenError> {
    node::parse(text).map_err(|e| {
        let words = crate::error::yaml_words(&e);
        let message = match words.strip_prefix("duplicate mapping key: ") {
            Some(rest) => format!("{} given twice", rest.split(", ").next().unwrap_or(rest)),
            None => format!("not valid YAML: {words}"),
        };
        match e.location() {
            Some(at) if at.line() > 0 => invalid(file, at.line(), message, None),
            _ => KrakenError::Yaml {
                file: file.to_path_buf(),
                message: words,
            },
        }
    })
}

fn parse_into(
    file: &Path,
    text: &str,
    base: &Path,
    loaded: &mut Loaded,
) -> Result<(), KrakenError> {
    let doc = yaml(file, text)?;
    let Node::Map(top) = &doc.node else {
        return Err(not_kraken(file, &doc));
    };
    let key = |name: &str| top.iter().find(|(k, _)| k.node.as_str() == Some(name));
    match (key("kraken"), key("scenarios")) {
        (Some(kraken), None) => {
            config(file, base, &kraken.1, loaded)?;
            for (k, v) in top {
                let name = key_name(file, k)?;
                if name == "performance_monitoring" {
                    alerts::performance_monitoring(file, base, v, loaded)?;
                } else if name != "kraken" {
                    loaded.ignored.push(Note::KrakenOwn {
                        file: file.to_path_buf(),
                        line: k.line,
                        key: name.to_string(),
                    });
                }
            }
            Ok(())
        }
        (None, Some(_)) => {
            for (k, _) in top {
                let name = key_name(file, k)?;
                if name != "scenarios" {
                    return Err(invalid(
                        file,
                        k.line,
                        format!("unknown key {name}: a Kraken scenario file has only scenarios"),
                        None,
                    ));
                }
            }
            scenario_file(file, &doc, loaded)
        }
        (Some(_), Some((k, _))) => Err(invalid(
            file,
            k.line,
            "both kraken and scenarios at the top: is this a config or a scenario file?".into(),
            Some("keep a config (kraken.chaos_scenarios) and its scenario files apart".into()),
        )),
        (None, None) => Err(not_kraken(file, &doc)),
    }
}

fn not_kraken(file: &Path, doc: &Located) -> KrakenError {
    let found = match &doc.node {
        Node::Map(entries) => {
            let keys: Vec<&str> = entries
                .iter()
                .filter_map(|(k, _)| k.node.as_str())
                .collect();
            format!("its top-level keys are {}", keys.join(", "))
        }
        other => format!("it holds {}", other.kind()),
    };
    KrakenError::Shape {
        file: file.to_path_buf(),
        message: format!(
            "neither a Kraken scenario file (top-level scenarios:) nor a Kraken config (kraken.chaos_scenarios): {found}"
        ),
        hint: Some(
            "give a scenario file like scenarios/kubevirt/kubevirt-vm-outage.yaml, or Kraken's config.yaml"
                .into(),
        ),
    }
}

fn invalid(file: &Path, line: u64, message: String, hint: Option<String>) -> KrakenError {
    KrakenError::Invalid {
        file: file.to_path_buf(),
        line,
        message,
        hint,
    }
}

fn key_name<'a>(file: &Path, key: &'a Located) -> Result<&'a str, KrakenError> {
    key.node.as_str().ok_or_else(|| {
        invalid(
            file,
            key.line,
            format!("a key must be a name, not {}", key.node.kind()),
            None,
        )
    })
}

/// Kraken's config: `kraken.chaos_scenarios` is a list of `{kind: [paths]}`.
fn config(
    file: &Path,
    base: &Path,
    kraken: &Located,
    loaded: &mut Loaded,
) -> Result<(), KrakenError> {
    let Node::Map(entries) = &kraken.node else {
        return Err(invalid(
            file,
            kraken.line,
            format!("kraken must be a mapping, not {}", kraken.node.kind()),
            None,
        ));
    };
    let mut chaos = None;
    for (k, v) in entries {
        match key_name(file, k)? {
            "chaos_scenarios" => chaos = Some(v),
            other => loaded.ignored.push(Note::KrakenOwn {
                file: file.to_path_buf(),
                line: k.line,
                key: format!("kraken.{other}"),
            }),
        }
    }
    let Some(chaos) = chaos else {
        return Err(invalid(
            file,
            kraken.line,
            "kraken has no chaos_scenarios: nothing to run".into(),
            Some("list scenario files under kraken.chaos_scenarios, e.g. - kubevirt_vm_outage: [scenarios/kubevirt/kubevirt-vm-outage.yaml]".into()),
        ));
    };
    let items = match &chaos.node {
        Node::Seq(items) => items,
        Node::Null => &Vec::new(),
        other => {
            return Err(invalid(
                file,
                chaos.line,
                format!(
                    "kraken.chaos_scenarios must be a list, not {}",
                    other.kind()
                ),
                None,
            ))
        }
    };
    for item in items {
        let Node::Map(kinds) = &item.node else {
            return Err(invalid(
                file,
                item.line,
                format!(
                    "each chaos_scenarios entry is a scenario kind with its files ({{kubevirt_vm_outage: [paths]}}), not {}",
                    item.node.kind()
                ),
                None,
            ));
        };
        for (k, paths) in kinds {
            let kind = key_name(file, k)?;
            for (path, line, post_actions) in scenario_paths(file, kind, paths)? {
                for action in post_actions {
                    loaded.ignored.push(Note::KrakenOwn {
                        file: file.to_path_buf(),
                        line,
                        key: format!("post action {action} of {path}"),
                    });
                }
                let resolved = base.join(&path);
                if kind == KUBEVIRT_VM_OUTAGE {
                    let text = read_file(&resolved).map_err(|e| match e {
                        KrakenError::Read { source, .. } => invalid(
                            file,
                            line,
                            format!(
                                "cannot read the scenario file {path} (as {}): {source}",
                                resolved.display()
                            ),
                            Some(
                                "paths in chaos_scenarios are relative to the config's folder"
                                    .into(),
                            ),
                        ),
                        other => other,
                    })?;
                    let doc = yaml(&resolved, &text)?;
                    let is_scenarios = matches!(&doc.node, Node::Map(top)
                        if top.iter().any(|(k, _)| k.node.as_str() == Some("scenarios")));
                    if !is_scenarios {
                        return Err(not_kraken(&resolved, &doc));
                    }
                    parse_into(&resolved, &text, base, loaded)?;
                } else {
                    // Not read: Kraken's other kinds have their own formats. The step points
                    // at the config's line that names it.
                    loaded.steps.push(Step::Unsupported(UnsupportedStep {
                        kind: kind.to_string(),
                        name: path.clone(),
                        file: file.to_path_buf(),
                        line: Some(line),
                    }));
                }
            }
        }
    }
    Ok(())
}

/// The files of one kind: each a path, or (Kraken's older form) a list whose first item is
/// the scenario and the rest post-action scripts.
fn scenario_paths(
    file: &Path,
    kind: &str,
    paths: &Located,
) -> Result<Vec<(String, u64, Vec<String>)>, KrakenError> {
    let list = match &paths.node {
        Node::Seq(items) => items.clone(),
        Node::Str(_) => vec![paths.clone()],
        other => {
            return Err(invalid(
                file,
                paths.line,
                format!("{kind} must list scenario files, not {}", other.kind()),
                None,
            ))
        }
    };
    let mut out = Vec::new();
    for item in list {
        match &item.node {
            Node::Str(p) => out.push((p.trim().to_string(), item.line, Vec::new())),
            Node::Seq(inner) => {
                let texts: Option<Vec<String>> = inner
                    .iter()
                    .map(|i| i.node.as_str().map(|s| s.trim().to_string()))
                    .collect();
                match texts {
                    Some(mut texts) if !texts.is_empty() => {
                        let first = texts.remove(0);
                        out.push((first, item.line, texts));
                    }
                    _ => {
                        return Err(invalid(
                            file,
                            item.line,
                            format!("{kind}: expected a scenario file path"),
                            None,
                        ))
                    }
                }
            }
            other => {
                return Err(invalid(
                    file,
                    item.line,
                    format!(
                        "{kind}: expected a scenario file path, not {}",
                        other.kind()
                    ),
                    None,
                ))
            }
        }
    }
    Ok(out)
}

fn scenario_file(file: &Path, doc: &Located, loaded: &mut Loaded) -> Result<(), KrakenError> {
    let Node::Map(top) = &doc.node else {
        return Err(not_kraken(file, doc));
    };
    let Some((_, scenarios)) = top
        .iter()
        .find(|(k, _)| k.node.as_str() == Some("scenarios"))
    else {
        return Err(not_kraken(file, doc));
    };
    let entries = match &scenarios.node {
        Node::Seq(items) if !items.is_empty() => items,
        Node::Seq(_) | Node::Null => {
            return Err(invalid(
                file,
                scenarios.line,
                "scenarios is empty: nothing to run".into(),
                None,
            ))
        }
        other => {
            return Err(invalid(
                file,
                scenarios.line,
                format!("scenarios must be a list, not {}", other.kind()),
                None,
            ))
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        loaded.steps.push(scenario_entry(file, i, entry)?);
    }
    Ok(())
}

fn scenario_entry(file: &Path, index: usize, entry: &Located) -> Result<Step, KrakenError> {
    let Node::Map(fields) = &entry.node else {
        return Err(invalid(
            file,
            entry.line,
            format!(
                "each scenario is a mapping with name, scenario and parameters, not {}",
                entry.node.kind()
            ),
            None,
        ));
    };
    let mut name = None;
    let mut kind = None;
    let mut params = None;
    let mut seen: Vec<(&str, u64)> = Vec::new();
    for (k, v) in fields {
        let key = key_name(file, k)?;
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == key) {
            return Err(invalid(
                file,
                k.line,
                format!("{key} given twice (first on line {first})"),
                None,
            ));
        }
        seen.push((key, k.line));
        match key {
            "name" => {
                name = Some(scalar_text(v).ok_or_else(|| {
                    invalid(
                        file,
                        v.line,
                        format!("name must be text, not {}", v.node.kind()),
                        None,
                    )
                })?)
            }
            "scenario" => {
                kind = Some(v.node.as_str().map(str::to_string).ok_or_else(|| {
                    invalid(
                        file,
                        v.line,
                        format!(
                            "scenario must be a scenario kind such as {KUBEVIRT_VM_OUTAGE}, not {}",
                            v.node.kind()
                        ),
                        None,
                    )
                })?)
            }
            "parameters" => params = Some(v),
            other => {
                return Err(invalid(
                    file,
                    k.line,
                    format!(
                        "unknown key {other} in a scenario: expected name, scenario, parameters"
                    ),
                    closest(other, &["name", "scenario", "parameters"])
                        .map(|c| format!("did you mean {c}?")),
                ))
            }
        }
    }
    let Some(kind) = kind else {
        return Err(invalid(
            file,
            entry.line,
            "this scenario has no scenario: key naming its kind".into(),
            Some(format!("add scenario: {KUBEVIRT_VM_OUTAGE}")),
        ));
    };
    let name = name.unwrap_or_else(|| format!("{kind} #{}", index + 1));
    if kind != KUBEVIRT_VM_OUTAGE {
        return Ok(Step::Unsupported(UnsupportedStep {
            kind,
            name,
            file: file.to_path_buf(),
            line: Some(entry.line),
        }));
    }
    let params = outage_params(file, entry.line, params)?;
    Ok(Step::Outage(Box::new(OutageStep {
        name,
        file: file.to_path_buf(),
        line: entry.line,
        params,
    })))
}

/// A scalar as the text a name would be (YAML reads `123` as a number).
fn scalar_text(v: &Located) -> Option<String> {
    match &v.node {
        Node::Str(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        Node::Float(f) => Some(f.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn outage_params(
    file: &Path,
    entry_line: u64,
    params: Option<&Located>,
) -> Result<OutageParams, KrakenError> {
    let empty = Vec::new();
    let (fields, line) = match params {
        None => (&empty, entry_line),
        Some(Located {
            node: Node::Null,
            line,
        }) => (&empty, *line),
        Some(Located {
            node: Node::Map(fields),
            line,
        }) => (fields, *line),
        Some(other) => {
            return Err(invalid(
                file,
                other.line,
                format!("parameters must be a mapping, not {}", other.node.kind()),
                None,
            ))
        }
    };
    let mut out = OutageParams {
        vm_name: None,
        namespace: NamePattern::new("default").expect("a plain name is a regex"),
        label_selector: None,
        label_selector_line: None,
        timeout: None,
        duration: None,
        kill_count: 1,
        disable_auto_restart: false,
    };
    let mut seen: Vec<(&str, u64)> = Vec::new();
    for (k, v) in fields {
        let key = key_name(file, k)?;
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == key) {
            return Err(invalid(
                file,
                k.line,
                format!("{key} given twice (first on line {first})"),
                None,
            ));
        }
        seen.push((key, k.line));
        let bad = |message: String, hint: Option<String>| invalid(file, v.line, message, hint);
        match key {
            "vm_name" => out.vm_name = pattern(file, key, v)?,
            "namespace" => {
                if let Some(p) = pattern(file, key, v)? {
                    out.namespace = p;
                }
            }
            "label_selector" => match &v.node {
                Node::Null => {}
                Node::Str(s) if s.trim().is_empty() => {}
                Node::Str(s) => {
                    out.label_selector = Some(s.trim().to_string());
                    out.label_selector_line = Some(v.line);
                }
                other => {
                    return Err(bad(
                        format!(
                            "label_selector must be a label selector such as app=db, not {}",
                            other.kind()
                        ),
                        None,
                    ))
                }
            },
            "timeout" | "duration" => {
                let d = seconds(v).ok_or_else(|| {
                    bad(
                        format!(
                            "{key} must be a number of seconds (60) or a duration like 90s, 2m"
                        ),
                        None,
                    )
                })?;
                let d = crate::durations::within_bounds(d)
                    .map_err(|e| bad(format!("{key} {e}"), None))?;
                if key == "timeout" {
                    let d = crate::durations::at_least_min_timeout(d)
                        .map_err(|e| bad(format!("timeout {e}"), None))?;
                    out.timeout = Some(d);
                } else {
                    out.duration = Some(d);
                }
            }
            "kill_count" => match &v.node {
                Node::Int(n) if *n >= 1 => out.kill_count = *n as usize,
                _ => return Err(bad("kill_count must be a positive integer".into(), None)),
            },
            "disable_auto_restart" => match &v.node {
                Node::Bool(b) => out.disable_auto_restart = *b,
                Node::Null => {}
                _ => {
                    return Err(bad(
                        "disable_auto_restart must be true or false".into(),
                        None,
                    ))
                }
            },
            other => {
                return Err(invalid(
                    file,
                    k.line,
                    format!(
                        "unknown parameter {other} for {KUBEVIRT_VM_OUTAGE}: known are {}",
                        OUTAGE_PARAMETERS.join(", ")
                    ),
                    closest(other, &OUTAGE_PARAMETERS).map(|c| format!("did you mean {c}?")),
                ))
            }
        }
    }
    if out.vm_name.is_none() && out.label_selector.is_none() {
        return Err(invalid(
            file,
            line,
            format!("{KUBEVIRT_VM_OUTAGE} needs vm_name or label_selector to choose its VMIs"),
            Some("add vm_name: NAME (a regex matched against the whole VMI name)".into()),
        ));
    }
    Ok(out)
}

/// A name regex, or None when left empty.
fn pattern(file: &Path, key: &str, v: &Located) -> Result<Option<NamePattern>, KrakenError> {
    let text = match &v.node {
        Node::Null => return Ok(None),
        _ => scalar_text(v).ok_or_else(|| {
            invalid(
                file,
                v.line,
                format!("{key} must be a name or a regex, not {}", v.node.kind()),
                None,
            )
        })?,
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // Kraken's examples ship with `<vm-name>` placeholders, which are valid regexes that
    // match nothing.
    if text.starts_with('<') && text.ends_with('>') {
        return Err(invalid(
            file,
            v.line,
            format!("{key} is still the placeholder {text}"),
            Some(format!(
                "put the {} there (a regex matched against the whole name)",
                if key == "namespace" {
                    "namespace"
                } else {
                    "VMI's name"
                }
            )),
        ));
    }
    NamePattern::new(text).map(Some).map_err(|e| {
        invalid(
            file,
            v.line,
            format!(
                "{key} {text} is not a valid regex: {}",
                first_line(&e.to_string())
            ),
            None,
        )
    })
}

fn first_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

/// Seconds as a number, or a duration as text (`90s`, `2m`, `"60"`); the bounds are checked
/// after.
fn seconds(v: &Located) -> Option<Duration> {
    match &v.node {
        Node::Int(n) if *n >= 0 => Some(Duration::from_secs(*n as u64)),
        // Too large for a Duration is too long all the same: the bound says so.
        Node::Float(f) if *f >= 0.0 => {
            Some(Duration::try_from_secs_f64(*f).unwrap_or(Duration::MAX))
        }
        Node::Str(s) => crate::durations::parse_unbounded(s),
        _ => None,
    }
}

/// The known word nearest to a typo, if it is near enough.
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
