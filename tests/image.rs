//! The container image (scripts/image): unpack the OCI archive as a runtime would (index.json →
//! manifest → config and layers), check the config (non-root user, entrypoint, labels, version),
//! and run the binary from the unpacked root filesystem, alone in it and as the image's user.
//!
//! The archive is `$VMCHAOS_IMAGE_ARCHIVE` when set (e.g. the release image), else
//! `scripts/image --dev` builds or refreshes the debug one: a static debug build without LTO
//! (about 3 minutes the first time, seconds after). Needs buildah and root: skipped without them,
//! except under CI=true.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn archive() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VMCHAOS_IMAGE_ARCHIVE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let buildah = Command::new("buildah").arg("--version").output().is_ok();
    if !root || !buildah {
        assert!(
            !is_ci(),
            "CI=true: the image test needs root and buildah (scripts/install-deps)"
        );
        eprintln!("image: SKIPPED, needs root and buildah (scripts/install-deps)");
        return None;
    }
    let out = Command::new(Path::new(ROOT).join("scripts/image"))
        .arg("--dev")
        .output()
        .expect("run scripts/image");
    assert!(
        out.status.success(),
        "scripts/image --dev failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8(out.stdout).unwrap();
    Some(Path::new(ROOT).join(path.trim()))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `sha256:<hex>` → the blob's path in the OCI layout.
fn blob(layout: &Path, digest: &Value) -> PathBuf {
    let digest = digest.as_str().expect("a digest");
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    layout.join("blobs/sha256").join(hex)
}

fn tar(args: &[&str]) -> String {
    let out = Command::new("tar").args(args).output().expect("run tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the ELF file asks for a program interpreter (a dynamic loader): a static binary
/// doesn't. Reads the 64-bit little-endian program headers.
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let at = phoff + i * size;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

#[test]
fn the_image_unpacks_and_runs_as_non_root() {
    let Some(archive) = archive() else { return };
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&layout).unwrap();
    std::fs::create_dir_all(&rootfs).unwrap();
    tar(&[
        "-xf",
        archive.to_str().unwrap(),
        "-C",
        layout.to_str().unwrap(),
    ]);

    let layout_file = read_json(&layout.join("oci-layout"));
    assert_eq!(layout_file["imageLayoutVersion"], "1.0.0");
    let index = read_json(&layout.join("index.json"));
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index:#}");
    assert_eq!(
        manifests[0]["annotations"]["org.opencontainers.image.ref.name"],
        format!("kubectl-vmchaos:{VERSION}")
    );
    let manifest = read_json(&blob(&layout, &manifests[0]["digest"]));
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let config = read_json(&blob(&layout, &manifest["config"]["digest"]));
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], "amd64");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/kubectl-vmchaos"]));
    let labels = &c["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "kubectl-vmchaos");
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    assert_eq!(
        labels["org.opencontainers.image.licenses"],
        env!("CARGO_PKG_LICENSE")
    );
    assert_eq!(
        labels["org.opencontainers.image.description"],
        env!("CARGO_PKG_DESCRIPTION")
    );
    for key in ["source", "revision", "created"] {
        let value = labels[format!("org.opencontainers.image.{key}")]
            .as_str()
            .unwrap_or_default();
        assert!(!value.is_empty(), "label {key} missing: {labels:#}");
    }

    // FROM scratch: one layer, one file, owned by the image's user.
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest:#}");
    let layer = blob(&layout, &layers[0]["digest"]);
    let listing = tar(&["--numeric-owner", "-tvf", layer.to_str().unwrap()]);
    let files: Vec<&str> = listing.lines().filter(|l| !l.starts_with('d')).collect();
    assert_eq!(files.len(), 1, "{listing}");
    assert!(files[0].starts_with("-rwxr-xr-x 65532/65532"), "{listing}");
    assert!(files[0].ends_with("kubectl-vmchaos"), "{listing}");
    tar(&[
        "-xf",
        layer.to_str().unwrap(),
        "-C",
        rootfs.to_str().unwrap(),
    ]);
    let binary = rootfs.join("kubectl-vmchaos");
    assert!(
        !has_interpreter(&std::fs::read(&binary).unwrap()),
        "the binary needs a dynamic loader"
    );

    // Alone in its root filesystem, as UID 65532: `version` prints the Cargo version.
    let out = Command::new("chroot")
        .args([
            "--userspec=65532:65532",
            rootfs.to_str().unwrap(),
            "/kubectl-vmchaos",
            "version",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run chroot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("kubectl-vmchaos v{VERSION}\n")
    );
}
