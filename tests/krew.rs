//! The krew manifest is rendered, never written by hand: scripts/krew-manifest fills the template
//! .krew.yaml with the sha256 of the archives scripts/release packs. These tests pack all five
//! platforms' archives around a stand-in binary (cheap: no release build), render the manifest
//! and hold it against krew's own rules (krew's `internal/index/validation` and
//! `cmd/validate-krew-manifest`: apiVersion, kind, safe name, semver version, selectors on
//! os/arch that match a supported platform and don't overlap, sha256, bin, files, LICENSE in the
//! install, line lengths), against the real archives (digests, entries, reproducible packing),
//! against this project's release layout (URIs, caveats, RBAC, a description of what the tool
//! does today) and, where krew itself is installed (scripts/install-tools; always under CI),
//! against `kubectl krew install` for every platform. The manifest scripts/release leaves in
//! dist/ with the archive really built here is checked too, when it is there.
//! Every rule is also run on a broken copy of the manifest, so each check is seen failing.

#[path = "krew/install.rs"]
mod install;
#[path = "krew/rules.rs"]
mod rules;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use install::{archive_contents, glob_match, install};
use rules::*;

const TEMPLATE: &str = include_str!("../.krew.yaml");
const RBAC: &str = include_str!("../deploy/rbac.yaml");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CARGO_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Any fixed time: the archives' entries carry it.
const EPOCH: u64 = 1_700_000_000;

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn tag() -> String {
    format!("v{CARGO_VERSION}")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("can't run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn script(name: &str) -> Command {
    let mut cmd = Command::new(Path::new(ROOT).join("scripts").join(name));
    cmd.env("SOURCE_DATE_EPOCH", EPOCH.to_string());
    cmd
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn archive_name(os: &str, arch: &str) -> String {
    let ext = if os == "windows" { "zip" } else { "tar.gz" };
    format!("kubectl-vmchaos_{}_{os}_{arch}.{ext}", tag())
}

/// The five archives of a stand-in binary, packed by scripts/release, and the manifest
/// scripts/krew-manifest renders from them: built once per test run.
struct Release {
    dist: PathBuf,
    text: String,
}

/// A stand-in binary per platform (one archive's digest is never another's).
fn stand_in(dir: &Path, os: &str, arch: &str) -> PathBuf {
    let path = dir.join(format!("stand-in-{os}-{arch}"));
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho kubectl-vmchaos {os}/{arch}\n"),
    )
    .unwrap();
    path
}

fn pack_all(bins: &Path, dist: &Path) {
    for (os, arch) in REQUIRED {
        let binary = stand_in(bins, os, arch);
        let out = run(script("release")
            .arg("pack")
            .args([os, arch])
            .arg(binary)
            .arg(dist));
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(printed.ends_with(&archive_name(os, arch)), "{printed}");
    }
}

fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("krew-release");
        let _ = std::fs::remove_dir_all(&dir);
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        pack_all(&dir, &dist);
        let out = run(script("krew-manifest").arg("--dist").arg(&dist));
        let text = String::from_utf8(out.stdout).unwrap();
        // krew's validator wants the file named after the plugin.
        std::fs::write(dist.join("vmchaos.yaml"), &text).unwrap();
        Release { dist, text }
    })
}

fn parse(text: &str) -> Plugin {
    serde_saphyr::from_str(text).expect("the manifest parses as a krew Plugin")
}

fn manifest() -> Plugin {
    parse(&release().text)
}

fn platform_of(pl: &Platform) -> (&'static str, &'static str) {
    let selector = pl.selector.as_ref().expect("a selector");
    KREW_PLATFORMS
        .into_iter()
        .find(|&(os, arch)| matches(selector, os, arch))
        .expect("a platform krew knows")
}

// ---------------------------------------------------------------------------------------------
// Archives: what they hold, and that the same input packs to the same bytes

#[derive(Debug, PartialEq)]
struct TarEntry {
    name: String,
    mode: u64,
    uid: u64,
    gid: u64,
    mtime: u64,
    kind: u8,
    owner: String,
}

