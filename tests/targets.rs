//! Choosing targets with the real binary against a real API server: `list` pages through VMIs
//! and owner VMs, shows each plan (and refusals), and `outage --dry-run` chooses by name,
//! selector, --all, --count/--percent with --seed, within the guards. No simulator runs here:
//! every VMI is created as the test needs it (status included), and nothing changes it.

mod common;

use std::collections::BTreeSet;

use common::{json, static_cluster, stderr, Env};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{json, Value};
use testenv::fixtures;

macro_rules! env_or_skip {
    () => {
        match static_cluster() {
            Some(env) => env,
            None => return,
        }
    };
}

/// A VMI as KubeVirt shows a running one: phase Running, Ready, on a node.
fn vmi(ns: &str, name: &str, labels: Value, owner: Option<Value>) -> Value {
    let mut manifest = json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": fixtures::vmi_spec(),
        "status": {
            "phase": "Running", "nodeName": "node-a",
            "interfaces": [{"ipAddress": "10.244.0.9", "name": "default"}],
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    });
    if let Some(owner) = owner {
        manifest["metadata"]["ownerReferences"] = json!([owner]);
    }
    manifest
}

fn owner(kind: &str, name: &str, uid: &str) -> Value {
    json!({"apiVersion": "kubevirt.io/v1", "kind": kind, "name": name, "uid": uid,
        "controller": true, "blockOwnerDeletion": true})
}

fn create_all(env: &Env, resource: &ApiResource, manifests: Vec<Value>) -> Vec<DynamicObject> {
    let client = env.cluster().client();
    let creates = manifests.into_iter().map(|m| {
        let obj: DynamicObject = serde_json::from_value(m).unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            obj.metadata.namespace.as_deref().unwrap(),
            resource,
        );
        async move { api.create(&PostParams::default(), &obj).await }
    });
    env.cluster()
        .block_on(futures::future::try_join_all(creates))
        .expect("create")
}

/// VMs with this runStrategy, each with its running VMI (owned by it, labels `labels`).
fn vms_with_vmis(env: &Env, ns: &str, names: &[&str], strategy: &str, labels: Value) {
    let vms = create_all(
        env,
        &fixtures::vm_resource(),
        names
            .iter()
            .map(|n| fixtures::vm_manifest(ns, n, strategy, &[]))
            .collect(),
    );
    create_all(
        env,
        &fixtures::vmi_resource(),
        vms.iter()
            .map(|vm| {
                let name = vm.metadata.name.as_deref().unwrap();
                let uid = vm.metadata.uid.as_deref().unwrap();
                vmi(
                    ns,
                    name,
                    labels.clone(),
                    Some(owner("VirtualMachine", name, uid)),
                )
            })
            .collect(),
    );
}

fn standalone(env: &Env, ns: &str, names: &[String], labels: Value) {
    env.cluster().ensure_namespace(ns);
    create_all(
        env,
        &fixtures::vmi_resource(),
        names
            .iter()
            .map(|n| vmi(ns, n, labels.clone(), None))
            .collect(),
    );
}

fn uids(env: &Env, ns: &str) -> BTreeSet<String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.cluster().client(), ns, &fixtures::vmi_resource());
    env.cluster()
        .block_on(api.list(&Default::default()))
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.uid)
        .collect()
}

