//! `kubectl vmchaos restore <snapshot>`: brings back what an outage left down, planned as the
//! outage plans: it reads the VMI's owner as it is now, then refuses or adapts (a replica set's
//! VMI is never re-created by hand; a VM kept down gets its runStrategy back; a VM that is gone
//! is re-created and, when its runStrategy needs it, started), says exactly what it changed,
//! and exits with the truth: 0 back, 1 not back in time, 2 nothing changed, 3 changed something
//! and then failed.

use std::time::Duration;

use kube::{
    api::{Api, DynamicObject, PostParams},
    runtime::wait::await_condition,
};

pub use crate::events::restore::{
    Change, Changed, KubeVirtDoes, Outcome, Restored, SavedOwner, Waiting,
};
use crate::{
    cluster::{self, Cluster},
    error::{api_code, Error, Result},
    kubevirt::{self, is_protected_namespace, Owner, RunStrategy, Vm, Vmi},
    outage::actions,
    render::restore as words,
    snapshot::{self, Snapshot},
};

impl SavedOwner {
    /// From `vmi.yaml`'s controller owner, checked against what `snapshot.yaml` says.
    pub fn of(snap: &Snapshot) -> Result<SavedOwner> {
        let saved = Vmi::from_object(&snap.vmi);
        let owner = match saved.owner {
            None => SavedOwner::Standalone,
            Some(Owner { kind, name, .. }) => match kind.as_str() {
                "VirtualMachine" => SavedOwner::Vm { name },
                "VirtualMachineInstanceReplicaSet" => SavedOwner::ReplicaSet { name },
                _ => SavedOwner::Other { kind, name },
            },
        };
        let agrees = match (&owner, &snap.meta.vm) {
            (SavedOwner::Vm { name }, Some(vm)) => name == vm,
            (SavedOwner::Vm { .. }, None) | (_, Some(_)) => false,
            (_, None) => true,
        };
        if !agrees {
            return Err(Error::BadSnapshot {
                path: snap.dir.clone(),
                reason: format!(
                    "{} names VM {} but {} {}: the files disagree",
                    snapshot::META_FILE,
                    snap.meta.vm.as_deref().unwrap_or("none"),
                    snapshot::VMI_FILE,
                    words::saved_owner(&owner)
                ),
            });
        }
        Ok(owner)
    }
}

/// The cluster as it is now, for the snapshot's VMI.
#[derive(Debug, Clone, Default)]
pub struct Now {
    /// A VMI with the snapshot's name.
    pub vmi: Option<Vmi>,
    /// Its VM (for a VM's VMI).
    pub vm: Option<Vm>,
}

/// One change `restore` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `--keep-down` left the VM at Manual: its runStrategy goes back.
    PutStrategyBack { vm: String, to: String },
    /// The VM is gone too: re-created from `vm.yaml`.
    RecreateVm { vm: String },
    /// The VM's runStrategy starts nothing by itself: virt-api's `start`.
    StartVm { vm: String },
    /// A standalone VMI: re-created from `vmi.yaml`.
    RecreateVmi,
}

/// What `restore` will do: the changes, and who brings the VMI back after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Nothing to change: what KubeVirt does by itself; None when the steps do it.
    pub waits_for: Option<KubeVirtDoes>,
}

fn refuse(message: String, hint: String) -> Error {
    Error::Usage {
        message,
        hint: Some(hint),
    }
}

