//! krew-manifest.yaml held against krew's own rules (krew's `internal/index/validation` and
//! `cmd/validate-krew-manifest`: apiVersion, kind, safe name, semver version, selectors on
//! os/arch that match a supported platform and don't overlap, sha256, bin, files, LICENSE in the
//! install, line lengths) and against this project's release layout (URIs, caveats, RBAC).
//! Every rule is also run on a broken copy of the manifest, so each check is seen failing.

#[path = "krew/install.rs"]
mod install;
#[path = "krew/rules.rs"]
mod rules;

use std::collections::BTreeSet;

use install::{archive_contents, glob_match, install};
use rules::*;

const MANIFEST: &str = include_str!("../krew-manifest.yaml");
const RBAC: &str = include_str!("../deploy/rbac.yaml");

fn manifest() -> Plugin {
    serde_saphyr::from_str(MANIFEST).expect("krew-manifest.yaml parses as a krew Plugin")
}

// ---------------------------------------------------------------------------------------------
// The manifest as shipped

#[test]
fn manifest_follows_krew_rules() {
    let found = problems(&manifest(), env!("CARGO_PKG_VERSION"));
    assert!(
        found.is_empty(),
        "krew-manifest.yaml breaks krew's rules:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn placeholder_sha256_are_marked_and_linux_amd64_is_real() {
    let found = sha256_marking_problems(MANIFEST);
    assert!(found.is_empty(), "{}", found.join("\n"));
    let p = manifest();
    let built_here = p.spec.platforms.iter().find(|pl| {
        pl.selector
            .as_ref()
            .is_some_and(|s| matches(s, "linux", "amd64"))
    });
    let sha = &built_here.expect("a linux/amd64 entry").sha256;
    assert_ne!(
        sha, PLACEHOLDER_SHA256,
        "linux/amd64 has no real sha256: run scripts/release"
    );
}

#[test]
fn caveats_rbac_matches_the_shipped_role() {
    let found = caveats_rbac_problems(&manifest().spec.caveats, RBAC);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn files_the_manifest_installs_exist_in_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in [
        "LICENSE",
        "completions/kubectl_complete-vmchaos",
        "deploy/rbac.yaml",
    ] {
        assert!(
            root.join(name).is_file(),
            "{name} is missing from the repository"
        );
    }
    let license = std::fs::read_to_string(root.join("LICENSE")).expect("read LICENSE");
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"));
    assert!(
        license.contains("END OF TERMS AND CONDITIONS"),
        "LICENSE is not the full Apache-2.0 text"
    );
}

// ---------------------------------------------------------------------------------------------
// Each rule, seen failing on a broken copy

fn entry<'a>(p: &'a mut Plugin, os: &str, arch: &str) -> &'a mut Platform {
    (p.spec.platforms.iter_mut())
        .find(|pl| pl.selector.as_ref().is_some_and(|s| matches(s, os, arch)))
        .expect("platform in the manifest")
}

fn labels(pairs: &[(&str, &str)]) -> Option<Selector> {
    let labels = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(Selector {
        match_labels: Some(labels),
        match_expressions: None,
    })
}

type Breakage = (&'static str, &'static str, fn(&mut Plugin));

/// `what: "expected problem" => |manifest| breakage;`, one per line (rustfmt leaves it alone).
macro_rules! breakages {
    ($($what:literal: $expected:literal => $breakage:expr;)*) => {{
        fn breakage(what: &'static str, expected: &'static str, f: fn(&mut Plugin)) -> Breakage {
            (what, expected, f)
        }
        vec![$(breakage($what, $expected, $breakage)),*]
    }};
}

