//! The snapshot an outage saves is private: it holds the VMI's whole spec, cloud-init secrets
//! included. Checked on a real run of the binary, with the folders the tool creates itself.

mod common;

use std::{os::unix::fs::PermissionsExt, path::Path};

use common::{json, stderr, Env};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_outage_saves_its_snapshot_0700_and_0600() {
    let Some(env) = Env::get() else { return };
    let ns = env.namespace("private");
    env.vm(&ns, "db-0", "Always", &[]);
    let out = env.outage(&ns, "db-0", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = json(&out)["snapshot"].as_str().unwrap().to_string();
    let snapshot = Path::new(&snapshot);
    // <XDG_STATE_HOME>/kubectl-vmchaos/snapshots/<run>: the tool created all three.
    let snapshots = snapshot.parent().unwrap();
    let tool_dir = snapshots.parent().unwrap();
    assert!(
        tool_dir.ends_with("kubectl-vmchaos"),
        "{}",
        tool_dir.display()
    );
    for dir in [tool_dir, snapshots, snapshot] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    let mut files = 0;
    for entry in std::fs::read_dir(snapshot).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 2, "vmi.yaml and snapshot.yaml at least");
}