/// The plan, a pure function of the snapshot and of the cluster now. An error changes nothing.
pub fn plan(snap: &Snapshot, owner: &SavedOwner, now: &Now) -> Result<Plan> {
    let (ns, name) = (&snap.meta.namespace, &snap.meta.name);
    let exists = |now: &Now| -> Error {
        let vmi = now.vmi.as_ref().expect("a VMI");
        Error::AlreadyRunning {
            name: name.clone(),
            namespace: ns.clone(),
            phase: if vmi.terminating {
                "terminating".into()
            } else {
                vmi.phase.clone()
            },
        }
    };
    let vm_name = match owner {
        SavedOwner::ReplicaSet { name: set } => {
            return Err(refuse(
                format!(
                    "VMI {ns}/{name} belonged to replica set {set}: the replica set replaces its VMIs under new names, and one re-created by hand would fight it; nothing was changed"
                ),
                format!("`kubectl get vmirs {set} -n {ns}` shows its replicas; if the replica set itself is gone, re-create it from your own manifests"),
            ))
        }
        SavedOwner::Other { kind, name: owner } => {
            return Err(refuse(
                format!("VMI {ns}/{name} was controlled by {kind} {owner}, whose recovery this tool does not know; nothing was changed"),
                format!("bring it back through {kind} {owner} itself"),
            ))
        }
        SavedOwner::Standalone => {
            // A crash leaves the saved VMI Failed: re-creating it deletes that one first.
            if now.vmi.is_some() && !crashed(snap, now) {
                return Err(exists(now));
            }
            return Ok(Plan {
                steps: vec![Step::RecreateVmi],
                waits_for: None,
            });
        }
        SavedOwner::Vm { name } => name.clone(),
    };
    let mut steps = Vec::new();
    let strategy = match &now.vm {
        Some(vm) => {
            let kept = snap
                .meta
                .kept_down
                .as_ref()
                .filter(|_| vm.run_strategy == RunStrategy::Manual);
            match kept {
                Some(from) => {
                    steps.push(Step::PutStrategyBack {
                        vm: vm_name.clone(),
                        to: from.clone(),
                    });
                    RunStrategy::parse(from)
                }
                None => vm.run_strategy.clone(),
            }
        }
        None => {
            let saved = snap.vm.as_ref().ok_or_else(|| Error::BadSnapshot {
                path: snap.dir.clone(),
                reason: format!(
                    "VM {vm_name} is gone and the snapshot has no {}",
                    snapshot::VM_FILE
                ),
            })?;
            let saved = Vm::from_object(saved);
            if let Some(pool) = &saved.pool {
                return Err(refuse(
                    format!("VM {ns}/{vm_name} belonged to pool {pool} and is gone: the pool re-creates its VMs, one re-created by hand would fight it; nothing was changed"),
                    format!("`kubectl get vmpool {pool} -n {ns}` shows its VMs"),
                ));
            }
            if now.vmi.is_some() {
                // A VMI of that name without its VM: someone else's, or about to go.
                return Err(exists(now));
            }
            steps.push(Step::RecreateVm {
                vm: vm_name.clone(),
            });
            // A new VM: Always, Once and RerunOnFailure start by themselves, Manual doesn't.
            return match saved.run_strategy {
                RunStrategy::Manual => {
                    steps.push(Step::StartVm { vm: vm_name });
                    Ok(Plan {
                        steps,
                        waits_for: None,
                    })
                }
                RunStrategy::Always | RunStrategy::Once | RunStrategy::RerunOnFailure => Ok(Plan {
                    steps,
                    waits_for: None,
                }),
                other => Err(refuse(
                    format!(
                        "the saved VM {ns}/{vm_name} has runStrategy {}: re-created, it would not run; nothing was changed",
                        other.as_str()
                    ),
                    format!("re-create it yourself from {}", snapshot::VM_FILE),
                )),
            };
        }
    };
    if crashed(snap, now) {
        // `--fault crash` left the VMI Failed: KubeVirt deletes and restarts a Failed VMI under
        // Always and RerunOnFailure (virt-api refuses `start` then); Manual needs the `start`,
        // which stops the Failed VMI and starts a new one.
        return match strategy {
            RunStrategy::Always | RunStrategy::RerunOnFailure => Ok(Plan {
                steps,
                waits_for: Some(KubeVirtDoes::RestartsFailedVmi {
                    vm: vm_name,
                    strategy,
                }),
            }),
            RunStrategy::Manual => {
                steps.push(Step::StartVm { vm: vm_name });
                Ok(Plan {
                    steps,
                    waits_for: None,
                })
            }
            _ if steps.is_empty() => Err(exists(now)),
            _ => Ok(Plan {
                steps,
                waits_for: None,
            }),
        };
    }
    if now.vmi.is_some() {
        // The VMI is back (or still there): only a runStrategy left at Manual is put back.
        if steps.is_empty() {
            return Err(exists(now));
        }
        return Ok(Plan {
            steps,
            waits_for: None,
        });
    }
    match strategy {
        RunStrategy::Always | RunStrategy::Once if steps.is_empty() => Ok(Plan {
            steps,
            waits_for: Some(KubeVirtDoes::RecreatesVmi {
                vm: vm_name,
                strategy,
            }),
        }),
        RunStrategy::Always | RunStrategy::Once => Ok(Plan {
            steps,
            waits_for: None,
        }),
        RunStrategy::Manual | RunStrategy::RerunOnFailure => {
            steps.push(Step::StartVm { vm: vm_name });
            Ok(Plan {
                steps,
                waits_for: None,
            })
        }
        RunStrategy::Halted => Err(refuse(
            format!("VM {ns}/{vm_name} is Halted now: someone stopped it on purpose; nothing was changed"),
            format!("if it should run, start it: `virtctl start {vm_name} -n {ns}`"),
        )),
        RunStrategy::Other(s) => Err(refuse(
            format!("VM {ns}/{vm_name} has runStrategy {s}, which this version does not know; nothing was changed"),
            "upgrade kubectl-vmchaos, or start the VM yourself".into(),
        )),
    }
}

