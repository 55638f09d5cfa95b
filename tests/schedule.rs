//! `kubectl vmchaos schedule` against the real API server: what it prints is accepted by a
//! server-side dry run, the CronJob's job template is a valid batch/v1 Job, the Role holds exactly
//! what the permission pre-flight checks (plus the reads and Events), and --apply, --suspend,
//! --resume, --delete manage a schedule for real. Bad input changes nothing.

mod common;

use std::{
    collections::BTreeSet,
    io::Write,
    process::{Output, Stdio},
};

use common::{stderr, Env};
use kubectl_vmchaos::{kubevirt::Recovery, outage::preflight::required_permissions};
use serde_json::Value;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The printed YAML documents, as JSON values.
fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml).expect("schedule prints YAML documents")
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {docs:#?}"))
}

/// `kubectl <args> -f -` with `input` on stdin, as admin.
fn kubectl_stdin(env: &Env, args: &[&str], input: &str) -> Output {
    let mut child = env
        .kubectl_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// (group, resource[/subresource], verb) for every verb a Role grants.
fn granted(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                for v in rule["verbs"].as_array().unwrap() {
                    set.insert((
                        g.as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                        v.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    set
}

/// What the pre-flight checks for these plans, plus the reads before it (one target: get the VMI
/// and its VM; several: also list VMIs and VMs) and `create events`.
fn expected(recoveries: &[Recovery], owned_by_vm: bool) -> BTreeSet<(String, String, String)> {
    let mut set: BTreeSet<_> =
        required_permissions(recoveries, false, kubectl_vmchaos::plan::Fault::Delete)
            .into_iter()
            .map(|p| {
                let resource = match p.subresource {
                    Some(s) => format!("{}/{s}", p.resource),
                    None => p.resource.to_string(),
                };
                (p.group.to_string(), resource, p.verb.to_string())
            })
            .collect();
    let t = |g: &str, r: &str, v: &str| (g.to_string(), r.to_string(), v.to_string());
    set.insert(t("kubevirt.io", "virtualmachineinstances", "get"));
    if owned_by_vm {
        set.insert(t("kubevirt.io", "virtualmachines", "get"));
    }
    if recoveries.len() > 1 {
        set.insert(t("kubevirt.io", "virtualmachineinstances", "list"));
        set.insert(t("kubevirt.io", "virtualmachines", "list"));
    }
    set.insert(t("", "events", "create"));
    set
}

#[test]
fn printed_manifests_pass_a_server_side_dry_run_with_the_preflight_verbs() {
    let env = env_or_skip!();
    let ns = env.namespace("sched");
    env.vm(&ns, "always", "Always", &[]);
    env.vm(&ns, "manual", "Manual", &[]);
    env.vmi(&ns, "alone", &[]);
    for (vmi, recovery, owned_by_vm) in [
        ("always", Recovery::Automatic, true),
        ("manual", Recovery::Start, true),
        ("alone", Recovery::Recreate, false),
    ] {
        let name = format!("gameday-{vmi}");
        let out = env.run(&[
            "schedule",
            &name,
            "-n",
            &ns,
            "--cron",
            "0 3 * * 1",
            "--",
            vmi,
            "--duration",
            "90s",
            "--timeout",
            "4m",
        ]);
        assert_eq!(out.status.code(), Some(0), "{vmi}: {}", stderr(&out));
        let yaml = stdout(&out);
        let docs = documents(&yaml);
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ServiceAccount", "Role", "RoleBinding", "CronJob"],
            "{vmi}"
        );

        // The Role is exactly the pre-flight's list (and the reads, and Events).
        assert_eq!(
            granted(by_kind(&docs, "Role")),
            expected(&[recovery], owned_by_vm),
            "{vmi}"
        );

        // The printed YAML as it is: a server-side dry run accepts all four, the CronJob (and
        // so its job template) validated whole by a Kubernetes 1.35 API server.
        let dry = kubectl_stdin(&env, &["apply", "--dry-run=server", "-f", "-"], &yaml);
        assert!(dry.status.success(), "{vmi}: {}", stderr(&dry));
        let accepted = stdout(&dry);
        for line in [
            format!("serviceaccount/{name} created (server dry run)"),
            format!("role.rbac.authorization.k8s.io/{name} created (server dry run)"),
            format!("rolebinding.rbac.authorization.k8s.io/{name} created (server dry run)"),
            format!("cronjob.batch/{name} created (server dry run)"),
        ] {
            assert!(
                accepted.contains(&line),
                "{vmi}: {line}\n{accepted}\n{}",
                stderr(&dry)
            );
        }

        // The CronJob: batch/v1 with the documented settings.
        let cron = by_kind(&docs, "CronJob");
        assert_eq!(cron["apiVersion"], "batch/v1");
        assert_eq!(cron["metadata"]["namespace"], ns.as_str());
        assert_eq!(cron["spec"]["schedule"], "0 3 * * 1");
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
        let template = &cron["spec"]["jobTemplate"];
        assert_eq!(template["spec"]["backoffLimit"], 0);
        assert_eq!(template["spec"]["activeDeadlineSeconds"], 90 + 240 + 180);
        let pod = &template["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], name.as_str());
        assert_eq!(pod["automountServiceAccountToken"], true);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        let container = &pod["containers"][0];
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        assert!(container["resources"]["requests"]["memory"].is_string());
        assert!(container["resources"]["limits"]["memory"].is_string());
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "outage",
                vmi,
                "--duration",
                "90s",
                "--timeout",
                "4m",
                "-n",
                &ns,
                "--yes",
                "-o",
                "json",
                "--save-dir",
                "/var/lib/kubectl-vmchaos"
            ]
        );
        assert_eq!(
            container["volumeMounts"][0]["mountPath"],
            "/var/lib/kubectl-vmchaos"
        );
        assert!(pod["volumes"][0]["emptyDir"].is_object());
        let job = serde_json::json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": format!("{name}-manual"), "namespace": ns},
            "spec": template["spec"],
        });
        let dry = kubectl_stdin(
            &env,
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            &job.to_string(),
        );
        assert!(dry.status.success(), "{vmi}: {}", stderr(&dry));
        let accepted: Value = serde_json::from_slice(&dry.stdout).unwrap();
        assert_eq!(accepted["kind"], "Job");
        assert_eq!(accepted["spec"]["backoffLimit"], 0);
    }
}

