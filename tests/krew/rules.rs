//! krew's manifest rules, as krew's validation code states them, plus this project's own.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::install::{archive_contents, install};

pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
/// What the old hand-kept manifest carried for archives nobody had built: never valid.
pub const PLACEHOLDER_SHA256: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";
/// The platforms a release serves; each must be selected by exactly one entry.
pub const REQUIRED: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];
/// krew's `allPlatforms()`: a selector must match at least one of these.
pub const KREW_PLATFORMS: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];
/// File names krew's validator accepts as the license (lower-cased).
pub const LICENSE_NAMES: [&str; 8] = [
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];
/// What `outage` can't do without, whatever else the shipped role grants.
pub const CORE_RBAC: [(&str, &str, &str); 7] = [
    ("kubevirt.io", "virtualmachineinstances", "get"),
    ("kubevirt.io", "virtualmachineinstances", "list"),
    ("kubevirt.io", "virtualmachineinstances", "watch"),
    ("kubevirt.io", "virtualmachineinstances", "delete"),
    ("kubevirt.io", "virtualmachineinstances", "create"),
    ("kubevirt.io", "virtualmachines", "get"),
    (
        "subresources.kubevirt.io",
        "virtualmachines/start",
        "update",
    ),
];

// Unknown fields are refused (krew ignores them), so a misspelt key can't pass silently.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugin {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Spec {
    pub version: String,
    pub homepage: String,
    pub short_description: String,
    pub description: String,
    pub caveats: String,
    pub platforms: Vec<Platform>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Platform {
    pub selector: Option<Selector>,
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    pub files: Option<Vec<FileOperation>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    pub match_labels: Option<BTreeMap<String, String>>,
    pub match_expressions: Option<Vec<Requirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileOperation {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize)]