/// The snapshot's own VMI is still there, Failed (a crash), not being deleted.
fn crashed(snap: &Snapshot, now: &Now) -> bool {
    now.vmi
        .as_ref()
        .is_some_and(|v| v.phase == "Failed" && !v.terminating && v.uid == snap.meta.uid)
}

/// `restore`'s arguments, from `cli::RestoreArgs` and the global flags.
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    /// A snapshot folder printed by `outage` (or the vmi.yaml inside it).
    pub snapshot: std::path::PathBuf,
    /// How long to wait for the restored VMI to be Running and Ready.
    pub timeout: Duration,
    pub allow_protected_namespace: bool,
    /// The global flags' connection; its context defaults to the snapshot's.
    pub connection: cluster::Connection,
}

/// Carries out the plan, tells `waiting` what it changed before it waits, and returns how the
/// wait ended (`render::restore` words both).
pub async fn run(args: &RestoreConfig, waiting: impl FnOnce(&Waiting)) -> Result<Restored> {
    let snap = snapshot::load(&args.snapshot)?;
    let meta = &snap.meta;
    if let Some(ns) = &args.connection.namespace {
        if *ns != meta.namespace {
            return Err(Error::usage(
                format!("the snapshot is of namespace {}, not {ns}", meta.namespace),
                "drop -n: restore always uses the snapshot's namespace",
            ));
        }
    }
    if is_protected_namespace(&meta.namespace) && !args.allow_protected_namespace {
        return Err(Error::ProtectedNamespace {
            namespace: meta.namespace.clone(),
        });
    }
    let owner = SavedOwner::of(&snap)?;
    let mut connection = args.connection.clone();
    if connection.context.is_none() && meta.context != "in-cluster" {
        connection.context = Some(meta.context.clone());
    }
    let cluster = cluster::connect(&connection, Duration::from_secs(10)).await?;
    let (ns, name) = (meta.namespace.as_str(), meta.name.as_str());
    let vmis: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource());
    let vms: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vm_resource());
    let vmi = cluster
        .bounded(vmis.get_opt(name))
        .await
        .map_err(|e| cluster.request_error(format!("get VMI {ns}/{name}"), e))?
        .as_ref()
        .map(Vmi::from_object);
    let vm = match &owner {
        SavedOwner::Vm { name: vm } => cluster
            .bounded(vms.get_opt(vm))
            .await
            .map_err(|e| cluster.request_error(format!("get VM {ns}/{vm}"), e))?
            .as_ref()
            .map(Vm::from_object),
        _ => None,
    };
    let now = Now { vmi, vm };
    let plan = plan(&snap, &owner, &now)?;
    let mut done: Vec<Change> = Vec::new();
    for step in &plan.steps {
        match carry_out(&cluster, &snap, step).await {
            Ok(change) => done.push(change),
            Err(e) if done.is_empty() => return Err(e),
            Err(e) => return Err(failed_after(&done, &e, &snap, &cluster)),
        }
    }
    let waited = Waiting {
        namespace: ns.to_string(),
        name: name.to_string(),
        changed: Changed::of(done.clone(), plan.waits_for),
        timeout: args.timeout,
    };
    waiting(&waited);
    let ready = await_condition(vmis, name, |obj: Option<&DynamicObject>| {
        obj.map(Vmi::from_object)
            .is_some_and(|v| v.is_running() && v.ready)
    });
    match tokio::time::timeout(args.timeout, ready).await {
        Ok(Ok(Some(obj))) => {
            let vmi = Vmi::from_object(&obj);
            Ok(Restored {
                waited,
                outcome: Outcome::Ready {
                    node: vmi.node,
                    uid: vmi.uid,
                },
            })
        }
        Ok(Ok(None)) | Err(_) => Ok(Restored {
            waited,
            outcome: Outcome::NotReady,
        }),
        Ok(Err(kube::runtime::wait::Error::ProbeFailed(e))) => {
            let e = Error::usage(
                format!(
                    "failed to watch VMI {ns}/{name}: {}",
                    crate::error::describe_watch(&e)
                ),
                format!("check it with `kubectl get vmi {name} -n {ns}`"),
            );
            if done.is_empty() {
                Err(e)
            } else {
                Err(failed_after(&done, &e, &snap, &cluster))
            }
        }
    }
}