fn names_of(doc: &Value) -> Vec<String> {
    doc["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets in {doc:#}"))
        .iter()
        .map(|t| t["target"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_all_namespaces_pages_through_every_vmi_exactly_once() {
    let env = env_or_skip!();
    let namespaces: Vec<String> = (0..3).map(|_| env.namespace("page")).collect();
    let mut expected = BTreeSet::new();
    for ns in &namespaces {
        env.cluster().ensure_namespace(ns);
        let owned: Vec<String> = (0..6).map(|i| format!("vm-{i}")).collect();
        let owned_refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        vms_with_vmis(&env, ns, &owned_refs, "Always", json!({"tier": "db"}));
        let alone: Vec<String> = (0..3).map(|i| format!("alone-{i}")).collect();
        standalone(&env, ns, &alone, json!({"tier": "web"}));
        for n in owned.iter().chain(&alone) {
            expected.insert((ns.clone(), n.clone()));
        }
    }
    let audit_from = std::fs::metadata(env.cluster().audit_log())
        .map(|m| m.len())
        .unwrap_or(0);
    let out = env
        .command(&["list", "-A", "-o", "json"])
        .env("VMCHAOS_PAGE_SIZE", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json(&out);
    let rows = rows.as_array().unwrap();
    let listed: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["namespace"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "a VMI listed twice: {listed:?}");
    let mine: BTreeSet<_> = unique
        .into_iter()
        .filter(|(ns, _)| namespaces.contains(ns))
        .collect();
    assert_eq!(mine, expected);
    for r in rows
        .iter()
        .filter(|r| namespaces.iter().any(|ns| r["namespace"] == ns.as_str()))
    {
        let owned = r["name"].as_str().unwrap().starts_with("vm-");
        assert_eq!(
            r["expectedRecovery"],
            if owned { "automatic" } else { "recreate" },
            "{r}"
        );
        if owned {
            assert_eq!(r["runStrategy"], "Always", "{r}");
        }
    }
    // It really paged: several LISTs of 4 cluster-wide, for the VMIs and for the 18 owner VMs.
    let audit = std::fs::read_to_string(env.cluster().audit_log()).unwrap();
    let uris: Vec<String> = audit[audit_from as usize..]
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with("kubectl-vmchaos"))
                && e["stage"] == "ResponseComplete"
        })
        .map(|e| e["requestURI"].as_str().unwrap_or_default().to_string())
        .collect();
    let pages = |path: &str| {
        uris.iter()
            .filter(|u| u.starts_with(path) && u.contains("limit=4"))
            .count()
    };
    assert!(
        pages("/apis/kubevirt.io/v1/virtualmachineinstances?") >= expected.len().div_ceil(4),
        "{uris:#?}"
    );
    assert!(
        pages("/apis/kubevirt.io/v1/virtualmachines?") >= 18usize.div_ceil(4),
        "{uris:#?}"
    );
    assert!(uris.iter().any(|u| u.contains("continue=")), "{uris:#?}");
    // (Only this run pages by 4: other tests' runs in the same audit log use the default.)
    assert!(
        !uris
            .iter()
            .any(|u| u.contains("/namespaces/") && u.contains("limit=4")),
        "-A lists cluster-wide, not per namespace: {uris:#?}"
    );
}

#[test]
fn list_shows_each_plan_and_why_one_is_refused() {
    let env = env_or_skip!();
    let ns = env.namespace("plans");
    env.cluster().ensure_namespace(&ns);
    vms_with_vmis(&env, &ns, &["always"], "Always", json!({"app": "a"}));
    vms_with_vmis(&env, &ns, &["manual"], "Manual", json!({"app": "a"}));
    vms_with_vmis(&env, &ns, &["off"], "Halted", json!({"app": "b"}));
    standalone(&env, &ns, &["alone".to_string()], json!({"app": "b"}));
    create_all(
        &env,
        &fixtures::vmi_resource(),
        vec![vmi(
            &ns,
            "webx7k2p",
            json!({"app": "b"}),
            Some(owner("VirtualMachineInstanceReplicaSet", "web", "rs-uid")),
        )],
    );
    let out = env.run(&["list", "-n", &ns]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name}:\n{table}"))
            .to_string()
    };
    assert!(line("always").ends_with("automatic"), "{table}");
    assert!(line("manual").ends_with("start"), "{table}");
    assert!(line("alone").ends_with("recreate"), "{table}");
    assert!(line("webx7k2p").ends_with("follow"), "{table}");
    assert!(line("off").ends_with("refused: VM halted"), "{table}");
    let out = env.run(&["list", "-n", &ns, "-o", "json", "-l", "app=b"]);
    let rows = json(&out);
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alone", "off", "webx7k2p"],
        "the selector went to the server"
    );
    assert_eq!(
        rows[1]["refused"],
        "VM off is Halted: KubeVirt is already stopping this VMI"
    );
    assert_eq!(rows[2]["group"]["kind"], "VirtualMachineInstanceReplicaSet");
    assert_eq!(rows[2]["group"]["running"], 1);
}

