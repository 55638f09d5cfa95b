//! The VMI (and its VM) saved before anything is deleted, in a per-run folder, flushed to disk.
//! `restore` and the tool's own re-create read it back.
//!
//! A snapshot holds the whole VMI spec, cloud-init user data and its secrets included, so it is
//! private: folders the tool creates are 0700, files 0600, and there is no silent fallback to a
//! shared temporary folder.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use kube::api::DynamicObject;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    kubevirt::Recovery,
};

pub const VMI_FILE: &str = "vmi.yaml";
pub const VM_FILE: &str = "vm.yaml";
pub const META_FILE: &str = "snapshot.yaml";

/// Why and where the snapshot was taken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMeta {
    pub tool_version: String,
    pub context: String,
    pub server: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub vm: Option<String>,
    pub run_strategy: Option<String>,
    pub expected_recovery: Recovery,
    /// `--keep-down`: the runStrategy the VM had before it was switched to Manual; `restore`
    /// puts it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_down: Option<String>,
    pub saved_at: String,
}

pub struct Snapshot {
    pub dir: PathBuf,
    pub meta: SnapshotMeta,
    pub vmi: DynamicObject,
    pub vm: Option<DynamicObject>,
}

/// Mode of every folder the tool creates for snapshots: only the user may list or enter it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every snapshot file: only the user may read it.
pub const FILE_MODE: u32 = 0o600;

/// `$XDG_STATE_HOME/kubectl-vmchaos/snapshots` (or the platform's equivalent). Without a state
/// or data directory (no HOME) this fails rather than writing secrets to a shared temp folder.
pub fn default_base() -> Result<PathBuf> {
    base_in(dirs::state_dir().or_else(dirs::data_local_dir))
}

fn base_in(state_dir: Option<PathBuf>) -> Result<PathBuf> {
    state_dir
        .map(|dir| dir.join("kubectl-vmchaos").join("snapshots"))
        .ok_or_else(|| {
            Error::usage(
                "cannot find a private folder for the snapshot: neither XDG_STATE_HOME nor HOME is set",
                "choose one with --save-dir DIR (it is created 0700; the snapshot holds the VMI's secrets)",
            )
        })
}

/// Creates `dir` and every missing parent with mode 0700 (the umask can only make it stricter),
/// then makes sure `dir` itself is 0700 even when it already existed.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
}

/// Writes the snapshot folder and fsyncs it; returns its path.
pub fn save(
    base: &Path,
    meta: &SnapshotMeta,
    vmi: &DynamicObject,
    vm: Option<&DynamicObject>,
) -> Result<PathBuf> {
    let stamp = meta.saved_at.replace([':', '-'], "").replace('.', "");
    let dir = base.join(format!("{}_{}_{stamp}", meta.namespace, meta.name));
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    create_private_dir(&dir).map_err(io("create the snapshot folder", &dir))?;
    write_synced(&dir.join(VMI_FILE), &to_yaml(vmi)?)?;
    if let Some(vm) = vm {
        write_synced(&dir.join(VM_FILE), &to_yaml(vm)?)?;
    }
    write_synced(&dir.join(META_FILE), &to_yaml(meta)?)?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush the snapshot folder", &dir))?;
    Ok(dir)
}

fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Usage {
        message: format!("failed to write YAML: {e}"),
        hint: None,
    })
}