fn breakages() -> Vec<Breakage> {
    breakages! {
        "old apiVersion": "apiVersion" => |p| p.api_version = "krew.googlecontainertools.github.com/v1alpha1".into();
        "wrong kind": "kind" => |p| p.kind = "Plugins".into();
        "other name": "the plugin is \"vmchaos\"" => |p| p.metadata.name = "vm-chaos".into();
        "reserved name": "not allowed by krew" => |p| p.metadata.name = "nul".into();
        "unsafe name": "not allowed by krew" => |p| p.metadata.name = "vm/chaos".into();
        "version without v": "not semver" => |p| p.spec.version = "0.1.0".into();
        "two-part version": "not semver" => |p| p.spec.version = "v0.1".into();
        "leading zero": "not semver" => |p| p.spec.version = "v0.01.0".into();
        "bad pre-release": "not semver" => |p| p.spec.version = "v0.1.0-rc..1".into();
        "version not Cargo's": "Cargo version" => |p| p.spec.version = "v9.9.9".into();
        "plain http homepage": "homepage" => |p| p.spec.homepage = "http://example.invalid".into();
        "no shortDescription": "shortDescription is empty" => |p| p.spec.short_description = " ".into();
        "long shortDescription": "at most 70" => |p| p.spec.short_description = "word ".repeat(15);
        "no description": "description is empty" => |p| p.spec.description.clear();
        "description without KubeVirt": "KubeVirt" => |p| p.spec.description = p.spec.description.replace("KubeVirt", "it");
        "long description line": "over 80" => |p| p.spec.description.push_str(&"word ".repeat(17));
        "long caveats line": "over 80" => |p| p.spec.caveats.push_str(&"word ".repeat(17));
        "no helper in caveats": "how to install" => |p| p.spec.caveats = p.spec.caveats.replace("kubectl_complete-vmchaos", "it");
        "stale store path": "copy the helper" => |p| p.spec.caveats = p.spec.caveats.replace("/store/vmchaos/v", "/store/vmchaos/v9");
        "no role in caveats": "deploy/rbac.yaml" => |p| p.spec.caveats = p.spec.caveats.replace("deploy/rbac.yaml", "the role");
        "no platforms": "spec.platforms is empty" => |p| p.spec.platforms.clear();
        "missing darwin/arm64": "no spec.platforms entry for darwin/arm64" => |p| p.spec.platforms.retain(|pl| !matches(pl.selector.as_ref().unwrap(), "darwin", "arm64"));
        "duplicate entry": "overlapping" => |p| { let dup = entry(p, "linux", "amd64").clone(); p.spec.platforms.push(dup) };
        "os-only selector": "overlapping" => |p| entry(p, "linux", "amd64").selector = labels(&[("os", "linux")]);
        "no selector": "has no selector" => |p| entry(p, "linux", "arm64").selector = None;
        "empty selector": "empty selector" => |p| entry(p, "linux", "arm64").selector = Some(Selector::default());
        "empty matchLabels": "matchLabels specified but empty" => |p| entry(p, "linux", "arm64").selector = labels(&[]);
        "other label key": "not supported" => |p| entry(p, "linux", "arm64").selector = labels(&[("os", "linux"), ("arch", "arm64"), ("distro", "debian")]);
        "In without values": "not a valid requirement" => |p| entry(p, "darwin", "arm64").selector.as_mut().unwrap().match_expressions = Some(vec![Requirement { key: "os".into(), operator: "In".into(), values: vec![] }]);
        "unsupported platform": "matches no supported platform" => |p| entry(p, "linux", "arm64").selector = labels(&[("os", "plan9"), ("arch", "arm64")]);
        "no uri": "neither .tar.gz nor .zip" => |p| entry(p, "linux", "amd64").uri.clear();
        "uri of another version": "not an https URL ending in" => |p| { let pl = entry(p, "darwin", "amd64"); pl.uri = pl.uri.replace("/v0.", "/v7.") };
        "windows archive not zip": "not an https URL ending in" => |p| { let pl = entry(p, "windows", "amd64"); pl.uri = pl.uri.replace(".zip", ".tar.gz") };
        "uri of another arch": "not an https URL ending in" => |p| { let pl = entry(p, "linux", "arm64"); pl.uri = pl.uri.replace("arm64", "amd64") };
        "upper-case sha256": "64 lowercase hex" => |p| entry(p, "linux", "arm64").sha256 = "A".repeat(64);
        "short sha256": "64 lowercase hex" => |p| entry(p, "linux", "arm64").sha256 = "a".repeat(63);
        "same sha256 twice": "same sha256" => |p| { entry(p, "linux", "arm64").sha256 = "ab".repeat(32); entry(p, "darwin", "arm64").sha256 = "ab".repeat(32) };
        "no bin": "bin is \"\"" => |p| entry(p, "linux", "arm64").bin.clear();
        "windows bin without .exe": "expected \"kubectl-vmchaos.exe\"" => |p| entry(p, "windows", "amd64").bin = "kubectl-vmchaos".into();
        "empty files": "unspecified or non-empty" => |p| entry(p, "linux", "arm64").files = Some(vec![]);
        "files entry without to": "needs both from and to" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[0].to.clear();
        "LICENSE not copied": "no LICENSE" => |p| entry(p, "darwin", "amd64").files.as_mut().unwrap().retain(|op| op.from != "LICENSE");
        "binary not copied": "is not installed" => |p| entry(p, "darwin", "amd64").files.as_mut().unwrap().retain(|op| op.from != "kubectl-vmchaos");
        "from not in archive": "no file in the archive matches" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[1].from = "COPYING*".into();
        "to leaves install dir": "not a clean path" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[1].to = "../etc".into();
        "to not clean": "not a clean path" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[1].to = "docs/".into();
    }
}

