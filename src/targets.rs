//! The running VMIs an outage can target, with their owner VM and expected recovery: shown by
//! `list`, the interactive picker and completion.

use std::collections::HashMap;

use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;

use crate::{
    kubevirt::{self, Recovery, Vm, Vmi},
    plan,
};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub ready: bool,
    pub node: Option<String>,
    pub ip: Option<String>,
    pub uid: String,
    pub age: String,
    pub vm: Option<String>,
    pub run_strategy: Option<String>,
    pub expected_recovery: Recovery,
    /// Why an outage would refuse this VMI (None: it would go ahead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// VMIs in `namespace` (None: all namespaces), running ones first, each joined with its VM.
pub async fn list(
    client: &kube::Client,
    namespace: Option<&str>,
    running_only: bool,
) -> kube::Result<Vec<Target>> {
    let (vmis, vms): (Api<DynamicObject>, Api<DynamicObject>) = match namespace {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &kubevirt::vmi_resource()),
            Api::namespaced_with(client.clone(), ns, &kubevirt::vm_resource()),
        ),
        None => (
            Api::all_with(client.clone(), &kubevirt::vmi_resource()),
            Api::all_with(client.clone(), &kubevirt::vm_resource()),
        ),
    };
    let vmi_list = vmis.list(&ListParams::default()).await?;
    let owned = vmi_list
        .items
        .iter()
        .any(|o| Vmi::from_object(o).owner_vm.is_some());
    let vm_list = if owned {
        vms.list(&ListParams::default()).await?.items
    } else {
        Vec::new()
    };
    let by_name: HashMap<(String, String), Vm> = vm_list
        .iter()
        .map(|o| {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let vm = Vm::from_object(o);
            ((ns, vm.name.clone()), vm)
        })
        .collect();
    let now = k8s_openapi::jiff::Timestamp::now();
    let mut rows: Vec<Target> = vmi_list
        .items
        .iter()
        .map(Vmi::from_object)
        .filter(|v| !running_only || v.is_running())
        .map(|v| {
            let vm = v
                .owner_vm
                .as_ref()
                .and_then(|n| by_name.get(&(v.namespace.clone(), n.clone())));
            let plan = plan::decide(&v, vm, now);
            Target {
                expected_recovery: plan.recovery(),
                refused: plan.refusal().map(|r| r.reason()),
                age: v
                    .created
                    .map(|c| age(now.duration_since(c).as_secs()))
                    .unwrap_or_default(),
                vm: v.owner_vm.clone(),
                run_strategy: vm.map(|vm| vm.run_strategy.as_str().to_string()),
                phase: if v.terminating {
                    "Terminating".into()
                } else {
                    v.phase.clone()
                },
                ready: v.ready,
                namespace: v.namespace,
                name: v.name,
                node: v.node,
                ip: v.ip,
                uid: v.uid,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.phase != "Running", &a.namespace, &a.name).cmp(&(
            b.phase != "Running",
            &b.namespace,
            &b.name,
        ))
    });
    Ok(rows)
}

/// kubectl's age format: 45s, 12m, 5h, 3d.
pub fn age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// A kubectl-style table.
pub fn table(rows: &[Target], wide: bool, with_namespace: bool) -> String {
    let mut header = vec![];
    if with_namespace {
        header.push("NAMESPACE");
    }
    header.extend([
        "NAME",
        "PHASE",
        "READY",
        "NODE",
        "AGE",
        "VM",
        "RUNSTRATEGY",
        "RECOVERY",
    ]);
    if wide {
        header.extend(["IP", "UID"]);
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "<none>".into());
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let mut row = vec![];
        if with_namespace {
            row.push(r.namespace.clone());
        }
        row.extend([
            r.name.clone(),
            r.phase.clone(),
            if r.ready { "True" } else { "False" }.to_string(),
            dash(&r.node),
            r.age.clone(),
            dash(&r.vm),
            dash(&r.run_strategy),
            match &r.refused {
                Some(_) => "refused".to_string(),
                None => r.expected_recovery.as_str().to_string(),
            },
        ]);
        if wide {
            row.extend([dash(&r.ip), r.uid.clone()]);
        }
        cells.push(row);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_like_kubectl() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(3 * 3600), "3h");
        assert_eq!(age(5 * 86400), "5d");
        assert_eq!(age(-3), "0s");
    }

    #[test]
    fn table_aligns_columns() {
        let row = Target {
            namespace: "prod".into(),
            name: "db-0".into(),
            phase: "Running".into(),
            ready: true,
            node: Some("node-a".into()),
            ip: None,
            uid: "u".into(),
            age: "5m".into(),
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Recreate,
            refused: None,
        };
        let t = table(&[row], false, true);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE   NAME   PHASE"));
        assert!(lines[1].starts_with("prod        db-0   Running"));
        assert!(lines[1].ends_with("recreate"));
    }
}