fn write_synced(path: &Path, text: &str) -> Result<()> {
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(path)?;
        // `mode` only applies to a new file: an existing one keeps its bits otherwise.
        f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// The largest snapshot file `restore` reads (a VMI's manifest is a few KiB).
const MAX_FILE: u64 = 4 << 20;

/// Reads a snapshot folder (or the vmi.yaml inside it). Only regular files, never through a
/// symlink: a snapshot is sent to the API server as it is, so a link to another file (or a
/// FIFO, a device) is refused. `snapshot.yaml` is the one source of truth for what the
/// snapshot is of; `vmi.yaml` and `vm.yaml` must agree with it.
pub fn load(path: &Path) -> Result<Snapshot> {
    let bad = |reason: String| Error::BadSnapshot {
        path: path.to_path_buf(),
        reason,
    };
    let kind = fs::symlink_metadata(path)
        .map_err(|e| bad(format!("cannot read it: {e}")))?
        .file_type();
    let dir = if kind.is_symlink() {
        return Err(bad(
            "it is a symlink: give the snapshot folder itself (restore never follows links)".into(),
        ));
    } else if kind.is_file() {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else if kind.is_dir() {
        path.to_path_buf()
    } else {
        return Err(bad("it is neither a folder nor a regular file".into()));
    };
    let read = |name: &str| read_regular(&dir.join(name));
    let meta_text = read(META_FILE)
        .map_err(|e| bad(format!("cannot read {META_FILE}: {e}")))?
        .ok_or_else(|| bad(format!("{META_FILE} is missing")))?;
    let meta: SnapshotMeta = serde_saphyr::from_str(&meta_text)
        .map_err(|e| bad(format!("{META_FILE}: {}", crate::error::yaml_words(&e))))?;
    let vmi_text = read(VMI_FILE)
        .map_err(|e| bad(format!("cannot read {VMI_FILE}: {e}")))?
        .ok_or_else(|| bad(format!("{VMI_FILE} is missing")))?;
    let vmi: DynamicObject = serde_saphyr::from_str(&vmi_text)
        .map_err(|e| bad(format!("{VMI_FILE}: {}", crate::error::yaml_words(&e))))?;
    let vm: Option<DynamicObject> =
        match read(VM_FILE).map_err(|e| bad(format!("cannot read {VM_FILE}: {e}")))? {
            Some(text) => Some(
                serde_saphyr::from_str(&text)
                    .map_err(|e| bad(format!("{VM_FILE}: {}", crate::error::yaml_words(&e))))?,
            ),
            None => None,
        };
    agree(&meta, &vmi, vm.as_ref()).map_err(bad)?;
    Ok(Snapshot { dir, meta, vmi, vm })
}

/// `vmi.yaml` (and `vm.yaml`) are of the object `snapshot.yaml` names: a restore never creates
/// one name and waits for another.
fn agree(
    meta: &SnapshotMeta,
    vmi: &DynamicObject,
    vm: Option<&DynamicObject>,
) -> std::result::Result<(), String> {
    let m = &vmi.metadata;
    let said = format!("{}/{} (uid {})", meta.namespace, meta.name, meta.uid);
    let found = format!(
        "{}/{} (uid {})",
        m.namespace.as_deref().unwrap_or("?"),
        m.name.as_deref().unwrap_or("?"),
        m.uid.as_deref().unwrap_or("?")
    );
    if m.namespace.as_deref() != Some(meta.namespace.as_str())
        || m.name.as_deref() != Some(meta.name.as_str())
        || m.uid.as_deref() != Some(meta.uid.as_str())
    {
        return Err(format!(
            "{META_FILE} is of VMI {said} but {VMI_FILE} holds VMI {found}: the files disagree"
        ));
    }
    if let (Some(vm), Some(name)) = (vm, &meta.vm) {
        let v = &vm.metadata;
        if v.name.as_deref() != Some(name.as_str())
            || v.namespace.as_deref() != Some(meta.namespace.as_str())
        {
            return Err(format!(
                "{META_FILE} names VM {}/{name} but {VM_FILE} holds VM {}/{}: the files disagree",
                meta.namespace,
                v.namespace.as_deref().unwrap_or("?"),
                v.name.as_deref().unwrap_or("?")
            ));
        }
    }
    if vm.is_some() && meta.vm.is_none() {
        return Err(format!(
            "{VM_FILE} is there but {META_FILE} names no VM: the files disagree"
        ));
    }
    Ok(())
}

/// A regular file's text (None: there is no such file), never through a symlink, at most
/// `MAX_FILE` bytes.
fn read_regular(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Error as IoError, ErrorKind, Read};
    let file = OpenOptions::new()
        .read(true)
        // A FIFO would block the open itself; O_NOFOLLOW refuses a symlink (ELOOP).
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(IoError::other(
                "it is a symlink (restore never follows links)",
            ))
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(IoError::other("it is not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(IoError::other(format!(
            "it is larger than {} MiB: not a snapshot file",
            MAX_FILE >> 20
        )));
    }
    let mut text = String::new();
    file.take(MAX_FILE + 1).read_to_string(&mut text)?;
    Ok(Some(text))
}

/// The labels KubeVirt itself puts on a VMI (its node, its launcher, a migration), which
/// virt-api's VMI create validator refuses from anybody else: "creation of the following
/// reserved kubevirt.io/ labels on a VMI object is prohibited" (`restrictedVmiLabels` in
/// KubeVirt v1.9.0's `vmi-create-admitter.go`; found by the genuine test tier).
const RESERVED_LABELS: [&str; 6] = [
    "kubevirt.io/created-by",
    "kubevirt.io/migrationJobUID",
    "kubevirt.io/nodeName",
    "kubevirt.io/migrationTargetNodeName",
    "kubevirt.io/schedulable",
    "kubevirt.io/install-strategy",
];