fn octal(field: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(field);
    u64::from_str_radix(text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
        .unwrap_or_else(|_| panic!("not an octal tar field: {text:?}"))
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The ustar headers of a .tar.gz, and its gzip header's MTIME and FLG bytes.
fn read_tar_gz(path: &Path) -> (Vec<TarEntry>, u32, u8) {
    let gz = std::fs::read(path).unwrap();
    assert_eq!(gz[..3], [0x1f, 0x8b, 8], "{} is not gzip", path.display());
    let (flags, mtime) = (gz[3], u32::from_le_bytes(gz[4..8].try_into().unwrap()));
    let mut child = Command::new("gzip")
        .args(["-dc"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut tar = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut tar).unwrap();
    assert!(child.wait().unwrap().success());
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        let h = &tar[at..at + 512];
        assert_eq!(&h[257..263], b"ustar\0", "not a ustar header");
        let prefix = cstr(&h[345..500]);
        let name = cstr(&h[..100]);
        let size = octal(&h[124..136]);
        entries.push(TarEntry {
            name: if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            },
            mode: octal(&h[100..108]),
            uid: octal(&h[108..116]),
            gid: octal(&h[116..124]),
            mtime: octal(&h[136..148]),
            kind: h[156],
            owner: format!("{}:{}", cstr(&h[265..297]), cstr(&h[297..329])),
        });
        at += 512 + size.div_ceil(512) as usize * 512;
    }
    (entries, mtime, flags)
}

/// The files (not folders) in an archive, as krew extracts them.
fn archive_files(path: &Path) -> Vec<String> {
    if path.extension().is_some_and(|e| e == "zip") {
        let out = run(Command::new("unzip").arg("-Z1").arg(path));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.ends_with('/'))
            .map(str::to_owned)
            .collect()
    } else {
        let (entries, ..) = read_tar_gz(path);
        (entries.into_iter())
            .filter(|e| e.kind == b'0')
            .map(|e| e.name)
            .collect()
    }
}

#[test]
fn archives_hold_the_binary_license_readme_and_the_helper_but_on_windows() {
    let r = release();
    for (os, arch) in REQUIRED {
        let files = archive_files(&r.dist.join(archive_name(os, arch)));
        assert_eq!(files, archive_contents(os), "{os}/{arch}");
    }
}

#[test]
fn tar_archives_are_sorted_owned_by_root_dated_and_gzip_carries_no_time() {
    let path = release().dist.join(archive_name("linux", "amd64"));
    let (entries, gzip_mtime, gzip_flags) = read_tar_gz(&path);
    assert_eq!(gzip_mtime, 0, "gzip -n: no time stamp in the gzip header");
    assert_eq!(
        gzip_flags & 0x08,
        0,
        "gzip -n: no file name in the gzip header"
    );
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "LICENSE",
            "README.md",
            "completions/",
            "completions/kubectl_complete-vmchaos",
            "kubectl-vmchaos"
        ]
    );
    for e in &entries {
        assert_eq!((e.uid, e.gid, e.owner.as_str()), (0, 0, ":"), "{e:?}");
        assert_eq!(e.mtime, EPOCH, "{e:?}");
        let executable = e.kind == b'5' || (e.name != "LICENSE" && e.name != "README.md");
        assert_eq!(e.mode, if executable { 0o755 } else { 0o644 }, "{e:?}");
    }
}