/// Twelve running VMIs labelled tier=web (six VM-owned, six standalone), one Halted VM's VMI.
fn fleet(env: &Env, prefix: &str) -> String {
    let ns = env.namespace(prefix);
    env.cluster().ensure_namespace(&ns);
    let owned = ["web-0", "web-1", "web-2", "web-3", "web-4", "web-5"];
    vms_with_vmis(env, &ns, &owned, "Always", json!({"tier": "web"}));
    let alone: Vec<String> = (6..12).map(|i| format!("web-{i:02}")).collect();
    standalone(env, &ns, &alone, json!({"tier": "web"}));
    vms_with_vmis(env, &ns, &["off"], "Halted", json!({"tier": "web"}));
    ns
}

#[test]
fn dry_run_samples_repeat_with_a_seed_and_change_nothing() {
    let env = env_or_skip!();
    let ns = fleet(&env, "sample");
    let before = uids(&env, &ns);
    let run = |extra: &[&str]| {
        let mut args = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        json(&out)
    };
    let a = run(&["-l", "tier=web", "--count", "3", "--seed", "42"]);
    let b = run(&["-l", "tier=web", "--count", "3", "--seed", "42"]);
    assert_eq!(names_of(&a), names_of(&b), "same seed, same VMIs");
    let picked = names_of(&a);
    assert_eq!(picked.len(), 3);
    assert_eq!(
        picked.iter().collect::<BTreeSet<_>>().len(),
        3,
        "{picked:?}"
    );
    assert!(
        !picked.contains(&"off".to_string()),
        "a refused VMI is never a candidate"
    );
    assert_eq!(a["selection"]["seed"], 42);
    assert_eq!(a["selection"]["candidates"], 12);
    assert_eq!(a["selection"]["selector"], "tier=web");
    assert_eq!(a["selection"]["refused"][0]["name"], "off");
    assert_eq!(a["dryRun"], "client");
    assert!(a["targets"][0]["expectedRecovery"].is_string());
    // Without --seed one is drawn, and printed so the run can be repeated.
    let c = run(&["--all", "--percent", "25"]);
    assert_eq!(names_of(&c).len(), 3, "25% of 12");
    let seed = c["selection"]["seed"]
        .as_u64()
        .expect("the seed is printed");
    let again = run(&["--all", "--percent", "25", "--seed", &seed.to_string()]);
    assert_eq!(names_of(&again), names_of(&c));
    // Named VMIs, NAMESPACE/NAME too.
    let named = run(&["web-3", &format!("{ns}/web-07")]);
    assert_eq!(names_of(&named), ["web-07", "web-3"]);
    assert_eq!(before, uids(&env, &ns), "a dry run deletes nothing");
}

#[test]
fn guards_and_bad_choices_exit_2_and_change_nothing() {
    let env = env_or_skip!();
    let ns = fleet(&env, "guards");
    let before = uids(&env, &ns);
    let fails = |args: &[&str], message: &str, hint: &str| {
        let mut all = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains(hint), "{args:?}: {err}");
    };
    fails(
        &["--all"],
        "error: 12 VMIs chosen, more than --max-targets 10",
        "--max-targets 12",
    );
    fails(
        &["off"],
        &format!("refusing VMI {ns}/off: VM off is Halted"),
        "hint: a Halted VM is meant to be off",
    );
    fails(
        &["web-0", "nope"],
        &format!("no VMI named nope in namespace {ns}"),
        "running VMIs there: off, web-0, web-06",
    );
    fails(&["web-0", "-l", "tier=web"], "cannot be combined", "hint:");
    fails(
        &["-l", "tier=db", "--all"],
        &format!("no running VMI in namespace {ns} matching tier=db"),
        "hint:",
    );
    fails(
        &["--all", "--count", "13", "--max-targets", "20"],
        "--count 13, but only 12",
        "lower --count",
    );
    let out = env.run(&[
        "outage",
        "-n",
        &ns,
        "--dry-run",
        "-o",
        "json",
        "--all",
        "--max-targets",
        "12",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names_of(&json(&out)).len(), 12);
    assert_eq!(before, uids(&env, &ns));
}

