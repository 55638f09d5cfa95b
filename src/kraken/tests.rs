use std::path::{Path, PathBuf};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kraken")
}

fn load_fixture(name: &str) -> Result<Loaded, KrakenError> {
    load(&[fixtures().join(name)], || unreachable!("no stdin"))
}

fn outage(step: &Step) -> &OutageStep {
    match step {
        Step::Outage(o) => o,
        other => panic!("not an outage: {other:?}"),
    }
}

fn parse_text(text: &str) -> Result<Loaded, KrakenError> {
    parse(Path::new("game.yaml"), text, Path::new("."))
}

fn error_text(text: &str) -> String {
    let e = parse_text(text).unwrap_err();
    match e.hint() {
        Some(h) => format!("{e} | hint: {h}"),
        None => e.to_string(),
    }
}

#[test]
fn seed_combined_file_keeps_both_steps_in_order() {
    let loaded = load_fixture("seed-combined.yaml").unwrap();
    assert_eq!(loaded.steps.len(), 2);
    let Step::Unsupported(node) = &loaded.steps[0] else {
        panic!("{:?}", loaded.steps[0])
    };
    assert_eq!(node.kind, "node_stop_start_scenario");
    assert_eq!(node.name, "node outage with vm recovery test");
    assert_eq!(node.line, Some(3));
    let vm = outage(&loaded.steps[1]);
    assert_eq!(vm.name, "vm outage during node recovery");
    assert_eq!(vm.line, 8);
    assert_eq!(vm.params.vm_name.as_ref().unwrap().as_str(), "critical-vm");
    assert_eq!(vm.params.namespace.as_str(), "production");
    assert_eq!(vm.params.duration, Some(Duration::from_secs(120)));
    assert_eq!(vm.params.timeout, None);
    assert_eq!(vm.params.kill_count, 1);
    assert!(!vm.params.disable_auto_restart);
    assert!(vm.file.ends_with("seed-combined.yaml"));
}

#[test]
fn the_seeds_own_text_stops_at_its_placeholder() {
    // The seed's example as published, with `<critical-vm>` still in it.
    let text = "scenarios:\n  - name: \"node outage with vm recovery test\"\n    scenario: node_stop_start_scenario\n    parameters:\n      # Node scenario parameters\n  \n  - name: \"vm outage during node recovery\"\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: <critical-vm>\n      namespace: <production>\n      duration: 120\n";
    assert_eq!(
        error_text(text),
        "game.yaml line 10: vm_name is still the placeholder <critical-vm> | hint: put the VMI's name there (a regex matched against the whole name)"
    );
}

#[test]
fn krakens_example_with_placeholders_is_refused_at_the_line() {
    let e = load_fixture("kubevirt-vm-outage.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("kubevirt-vm-outage.yaml line 6: vm_name is still the placeholder <vm-name>"),
        "{e}"
    );
}

