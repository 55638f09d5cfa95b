//! Where the control plane's binaries are: `$KUBE_APISERVER` / `$ETCD`, else where
//! `scripts/build-apiserver` caches its build and where Debian's etcd-server installs etcd.

use std::{
    env,
    path::{Path, PathBuf},
};

/// The source version `scripts/build-apiserver` builds by default (keep in sync with it).
const KUBE_SOURCE_VERSION: &str = "1.20.5+really1.20.2-1.1+deb12u1";

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

/// Mirrors `scripts/build-apiserver`: `$VMCHAOS_CACHE`, else `$XDG_CACHE_HOME/kubectl-vmchaos`,
/// else `~/.cache/kubectl-vmchaos`; then `kube-apiserver-<version>/kube-apiserver`.
fn cached_apiserver() -> Option<PathBuf> {
    let cache = var("VMCHAOS_CACHE").or_else(|| {
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|c| c.join("kubectl-vmchaos"))
    })?;
    let version = env::var("KUBE_SOURCE_VERSION").unwrap_or_else(|_| KUBE_SOURCE_VERSION.into());
    Some(
        cache
            .join(format!("kube-apiserver-{version}"))
            .join("kube-apiserver"),
    )
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
                    "kube-apiserver: not built yet{}; run scripts/build-apiserver (about 5 \
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
