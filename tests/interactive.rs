//! What a person at a terminal does: pick a VMI, confirm or decline, press Ctrl-C mid-outage.
//! Driven through a real pseudo-terminal (rexpect) or real signals.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::Duration,
};

/// Types like a person: one key at a time. console reads each key in raw mode and restores the
/// terminal in between, so a burst of keys can land while the line discipline is cooked.
fn type_keys(p: &mut rexpect::session::PtySession, keys: &str) {
    for key in keys.chars() {
        std::thread::sleep(Duration::from_millis(150));
        p.send(&key.to_string()).unwrap();
        p.flush().unwrap();
    }
}

/// Waits until the prompt has drawn itself and hidden the cursor: it reads keys next.
fn wait_for_prompt(p: &mut rexpect::session::PtySession, text: &str) {
    p.exp_string(text).unwrap();
    p.exp_string("\u{1b}[?25l").unwrap();
}

fn exit_code(status: rexpect::process::wait::WaitStatus) -> Option<i32> {
    match status {
        rexpect::process::wait::WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    }
}

#[test]
fn pick_from_the_list_then_confirm() {
    let env = env_or_skip!();
    let ns = env.namespace("picker");
    env.vm(&ns, "alpha", "Always", &[]);
    let uid = env.vm(&ns, "bravo", "Always", &[]);
    let mut cmd = env.command(&["outage", "-n", &ns, "--no-progress"]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("VMI to delete").unwrap();
    // Both rows show how they'd recover; typing filters the list.
    p.exp_string("KubeVirt re-creates it").unwrap();
    type_keys(&mut p, "bravo\r");
    p.exp_string(&format!("Delete VMI {ns}/bravo")).unwrap();
    wait_for_prompt(&mut p, "(y/n)");
    type_keys(&mut p, "y");
    p.exp_string("RECOVERED").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(p.process.wait().unwrap()), Some(0));
    assert_ne!(
        env.uid(&ns, "bravo").as_deref(),
        Some(uid.as_str()),
        "bravo was the one deleted"
    );
}

#[test]
fn mark_several_in_the_picker_refused_ones_cannot_be_marked() {
    let env = env_or_skip!();
    if !env.simulated_only(
        "stop-delay knob: a Running VMI under a Halted VM, which KubeVirt stops at once",
    ) {
        return;
    }
    let ns = env.namespace("multi");
    let alpha = env.vm(&ns, "alpha", "Always", &[]);
    let bravo = env.vm(&ns, "bravo", "Manual", &[]);
    env.vm(&ns, "charlie", "Always", &[]);
    env.halting_vm(&ns, "off", Duration::from_secs(600), &[]);
    let mut cmd = env.command(&["outage", "-n", &ns, "--no-progress", "--dry-run"]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("VMI to delete").unwrap();
    // Every row shows its plan; the Halted VM's VMI says why it can't be a target.
    p.exp_string("refused: VM off is Halted").unwrap();
    type_keys(&mut p, "off ");
    p.exp_string("can't be a target: VM off is Halted").unwrap();
    // Clear the filter, mark alpha (first row) and bravo (next), confirm.
    type_keys(&mut p, "\u{7f}\u{7f}\u{7f} ");
    p.exp_string("1 marked").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    p.send("\u{1b}[B").unwrap();
    p.flush().unwrap();
    type_keys(&mut p, " ");
    p.exp_string("2 marked").unwrap();
    type_keys(&mut p, "\r");
    // Two targets: the dry run shows the chosen set with each plan, and changes nothing.
    p.exp_string("2 of 2 VMIs picked at the prompt").unwrap();
    p.exp_string(&format!("{ns}/alpha")).unwrap();
    p.exp_string(&format!("{ns}/bravo")).unwrap();
    p.exp_string("the tool starts its VM").unwrap();
    p.exp_string("DRY RUN (client): would delete 2 VMIs")
        .unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(p.process.wait().unwrap()), Some(0));
    assert_eq!(env.uid(&ns, "alpha").as_deref(), Some(alpha.as_str()));
    assert_eq!(env.uid(&ns, "bravo").as_deref(), Some(bravo.as_str()));
}

#[test]
fn declining_changes_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("decline");
    let uid = env.vm(&ns, "keep", "Always", &[]);
    let mut cmd = env.command(&["outage", "keep", "-n", &ns, "--no-progress"]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("Delete VMI").unwrap();
    p.exp_string("Plan: KubeVirt re-creates it").unwrap();
    wait_for_prompt(&mut p, "(y/n)");
    type_keys(&mut p, "n");
    p.exp_string("declined").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(p.process.wait().unwrap()), Some(2));
    assert_eq!(env.uid(&ns, "keep").as_deref(), Some(uid.as_str()));
}