pub struct RbacObject {
    pub kind: String,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The rules

/// Every rule the manifest breaks, one line each (empty: valid). `required`: the platforms it
/// must serve (a release: all of [`REQUIRED`]; what scripts/release renders here: its own).
pub fn problems(p: &Plugin, cargo_version: &str, required: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let s = &p.spec;
    if p.api_version != API_VERSION {
        out.push(format!(
            "apiVersion is {:?}, krew supports only {API_VERSION:?}",
            p.api_version
        ));
    }
    if p.kind != "Plugin" {
        out.push(format!("kind is {:?}, must be \"Plugin\"", p.kind));
    }
    if !is_safe_plugin_name(&p.metadata.name) {
        out.push(format!(
            "metadata.name {:?} is not allowed by krew",
            p.metadata.name
        ));
    }
    if p.metadata.name != "vmchaos" {
        out.push(format!(
            "metadata.name is {:?}, the plugin is \"vmchaos\"",
            p.metadata.name
        ));
    }
    if !is_krew_semver(&s.version) {
        out.push(format!(
            "spec.version {:?} is not semver with a leading v",
            s.version
        ));
    }
    if s.version != format!("v{cargo_version}") {
        out.push(format!(
            "spec.version {:?} is not v + the Cargo version {cargo_version}",
            s.version
        ));
    }
    if !s.homepage.starts_with("https://") {
        out.push(format!(
            "spec.homepage {:?} is not an https URL",
            s.homepage
        ));
    }
    if s.short_description.trim().is_empty() {
        out.push("spec.shortDescription is empty".into());
    }
    if s.short_description.contains('\n') || s.short_description.len() > 70 {
        out.push("spec.shortDescription must be one line of at most 70 characters".into());
    }
    if s.description.trim().is_empty() {
        out.push("spec.description is empty".into());
    }
    if !s.description.contains("KubeVirt") {
        out.push("spec.description doesn't say it needs KubeVirt".into());
    }
    out.extend(description_problems(&s.description));
    for (field, text) in [("description", &s.description), ("caveats", &s.caveats)] {
        if let Some(line) = long_line(text, 80) {
            out.push(format!(
                "spec.{field} has a line over 80 characters: {line:?}"
            ));
        }
    }
    out.extend(caveats_problems(&s.caveats, &s.version));
    out.extend(platforms_problems(s, required));
    out
}

/// The description must say what the tool does today with each kind of owner (README, "What
/// happens, phase by phase"): a Halted VM's VMI is refused, never started and halted again.
pub fn description_problems(description: &str) -> Vec<String> {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    for (words, what) in [
        (
            "Always or Once: KubeVirt re-creates",
            "Always/Once VMs are re-created by KubeVirt",
        ),
        ("RerunOnFailure or Manual", "RerunOnFailure and Manual VMs"),
        (
            "the tool starts the VM (virt-api's start)",
            "the tool starts RerunOnFailure/Manual VMs",
        ),
        (
            "Standalone VMI: the tool re-creates it from the saved manifest",
            "standalone VMIs are re-created from the saved manifest",
        ),
        (
            "VirtualMachineInstanceReplicaSet: the tool follows the replacement",
            "replica-set VMIs are followed",
        ),
        (
            "Halted VM (or running: false): refused",
            "Halted VMs are refused",
        ),
    ] {
        if !text.contains(words) {
            out.push(format!(
                "spec.description doesn't say that {what} ({words:?})"
            ));
        }
    }
    for stale in ["back to Halted", "sets a Halted", "Halted, or no owner"] {
        if text.contains(stale) {
            out.push(format!(
                "spec.description still describes the Halted path that no longer exists ({stale:?})"
            ));
        }
    }
    out
}

pub fn caveats_problems(caveats: &str, version: &str) -> Vec<String> {
    let mut out = Vec::new();
    let helper = "kubectl_complete-vmchaos";
    if !caveats.contains(helper) {
        out.push(format!("spec.caveats don't say how to install {helper}"));
    }
    // krew installs into <root>/store/<plugin>/<version>/: the copy command must name this version.
    let store_path = format!("/store/vmchaos/{version}/{helper}");
    if !caveats.contains(&store_path) {
        out.push(format!(
            "spec.caveats don't copy the helper from {store_path}"
        ));
    }
    if !caveats.contains("deploy/rbac.yaml") {
        out.push("spec.caveats don't point to deploy/rbac.yaml".into());
    }
    out
}

pub fn platforms_problems(s: &Spec, required: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    if s.platforms.is_empty() {
        out.push("spec.platforms is empty".into());
    }
    for (i, pl) in s.platforms.iter().enumerate() {
        let Some(selector) = &pl.selector else {
            out.push(format!("spec.platforms[{i}] has no selector"));
            continue;
        };
        let problems_before = out.len();
        out.extend(
            selector_problems(selector)
                .into_iter()
                .map(|e| format!("spec.platforms[{i}].selector: {e}")),
        );
        let Some((os, arch)) = KREW_PLATFORMS
            .into_iter()
            .find(|&(os, arch)| matches(selector, os, arch))
        else {
            out.push(format!(
                "spec.platforms[{i}].selector matches no supported platform"
            ));
            continue;
        };
        if out.len() == problems_before {
            out.extend(
                platform_problems(pl, os, arch, &s.version)
                    .into_iter()
                    .map(|e| format!("spec.platforms[{i}] ({os}/{arch}): {e}")),
            );
        }
    }
    for (os, arch) in KREW_PLATFORMS {
        let hits: Vec<usize> = (s.platforms.iter().enumerate())
            .filter(|(_, pl)| {
                pl.selector
                    .as_ref()
                    .is_some_and(|sel| matches(sel, os, arch))
            })
            .map(|(i, _)| i)
            .collect();
        if hits.len() > 1 {
            out.push(format!(
                "spec.platforms {hits:?} have overlapping selectors for {os}/{arch}"
            ));
        }
        if hits.is_empty() && required.contains(&(os, arch)) {
            out.push(format!("no spec.platforms entry for {os}/{arch}"));
        }
    }
    let mut seen = BTreeSet::new();
    for pl in &s.platforms {
        if !seen.insert(&pl.sha256) {
            out.push(format!("two platforms have the same sha256 {}", pl.sha256));
        }
    }
    out
}

pub fn selector_problems(sel: &Selector) -> Vec<String> {
    let mut out = Vec::new();
    let labels = sel.match_labels.as_ref();
    let exprs = sel.match_expressions.as_ref();
    if labels.is_none() && exprs.is_none_or(Vec::is_empty) {
        out.push("empty selector is not supported".into());
    }
    let keys = labels
        .into_iter()
        .flat_map(|l| l.keys())
        .chain(exprs.into_iter().flatten().map(|r| &r.key));
    for key in keys {
        if key != "os" && key != "arch" {
            out.push(format!("key {key:?} not supported (only os, arch)"));
        }
    }
    if labels.is_some_and(BTreeMap::is_empty) {
        out.push("matchLabels specified but empty".into());
    }
    if exprs.is_some_and(Vec::is_empty) {
        out.push("matchExpressions specified but empty".into());
    }
    for r in exprs.into_iter().flatten() {
        let needs_values = matches!(r.operator.as_str(), "In" | "NotIn");
        if !matches!(
            r.operator.as_str(),
            "In" | "NotIn" | "Exists" | "DoesNotExist"
        ) || needs_values == r.values.is_empty()
        {
            out.push(format!(
                "matchExpressions {:?} {:?} {:?} is not a valid requirement",
                r.key, r.operator, r.values
            ));
        }
    }
    out
}

/// Label-selector semantics on the label set krew matches against: {os, arch}.
pub fn matches(sel: &Selector, os: &str, arch: &str) -> bool {
    let value = |key: &str| match key {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let labels_ok = (sel.match_labels.iter().flatten()).all(|(k, v)| value(k) == Some(v.as_str()));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|r| {
        let v = value(&r.key);
        match r.operator.as_str() {
            "In" => v.is_some_and(|v| r.values.iter().any(|x| x == v)),
            "NotIn" => v.is_none_or(|v| r.values.iter().all(|x| x != v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

pub fn platform_problems(pl: &Platform, os: &str, arch: &str, version: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ext = if os == "windows" { "zip" } else { "tar.gz" };
    if !(pl.uri.ends_with(".tar.gz") || pl.uri.ends_with(".zip")) {
        out.push(format!("uri {:?} is neither .tar.gz nor .zip", pl.uri));
    }
    let release =
        format!("/releases/download/{version}/kubectl-vmchaos_{version}_{os}_{arch}.{ext}");
    if !(pl.uri.starts_with("https://") && pl.uri.ends_with(&release)) {
        out.push(format!(
            "uri {:?} is not an https URL ending in {release}",
            pl.uri
        ));
    }
    if !is_sha256(&pl.sha256) {
        out.push(format!(
            "sha256 {:?} is not 64 lowercase hex digits",
            pl.sha256
        ));
    }
    if pl.sha256 == PLACEHOLDER_SHA256 {
        out.push("sha256 is the all-zero placeholder, not an archive's digest".into());
    }
    let exe = if os == "windows" {
        "kubectl-vmchaos.exe"
    } else {
        "kubectl-vmchaos"
    };
    if pl.bin != exe {
        out.push(format!("bin is {:?}, expected {exe:?}", pl.bin));
    }
    if let Some(ops) = &pl.files {
        if ops.is_empty() {
            out.push("files has to be unspecified or non-empty".into());
        }
        for op in ops {
            if op.from.is_empty() || op.to.is_empty() {
                out.push(format!("files entry {op:?} needs both from and to"));
            }
        }
    }
    if out.is_empty() {
        match install(&archive_contents(os), pl.files.as_deref()) {
            Err(e) => out.push(e),
            Ok(installed) => {
                if !installed.contains(&pl.bin) {
                    out.push(format!(
                        "bin {:?} is not installed by files {installed:?}",
                        pl.bin
                    ));
                }
                let has_license = installed.iter().any(|f| {
                    let name = f.rsplit('/').next().unwrap_or(f).to_lowercase();
                    LICENSE_NAMES.contains(&name.as_str())
                });
                if !has_license {
                    out.push(format!(
                        "no LICENSE among the installed files {installed:?}"
                    ));
                }
            }
        }
    }
    out
}

/// krew's `IsSafePluginName`: `^[\w-]+$` and not a reserved Windows device name.
pub fn is_safe_plugin_name(name: &str) -> bool {
    const RESERVED: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// krew's `semver.Parse`: a leading `v`, then MAJOR.MINOR.PATCH without leading zeros, then an
/// optional `-pre.release` and `+build` (k8s.io/apimachinery's `ParseSemantic`).
pub fn is_krew_semver(version: &str) -> bool {
    let number = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = rest
        .split_once('+')
        .map_or((rest, None), |(r, b)| (r, Some(b)));
    let (core, pre) = rest
        .split_once('-')
        .map_or((rest, None), |(c, p)| (c, Some(p)));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || number(i)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// krew's validator warns about lines longer than `max` that contain a space.
pub fn long_line(text: &str, max: usize) -> Option<&str> {
    text.lines()
        .find(|l| l.chars().count() > max && l.trim().contains(' '))
}

/// Every `<group> <resource>: <verbs>` line of the caveats must say exactly what the shipped
/// role grants on that resource, and together they must cover what `outage` can't do without.
pub fn caveats_rbac_problems(caveats: &str, rbac_yaml: &str) -> Vec<String> {
    let objects: Vec<RbacObject> = match serde_saphyr::from_multiple(rbac_yaml) {
        Ok(objects) => objects,
        Err(e) => return vec![format!("deploy/rbac.yaml doesn't parse: {e}")],
    };
    let mut granted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for rule in objects
        .iter()
        .filter(|o| o.kind == "Role" || o.kind == "ClusterRole")
        .flat_map(|o| &o.rules)
    {
        for group in &rule.api_groups {
            for resource in &rule.resources {
                granted
                    .entry((group.clone(), resource.clone()))
                    .or_default()
                    .extend(rule.verbs.iter().cloned());
            }
        }
    }
    let mut out = Vec::new();
    let mut listed = BTreeSet::new();
    let rbac_lines = caveats.lines().skip_while(|l| !l.contains("RBAC")).skip(1);
    for line in rbac_lines.take_while(|l| l.starts_with("  ")) {
        let Some((key, verbs)) = line.trim().split_once(": ") else {
            continue;
        };
        let Some((group, resource)) = key.split_once(' ') else {
            continue;
        };
        let verbs: BTreeSet<String> = verbs.split_whitespace().map(str::to_owned).collect();
        let role = granted
            .get(&(group.to_owned(), resource.to_owned()))
            .cloned()
            .unwrap_or_default();
        if verbs != role {
            out.push(format!(
                "caveats list {group} {resource}: {verbs:?}, deploy/rbac.yaml grants {role:?}"
            ));
        }
        listed.extend(
            verbs
                .into_iter()
                .map(|v| (group.to_owned(), resource.to_owned(), v)),
        );
    }
    for (group, resource, verb) in CORE_RBAC {
        if !listed.contains(&(group.to_owned(), resource.to_owned(), verb.to_owned())) {
            out.push(format!("caveats don't list {verb} on {group} {resource}"));
        }
    }
    out
}
