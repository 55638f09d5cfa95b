//! Where the control plane's binaries are: `$KUBE_APISERVER` / `$ETCD`, else where
//! `scripts/build-genuine` caches its build (`$VMCHAOS_GENUINE` names that folder) and where
//! Debian's etcd-server installs etcd.

use std::{
    env,
    path::{Path, PathBuf},
};

/// The folder `scripts/build-genuine` caches its build in (keep in sync with it: versions and
/// recipe).
const GENUINE_DIR: &str = "genuine-k8s-v1.35.4-kubevirt-v1.9.0-r1";

/// What the genuine tier needs besides the control plane.
const GENUINE_FILES: [&str; 6] = [
    "kube-controller-manager",
    "virt-api",
    "virt-controller",
    "crds.json",
    "apiservices.json",
    "webhooks.json",
];

/// The binaries a control plane needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
}

fn var(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Mirrors `scripts/build-genuine`: `$VMCHAOS_GENUINE`, else under `$VMCHAOS_CACHE`, else
/// `$XDG_CACHE_HOME/kubectl-vmchaos`, else `~/.cache/kubectl-vmchaos`.
pub fn genuine_dir() -> Option<PathBuf> {
    if let Some(dir) = var("VMCHAOS_GENUINE") {
        return Some(dir);
    }
    let cache = var("VMCHAOS_CACHE").or_else(|| {
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|c| c.join("kubectl-vmchaos"))
    })?;
    Some(cache.join(GENUINE_DIR))
}

fn cached_apiserver() -> Option<PathBuf> {
    Some(genuine_dir()?.join("kube-apiserver"))
}

/// The genuine tier's folder, complete, or what is missing and how to get it.
pub fn find_genuine() -> Result<crate::genuine::GenuineFiles, String> {
    let dir = genuine_dir().ok_or("no HOME to find the genuine tier's build in")?;
    let missing: Vec<_> = GENUINE_FILES
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(crate::genuine::GenuineFiles { dir })
    } else {
        Err(format!(
            "the genuine tier is not built yet ({} missing: {missing:?}); run scripts/build-genuine \
             (about 10 minutes, once) or set VMCHAOS_GENUINE=/path/to/its/folder",
            dir.display()
        ))
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// Finds both binaries, or says which is missing and how to get it.
pub fn find() -> Result<Binaries, String> {
    let mut missing = Vec::new();
    let etcd = match var("ETCD") {
        Some(p) if is_executable(&p) => Some(p),
        Some(p) => {
            missing.push(format!("ETCD={} is not an executable file", p.display()));
            None
        }
        None => Some(PathBuf::from("/usr/bin/etcd"))
            .filter(|p| is_executable(p))
            .or_else(|| on_path("etcd")),
    };
    if etcd.is_none() && var("ETCD").is_none() {
        missing.push(
            "etcd: not at /usr/bin/etcd nor on PATH; run scripts/install-deps (Debian's \
             etcd-server) or set ETCD=/path/to/etcd"
                .into(),
        );
    }
    let apiserver = match var("KUBE_APISERVER") {
        Some(p) if is_executable(&p) => Some(p),
        Some(p) => {
            missing.push(format!(
                "KUBE_APISERVER={} is not an executable file",
                p.display()
            ));
            None
        }
        None => match cached_apiserver() {
            Some(p) if is_executable(&p) => Some(p),
            cached => {
                missing.push(format!(
                    "kube-apiserver: not built yet{}; run scripts/build-genuine (about 10 \
                     minutes, once) or set KUBE_APISERVER=/path/to/kube-apiserver",
                    cached
                        .map(|p| format!(" (looked at {})", p.display()))
                        .unwrap_or_default()
                ));
                None
            }
        },
    };
    match (etcd, apiserver) {
        (Some(etcd), Some(kube_apiserver)) if missing.is_empty() => Ok(Binaries {
            etcd,
            kube_apiserver,
        }),
        _ => Err(missing.join("\n")),
    }
}