#[test]
fn apply_then_suspend_resume_and_delete() {
    let env = env_or_skip!();
    let ns = env.namespace("sched-apply");
    env.vm(&ns, "db", "Manual", &[]);
    let out = env.run(&[
        "schedule",
        "nightly",
        "-n",
        &ns,
        "--cron",
        "@daily",
        "--apply",
        "--image",
        "registry.example.com/kubectl-vmchaos:test",
        "--",
        "db",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "serviceaccount/nightly applied",
        "role/nightly applied",
        "rolebinding/nightly applied",
        "cronjob.batch/nightly applied",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    let get = |what: &str| -> Value {
        let out = env.kubectl(&["get", what, "nightly", "-n", &ns, "-o", "json"]);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cron = get("cronjobs.batch");
    assert_eq!(cron["spec"]["schedule"], "@daily");
    assert_eq!(cron["spec"]["suspend"], false);
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/kubectl-vmchaos:test"
    );
    // The ServiceAccount may start the Manual VM, and nothing beyond the plan (asked as the
    // authorizer would: a SubjectAccessReview for the ServiceAccount's user and groups).
    let sa = format!("system:serviceaccount:{ns}:nightly");
    let can = |verb: &str, group: &str, resource: &str, sub: &str| -> bool {
        let review = serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": sa,
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
                "resourceAttributes": {
                    "namespace": ns, "verb": verb, "group": group,
                    "resource": resource, "subresource": sub
                }
            }
        });
        let out = kubectl_stdin(
            &env,
            &["create", "-o", "json", "-f", "-"],
            &review.to_string(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["status"]["allowed"] == true
    };
    // RBAC applies a new binding a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !can("delete", "kubevirt.io", "virtualmachineinstances", "") {
        assert!(
            std::time::Instant::now() < deadline,
            "the binding never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(can(
        "update",
        "subresources.kubevirt.io",
        "virtualmachines",
        "start"
    ));
    assert!(can("delete", "kubevirt.io", "virtualmachineinstances", ""));
    assert!(can("watch", "kubevirt.io", "virtualmachineinstances", ""));
    assert!(can("create", "", "events", ""));
    assert!(!can("patch", "kubevirt.io", "virtualmachines", ""));
    assert!(!can("create", "kubevirt.io", "virtualmachineinstances", ""));
    assert!(!can(
        "update",
        "subresources.kubevirt.io",
        "virtualmachines",
        "stop"
    ));
    assert!(!can("delete", "", "pods", ""));

    // Applying again is idempotent.
    let again = env.run(&[
        "schedule", "nightly", "-n", &ns, "--cron", "@daily", "--apply", "--", "db",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));

    let out = env.run(&["schedule", "nightly", "-n", &ns, "--suspend"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("suspended"));
    assert_eq!(get("cronjobs.batch")["spec"]["suspend"], true);
    let out = env.run(&["schedule", "nightly", "-n", &ns, "--resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(get("cronjobs.batch")["spec"]["suspend"], false);

    let out = env.run(&["schedule", "nightly", "-n", &ns, "--delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for kind in [
        "cronjob.batch",
        "rolebinding.rbac.authorization.k8s.io",
        "role.rbac.authorization.k8s.io",
        "serviceaccount",
    ] {
        assert!(
            text.contains(&format!("{kind}/nightly deleted")),
            "{kind}: {text}"
        );
    }
    for what in ["cronjobs.batch", "roles", "rolebindings", "serviceaccounts"] {
        let out = env.kubectl(&["get", what, "nightly", "-n", &ns]);
        assert!(!out.status.success(), "{what} still there");
    }
    let out = env.run(&["schedule", "nightly", "-n", &ns, "--delete"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no schedule nightly"),
        "{}",
        stderr(&out)
    );

    // A ServiceAccount of that name the tool didn't make is never deleted.
    let made = env.kubectl(&["create", "serviceaccount", "lonely", "-n", &ns]);
    assert!(made.status.success(), "{}", stderr(&made));
    let out = env.run(&["schedule", "lonely", "-n", &ns, "--delete"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(env
        .kubectl(&["get", "serviceaccount", "lonely", "-n", &ns])
        .status
        .success());
}

#[test]
fn bad_input_changes_nothing() {
    let env = env_or_skip!();
    let ns = env.namespace("sched-bad");
    env.vm(&ns, "db", "Always", &[]);
    for (args, why) in [
        (
            vec!["--cron", "0 25 * * *", "--apply", "--", "db"],
            "hour \"25\"",
        ),
        (
            vec!["--cron", "0 3 * *", "--apply", "--", "db"],
            "4 fields, not 5",
        ),
        // The API server's parser takes day of week 0-6: 7 would be refused after the
        // ServiceAccount, Role and RoleBinding were created.
        (
            vec!["--cron", "0 3 * * 7", "--apply", "--", "db"],
            "day of week \"7\" is not a number between 0 and 6",
        ),
        (
            vec![
                "--cron",
                "@daily",
                "--apply",
                "--",
                "db",
                "--duration",
                "soon",
            ],
            "the outage arguments after -- are not valid",
        ),
        (
            vec!["--cron", "@daily", "--apply", "--", "nope"],
            "no VMI named nope",
        ),
        (
            vec!["--cron", "@daily", "--apply"],
            "no VMI named in the outage arguments",
        ),
    ] {
        let mut argv = vec!["schedule", "broken", "-n", &ns];
        argv.extend(args.iter().copied());
        let out = env.run(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    for what in ["serviceaccounts", "roles", "cronjobs.batch"] {
        let out = env.kubectl(&["get", what, "broken", "-n", &ns]);
        assert!(!out.status.success(), "{what} was created");
    }
    // Protected namespaces need the outage's own flag.
    let out = env.run(&[
        "schedule",
        "x",
        "-n",
        "kube-system",
        "--cron",
        "@daily",
        "--",
        "db",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("protected"), "{}", stderr(&out));
}

#[test]
fn a_fleet_schedule_unites_the_plans_of_its_targets() {
    let env = env_or_skip!();
    let ns = env.namespace("sched-fleet");
    env.vm(&ns, "web-0", "Always", &[]);
    env.vm(&ns, "web-1", "Manual", &[]);
    env.vmi(&ns, "web-2", &[]);
    let out = env.run(&[
        "schedule",
        "fleet",
        "-n",
        &ns,
        "--cron",
        "30 2 * * mon-fri",
        "--",
        "web-0",
        "web-1",
        "web-2",
        "--serial",
        "--interval",
        "30s",
        "--duration",
        "1m",
        "--timeout",
        "2m",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let docs = documents(&stdout(&out));
    assert_eq!(
        granted(by_kind(&docs, "Role")),
        expected(
            &[Recovery::Automatic, Recovery::Start, Recovery::Recreate],
            true
        )
    );
    let job = &by_kind(&docs, "CronJob")["spec"]["jobTemplate"]["spec"];
    // --serial: three targets of --duration + --timeout, two intervals, and the margin.
    assert_eq!(job["activeDeadlineSeconds"], 3 * (60 + 120) + 2 * 30 + 180);
    let dry = kubectl_stdin(
        &env,
        &["apply", "--dry-run=server", "-f", "-"],
        &stdout(&out),
    );
    assert_eq!(
        stdout(&dry).matches("(server dry run)").count(),
        4,
        "{}",
        stderr(&dry)
    );
}

/// A same-named ServiceAccount, Role, RoleBinding or CronJob that the schedule did not make
/// (no `vmchaos.dev/schedule=NAME` label) is never changed: `--apply` (and printing, whose
/// output would be applied) refuses, naming each, before anything is applied; `--delete` and
/// `--suspend` leave them alone.
#[test]
fn objects_the_schedule_did_not_make_are_never_touched() {
    let env = env_or_skip!();
    let ns = env.namespace("sched-own");
    env.vm(&ns, "db", "Always", &[]);
    for args in [
        vec![
            "create",
            "role",
            "weekly",
            "--verb=get",
            "--resource=pods",
            "-n",
            &ns,
        ],
        vec![
            "create",
            "rolebinding",
            "weekly",
            "--role=weekly",
            "--user=alice",
            "-n",
            &ns,
        ],
    ] {
        let out = env.kubectl(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let snapshot = |what: &str| -> Value {
        let out = env.kubectl(&["get", what, "weekly", "-n", &ns, "-o", "json"]);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        v
    };
    let (role, binding) = (snapshot("role"), snapshot("rolebinding"));
    for apply in [true, false] {
        let mut argv = vec!["schedule", "weekly", "-n", &ns, "--cron", "@daily"];
        if apply {
            argv.push("--apply");
        }
        argv.extend(["--", "db"]);
        let out = env.run(&argv);
        assert_eq!(
            out.status.code(),
            Some(2),
            "apply {apply}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "refusing to change role/weekly, rolebinding/weekly in namespace {ns}: not part of schedule weekly (no vmchaos.dev/schedule=weekly label)"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "kubectl label -n {ns} role/weekly rolebinding/weekly vmchaos.dev/schedule=weekly"
            )),
            "{err}"
        );
        assert!(stdout(&out).is_empty());
    }
    // Nothing was applied, and the user's objects are as they were.
    for what in ["serviceaccount", "cronjobs.batch"] {
        let out = env.kubectl(&["get", what, "weekly", "-n", &ns]);
        assert!(!out.status.success(), "{what} was created");
    }
    assert_eq!(snapshot("role"), role);
    assert_eq!(snapshot("rolebinding"), binding);
    assert_eq!(binding["subjects"][0]["name"], "alice");
    let out = env.run(&["schedule", "weekly", "-n", &ns, "--delete"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(snapshot("role"), role);
    assert_eq!(snapshot("rolebinding"), binding);

    // A user's CronJob of that name: not suspended, not replaced, not deleted.
    let out = env.kubectl(&[
        "create",
        "cronjob",
        "nightly",
        "--image=busybox",
        "--schedule=@daily",
        "-n",
        &ns,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["schedule", "nightly", "-n", &ns, "--suspend"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to change cronjob.batch/nightly"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&[
        "schedule", "nightly", "-n", &ns, "--cron", "@daily", "--apply", "--", "db",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to change cronjob/nightly"),
        "{}",
        stderr(&out)
    );
    for what in ["serviceaccount", "role", "rolebinding"] {
        let out = env.kubectl(&["get", what, "nightly", "-n", &ns]);
        assert!(
            !out.status.success(),
            "{what} was created before the refusal"
        );
    }
    let out = env.run(&["schedule", "nightly", "-n", &ns, "--delete"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = env.kubectl(&["get", "cronjob", "nightly", "-n", &ns, "-o", "json"]);
    assert!(out.status.success(), "the user's CronJob was deleted");
    let cron: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox"
    );
    assert_ne!(cron["spec"]["suspend"], true);
}

/// The VMIs of a scheduled run may be chosen by flags (`-l`, `--all`, a sample), as the
/// README says: the run lists them, so its Role may list VMIs and VMs; the CronJob is printed
/// in the version the server serves.
#[test]
fn a_schedule_may_choose_its_targets_by_flags() {
    let env = env_or_skip!();
    let ns = env.namespace("sched-flags");
    env.vm(&ns, "web-0", "Always", &[]);
    env.vm(&ns, "web-1", "Always", &[]);
    let out = env.run(&[
        "schedule",
        "sample",
        "-n",
        &ns,
        "--cron",
        "@every 6h",
        "--",
        "--all",
        "--count",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let docs = documents(&stdout(&out));
    let role = granted(by_kind(&docs, "Role"));
    for (g, r, v) in [
        ("kubevirt.io", "virtualmachineinstances", "list"),
        ("kubevirt.io", "virtualmachines", "list"),
        ("kubevirt.io", "virtualmachines", "get"),
        ("kubevirt.io", "virtualmachineinstances", "delete"),
    ] {
        assert!(
            role.contains(&(g.to_string(), r.to_string(), v.to_string())),
            "{v} {r}: {role:?}"
        );
    }
    let cron = by_kind(&docs, "CronJob");
    assert_eq!(cron["apiVersion"], "batch/v1");
    assert_eq!(cron["spec"]["schedule"], "@every 6h");
    let args: Vec<&str> = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        ["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.starts_with(&["outage", "--all", "--count", "1"]),
        "{args:?}"
    );
    let dry = kubectl_stdin(
        &env,
        &["apply", "--dry-run=server", "-f", "-"],
        &stdout(&out),
    );
    assert_eq!(
        stdout(&dry).matches("(server dry run)").count(),
        4,
        "{}",
        stderr(&dry)
    );
}