/// One answer covers every trial of --repeat, so the question says how many there are.
#[test]
fn the_question_counts_the_trials_of_a_repeat() {
    let env = env_or_skip!();
    let ns = env.namespace("decline-repeat");
    let uid = env.vm(&ns, "keep", "Always", &[]);
    let mut cmd = env.command(&[
        "outage",
        "keep",
        "-n",
        &ns,
        "--no-progress",
        "--repeat",
        "3",
    ]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("Delete VMI").unwrap();
    p.exp_string("--repeat 3: 3 trials").unwrap();
    wait_for_prompt(&mut p, "(y/n)");
    type_keys(&mut p, "n");
    p.exp_string("declined").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(p.process.wait().unwrap()), Some(2));
    assert_eq!(env.uid(&ns, "keep").as_deref(), Some(uid.as_str()));
}

#[test]
fn sigint_during_the_wait_recovers_then_exits_130() {
    let env = env_or_skip!();
    let ns = env.namespace("sigint");
    let uid = env.vm(&ns, "manual", "Manual", &[]);
    // Manual: the tool would start the VM only after 10 minutes; Ctrl-C makes it do so now.
    let mut child = env
        .command(&[
            "outage",
            "manual",
            "-n",
            &ns,
            "--yes",
            "-o",
            "json",
            "--duration",
            "10m",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("Recovery") && line.contains("old VMI gone") {
            break;
        }
    }
    assert!(seen.contains("old VMI gone"), "{seen}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{seen}{}", rest.join("\n"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["recovery"], "start", "{doc:#}");
    assert!(
        rest.join("\n").contains("interrupted"),
        "{}",
        rest.join("\n")
    );
    let new_uid = env.wait_ready(&ns, "manual", Some(&uid), Duration::from_secs(60));
    assert_ne!(new_uid, uid);
}

#[test]
fn sigint_before_the_delete_changes_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("early-int");
    let uid = env.vm(&ns, "calm", "Always", &[]);
    let mut cmd = env.command(&["outage", "calm", "-n", &ns, "--no-progress"]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    wait_for_prompt(&mut p, "(y/n)");
    p.send_control('c').unwrap();
    // Declined, on a line of its own (not glued to the question), exit 2.
    let before = p.exp_string("error: declined at the prompt").unwrap();
    assert!(
        before.ends_with('\n'),
        "glued to the prompt line: {before:?}"
    );
    p.exp_eof().unwrap();
    let code = exit_code(p.process.wait().unwrap());
    assert_eq!(code, Some(2));
    assert_eq!(env.uid(&ns, "calm").as_deref(), Some(uid.as_str()));
}

#[test]
fn a_second_sigint_exits_at_once_with_the_restore_command() {
    let env = env_or_skip!();
    let ns = env.namespace("twice");
    // The old VMI can't go (a finalizer blocks it), so the first Ctrl-C has to wait.
    env.vmi(&ns, "stubborn", &[(testenv::knobs::BLOCK_DELETION, "true")]);
    let mut child = env
        .command(&[
            "outage",
            "stubborn",
            "-n",
            &ns,
            "--yes",
            "--duration",
            "10m",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sigint = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
    };
    for line in lines.by_ref() {
        if line.unwrap().contains("old VMI terminating") {
            break;
        }
    }
    sigint(child.id());
    for line in lines.by_ref() {
        if line.unwrap().contains("interrupted: bringing the VMI back") {
            break;
        }
    }
    sigint(child.id());
    let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("kubectl vmchaos restore '"), "{rest}");
    env.unblock(&ns, "stubborn");
}

/// Two Ctrl-C a moment apart, right when the first one makes the tool start a Manual VM: the
/// `start` already sent is finished before the tool exits, so the VM comes back (it used to be
/// abandoned halfway, leaving the VM down).
#[test]
fn two_sigints_at_once_still_finish_the_start_already_sent() {
    let env = env_or_skip!();
    let ns = env.namespace("twice-start");
    let old = env.vm(&ns, "app", "Manual", &[]);
    let mut child = env
        .command(&["outage", "app", "-n", &ns, "--yes", "--duration", "10m"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("old VMI gone") {
            break;
        }
    }
    // Both signals from one shell: a millisecond or so apart.
    let pid = child.id().to_string();
    std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {pid}; kill -INT {pid}")])
        .status()
        .unwrap();
    let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    // The VM was started: a new VMI comes up without anyone else's help.
    env.wait_ready(&ns, "app", Some(&old), Duration::from_secs(60));
    assert_eq!(env.run_strategy(&ns, "app"), "Manual");
}
