//! Nothing outlives the test process: each test runs a child test process (this same binary)
//! that starts a cluster and then exits, panics, or is interrupted or SIGKILLed; afterwards no
//! process, listening port or directory of that cluster may be left.

mod common;

use common::{alive, listening};

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use testenv::Cluster;

const MODE: &str = "TESTENV_CLEANUP_CHILD";

/// The child: starts a cluster, reports it, then ends as the parent asked.
#[test]
#[ignore = "run by the other tests in this file"]
fn child_cluster() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let cluster = if mode == "kill-full" {
        Cluster::shared()
    } else {
        Cluster::bare()
    };
    let Some(cluster) = cluster else {
        println!("SKIP");
        return;
    };
    let join = |v: &[String]| v.join(",");
    assert_eq!(
        cluster.ports().len(),
        if cluster.has_simulator() { 4 } else { 3 }
    );
    let ports: Vec<String> = cluster.ports().iter().map(u16::to_string).collect();
    println!(
        "CLUSTER {} {} {}",
        cluster.dir().display(),
        join(
            &cluster
                .pids()
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
        ),
        join(&ports)
    );
    match mode.as_str() {
        "exit" => {}
        "panic" => panic!("the child panics on purpose"),
        _ => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
    }
}

struct Started {
    child: Child,
    dir: PathBuf,
    pids: Vec<u32>,
    ports: Vec<u16>,
}

fn start_child(mode: &str) -> Option<Started> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_cluster",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        // libtest's "test child_cluster ... " precedes our output on the same line.
        let line = line.unwrap();
        if line.ends_with("SKIP") {
            let _ = child.wait();
            return None;
        }
        if let Some((_, rest)) = line.split_once("CLUSTER ") {
            // Keep reading, or the child's last words hit a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            let parts: Vec<&str> = rest.split(' ').collect();
            return Some(Started {
                child,
                dir: PathBuf::from(parts[0]),
                pids: numbers(parts[1]),
                ports: numbers(parts[2]),
            });
        }
    }
    panic!(
        "the child ended without starting a cluster: {:?}",
        child.wait()
    );
}

fn numbers<T: std::str::FromStr>(list: &str) -> Vec<T> {
    list.split(',').filter_map(|n| n.parse().ok()).collect()
}

fn assert_cleaned_up(started: &Started) {
    assert!(!started.pids.is_empty() && !started.ports.is_empty());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pids: Vec<u32> = started.pids.iter().copied().filter(|p| alive(*p)).collect();
        let ports: Vec<u16> = started
            .ports
            .iter()
            .copied()
            .filter(|p| listening(*p))
            .collect();
        let dir = Path::new(&started.dir).exists();
        if pids.is_empty() && ports.is_empty() && !dir {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: processes {pids:?}, ports {ports:?}, directory {} exists: {dir}",
            started.dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn was_running(started: &Started) {
    assert!(started.pids.iter().all(|p| alive(*p)), "{:?}", started.pids);
    assert!(
        started.ports.iter().all(|p| listening(*p)),
        "{:?}",
        started.ports
    );
    assert!(started.dir.is_dir());
}

#[test]
fn a_normal_exit_leaves_nothing_behind() {
    let Some(mut started) = start_child("exit") else {
        return;
    };
    assert!(started.child.wait().unwrap().success());
    assert_cleaned_up(&started);
}

#[test]
fn a_panic_leaves_nothing_behind() {
    let Some(mut started) = start_child("panic") else {
        return;
    };
    assert!(!started.child.wait().unwrap().success());
    assert_cleaned_up(&started);
}

#[test]
fn ctrl_c_leaves_nothing_behind() {
    let Some(mut started) = start_child("wait") else {
        return;
    };
    was_running(&started);
    let pid = started.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    assert!(!started.child.wait().unwrap().success());
    assert_cleaned_up(&started);
}

#[test]
fn sigkill_leaves_nothing_behind_also_with_the_simulator() {
    let Some(mut started) = start_child("kill-full") else {
        return;
    };
    was_running(&started);
    started.child.kill().unwrap();
    started.child.wait().unwrap();
    assert_cleaned_up(&started);
}