/// A failure after `restore` changed something: exit 3, with what it changed.
fn failed_after(done: &[Change], error: &Error, snap: &Snapshot, cluster: &Cluster) -> Error {
    Error::AfterInject {
        message: format!("restore changed: {}; then {error}", words::changes(done)),
        hint: format!(
            "look at `kubectl get vm,vmi -n {}`; once the cause is fixed, run {} again",
            snap.meta.namespace,
            snapshot::restore_command(&snap.dir, &cluster.context)
        ),
    }
}

/// One step; returns what it changed.
async fn carry_out(cluster: &Cluster, snap: &Snapshot, step: &Step) -> Result<Change> {
    let ns = snap.meta.namespace.as_str();
    let client = &cluster.client;
    match step {
        Step::PutStrategyBack { vm, to } => {
            match cluster
                .bounded(actions::switch_run_strategy(client, ns, vm, "Manual", to))
                .await
            {
                Ok(()) => Ok(Change::PutStrategyBack {
                    vm: vm.clone(),
                    to: to.clone(),
                }),
                // The test op failed: it is no longer Manual, someone changed it meanwhile.
                Err(e) if api_code(&e) == Some(422) => Ok(Change::LeftStrategy { vm: vm.clone() }),
                Err(e) => Err(cluster
                    .request_error(format!("put VM {ns}/{vm}'s runStrategy back to {to}"), e)),
            }
        }
        Step::RecreateVm { vm } => {
            let saved = snap.vm.as_ref().expect("the plan checked vm.yaml");
            let vms: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), ns, &kubevirt::vm_resource());
            match cluster
                .bounded(vms.create(
                    &PostParams::default(),
                    &snapshot::manifest_for_recreate(saved),
                ))
                .await
            {
                Ok(_) => Ok(Change::RecreatedVm { vm: vm.clone() }),
                Err(e) => Err(cluster.request_error(format!("re-create VM {ns}/{vm}"), e)),
            }
        }
        Step::StartVm { vm } => cluster
            .bounded(actions::start_vm(client, ns, vm, false))
            .await
            .map(|()| Change::StartedVm { vm: vm.clone() })
            .map_err(|e| cluster.request_error(format!("start VM {ns}/{vm}"), e)),
        // A crashed (Failed) VMI of the snapshot's UID is deleted first.
        Step::RecreateVmi => match cluster
            .bounded(actions::recreate_after_crash(
                client,
                &snap.vmi,
                Duration::from_secs(10),
            ))
            .await
            .map_err(|e| {
                cluster.request_error(format!("re-create VMI {ns}/{}", snap.meta.name), e)
            })? {
            actions::Recreated::Created { .. } => Ok(Change::RecreatedVmi {
                vmi: snap.meta.name.clone(),
            }),
            actions::Recreated::AlreadyExists => Ok(Change::VmiRecreatedByOthers {
                vmi: snap.meta.name.clone(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{error::Exit, kubevirt::Recovery, snapshot::SnapshotMeta};
    use serde_json::json;

    fn object(v: serde_json::Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    fn owner_ref(kind: &str, name: &str) -> serde_json::Value {
        json!([{"apiVersion": "kubevirt.io/v1", "kind": kind, "name": name, "uid": "o1", "controller": true}])
    }

    fn snap(
        owner: Option<(&str, &str)>,
        vm: Option<serde_json::Value>,
        kept: Option<&str>,
    ) -> Snapshot {
        let mut meta = json!({"name": "db-0", "namespace": "prod", "uid": "u1"});
        if let Some((kind, name)) = owner {
            meta["ownerReferences"] = owner_ref(kind, name);
        }
        Snapshot {
            dir: "/snap".into(),
            meta: SnapshotMeta {
                tool_version: "0.1.0".into(),
                context: "c".into(),
                server: "s".into(),
                namespace: "prod".into(),
                name: "db-0".into(),
                uid: "u1".into(),
                vm: owner
                    .filter(|(k, _)| *k == "VirtualMachine")
                    .map(|(_, n)| n.to_string()),
                run_strategy: None,
                expected_recovery: Recovery::Start,
                kept_down: kept.map(str::to_string),
                saved_at: "2026-11-25T05:00:00.123Z".into(),
            },
            vmi: object(
                json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": meta}),
            ),
            vm: vm.map(object),
        }
    }

    fn saved_vm(strategy: &str, pool: bool) -> serde_json::Value {
        let mut meta = json!({"name": "db-0", "namespace": "prod", "uid": "v1"});
        if pool {
            meta["ownerReferences"] = owner_ref("VirtualMachinePool", "pool");
        }
        json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": meta,
               "spec": {"runStrategy": strategy}})
    }

    fn vm_now(strategy: &str) -> Vm {
        Vm::from_object(&object(saved_vm(strategy, false)))
    }

    fn running() -> Vmi {
        Vmi {
            name: "db-0".into(),
            phase: "Running".into(),
            ready: true,
            ..Vmi::default()
        }
    }

    fn decide(s: &Snapshot, now: Now) -> Result<Plan> {
        let owner = SavedOwner::of(s)?;
        plan(s, &owner, &now)
    }

    fn steps(s: &Snapshot, now: Now) -> Vec<Step> {
        decide(s, now).unwrap().steps
    }

    #[test]
    fn a_manual_vm_that_is_gone_is_re_created_and_started() {
        let s = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Manual", false)),
            None,
        );
        assert_eq!(
            steps(&s, Now::default()),
            vec![
                Step::RecreateVm { vm: "db-0".into() },
                Step::StartVm { vm: "db-0".into() }
            ]
        );
        // A new Always or RerunOnFailure VM starts by itself: no start request.
        for strategy in ["Always", "RerunOnFailure", "Once"] {
            let s = snap(
                Some(("VirtualMachine", "db-0")),
                Some(saved_vm(strategy, false)),
                None,
            );
            assert_eq!(
                steps(&s, Now::default()),
                vec![Step::RecreateVm { vm: "db-0".into() }],
                "{strategy}"
            );
        }
    }

    #[test]
    fn a_vm_that_exists_is_started_only_when_its_run_strategy_needs_it() {
        let s = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Manual", false)),
            None,
        );
        let with = |strategy: &str| Now {
            vmi: None,
            vm: Some(vm_now(strategy)),
        };
        assert_eq!(
            steps(&s, with("Manual")),
            vec![Step::StartVm { vm: "db-0".into() }]
        );
        assert_eq!(
            steps(&s, with("RerunOnFailure")),
            vec![Step::StartVm { vm: "db-0".into() }]
        );
        let always = decide(&s, with("Always")).unwrap();
        assert!(always.steps.is_empty());
        assert_eq!(
            always.waits_for,
            Some(KubeVirtDoes::RecreatesVmi {
                vm: "db-0".into(),
                strategy: RunStrategy::Always
            })
        );
        assert!(decide(&s, with("Halted"))
            .unwrap_err()
            .to_string()
            .contains("Halted"));
        // Its VMI runs: nothing to restore (exit 2).
        let err = decide(
            &s,
            Now {
                vmi: Some(running()),
                vm: Some(vm_now("Manual")),
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::AlreadyRunning { .. }), "{err}");
    }

    #[test]
    fn a_kept_down_vm_gets_its_run_strategy_back() {
        let s = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Always", false)),
            Some("Always"),
        );
        let put_back = Step::PutStrategyBack {
            vm: "db-0".into(),
            to: "Always".into(),
        };
        // Down and at Manual: put back, and KubeVirt re-creates it (no start).
        let manual = Now {
            vmi: None,
            vm: Some(vm_now("Manual")),
        };
        assert_eq!(steps(&s, manual), vec![put_back.clone()]);
        // Running but left at Manual: put back all the same.
        let running_manual = Now {
            vmi: Some(running()),
            vm: Some(vm_now("Manual")),
        };
        assert_eq!(steps(&s, running_manual), vec![put_back]);
        // Already Always again: nothing to put back.
        let always = Now {
            vmi: None,
            vm: Some(vm_now("Always")),
        };
        assert!(steps(&s, always).is_empty());
    }

    #[test]
    fn a_replica_set_or_pool_vmi_is_never_re_created_by_hand() {
        let s = snap(
            Some(("VirtualMachineInstanceReplicaSet", "web")),
            None,
            None,
        );
        let err = decide(&s, Now::default()).unwrap_err();
        assert!(err.to_string().contains("replica set web"), "{err}");
        assert_eq!(err.exit(), Exit::NothingChanged);
        assert!(err.hint().unwrap().contains("kubectl get vmirs web"));
        let s = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Always", true)),
            None,
        );
        let err = decide(&s, Now::default()).unwrap_err();
        assert!(err.to_string().contains("pool pool"), "{err}");
        // A pool VM that exists is started or waited for like any VM.
        let now = Now {
            vmi: None,
            vm: Some(vm_now("Manual")),
        };
        assert_eq!(steps(&s, now), vec![Step::StartVm { vm: "db-0".into() }]);
        let s = snap(Some(("Deployment", "x")), None, None);
        assert!(decide(&s, Now::default())
            .unwrap_err()
            .to_string()
            .contains("Deployment x"));
    }

    #[test]
    fn a_standalone_vmi_is_re_created_unless_one_exists() {
        let s = snap(None, None, None);
        assert_eq!(steps(&s, Now::default()), vec![Step::RecreateVmi]);
        let err = decide(
            &s,
            Now {
                vmi: Some(running()),
                vm: None,
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::AlreadyRunning { .. }));
    }

    /// `--fault crash` left the saved VMI Failed: restore brings it back as KubeVirt's rules for
    /// a Failed VMI say (the command the outage suggests must work).
    #[test]
    fn a_crashed_vmi_left_failed_is_brought_back() {
        let failed = Vmi {
            uid: "u1".into(),
            phase: "Failed".into(),
            ready: false,
            ..running()
        };
        let crashed = |vm: Option<Vm>| Now {
            vmi: Some(failed.clone()),
            vm,
        };
        let standalone = snap(None, None, None);
        assert_eq!(steps(&standalone, crashed(None)), vec![Step::RecreateVmi]);
        let owned = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Manual", false)),
            None,
        );
        assert_eq!(
            steps(&owned, crashed(Some(vm_now("Manual")))),
            vec![Step::StartVm { vm: "db-0".into() }]
        );
        for strategy in ["Always", "RerunOnFailure"] {
            let plan = decide(&owned, crashed(Some(vm_now(strategy)))).unwrap();
            assert!(plan.steps.is_empty(), "{strategy}");
            assert_eq!(
                plan.waits_for,
                Some(KubeVirtDoes::RestartsFailedVmi {
                    vm: "db-0".into(),
                    strategy: RunStrategy::parse(strategy)
                }),
                "{strategy}"
            );
        }
        // Kept down through the crash: Always goes back, and KubeVirt does the rest.
        let kept = snap(
            Some(("VirtualMachine", "db-0")),
            Some(saved_vm("Always", false)),
            Some("Always"),
        );
        assert_eq!(
            steps(&kept, crashed(Some(vm_now("Manual")))),
            vec![Step::PutStrategyBack {
                vm: "db-0".into(),
                to: "Always".into()
            }]
        );
        // A Failed VMI that is not the saved one is someone else's: refused.
        let other = Now {
            vmi: Some(Vmi {
                uid: "u2".into(),
                ..failed.clone()
            }),
            vm: None,
        };
        assert!(matches!(
            decide(&standalone, other),
            Err(Error::AlreadyRunning { .. })
        ));
    }

    #[test]
    fn the_owner_in_vmi_yaml_must_agree_with_snapshot_yaml() {
        let mut s = snap(Some(("VirtualMachine", "db-0")), None, None);
        s.meta.vm = Some("other".into());
        assert!(matches!(SavedOwner::of(&s), Err(Error::BadSnapshot { .. })));
        let mut s = snap(None, None, None);
        s.meta.vm = Some("db-0".into());
        assert!(matches!(SavedOwner::of(&s), Err(Error::BadSnapshot { .. })));
    }
}