#[test]
fn the_same_binary_packs_to_the_same_bytes() {
    // Another copy of each binary, with another mode and time stamp, packed under a tight umask.
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    for (os, arch) in REQUIRED {
        let binary = stand_in(dir.path(), os, arch);
        run(Command::new("chmod").arg("0600").arg(&binary));
        run(Command::new("touch")
            .args(["-d", "@1234567890"])
            .arg(&binary));
        run(Command::new("sh")
            .args(["-c", "umask 077 && exec \"$@\"", "sh"])
            .arg(Path::new(ROOT).join("scripts/release"))
            .args(["pack", os, arch])
            .arg(&binary)
            .arg(&dist)
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string()));
        let name = archive_name(os, arch);
        assert_eq!(
            sha256_hex(&dist.join(&name)),
            sha256_hex(&release().dist.join(&name)),
            "{name} packed twice from the same binary differs"
        );
    }
    // The time is part of the input: another SOURCE_DATE_EPOCH, other bytes.
    let other = dir.path().join("other");
    run(script("release")
        .args(["pack", "linux", "amd64"])
        .arg(stand_in(dir.path(), "linux", "amd64"))
        .arg(&other)
        .env("SOURCE_DATE_EPOCH", (EPOCH + 1).to_string()));
    let name = archive_name("linux", "amd64");
    assert_ne!(
        sha256_hex(&other.join(&name)),
        sha256_hex(&release().dist.join(&name))
    );
}

// ---------------------------------------------------------------------------------------------
// The rendered manifest

#[test]
fn the_rendered_manifest_follows_krew_rules() {
    let found = problems(&manifest(), CARGO_VERSION, &REQUIRED);
    assert!(
        found.is_empty(),
        "the rendered manifest breaks krew's rules:\n  {}\n{}",
        found.join("\n  "),
        release().text
    );
}

#[test]
fn every_sha256_is_the_digest_of_its_archive() {
    let r = release();
    let p = manifest();
    assert_eq!(p.spec.platforms.len(), REQUIRED.len());
    for pl in &p.spec.platforms {
        let (os, arch) = platform_of(pl);
        let name = pl.uri.rsplit('/').next().unwrap();
        assert_eq!(name, archive_name(os, arch));
        assert_eq!(pl.sha256, sha256_hex(&r.dist.join(name)), "{os}/{arch}");
    }
}

#[test]
fn each_platform_installs_its_real_archive() {
    let r = release();
    for pl in &manifest().spec.platforms {
        let (os, arch) = platform_of(pl);
        let files = archive_files(&r.dist.join(archive_name(os, arch)));
        let installed =
            install(&files, pl.files.as_deref()).unwrap_or_else(|e| panic!("{os}/{arch}: {e}"));
        assert!(installed.contains(&pl.bin), "{os}/{arch}: {installed:?}");
        assert!(installed.contains("LICENSE"), "{os}/{arch}: {installed:?}");
        let helper = installed.contains("kubectl_complete-vmchaos");
        assert_eq!(helper, os != "windows", "{os}/{arch}: {installed:?}");
    }
}

#[test]
fn the_template_holds_no_digest_and_no_manifest_is_committed() {
    // The sha256 lines exist only once rendered: none to forget, none to go stale.
    assert!(
        !TEMPLATE
            .lines()
            .any(|l| l.trim_start().starts_with("sha256:")),
        ".krew.yaml has a literal sha256: use addURIAndSha"
    );
    let uris = TEMPLATE.matches("{{ addURIAndSha \"").count();
    assert_eq!(uris, REQUIRED.len(), "one addURIAndSha per platform");
    assert!(
        !Path::new(ROOT).join("krew-manifest.yaml").exists(),
        "krew-manifest.yaml is generated (scripts/krew-manifest), not kept in the repository"
    );
    assert!(release()
        .text
        .starts_with("# Generated by scripts/krew-manifest"));
    assert!(!release().text.contains("{{"));
}