#[test]
fn never_every_replica_of_a_replica_set_unless_allowed() {
    let env = env_or_skip!();
    let ns = env.namespace("replicas");
    env.cluster().ensure_namespace(&ns);
    let set = owner("VirtualMachineInstanceReplicaSet", "front", "rs-front-uid");
    create_all(
        &env,
        &fixtures::vmi_resource(),
        ["frontab12c", "frontxy34z", "frontqq56r"]
            .iter()
            .map(|n| vmi(&ns, n, json!({"app": "front"}), Some(set.clone())))
            .collect(),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let out = run(&["--all"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "every serving replica of VirtualMachineInstanceReplicaSet {ns}/front at once (3 of 3 Running and Ready)"
        )),
        "{}",
        stderr(&out)
    );
    let out = run(&["frontab12c", "frontxy34z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["--all", "--allow-full-outage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(names_of(&doc).len(), 3);
    assert_eq!(doc["targets"][0]["expectedRecovery"], "follow");
    // A random sample leaves one replica up by itself.
    for seed in ["1", "2", "3"] {
        let out = run(&["-l", "app=front", "--count", "2", "--seed", seed]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let out = run(&["-l", "app=front", "--count", "3", "--seed", seed]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }
}

#[test]
fn never_every_vm_of_a_pool_unless_allowed() {
    let env = env_or_skip!();
    let ns = env.namespace("pool");
    env.cluster().ensure_namespace(&ns);
    let pool_owner = json!({"apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool",
        "name": "db", "uid": "pool-db-uid", "controller": true, "blockOwnerDeletion": true});
    let vms = create_all(
        &env,
        &fixtures::vm_resource(),
        ["db-0", "db-1"]
            .iter()
            .map(|n| {
                let mut vm = fixtures::vm_manifest(&ns, n, "Always", &[]);
                vm["metadata"]["ownerReferences"] = json!([pool_owner.clone()]);
                vm
            })
            .collect(),
    );
    create_all(
        &env,
        &fixtures::vmi_resource(),
        vms.iter()
            .map(|vm| {
                let name = vm.metadata.name.as_deref().unwrap();
                let uid = vm.metadata.uid.as_deref().unwrap();
                vmi(
                    &ns,
                    name,
                    json!({"app": "db"}),
                    Some(owner("VirtualMachine", name, uid)),
                )
            })
            .collect(),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let out = run(&["db-0", "db-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "every serving replica of VirtualMachinePool {ns}/db at once (2 of 2 Running and Ready)"
        )),
        "{}",
        stderr(&out)
    );
    let out = run(&["-l", "app=db", "--count", "1", "--seed", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["group"]["kind"], "VirtualMachinePool");
    assert_eq!(doc["targets"][0]["group"]["running"], 2);
    assert_eq!(doc["targets"][0]["expectedRecovery"], "automatic");
    let out = run(&["db-0", "db-1", "--allow-full-outage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A VMI in a given state: `phase`, and Ready or not.
fn vmi_state(
    ns: &str,
    name: &str,
    labels: Value,
    owner: Option<Value>,
    phase: &str,
    ready: bool,
) -> Value {
    let mut manifest = vmi(ns, name, labels, owner);
    manifest["status"]["phase"] = phase.into();
    manifest["status"]["conditions"] =
        json!([{"type": "Ready", "status": if ready { "True" } else { "False" }}]);
    manifest
}

/// VMs (runStrategy Always), each with a VMI in `phase`, Ready or not.
fn vms_in_state(env: &Env, ns: &str, names: &[&str], labels: Value, phase: &str, ready: bool) {
    let vms = create_all(
        env,
        &fixtures::vm_resource(),
        names
            .iter()
            .map(|n| fixtures::vm_manifest(ns, n, "Always", &[]))
            .collect(),
    );
    create_all(
        env,
        &fixtures::vmi_resource(),
        vms.iter()
            .map(|vm| {
                let name = vm.metadata.name.as_deref().unwrap();
                let uid = vm.metadata.uid.as_deref().unwrap();
                let owner = owner("VirtualMachine", name, uid);
                vmi_state(ns, name, labels.clone(), Some(owner), phase, ready)
            })
            .collect(),
    );
}

/// Every case a guard refuses, in one namespace: a replica set of two Ready replicas (`front`:
/// frontaaaaa, frontbbbbb, app=front), a pool of two VMs (`db`: db-0, db-1, app=db), three VMs
/// (web-0..2, tier=web), a VM whose VMI runs but is not Ready (sick, app=sick), one still
/// Scheduling (booting, app=booting); and a protected namespace (`openshift-N`) with one
/// running standalone VMI (infra, app=infra).
struct Guarded {
    ns: String,
    protected: String,
}

fn guarded(env: &Env, prefix: &str) -> Guarded {
    let ns = env.namespace(prefix);
    let set = owner(
        "VirtualMachineInstanceReplicaSet",
        "front",
        &format!("rs-front-{ns}"),
    );
    create_all(
        env,
        &fixtures::vmi_resource(),
        ["frontaaaaa", "frontbbbbb"]
            .iter()
            .map(|n| vmi(&ns, n, json!({"app": "front"}), Some(set.clone())))
            .collect(),
    );
    let pool_owner = json!({"apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool",
        "name": "db", "uid": format!("pool-db-{ns}"), "controller": true, "blockOwnerDeletion": true});
    let vms = create_all(
        env,
        &fixtures::vm_resource(),
        ["db-0", "db-1"]
            .iter()
            .map(|n| {
                let mut vm = fixtures::vm_manifest(&ns, n, "Always", &[]);
                vm["metadata"]["ownerReferences"] = json!([pool_owner.clone()]);
                vm
            })
            .collect(),
    );
    create_all(
        env,
        &fixtures::vmi_resource(),
        vms.iter()
            .map(|vm| {
                let name = vm.metadata.name.as_deref().unwrap();
                let uid = vm.metadata.uid.as_deref().unwrap();
                vmi(
                    &ns,
                    name,
                    json!({"app": "db"}),
                    Some(owner("VirtualMachine", name, uid)),
                )
            })
            .collect(),
    );
    vms_with_vmis(
        env,
        &ns,
        &["web-0", "web-1", "web-2"],
        "Always",
        json!({"tier": "web"}),
    );
    vms_in_state(
        env,
        &ns,
        &["sick"],
        json!({"app": "sick"}),
        "Running",
        false,
    );
    vms_in_state(
        env,
        &ns,
        &["booting"],
        json!({"app": "booting"}),
        "Scheduling",
        false,
    );
    let protected = env.namespace("openshift");
    standalone(
        env,
        &protected,
        &["infra".to_string()],
        json!({"app": "infra"}),
    );
    Guarded { ns, protected }
}

/// Exit 2 with `message` and `hint` on stderr (and nothing in the cluster changed: the callers
/// compare UIDs).
fn assert_refused(out: &std::process::Output, what: &str, message: &str, hint: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert!(err.contains(message), "{what}: want {message:?} in:\n{err}");
    assert!(err.contains(hint), "{what}: want hint {hint:?} in:\n{err}");
}

fn full_outage(kind: &str, ns: &str, name: &str) -> String {
    format!("every serving replica of {kind} {ns}/{name} at once (2 of 2 Running and Ready)")
}

#[test]
fn every_guard_holds_for_outage_names() {
    let env = env_or_skip!();
    let Guarded { ns, protected } = guarded(&env, "g-names");
    let before = uids(&env, &ns);
    let outage = |args: &[&str]| {
        let mut all = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        all.extend_from_slice(args);
        env.run(&all)
    };
    let set = full_outage("VirtualMachineInstanceReplicaSet", &ns, "front");
    assert_refused(
        &outage(&["frontaaaaa", "frontbbbbb"]),
        "set",
        &set,
        "--allow-full-outage",
    );
    let out = outage(&["frontaaaaa", "frontbbbbb", "--allow-full-outage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // One replica of two, named alone (read by GET, then its set counted): fine.
    let out = outage(&["frontaaaaa"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pool = full_outage("VirtualMachinePool", &ns, "db");
    assert_refused(
        &outage(&["db-0", "db-1"]),
        "pool",
        &pool,
        "--allow-full-outage",
    );
    assert_refused(
        &outage(&["web-0", "web-1", "web-2", "--max-targets", "2"]),
        "max",
        "3 VMIs chosen, more than --max-targets 2",
        "--max-targets 3",
    );
    assert_refused(
        &outage(&["sick"]),
        "not ready",
        &format!("refusing VMI {ns}/sick: the VMI is Running but not Ready"),
        &format!("kubectl wait vmi sick -n {ns} --for=condition=Ready"),
    );
    assert_refused(
        &outage(&["web-0", "sick"]),
        "not ready, listed",
        &format!("refusing VMI {ns}/sick: the VMI is Running but not Ready"),
        "kubectl wait vmi sick",
    );
    assert_refused(
        &outage(&["booting"]),
        "not running",
        &format!("refusing VMI {ns}/booting: the VMI is Scheduling, not Running"),
        "kubectl vmchaos list",
    );
    let p = |args: &[&str]| {
        let mut all = vec!["outage", "-n", &protected, "--dry-run", "-o", "json"];
        all.extend_from_slice(args);
        env.run(&all)
    };
    assert_refused(
        &p(&["infra"]),
        "protected",
        &format!("namespace {protected} is protected"),
        "--allow-protected-namespace",
    );
    let infra = format!("{protected}/infra");
    assert_refused(
        &outage(&[&infra, "web-0"]),
        "protected by NAMESPACE/NAME",
        &format!("namespace {protected} is protected"),
        "--allow-protected-namespace",
    );
    let out = p(&["infra", "--allow-protected-namespace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(before, uids(&env, &ns));
}

#[test]
fn every_guard_holds_for_outage_flags() {
    let env = env_or_skip!();
    let Guarded { ns, protected } = guarded(&env, "g-flags");
    let before = uids(&env, &ns);
    let outage = |args: &[&str]| {
        let mut all = vec!["outage", "-n", &ns, "--dry-run", "-o", "json"];
        all.extend_from_slice(args);
        env.run(&all)
    };
    let set = full_outage("VirtualMachineInstanceReplicaSet", &ns, "front");
    assert_refused(
        &outage(&["-l", "app=front", "--all"]),
        "set",
        &set,
        "--allow-full-outage",
    );
    assert_refused(
        &outage(&["-l", "app=front", "--count", "2", "--seed", "1"]),
        "set, sampled",
        "only 1 of the 2 VMIs asked for can be chosen",
        "--allow-full-outage",
    );
    let out = outage(&["-l", "app=front", "--all", "--allow-full-outage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names_of(&json(&out)).len(), 2);
    let pool = full_outage("VirtualMachinePool", &ns, "db");
    assert_refused(
        &outage(&["-l", "app=db", "--all"]),
        "pool",
        &pool,
        "--allow-full-outage",
    );
    assert_refused(
        &outage(&["-l", "tier=web", "--all", "--max-targets", "2"]),
        "max",
        "3 VMIs chosen, more than --max-targets 2",
        "--max-targets 3",
    );
    // Not Ready, not running: left out of a set (and said why), so nothing is left to choose.
    assert_refused(
        &outage(&["-l", "app=sick", "--all"]),
        "not ready",
        &format!("{ns}/sick: the VMI is Running but not Ready"),
        "hint:",
    );
    assert_refused(
        &outage(&["-l", "app=booting", "--all"]),
        "not running",
        &format!("no running VMI in namespace {ns} matching app=booting"),
        "hint:",
    );
    let out = outage(&["-l", "tier=web", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_refused(
        &env.run(&["outage", "-n", &protected, "--all", "--dry-run"]),
        "protected",
        &format!("{protected}/infra: namespace {protected} is protected"),
        "hint:",
    );
    let out = env.run(&[
        "outage",
        "-n",
        &protected,
        "--all",
        "--dry-run",
        "--allow-protected-namespace",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(before, uids(&env, &ns));
}

fn scenario(dir: &std::path::Path, name: &str, ns: &str, params: &str) -> String {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!("scenarios:\n  - name: {name}\n    scenario: kubevirt_vm_outage\n    parameters:\n      namespace: {ns}\n{params}"),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn every_guard_holds_for_run_f() {
    let env = env_or_skip!();
    let Guarded { ns, protected } = guarded(&env, "g-run");
    let before = uids(&env, &ns);
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &str, extra: &[&str]| {
        let mut all = vec!["run", "-f", file, "--dry-run", "--seed", "5"];
        all.extend_from_slice(extra);
        env.run(&all)
    };
    let front = scenario(
        dir.path(),
        "front",
        &ns,
        "      vm_name: front.*\n      kill_count: 2\n",
    );
    let set = full_outage("VirtualMachineInstanceReplicaSet", &ns, "front");
    assert_refused(&run(&front, &[]), "set", &set, "--allow-full-outage");
    let out = run(&front, &["--allow-full-outage", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The plan names the replica set, not "standalone".
    assert!(
        stderr(&out).contains("VirtualMachineInstanceReplicaSet front"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("standalone"), "{}", stderr(&out));
    // kill_count above the matches is every match: a full outage too.
    let every = scenario(
        dir.path(),
        "every",
        &ns,
        "      vm_name: front.*\n      kill_count: 9\n",
    );
    assert_refused(
        &run(&every, &[]),
        "set, kill_count 9",
        &set,
        "--allow-full-outage",
    );
    let one = scenario(dir.path(), "one", &ns, "      vm_name: front.*\n");
    let out = run(&one, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["steps"][0]["fleet"]["targets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let pool = scenario(
        dir.path(),
        "pool",
        &ns,
        "      label_selector: app=db\n      kill_count: 2\n",
    );
    assert_refused(
        &run(&pool, &[]),
        "pool",
        &full_outage("VirtualMachinePool", &ns, "db"),
        "--allow-full-outage",
    );
    let web = scenario(
        dir.path(),
        "web",
        &ns,
        "      vm_name: web-.*\n      kill_count: 3\n",
    );
    assert_refused(
        &run(&web, &["--max-targets", "2"]),
        "max",
        "3 VMIs chosen, more than --max-targets 2",
        "--max-targets 3",
    );
    let out = run(&web, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sick = scenario(dir.path(), "sick", &ns, "      vm_name: sick\n");
    assert_refused(
        &run(&sick, &[]),
        "not ready",
        &format!("{ns}/sick: the VMI is Running but not Ready"),
        "hint:",
    );
    let booting = scenario(dir.path(), "booting", &ns, "      vm_name: booting\n");
    assert_refused(
        &run(&booting, &[]),
        "not running",
        "matches no running VMI: vm_name booting",
        "hint:",
    );
    let infra = scenario(dir.path(), "infra", &protected, "      vm_name: infra\n");
    assert_refused(
        &run(&infra, &[]),
        "protected",
        &format!("{protected}/infra: namespace {protected} is protected"),
        "hint:",
    );
    let out = run(&infra, &["--allow-protected-namespace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(before, uids(&env, &ns));
}

#[test]
fn every_guard_holds_for_schedule() {
    let env = env_or_skip!();
    let Guarded { ns, protected } = guarded(&env, "g-sched");
    let schedule = |namespace: &str, outage: &[&str]| {
        let mut all = vec![
            "schedule",
            "gd",
            "-n",
            namespace,
            "--cron",
            "0 3 * * 1",
            "--",
        ];
        all.extend_from_slice(outage);
        env.run(&all)
    };
    let set = full_outage("VirtualMachineInstanceReplicaSet", &ns, "front");
    assert_refused(
        &schedule(&ns, &["frontaaaaa", "frontbbbbb"]),
        "set by names",
        &set,
        "--allow-full-outage",
    );
    assert_refused(
        &schedule(&ns, &["-l", "app=front", "--all"]),
        "set by flags",
        &set,
        "--allow-full-outage",
    );
    // Every run of a sample of 2 of the 2 would be refused: refused now.
    assert_refused(
        &schedule(&ns, &["-l", "app=front", "--count", "2"]),
        "set, sampled",
        "only 1 of the 2 VMIs asked for can be chosen",
        "--allow-full-outage",
    );
    let out = schedule(&ns, &["-l", "app=front", "--all", "--allow-full-outage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_refused(
        &schedule(&ns, &["db-0", "db-1"]),
        "pool",
        &full_outage("VirtualMachinePool", &ns, "db"),
        "--allow-full-outage",
    );
    assert_refused(
        &schedule(&ns, &["web-0", "web-1", "web-2", "--max-targets", "2"]),
        "max",
        "3 VMIs chosen, more than --max-targets 2",
        "--max-targets 3",
    );
    assert_refused(
        &schedule(&ns, &["-l", "tier=web", "--all", "--max-targets", "2"]),
        "max by flags",
        "3 VMIs chosen, more than --max-targets 2",
        "--max-targets 3",
    );
    assert_refused(
        &schedule(&ns, &["sick"]),
        "not ready",
        &format!("refusing VMI {ns}/sick: the VMI is Running but not Ready"),
        "kubectl wait vmi sick",
    );
    assert_refused(
        &schedule(&ns, &["booting"]),
        "not running",
        &format!("refusing VMI {ns}/booting: the VMI is Scheduling, not Running"),
        "hint:",
    );
    assert_refused(
        &schedule(&protected, &["infra"]),
        "protected",
        &format!("namespace {protected} is protected"),
        "--allow-protected-namespace",
    );
    let out = schedule(&protected, &["infra", "--allow-protected-namespace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // One replica of the set: its run lists the namespace to count the set, and may.
    let out = schedule(&ns, &["frontaaaaa"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let role = docs.iter().find(|d| d["kind"] == "Role").unwrap();
    let vmi_rule = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resources"][0] == "virtualmachineinstances")
        .unwrap();
    assert!(
        vmi_rule["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("list")),
        "{role:#}"
    );
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    assert_eq!(
        cron["apiVersion"], "batch/v1",
        "the version this server serves"
    );
}

/// `list` names each VMI's real owner; the picker and `run`'s plan say the same in words.
#[test]
fn list_shows_the_real_owner() {
    let env = env_or_skip!();
    let ns = env.namespace("owners");
    let set = owner("VirtualMachineInstanceReplicaSet", "web", "rs-web-owners");
    let foreign = json!({"apiVersion": "example.com/v1", "kind": "MyOperatorThing",
        "name": "thing", "uid": "thing-uid", "controller": true});
    create_all(
        &env,
        &fixtures::vmi_resource(),
        vec![
            vmi(&ns, "webx7k2p", json!({}), Some(set)),
            vmi(&ns, "managed", json!({}), Some(foreign)),
            vmi(&ns, "alone", json!({}), None),
        ],
    );
    vms_with_vmis(&env, &ns, &["db-0"], "Always", json!({}));
    let out = env.run(&["list", "-n", &ns]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name}:\n{table}"))
            .to_string()
    };
    assert!(table.lines().next().unwrap().contains("OWNER"), "{table}");
    assert!(line("webx7k2p").contains("vmirs/web"), "{table}");
    assert!(line("managed").contains("myoperatorthing/thing"), "{table}");
    assert!(
        line("managed").ends_with("refused: foreign owner"),
        "{table}"
    );
    assert!(line("alone").contains("<none>"), "{table}");
    assert!(line("db-0").contains("vm/db-0"), "{table}");
    let out = env.run(&["list", "-n", &ns, "-o", "json"]);
    let rows = json(&out);
    let owner_of = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["owner"]
            .clone()
    };
    assert_eq!(
        owner_of("webx7k2p"),
        json!({"kind": "VirtualMachineInstanceReplicaSet", "name": "web"})
    );
    assert_eq!(owner_of("alone"), Value::Null);
}