#[test]
fn krakens_multi_vm_example() {
    let loaded = load_fixture("multi-vm.yaml").unwrap();
    let steps: Vec<(&str, &str, &str, usize, Option<Duration>)> = loaded
        .steps
        .iter()
        .map(outage)
        .map(|o| {
            (
                o.name.as_str(),
                o.params.vm_name.as_ref().unwrap().as_str(),
                o.params.namespace.as_str(),
                o.params.kill_count,
                o.params.duration,
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (
                "kubevirt outage test - app VM",
                "app-vm",
                "application",
                1,
                Some(Duration::from_secs(120))
            ),
            (
                "kubevirt outage test - database VM",
                "db-vm",
                "database",
                2,
                Some(Duration::from_secs(180))
            ),
        ]
    );
}

#[test]
fn krakens_config_resolves_paths_from_its_folder_and_lists_what_it_ignores() {
    let loaded = load_fixture("config.yaml").unwrap();
    let kinds: Vec<(&str, &str)> = loaded
        .steps
        .iter()
        .map(|s| match s {
            Step::Outage(o) => ("kubevirt_vm_outage", o.name.as_str()),
            Step::Unsupported(u) => (u.kind.as_str(), u.name.as_str()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("hog_scenarios", "scenarios/kube/cpu-hog.yml"),
            ("kubevirt_vm_outage", "kubevirt outage test"),
            (
                "node_scenarios",
                "scenarios/openshift/node_scenarios_example.yml"
            ),
        ]
    );
    let o = outage(&loaded.steps[1]);
    assert_eq!(
        o.file,
        fixtures().join("scenarios/kubevirt/kubevirt-vm-outage.yaml")
    );
    assert_eq!(o.params.timeout, Some(Duration::from_secs(60)));
    assert_eq!(o.params.kill_count, 2);
    assert!(o.params.disable_auto_restart);
    let Step::Unsupported(hog) = &loaded.steps[0] else {
        panic!()
    };
    assert_eq!(hog.line, Some(11));
    let ignored: Vec<String> = loaded
        .ignored
        .iter()
        .map(crate::render::notes::note)
        .collect();
    let ignored = ignored.join("\n");
    for key in [
        "kraken.kubeconfig_path",
        "kraken.exit_on_failure",
        "kraken.port",
        "cerberus",
        "performance_monitoring",
        "tunings",
        "kubevirt_checks",
        "telemetry",
        "elastic",
        "post action scenarios/openshift/post_action_node.py",
    ] {
        assert!(
            ignored.contains(&format!("{key} ")),
            "{key} not reported:\n{ignored}"
        );
    }
    assert!(
        ignored.contains(
            "config.yaml line 31: kubevirt_checks is Kraken's own: not used by kubectl-vmchaos"
        ),
        "{ignored}"
    );
}

#[test]
fn several_files_and_stdin_in_order() {
    let stdin_text =
        "scenarios:\n- name: from stdin\n  scenario: kubevirt_vm_outage\n  parameters: {vm_name: a}\n";
    let loaded = load(
        &[
            fixtures().join("multi-vm.yaml"),
            PathBuf::from("-"),
            fixtures().join("seed-combined.yaml"),
        ],
        || Ok(stdin_text.to_string()),
    )
    .unwrap();
    let names: Vec<&str> = loaded.steps.iter().map(Step::name).collect();
    assert_eq!(
        names,
        [
            "kubevirt outage test - app VM",
            "kubevirt outage test - database VM",
            "from stdin",
            "node outage with vm recovery test",
            "vm outage during node recovery"
        ]
    );
    assert_eq!(outage(&loaded.steps[2]).file, PathBuf::from("-"));
    let twice = load(&[PathBuf::from("-"), PathBuf::from("-")], || {
        Ok(stdin_text.to_string())
    })
    .unwrap_err();
    assert!(
        twice.to_string().contains("stdin (-) given twice"),
        "{twice}"
    );
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-0\n      namespace: prod\n      kill_cont: 2\n";
    assert_eq!(
        error_text(text),
        "game.yaml line 7: unknown parameter kill_cont for kubevirt_vm_outage: known are vm_name, namespace, label_selector, timeout, duration, kill_count, disable_auto_restart | hint: did you mean kill_count?"
    );
    let text = "scenarios:\n  - name: x\n    scenaro: kubevirt_vm_outage\n";
    assert_eq!(
        error_text(text),
        "game.yaml line 3: unknown key scenaro in a scenario: expected name, scenario, parameters | hint: did you mean scenario?"
    );
    let text = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters: {vm_name: a}\nextra: 1\n";
    assert!(error_text(text).starts_with("game.yaml line 5: unknown key extra"));
}

#[test]
fn bad_types_and_values_name_the_line() {
    let head = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-0\n";
    let cases = [
        (
            "      kill_count: 0\n",
            "line 6: kill_count must be a positive integer",
        ),
        (
            "      kill_count: two\n",
            "line 6: kill_count must be a positive integer",
        ),
        (
            "      kill_count: 1.5\n",
            "line 6: kill_count must be a positive integer",
        ),
        (
            "      timeout: soon\n",
            "line 6: timeout must be a number of seconds (60) or a duration like 90s, 2m",
        ),
        ("      timeout: 0\n", "line 6: timeout is shorter than 1s"),
        (
            "      timeout: 500000000000years\n",
            "line 6: timeout is longer than 7days",
        ),
        (
            "      duration: 1e300\n",
            "line 6: duration is longer than 7days",
        ),
        (
            "      duration: [1]\n",
            "line 6: duration must be a number of seconds (60) or a duration like 90s, 2m",
        ),
        (
            "      disable_auto_restart: \"yes\"\n",
            "line 6: disable_auto_restart must be true or false",
        ),
        (
            "      namespace: \"prod(\"\n",
            "line 6: namespace prod( is not a valid regex",
        ),
        (
            "      label_selector: {app: db}\n",
            "line 6: label_selector must be a label selector such as app=db, not a mapping",
        ),
        ("      vm_name: db-1\n", "line 6: vm_name given twice"),
    ];
    for (line, want) in cases {
        let got = error_text(&format!("{head}{line}"));
        assert!(
            got.starts_with(&format!("game.yaml {want}")),
            "{line:?}: {got}"
        );
    }
}

#[test]
fn durations_accept_seconds_and_units() {
    let text = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      vm_name: db-0\n      timeout: 2m\n      duration: \"30\"\n";
    let loaded = parse_text(text).unwrap();
    let o = outage(&loaded.steps[0]);
    assert_eq!(o.params.timeout, Some(Duration::from_secs(120)));
    assert_eq!(o.params.duration, Some(Duration::from_secs(30)));
}

#[test]
fn an_outage_needs_vm_name_or_label_selector() {
    let text = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      namespace: prod\n      label_selector: \"\"\n";
    assert!(error_text(text).starts_with(
        "game.yaml line 5: kubevirt_vm_outage needs vm_name or label_selector to choose its VMIs"
    ));
    let text = "scenarios:\n  - name: x\n    scenario: kubevirt_vm_outage\n    parameters:\n      label_selector: app=db\n";
    let loaded = parse_text(text).unwrap();
    let o = outage(&loaded.steps[0]);
    assert_eq!(o.params.label_selector.as_deref(), Some("app=db"));
    assert!(o.params.vm_name.is_none());
    assert_eq!(o.params.namespace.as_str(), "default");
}

#[test]
fn names_match_whole_where_kraken_matches_a_prefix() {
    let p = NamePattern::new("vm-1").unwrap();
    assert!(p.matches("vm-1"));
    assert!(!p.matches("vm-10"));
    assert!(p.kraken_matches("vm-10"));
    assert!(!p.kraken_matches("xvm-1"));
    let p = NamePattern::new("db-[0-9]+|web").unwrap();
    assert!(p.matches("db-12") && p.matches("web"));
    assert!(!p.matches("webby"));
    assert!(p.kraken_matches("webby"));
    assert_eq!(NamePattern::new("prod").unwrap().literal(), Some("prod"));
    assert_eq!(NamePattern::new("prod-.*").unwrap().literal(), None);
}

#[test]
fn files_that_are_not_krakens_say_what_they_are() {
    let e = error_text("node_scenarios:\n  - actions: [node_stop_start_scenario]\n");
    assert!(
        e.starts_with("game.yaml: neither a Kraken scenario file (top-level scenarios:) nor a Kraken config (kraken.chaos_scenarios): its top-level keys are node_scenarios"),
        "{e}"
    );
    assert!(error_text("- a\n- b\n").contains("it holds a list"));
    let e = error_text("scenarios: [\n");
    assert!(
        e.starts_with("game.yaml line 1: not valid YAML")
            || e.starts_with("game.yaml line 2: not valid YAML"),
        "{e}"
    );
    assert!(error_text("scenarios:\n").starts_with("game.yaml line 1: scenarios is empty"));
    // Two documents: our words, not the parser's advice to programmers.
    let e = error_text("scenarios: []\n---\nb: 1\n");
    assert!(
        e.contains("a second YAML document (after a `---` line)"),
        "{e}"
    );
    assert!(!e.contains("from_str"), "{e}");
    let e = error_text(
        "kraken:\n  chaos_scenarios:\n    - kubevirt_vm_outage:\n        - missing.yaml\n",
    );
    assert!(
        e.starts_with("game.yaml line 4: cannot read the scenario file missing.yaml"),
        "{e}"
    );
    assert!(e.ends_with("hint: paths in chaos_scenarios are relative to the config's folder"));
}

#[test]
fn unsupported_kinds_are_steps_not_errors() {
    let text = "scenarios:\n  - scenario: pod_disruption_scenarios\n    parameters:\n      anything: [goes, here]\n";
    let loaded = parse_text(text).unwrap();
    let Step::Unsupported(u) = &loaded.steps[0] else {
        panic!()
    };
    assert_eq!(
        (u.kind.as_str(), u.name.as_str(), u.line),
        (
            "pod_disruption_scenarios",
            "pod_disruption_scenarios #1",
            Some(2)
        )
    );
}

#[test]
fn input_is_bounded_and_only_regular_files_are_read() {
    let err = load(&[PathBuf::from("/dev/zero")], || unreachable!("no stdin")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/dev/zero: is not a regular file but a character device"
    );
    assert!(err.hint().unwrap().contains("-f -"));
    let dir = tempfile::tempdir().unwrap();
    let err = load(&[dir.path().to_path_buf()], || unreachable!("no stdin")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("is not a regular file but a folder"),
        "{err}"
    );
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, "#".repeat(MAX_INPUT_BYTES as usize + 1)).unwrap();
    let err = load(&[big], || unreachable!("no stdin")).unwrap_err();
    assert!(err.to_string().contains("holds more than 1 MiB"), "{err}");
    // An endless stream stops at the bound.
    let endless = std::io::repeat(b'a');
    let err = read_bounded(endless, Path::new("-")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "-: holds more than 1 MiB: not a scenario file"
    );
    let err = read_bounded(&[0xff, 0xfe][..], Path::new("-")).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    assert_eq!(
        read_bounded(&b"scenarios: []\n"[..], Path::new("-")).unwrap(),
        "scenarios: []\n"
    );
}