#[test]
fn rendering_needs_every_archive_unless_partial_and_the_cargo_version_as_tag() {
    let dir = tempfile::tempdir().unwrap();
    let only = archive_name("darwin", "arm64");
    std::fs::copy(release().dist.join(&only), dir.path().join(&only)).unwrap();

    let full = script("krew-manifest")
        .arg("--dist")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!full.status.success());
    let err = String::from_utf8_lossy(&full.stderr);
    assert!(err.contains(&archive_name("linux", "amd64")), "{err}");

    let out = run(script("krew-manifest")
        .arg("--dist")
        .arg(dir.path())
        .arg("--partial"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Left out (no archive): linux_amd64 linux_arm64 darwin_amd64 windows_amd64."),
        "{text}"
    );
    let p = parse(&text);
    assert_eq!(p.spec.platforms.len(), 1);
    assert_eq!(platform_of(&p.spec.platforms[0]), ("darwin", "arm64"));
    let found = problems(&p, CARGO_VERSION, &[("darwin", "arm64")]);
    assert!(found.is_empty(), "{found:?}");
    // A partial manifest is no release.
    let found = problems(&p, CARGO_VERSION, &REQUIRED);
    assert!(found
        .iter()
        .any(|e| e.contains("no spec.platforms entry for linux/amd64")));

    let empty = tempfile::tempdir().unwrap();
    let none = script("krew-manifest")
        .arg("--dist")
        .arg(empty.path())
        .arg("--partial")
        .output()
        .unwrap();
    assert!(!none.status.success(), "nothing to render must fail");

    let wrong_tag = script("krew-manifest")
        .args(["--tag", "v9.9.9", "--dist"])
        .arg(dir.path())
        .arg("--partial")
        .output()
        .unwrap();
    assert!(!wrong_tag.status.success());
    assert!(String::from_utf8_lossy(&wrong_tag.stderr).contains("Cargo version"));
}

