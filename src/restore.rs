//! `kubectl vmchaos restore <snapshot>`: re-creates a VMI (or starts its VM, or re-creates a VM
//! that is gone too) from a snapshot saved by `outage`. Refuses when the VMI already exists.

use std::time::Duration;

use kube::{
    api::{Api, DynamicObject, PostParams},
    runtime::wait::await_condition,
};

use crate::{
    cli::{GlobalArgs, RestoreArgs},
    cluster,
    error::{api_code, Error, Exit, Result},
    kubevirt::{self, RunStrategy, Vm, Vmi},
    outage::actions,
    render::format_duration,
    snapshot,
};

/// Returns the exit code and the one-line result for stdout.
pub async fn run(global: &GlobalArgs, args: &RestoreArgs) -> Result<(Exit, String)> {
    let snap = snapshot::load(&args.snapshot)?;
    let meta = &snap.meta;
    if let Some(ns) = &global.namespace {
        if *ns != meta.namespace {
            return Err(Error::usage(
                format!("the snapshot is of namespace {}, not {ns}", meta.namespace),
                "drop -n: restore always uses the snapshot's namespace",
            ));
        }
    }
    let mut global = global.clone();
    if global.context.is_none() && meta.context != "in-cluster" {
        global.context = Some(meta.context.clone());
    }
    let cluster = cluster::connect(&global, Duration::from_secs(10)).await?;
    let (ns, name) = (meta.namespace.as_str(), meta.name.as_str());
    let vmis: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vmi_resource());
    let existing = cluster
        .bounded(vmis.get_opt(name))
        .await
        .map_err(|e| cluster.request_error(format!("get VMI {ns}/{name}"), e))?;
    let mut done = Vec::new();
    if let (Some(from), Some(vm_name)) = (&meta.kept_down, &meta.vm) {
        // `--keep-down` switched the VM to Manual: put its runStrategy back first.
        match cluster
            .bounded(actions::switch_run_strategy(
                &cluster.client,
                ns,
                vm_name,
                "Manual",
                from,
            ))
            .await
        {
            Ok(()) => done.push(format!("put VM {vm_name}'s runStrategy back to {from}")),
            // The test op failed: it is no longer Manual, someone changed it already.
            Err(e) if api_code(&e) == Some(422) => {}
            Err(e) => {
                return Err(cluster.request_error(
                    format!("put VM {ns}/{vm_name}'s runStrategy back to {from}"),
                    e,
                ))
            }
        }
    }
    if let Some(existing) = existing {
        if !done.is_empty() {
            return Ok((
                Exit::Recovered,
                format!("restore: {}; VMI {ns}/{name} exists", done.join("; ")),
            ));
        }
        let vmi = Vmi::from_object(&existing);
        let phase = if vmi.terminating {
            "terminating".to_string()
        } else {
            vmi.phase
        };
        return Err(Error::AlreadyRunning {
            name: name.into(),
            namespace: ns.into(),
            phase,
        });
    }
    let action = match (&meta.vm, &snap.vm) {
        (Some(vm_name), saved_vm) => {
            let vms: Api<DynamicObject> =
                Api::namespaced_with(cluster.client.clone(), ns, &kubevirt::vm_resource());
            match cluster
                .bounded(vms.get_opt(vm_name))
                .await
                .map_err(|e| cluster.request_error(format!("get VM {ns}/{vm_name}"), e))?
            {
                Some(obj) => {
                    let vm = Vm::from_object(&obj);
                    match vm.run_strategy {
                        RunStrategy::Always | RunStrategy::Once => {
                            format!(
                                "VM {vm_name} has runStrategy {}: waiting for KubeVirt",
                                vm.run_strategy.as_str()
                            )
                        }
                        RunStrategy::Halted => {
                            return Err(Error::usage(
                                format!(
                                "VM {ns}/{vm_name} is Halted now: someone stopped it on purpose"
                            ),
                                format!(
                                    "if it should run, start it: `virtctl start {vm_name} -n {ns}`"
                                ),
                            ))
                        }
                        _ => {
                            cluster
                                .bounded(actions::start_vm(&cluster.client, ns, vm_name, false))
                                .await
                                .map_err(|e| {
                                    cluster.request_error(format!("start VM {ns}/{vm_name}"), e)
                                })?;
                            format!("started VM {vm_name}")
                        }
                    }
                }
                None => {
                    let saved = saved_vm.as_ref().ok_or_else(|| Error::BadSnapshot {
                        path: snap.dir.clone(),
                        reason: format!(
                            "VM {vm_name} is gone and the snapshot has no {}",
                            snapshot::VM_FILE
                        ),
                    })?;
                    cluster
                        .bounded(vms.create(
                            &PostParams::default(),
                            &snapshot::manifest_for_recreate(saved),
                        ))
                        .await
                        .map_err(|e| {
                            cluster.request_error(format!("re-create VM {ns}/{vm_name}"), e)
                        })?;
                    format!("re-created VM {vm_name} from the snapshot")
                }
            }
        }
        (None, _) => match cluster
            .bounded(actions::recreate_vmi(&cluster.client, &snap.vmi))
            .await
            .map_err(|e| cluster.request_error(format!("re-create VMI {ns}/{name}"), e))?
        {
            actions::Recreated::Created { .. } => {
                "re-created the VMI from the snapshot".to_string()
            }
            actions::Recreated::AlreadyExists => "someone re-created it first".to_string(),
        },
    };
    done.push(action);
    let action = done.join("; ");
    eprintln!(
        "restore: {action}; waiting up to {} for Running and Ready",
        format_duration(args.timeout)
    );
    let ready = await_condition(vmis, name, |obj: Option<&DynamicObject>| {
        obj.map(Vmi::from_object)
            .is_some_and(|v| v.is_running() && v.ready)
    });
    match tokio::time::timeout(args.timeout, ready).await {
        Ok(Ok(Some(obj))) => {
            let vmi = Vmi::from_object(&obj);
            Ok((
                Exit::Recovered,
                format!(
                    "restored VMI {ns}/{name}: Running and Ready on {} (uid {})",
                    vmi.node.as_deref().unwrap_or("?"),
                    vmi.uid
                ),
            ))
        }
        Ok(Ok(None)) | Err(_) => Ok((
            Exit::NotRecovered,
            format!(
                "VMI {ns}/{name} is not Running and Ready after {}",
                format_duration(args.timeout)
            ),
        )),
        Ok(Err(kube::runtime::wait::Error::ProbeFailed(e))) => Err(Error::usage(
            format!(
                "failed to watch VMI {ns}/{name}: {}",
                crate::error::describe_watch(&e)
            ),
            "check it with kubectl get vmi",
        )),
    }
}