/// The saved VMI as a create request: server-set fields, the labels KubeVirt reserves for
/// itself and the whole status dropped.
pub fn manifest_for_recreate(vmi: &DynamicObject) -> DynamicObject {
    let mut obj = vmi.clone();
    let m = &mut obj.metadata;
    m.uid = None;
    m.resource_version = None;
    m.creation_timestamp = None;
    m.generation = None;
    m.managed_fields = None;
    m.deletion_timestamp = None;
    m.deletion_grace_period_seconds = None;
    m.finalizers = None;
    m.self_link = None;
    if let Some(labels) = m.labels.as_mut() {
        labels.retain(|k, _| !RESERVED_LABELS.contains(&k.as_str()));
    }
    if let Some(map) = obj.data.as_object_mut() {
        map.remove("status");
    }
    obj
}

/// `kubectl vmchaos restore '<dir>'`, with the same cluster flags.
pub fn restore_command(dir: &Path, context: &str) -> String {
    format!(
        "kubectl vmchaos restore '{}' --context '{context}'",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vmi() -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "u1", "resourceVersion": "42",
                "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 3,
                "finalizers": ["kubevirt.io/foregroundDeleteVirtualMachine"],
                "labels": {"app": "db", "kubevirt.io/nodeName": "node-a"},
                "annotations": {"keep": "me"}},
            "spec": {"domain": {"devices": {}}, "terminationGracePeriodSeconds": 30},
            "status": {"phase": "Running"}
        }))
        .unwrap()
    }

    #[test]
    fn recreate_manifest_drops_server_fields_and_keeps_the_rest() {
        let m = manifest_for_recreate(&vmi());
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["metadata"]["name"], "db-0");
        assert_eq!(v["metadata"]["labels"]["app"], "db");
        assert_eq!(v["metadata"]["annotations"]["keep"], "me");
        assert_eq!(v["spec"]["terminationGracePeriodSeconds"], 30);
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "finalizers",
        ] {
            assert!(v["metadata"].get(field).is_none(), "{field} kept");
        }
        assert!(v.get("status").is_none());
        // virt-api refuses a VMI created with KubeVirt's own labels.
        assert!(v["metadata"]["labels"]
            .get("kubevirt.io/nodeName")
            .is_none());
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let meta = SnapshotMeta {
            tool_version: "0.1.0".into(),
            context: "c".into(),
            server: "https://127.0.0.1:6443".into(),
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "u1".into(),
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Recreate,
            kept_down: None,
            saved_at: "2026-11-25T05:00:00.123Z".into(),
        };
        let path = save(dir.path(), &meta, &vmi(), None).unwrap();
        assert!(path.starts_with(dir.path()));
        let snap = load(&path).unwrap();
        assert_eq!(snap.meta, meta);
        assert_eq!(snap.vmi.metadata.uid.as_deref(), Some("u1"));
        assert!(snap.vm.is_none());
        let via_file = load(&path.join(VMI_FILE)).unwrap();
        assert_eq!(via_file.dir, path);
        assert!(matches!(load(dir.path()), Err(Error::BadSnapshot { .. })));
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn snapshot_folders_are_0700_and_files_0600() {
        let root = tempfile::tempdir().unwrap();
        // Parents the tool creates are private too; one that exists is left as it is.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let base = root
            .path()
            .join("state")
            .join("kubectl-vmchaos")
            .join("snapshots");
        let meta = SnapshotMeta {
            tool_version: "0.1.0".into(),
            context: "c".into(),
            server: "https://127.0.0.1:6443".into(),
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "u1".into(),
            vm: Some("db-0".into()),
            run_strategy: Some("Always".into()),
            expected_recovery: Recovery::Automatic,
            kept_down: None,
            saved_at: "2026-11-25T05:00:00.123Z".into(),
        };
        let path = save(&base, &meta, &vmi(), Some(&vmi())).unwrap();
        assert_eq!(mode(root.path()), 0o755, "an existing parent was changed");
        for dir in [
            root.path().join("state"),
            root.path().join("state").join("kubectl-vmchaos"),
            base.clone(),
            path.clone(),
        ] {
            assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        }
        for file in [VMI_FILE, VM_FILE, META_FILE] {
            assert_eq!(mode(&path.join(file)), 0o600, "{file}");
        }
    }

    #[test]
    fn an_existing_world_readable_snapshot_folder_is_made_private() {
        let root = tempfile::tempdir().unwrap();
        let meta = SnapshotMeta {
            tool_version: "0.1.0".into(),
            context: "c".into(),
            server: "s".into(),
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "u1".into(),
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Recreate,
            kept_down: None,
            saved_at: "2026-11-25T05:00:00.123Z".into(),
        };
        let dir = root.path().join("prod_db-0_20261125T050000123Z");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let stale = dir.join(VMI_FILE);
        fs::write(&stale, "old").unwrap();
        fs::set_permissions(&stale, fs::Permissions::from_mode(0o644)).unwrap();
        let path = save(root.path(), &meta, &vmi(), None).unwrap();
        assert_eq!(path, dir);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&stale), 0o600);
    }

    #[test]
    fn no_state_folder_means_an_error_naming_save_dir_not_a_temp_folder() {
        let err = base_in(None).expect_err("a base folder without a state folder");
        assert!(err.to_string().contains("private folder"), "{err}");
        assert!(err.hint().unwrap().contains("--save-dir"), "{err:?}");
        assert_eq!(
            base_in(Some("/home/u/.local/state".into())).unwrap(),
            Path::new("/home/u/.local/state/kubectl-vmchaos/snapshots")
        );
    }

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            tool_version: "0.1.0".into(),
            context: "c".into(),
            server: "s".into(),
            namespace: "prod".into(),
            name: "db-0".into(),
            uid: "u1".into(),
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Recreate,
            kept_down: None,
            saved_at: "2026-11-25T05:00:00.123Z".into(),
        }
    }

    fn reason(r: Result<Snapshot>) -> String {
        match r {
            Err(Error::BadSnapshot { reason, .. }) => reason,
            Err(e) => panic!("not a bad snapshot: {e}"),
            Ok(_) => panic!("loaded"),
        }
    }

    #[test]
    fn symlinks_and_other_files_are_refused() {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let good = save(root.path(), &meta(), &vmi(), None).unwrap();
        // The folder itself, or the vmi.yaml given, through a link.
        let link = root.path().join("link");
        symlink(&good, &link).unwrap();
        assert!(reason(load(&link)).contains("symlink"));
        let file_link = root.path().join("vmi-link.yaml");
        symlink(good.join(VMI_FILE), &file_link).unwrap();
        assert!(reason(load(&file_link)).contains("symlink"));
        // A file inside that links elsewhere (a system file) is never read.
        let evil = root.path().join("evil");
        fs::create_dir(&evil).unwrap();
        fs::copy(good.join(META_FILE), evil.join(META_FILE)).unwrap();
        symlink("/etc/hostname", evil.join(VMI_FILE)).unwrap();
        let why = reason(load(&evil));
        assert!(why.contains(VMI_FILE) && why.contains("symlink"), "{why}");
        fs::remove_file(evil.join(VMI_FILE)).unwrap();
        fs::copy(good.join(VMI_FILE), evil.join(VMI_FILE)).unwrap();
        symlink(good.join(VMI_FILE), evil.join(VM_FILE)).unwrap();
        assert!(reason(load(&evil)).contains("symlink"));
        // A FIFO is refused without blocking.
        fs::remove_file(evil.join(VM_FILE)).unwrap();
        let fifo = evil.join(VM_FILE);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert!(reason(load(&evil)).contains("not a regular file"));
        }
        assert!(reason(load(Path::new("/dev/null"))).contains("neither"));
    }

    #[test]
    fn the_files_must_agree_with_snapshot_yaml() {
        let root = tempfile::tempdir().unwrap();
        let mut other = vmi();
        other.metadata.name = Some("db-1".into());
        let dir = save(root.path(), &meta(), &other, None).unwrap();
        let why = reason(load(&dir));
        assert!(why.contains("disagree") && why.contains("db-1"), "{why}");
        let mut moved = vmi();
        moved.metadata.uid = Some("u2".into());
        let dir = save(&root.path().join("b"), &meta(), &moved, None).unwrap();
        assert!(reason(load(&dir)).contains("disagree"));
        let vm_meta = SnapshotMeta {
            vm: Some("db-0".into()),
            ..meta()
        };
        let mut vm = vmi();
        vm.metadata.name = Some("other".into());
        let dir = save(&root.path().join("c"), &vm_meta, &vmi(), Some(&vm)).unwrap();
        assert!(reason(load(&dir)).contains("VM prod/db-0"));
    }
}