/// The manifest `scripts/release` leaves in dist/ next to the archive it built on this machine:
/// every sha256 it lists is the digest of that archive where the archive is there, and every
/// archive of this version in dist/ is listed.
#[test]
fn the_manifest_in_dist_matches_the_archives_in_dist() {
    let dist = Path::new(ROOT).join("dist");
    let Ok(text) = std::fs::read_to_string(dist.join("krew-manifest.yaml")) else {
        eprintln!("krew: no dist/krew-manifest.yaml (scripts/release writes it): nothing to check");
        return;
    };
    let p = parse(&text);
    let served: Vec<(&str, &str)> = p.spec.platforms.iter().map(platform_of).collect();
    let found = problems(&p, CARGO_VERSION, &served);
    assert!(found.is_empty(), "dist/krew-manifest.yaml: {found:?}");
    let mut listed = BTreeSet::new();
    for pl in &p.spec.platforms {
        let name = pl.uri.rsplit('/').next().unwrap().to_owned();
        let archive = dist.join(&name);
        if archive.is_file() {
            assert_eq!(
                pl.sha256,
                sha256_hex(&archive),
                "dist/krew-manifest.yaml: sha256 of {name} is not the archive's: run scripts/release"
            );
            let (os, _) = platform_of(pl);
            assert_eq!(archive_files(&archive), archive_contents(os), "{name}");
        }
        listed.insert(name);
    }
    let prefix = format!("kubectl-vmchaos_{}_", tag());
    for entry in std::fs::read_dir(&dist).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && (name.ends_with(".tar.gz") || name.ends_with(".zip")) {
            assert!(
                listed.contains(&name),
                "dist/{name} is not in dist/krew-manifest.yaml: run scripts/release"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// krew itself

/// krew's own binary: $KREW, else `krew` or `kubectl-krew` on PATH (scripts/install-tools).
fn krew() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KREW").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("krew"), dir.join("kubectl-krew")])
        .find(|p| p.is_file())
}

#[test]
fn krew_installs_every_platform_from_the_rendered_manifest() {
    let Some(krew) = krew() else {
        assert!(
            !is_ci(),
            "CI=true: krew is needed (scripts/install-tools; KREW=path/to/krew)"
        );
        eprintln!("krew: SKIPPED the install by krew itself: no krew (scripts/install-tools)");
        return;
    };
    let r = release();
    let manifest_file = r.dist.join("vmchaos.yaml");
    let install = |os: &str, arch: &str, manifest: &Path| {
        let root = tempfile::tempdir().unwrap();
        let out = Command::new(&krew)
            .args(["install", "--manifest"])
            .arg(manifest)
            .arg("--archive")
            .arg(r.dist.join(archive_name(os, arch)))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.path())
            .env("KREW_ROOT", root.path())
            .env("KREW_OS", os)
            .env("KREW_ARCH", arch)
            .output()
            .unwrap();
        let store = root.path().join("store/vmchaos").join(tag());
        let installed: BTreeSet<String> = std::fs::read_dir(&store)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        (out, installed)
    };
    for pl in &manifest().spec.platforms {
        let (os, arch) = platform_of(pl);
        let (out, installed) = install(os, arch, &manifest_file);
        assert!(
            out.status.success(),
            "krew refused {os}/{arch}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected: BTreeSet<String> = archive_contents(os)
            .iter()
            .map(|f| f.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(installed, expected, "{os}/{arch}");
    }
    // krew checks the digest: one that isn't the archive's is refused.
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("vmchaos.yaml");
    let real = &manifest().spec.platforms[0].sha256;
    std::fs::write(
        &wrong,
        release().text.replacen(real.as_str(), &"ab".repeat(32), 1),
    )
    .unwrap();
    let (os, arch) = platform_of(&manifest().spec.platforms[0]);
    let (out, _) = install(os, arch, &wrong);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum does not match"));
}

// ---------------------------------------------------------------------------------------------
// This project's own rules

#[test]
fn caveats_rbac_matches_the_shipped_role() {
    let found = caveats_rbac_problems(&manifest().spec.caveats, RBAC);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn files_the_manifest_installs_exist_in_the_repository() {
    let root = Path::new(ROOT);
    for name in [
        "LICENSE",
        "README.md",
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
        .collect::<BTreeMap<_, _>>();
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
        "the old Halted path": "no longer exists" => |p| p.spec.description.push_str("It starts a Halted VM, then sets it back to Halted.\n");
        "Halted not refused": "Halted VMs are refused" => |p| p.spec.description = p.spec.description.replace("refused", "started");
        "replica sets not followed": "replica-set VMIs are followed" => |p| p.spec.description = p.spec.description.replace("follows", "re-creates");
        "standalone not re-created": "standalone VMIs" => |p| p.spec.description = p.spec.description.replace("Standalone VMI:", "Standalone VMI: skipped;");
        "no start for Manual": "the tool starts" => |p| p.spec.description = p.spec.description.replace("(virt-api's start)", "");
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
        "placeholder sha256": "all-zero placeholder" => |p| entry(p, "darwin", "amd64").sha256 = PLACEHOLDER_SHA256.into();
        "same sha256 twice": "same sha256" => |p| { entry(p, "linux", "arm64").sha256 = "ab".repeat(32); entry(p, "darwin", "arm64").sha256 = "ab".repeat(32) };
        "no bin": "bin is \"\"" => |p| entry(p, "linux", "arm64").bin.clear();
        "windows bin without .exe": "expected \"kubectl-vmchaos.exe\"" => |p| entry(p, "windows", "amd64").bin = "kubectl-vmchaos".into();
        "empty files": "unspecified or non-empty" => |p| entry(p, "linux", "arm64").files = Some(vec![]);
        "files entry without to": "needs both from and to" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[0].to.clear();
        "LICENSE not copied": "no LICENSE" => |p| entry(p, "darwin", "amd64").files.as_mut().unwrap().retain(|op| op.from != "LICENSE");
        "binary not copied": "is not installed" => |p| entry(p, "darwin", "amd64").files.as_mut().unwrap().retain(|op| op.from != "kubectl-vmchaos");
        "from not in archive": "no file in the archive matches" => |p| entry(p, "linux", "arm64").files.as_mut().unwrap()[1].from = "COPYING*".into();
        "helper on windows": "no file in the archive matches" => |p| entry(p, "windows", "amd64").files.as_mut().unwrap().push(FileOperation { from: "completions/*".into(), to: ".".into() });
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
        let found = problems(&broken, CARGO_VERSION, &REQUIRED);
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
    let archive = archive_contents("linux");
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
    let text = &release().text;
    let typo = text.replacen("shortDescription:", "shortDescripton:", 1);
    assert!(serde_saphyr::from_str::<Plugin>(&typo).is_err());
    let typo = text.replacen("matchLabels:", "matchLabel:", 1);
    assert!(serde_saphyr::from_str::<Plugin>(&typo).is_err());
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