#[test]
fn each_rule_catches_a_broken_manifest() {
    let good = manifest();
    let mut missed = Vec::new();
    for (what, expected, breakage) in breakages() {
        let mut broken = good.clone();
        breakage(&mut broken);
        let found = problems(&broken, env!("CARGO_PKG_VERSION"));
        if !found.iter().any(|e| e.contains(expected)) {
            missed.push(format!(
                "{what}: expected a problem containing {expected:?}, got {found:?}"
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "rules that didn't fire:\n  {}",
        missed.join("\n  ")
    );
}

#[test]
fn krew_defaults_and_globs_install_like_krew() {
    let archive = archive_contents("kubectl-vmchaos");
    let all = install(&archive, None).expect("files: unspecified moves everything");
    assert_eq!(all, archive.iter().cloned().collect::<BTreeSet<_>>());
    let op = |from: &str, to: &str| FileOperation {
        from: from.into(),
        to: to.into(),
    };
    let globbed = install(
        &archive,
        Some(&[op("completions/*", "bin"), op("LICEN?E", "doc")]),
    )
    .unwrap();
    assert_eq!(
        globbed,
        ["bin/kubectl_complete-vmchaos", "doc/LICENSE"]
            .map(String::from)
            .into()
    );
    let renamed = install(&archive, Some(&[op("kubectl-vmchaos", "kvc")])).unwrap();
    assert_eq!(renamed, ["kvc".to_owned()].into());
    assert!(install(&archive, Some(&[op("*.exe", ".")])).is_err());
    assert!(
        !glob_match("*", "completions/kubectl_complete-vmchaos"),
        "* crosses no /"
    );
}

#[test]
fn misspelt_keys_are_refused() {
    let typo = MANIFEST.replacen("shortDescription:", "shortDescripton:", 1);
    assert!(serde_saphyr::from_str::<Plugin>(&typo).is_err());
    let typo = MANIFEST.replacen("matchLabels:", "matchLabel:", 1);
    assert!(serde_saphyr::from_str::<Plugin>(&typo).is_err());
}

#[test]
fn unmarked_placeholder_and_stale_marking_are_caught() {
    let zeros = format!("      sha256: {PLACEHOLDER_SHA256}\n");
    assert_eq!(sha256_marking_problems(&zeros).len(), 1);
    let stale = format!(
        "      sha256: {} # placeholder: filled by the release workflow\n",
        "ab".repeat(32)
    );
    assert_eq!(sha256_marking_problems(&stale).len(), 1);
    let marked = format!(
        "      sha256: {PLACEHOLDER_SHA256} # placeholder: filled by the release workflow\n"
    );
    assert!(sha256_marking_problems(&marked).is_empty());
}

#[test]
fn caveats_rbac_drift_is_caught() {
    let caveats = manifest().spec.caveats;
    let fewer = caveats.replace("get list watch delete create", "get list watch delete");
    let found = caveats_rbac_problems(&fewer, RBAC);
    assert!(
        found.iter().any(|e| e.contains("deploy/rbac.yaml grants")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.contains("don't list create on kubevirt.io virtualmachineinstances")),
        "{found:?}"
    );
    let role_without_start = RBAC.replace("virtualmachines/start", "virtualmachines/stop");
    let found = caveats_rbac_problems(&caveats, &role_without_start);
    assert!(
        found.iter().any(|e| e.contains("virtualmachines/start")),
        "{found:?}"
    );
    let no_rbac_section = caveats.replace("RBAC", "Access");
    assert!(!caveats_rbac_problems(&no_rbac_section, RBAC).is_empty());
}

#[test]
fn semver_and_name_rules_match_krew() {
    for ok in [
        "v0.1.0",
        "v1.0.0-rc.1",
        "v1.2.3+build.7",
        "v10.20.30-alpha-1+x",
    ] {
        assert!(is_krew_semver(ok), "{ok}");
    }
    for bad in [
        "0.1.0",
        "v1",
        "v1.2",
        "v1.2.3.4",
        "v01.2.3",
        "v1.2.3-",
        "v1.2.3-01",
        "v1.2.3+",
        "V1.2.3",
    ] {
        assert!(!is_krew_semver(bad), "{bad}");
    }
    assert!(is_safe_plugin_name("view-allocations") && is_safe_plugin_name("vm_chaos"));
    assert!(
        !is_safe_plugin_name("COM1") && !is_safe_plugin_name("a.b") && !is_safe_plugin_name("")
    );
}
