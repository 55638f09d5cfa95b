//! The VMIs an outage can target, with their owner and recovery plan: shown by `list`, the
//! interactive picker and completion, and the rows `selection::choose` picks from.
//!
//! Listing scales to thousands of VMIs: the VMIs come in pages (`limit` + `continue`, like
//! `kubectl get`), each page is read into small structs that skip the spec and every field the
//! plan doesn't read, and owner VMs are fetched only for the VMIs that have one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::{
    api::{ApiResource, DynamicObject, GetParams, ListParams},
    core::Request,
    Resource,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    kubevirt::{self, Recovery, Vm, Vmi},
    plan::{self, Plan},
};

/// Page size of every LIST, as `kubectl get` uses; `VMCHAOS_PAGE_SIZE` overrides it (tests use a
/// small one to cross page boundaries).
pub const PAGE_SIZE: u32 = 500;

/// Up to this many owner VMs are read one by one (concurrently, over the one HTTP/2
/// connection); more than that, a paginated LIST is cheaper.
const VM_GETS_MAX: usize = 16;

fn page_size() -> u32 {
    std::env::var("VMCHAOS_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PAGE_SIZE)
}

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
    /// The replica set or pool this VMI is one replica of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// What controls the VMI (its controller ownerReference): a VM, a replica set, or another
    /// controller. None: a standalone VMI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerRef>,
    /// The recovery plan (`plan::decide`), which the columns above summarise.
    #[serde(skip)]
    pub plan: Plan,
}

impl Target {
    /// Phase Running and not being deleted: it counts as up (whatever its plan).
    pub fn is_running(&self) -> bool {
        self.phase == "Running"
    }

    /// The plan lets an outage go ahead.
    pub fn is_candidate(&self) -> bool {
        self.plan.refusal().is_none()
    }

    /// Up and serving: Running and Ready. Only these count as a replica that keeps a set up.
    pub fn is_serving(&self) -> bool {
        self.is_running() && self.ready
    }

    /// Its owner in words, for the picker and plans: `VM db-0 (Always)`, `VM db-0 of
    /// VirtualMachinePool db (Always)`, `VirtualMachineInstanceReplicaSet web`, another
    /// controller's kind and name, or `standalone`.
    pub fn owner_words(&self) -> String {
        owner_words(
            self.owner.as_ref(),
            self.run_strategy.as_deref(),
            self.group.as_ref(),
        )
    }
}

/// A VMI's controller.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
}

impl OwnerRef {
    /// As `kubectl get` names an object: `vm/db-0`, `vmirs/web`, `mykind/x` (the OWNER column).
    pub fn short(&self) -> String {
        let kind = match self.kind.as_str() {
            "VirtualMachine" => "vm".to_string(),
            "VirtualMachineInstanceReplicaSet" => "vmirs".to_string(),
            other => other.to_ascii_lowercase(),
        };
        format!("{kind}/{}", self.name)
    }
}

/// An owner in words (see [`Target::owner_words`]); `run_strategy` is the VM's, when read.
pub fn owner_words(
    owner: Option<&OwnerRef>,
    run_strategy: Option<&str>,
    group: Option<&Group>,
) -> String {
    let Some(owner) = owner else {
        return "standalone".into();
    };
    if owner.kind != "VirtualMachine" {
        return format!("{} {}", owner.kind, owner.name);
    }
    let pool = group
        .filter(|g| g.kind == GroupKind::VirtualMachinePool)
        .map(|g| format!(" of VirtualMachinePool {}", g.name))
        .unwrap_or_default();
    let strategy = run_strategy.map(|s| format!(" ({s})")).unwrap_or_default();
    format!("VM {}{pool}{strategy}", owner.name)
}

/// A set of interchangeable replicas: a VirtualMachineInstanceReplicaSet's VMIs, or the VMIs of
/// a VirtualMachinePool's VMs. An outage of all of them at once is a full outage.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub kind: GroupKind,
    pub name: String,
    /// The replica set's UID; for a pool (reached through its VM) its namespace/name.
    pub key: String,
    /// How many of its VMIs are up: Running and Ready (a replica that is not Ready serves no
    /// one), also those an outage would refuse. Counted from the listing, or read from the
    /// set's status (`readyReplicas`) when a label selector may have hidden some of them.
    pub running: u32,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKind {
    VirtualMachineInstanceReplicaSet,
    VirtualMachinePool,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::VirtualMachineInstanceReplicaSet => "VirtualMachineInstanceReplicaSet",
            GroupKind::VirtualMachinePool => "VirtualMachinePool",
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    /// None: all namespaces.
    pub namespace: Option<&'a str>,
    /// A label selector, sent to the API server as `labelSelector`.
    pub selector: Option<&'a str>,
    /// Only VMIs in phase Running (not terminating).
    pub running_only: bool,
    /// The plans are for this fault (`--fault`).
    pub fault: crate::plan::Fault,
}

/// VMIs in `namespace` (None: all namespaces), running ones first, each joined with its VM.
pub async fn list(
    client: &kube::Client,
    namespace: Option<&str>,
    running_only: bool,
) -> kube::Result<Vec<Target>> {
    list_with(
        client,
        &Query {
            namespace,
            selector: None,
            running_only,
            fault: crate::plan::Fault::Delete,
        },
    )
    .await
}

/// VMIs matching `query`, running ones first, each with its plan (and owner VM, replica group).
pub async fn list_with(client: &kube::Client, query: &Query<'_>) -> kube::Result<Vec<Target>> {
    let params = ListParams {
        label_selector: query.selector.map(str::to_string),
        ..ListParams::default()
    };
    // When the first page shows owned VMIs and more pages follow, the owner VMs will be read
    // through a LIST anyway: read them alongside the remaining VMI pages rather than after them.
    let (prefetch_tx, prefetch_rx) = tokio::sync::oneshot::channel::<bool>();
    let mut prefetch_tx = Some(prefetch_tx);
    let mut vmis: Vec<Vmi> = Vec::new();
    let vmi_resource = kubevirt::vmi_resource();
    let vmi_pages = async {
        let listed = for_each_page(
            client,
            &vmi_resource,
            query.namespace,
            params,
            |items: Vec<LeanVmi>, more| {
                for item in items {
                    let vmi = Vmi::from_object(&item.into_object());
                    if !query.running_only || vmi.is_running() {
                        vmis.push(vmi);
                    }
                }
                if let Some(tx) = prefetch_tx.take() {
                    let _ = tx.send(more && vmis.iter().any(|v| v.owner_vm.is_some()));
                }
            },
        )
        .await;
        // A first page that failed never sent: the VM prefetch must not wait for it.
        prefetch_tx = None;
        listed
    };
    let vm_pages = async {
        match prefetch_rx.await {
            Ok(true) => all_vms(client, query.namespace).await.map(Some),
            _ => Ok(None),
        }
    };
    let (listed, prefetched) = futures::join!(vmi_pages, vm_pages);
    listed?;
    let wanted: BTreeSet<(String, String)> = vmis
        .iter()
        .filter_map(|v| Some((v.namespace.clone(), v.owner_vm.clone()?)))
        .collect();
    let vms = match prefetched? {
        Some(mut all) => {
            all.retain(|key, _| wanted.contains(key));
            all
        }
        None => owner_vms(client, query.namespace, &wanted).await?,
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    let mut rows: Vec<Target> = vmis
        .into_iter()
        .map(|v| {
            let vm = v
                .owner_vm
                .as_ref()
                .and_then(|n| vms.get(&(v.namespace.clone(), n.clone())));
            row(v, vm, now, query.fault)
        })
        .collect();
    count_running_replicas(&mut rows);
    if query.selector.is_some() {
        // The selector may have hidden replicas that run: ask each set how many are ready.
        read_group_status(client, &mut rows).await;
    }
    rows.sort_by(|a, b| {
        (!a.is_running(), &a.namespace, &a.name).cmp(&(!b.is_running(), &b.namespace, &b.name))
    });
    Ok(rows)
}

/// A VMI read on its own (and its VM), as a row with its plan: what `selection` judges when one
/// VMI is named. Its group's count is not known from one VMI: the caller lists its namespace
/// when it has a group.
pub fn row_of(vmi: &Vmi, vm: Option<&Vm>, fault: crate::plan::Fault) -> Target {
    let mut rows = [row(
        vmi.clone(),
        vm,
        k8s_openapi::jiff::Timestamp::now(),
        fault,
    )];
    count_running_replicas(&mut rows);
    let [row] = rows;
    row
}

/// A VMI and its owner VM, as read by GET (whole objects: the outage saves them).
#[derive(Debug, Clone)]
pub struct Read {
    pub object: DynamicObject,
    /// The owner VM, when the VMI has one and it exists.
    pub vm_object: Option<DynamicObject>,
}

impl Read {
    pub fn vmi(&self) -> Vmi {
        Vmi::from_object(&self.object)
    }

    pub fn vm(&self) -> Option<Vm> {
        self.vm_object.as_ref().map(Vm::from_object)
    }

    /// The row `selection` judges, with its plan for this fault.
    pub fn row(&self, fault: crate::plan::Fault) -> Target {
        row_of(&self.vmi(), self.vm().as_ref(), fault)
    }
}

/// One VMI by name (None: there is none), with its owner VM: two GETs at most.
pub async fn read_one(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> kube::Result<Option<Read>> {
    let vmis: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(client.clone(), namespace, &kubevirt::vmi_resource());
    let Some(object) = vmis.get_opt(name).await? else {
        return Ok(None);
    };
    let vm_object = match Vmi::from_object(&object).owner_vm {
        None => None,
        Some(vm) => {
            let vms: kube::Api<DynamicObject> =
                kube::Api::namespaced_with(client.clone(), namespace, &kubevirt::vm_resource());
            vms.get_opt(&vm).await?
        }
    };
    Ok(Some(Read { object, vm_object }))
}

fn row(v: Vmi, vm: Option<&Vm>, now: kubevirt::Timestamp, fault: plan::Fault) -> Target {
    let plan = plan::decide_for(fault, &v, vm, now);
    let group = match (&v.owner, vm.and_then(|vm| vm.pool.as_ref())) {
        (Some(o), _) if o.kind == "VirtualMachineInstanceReplicaSet" => Some(Group {
            kind: GroupKind::VirtualMachineInstanceReplicaSet,
            name: o.name.clone(),
            key: o.uid.clone(),
            running: 0,
        }),
        (_, Some(pool)) => Some(Group {
            kind: GroupKind::VirtualMachinePool,
            name: pool.clone(),
            key: format!("{}/{pool}", v.namespace),
            running: 0,
        }),
        _ => None,
    };
    let owner = v.owner.as_ref().map(|o| OwnerRef {
        kind: o.kind.clone(),
        name: o.name.clone(),
    });
    Target {
        owner,
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
        group,
        plan,
        namespace: v.namespace,
        name: v.name,
        node: v.node,
        ip: v.ip,
        uid: v.uid,
    }
}

/// Each group's count of replicas up (Running and Ready), from the rows themselves.
fn count_running_replicas(rows: &mut [Target]) {
    let mut running: HashMap<String, u32> = HashMap::new();
    for r in rows.iter().filter(|r| r.is_serving()) {
        if let Some(g) = &r.group {
            *running.entry(g.key.clone()).or_default() += 1;
        }
    }
    for g in rows.iter_mut().filter_map(|r| r.group.as_mut()) {
        g.running = running.get(&g.key).copied().unwrap_or(0);
    }
}

/// Raises each group's running count to its set's `status.readyReplicas` (one GET per set; a
/// set that can't be read keeps the count from the listing).
async fn read_group_status(client: &kube::Client, rows: &mut [Target]) {
    let groups: BTreeMap<String, (GroupKind, String, String)> = rows
        .iter()
        .filter_map(|r| {
            let g = r.group.as_ref()?;
            Some((g.key.clone(), (g.kind, r.namespace.clone(), g.name.clone())))
        })
        .collect();
    let reads = groups
        .into_iter()
        .map(|(key, (kind, ns, name))| async move {
            let resource = match kind {
                GroupKind::VirtualMachineInstanceReplicaSet => replica_set_resource(),
                GroupKind::VirtualMachinePool => pool_resource(),
            };
            let request = Request::new(DynamicObject::url_path(&resource, Some(&ns)));
            let ready = match request.get(&name, &GetParams::default()) {
                Ok(req) => client
                    .request::<LeanSet>(req)
                    .await
                    .ok()
                    .and_then(|s| s.status?.ready_replicas),
                Err(_) => None,
            };
            (key, ready)
        });
    let ready: HashMap<String, u32> = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter_map(|(k, r)| Some((k, r?)))
        .collect();
    for g in rows.iter_mut().filter_map(|r| r.group.as_mut()) {
        if let Some(n) = ready.get(&g.key) {
            g.running = g.running.max(*n);
        }
    }
}

pub fn replica_set_resource() -> ApiResource {
    ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: "VirtualMachineInstanceReplicaSet".into(),
        plural: "virtualmachineinstancereplicasets".into(),
    }
}

pub fn pool_resource() -> ApiResource {
    ApiResource {
        group: "pool.kubevirt.io".into(),
        version: "v1beta1".into(),
        api_version: "pool.kubevirt.io/v1beta1".into(),
        kind: "VirtualMachinePool".into(),
        plural: "virtualmachinepools".into(),
    }
}

/// The owner VMs in `wanted` that exist: a few are read one by one, more through a paginated
/// LIST in their namespace, or cluster-wide when they span several.
async fn owner_vms(
    client: &kube::Client,
    scope: Option<&str>,
    wanted: &BTreeSet<(String, String)>,
) -> kube::Result<HashMap<(String, String), Vm>> {
    let resource = kubevirt::vm_resource();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    if wanted.len() <= VM_GETS_MAX {
        let gets = wanted.iter().map(|(ns, name)| {
            let request = Request::new(DynamicObject::url_path(&resource, Some(ns)));
            async move {
                let req = request
                    .get(name, &GetParams::default())
                    .map_err(kube::Error::BuildRequest)?;
                match client.request::<LeanVm>(req).await {
                    Ok(vm) => Ok(Some(vm)),
                    Err(e) if crate::error::api_code(&e) == Some(404) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        });
        for vm in futures::future::try_join_all(gets)
            .await?
            .into_iter()
            .flatten()
        {
            let obj = vm.into_object();
            let ns = obj.metadata.namespace.clone().unwrap_or_default();
            let vm = Vm::from_object(&obj);
            found.insert((ns, vm.name.clone()), vm);
        }
        return Ok(found);
    }
    let namespaces: BTreeSet<&str> = wanted.iter().map(|(ns, _)| ns.as_str()).collect();
    let scope = match (scope, namespaces.len()) {
        (Some(ns), _) => Some(ns),
        (None, 1) => namespaces.first().copied(),
        (None, _) => None,
    };
    let mut all = all_vms(client, scope).await?;
    all.retain(|key, _| wanted.contains(key));
    Ok(all)
}

/// Every VM in `scope` (None: cluster-wide), paginated, each read into what the plan needs.
async fn all_vms(
    client: &kube::Client,
    scope: Option<&str>,
) -> kube::Result<HashMap<(String, String), Vm>> {
    let mut found = HashMap::new();
    for_each_page(
        client,
        &kubevirt::vm_resource(),
        scope,
        ListParams::default(),
        |items: Vec<LeanVm>, _| {
            for item in items {
                let obj = item.into_object();
                let key = (
                    obj.metadata.namespace.clone().unwrap_or_default(),
                    obj.metadata.name.clone().unwrap_or_default(),
                );
                found.insert(key, Vm::from_object(&obj));
            }
        },
    )
    .await?;
    Ok(found)
}

/// LISTs `resource` page by page (`limit` + `continue`), handing each page's items to `each`
/// with whether more pages follow: only one page is in memory at a time.
async fn for_each_page<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    mut params: ListParams,
    mut each: impl FnMut(Vec<T>, bool),
) -> kube::Result<()> {
    let request = Request::new(DynamicObject::url_path(resource, namespace));
    params.limit = Some(page_size());
    loop {
        let req = request.list(&params).map_err(kube::Error::BuildRequest)?;
        let page: Page<T> = client.request(req).await?;
        let next = page.metadata.continue_token.filter(|t| !t.is_empty());
        each(page.items.unwrap_or_default(), next.is_some());
        match next {
            Some(token) => params.continue_token = Some(token),
            None => return Ok(()),
        }
    }
}

// What a page holds, read as little as possible: serde skips every other field without
// keeping it (the VMI's and VM's spec, managedFields, annotations, most of the status).

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    metadata: PageMeta,
    items: Option<Vec<T>>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    finalizers: Option<Vec<String>>,
    owner_references: Option<Vec<OwnerReference>>,
    labels: Option<BTreeMap<String, String>>,
}

impl LeanMeta {
    /// Keeps only the labels named in `keep`.
    fn into_meta(self, keep: &[&str]) -> ObjectMeta {
        ObjectMeta {
            name: self.name,
            namespace: self.namespace,
            uid: self.uid,
            resource_version: self.resource_version,
            creation_timestamp: self.creation_timestamp,
            deletion_timestamp: self.deletion_timestamp,
            finalizers: self.finalizers,
            owner_references: self.owner_references,
            labels: self.labels.map(|l| {
                l.into_iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()))
                    .collect()
            }),
            ..ObjectMeta::default()
        }
    }
}

/// The fields of `status` (or `spec`) that are present, as a JSON object.
fn object_of(fields: &[(&str, Option<Value>)]) -> Value {
    Value::Object(
        fields
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
            .collect(),
    )
}

/// The VMI fields `Vmi::from_object` reads.
#[derive(Deserialize)]
struct LeanVmi {
    metadata: LeanMeta,
    status: Option<LeanVmiStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanVmiStatus {
    phase: Option<Value>,
    node_name: Option<Value>,
    interfaces: Option<Vec<Value>>,
    conditions: Option<Value>,
    migration_state: Option<Value>,
    phase_transition_timestamps: Option<Value>,
}

impl LeanVmi {
    fn into_object(self) -> DynamicObject {
        let status = self.status.map(|s| {
            object_of(&[
                ("phase", s.phase),
                ("nodeName", s.node_name),
                (
                    "interfaces",
                    s.interfaces
                        .map(|i| Value::Array(i.into_iter().take(1).collect())),
                ),
                ("conditions", s.conditions),
                ("migrationState", s.migration_state),
                ("phaseTransitionTimestamps", s.phase_transition_timestamps),
            ])
        });
        DynamicObject {
            types: None,
            metadata: self.metadata.into_meta(&["kubevirt.io/nodeName"]),
            data: match status {
                Some(s) => json!({ "status": s }),
                None => json!({}),
            },
        }
    }
}

/// The VM fields `Vm::from_object` reads.
#[derive(Deserialize)]
struct LeanVm {
    metadata: LeanMeta,
    spec: Option<LeanVmSpec>,
    status: Option<LeanVmStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanVmSpec {
    run_strategy: Option<Value>,
    running: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanVmStatus {
    start_failure: Option<Value>,
    conditions: Option<Value>,
}

impl LeanVm {
    fn into_object(self) -> DynamicObject {
        let mut data = serde_json::Map::new();
        if let Some(s) = self.spec {
            data.insert(
                "spec".into(),
                object_of(&[("runStrategy", s.run_strategy), ("running", s.running)]),
            );
        }
        if let Some(s) = self.status {
            data.insert(
                "status".into(),
                object_of(&[
                    ("startFailure", s.start_failure),
                    ("conditions", s.conditions),
                ]),
            );
        }
        DynamicObject {
            types: None,
            metadata: self.metadata.into_meta(&[]),
            data: Value::Object(data),
        }
    }
}

/// A replica set's or pool's ready count.
#[derive(Deserialize)]
struct LeanSet {
    status: Option<LeanSetStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanSetStatus {
    ready_replicas: Option<u32>,
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
        "OWNER",
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
            r.owner
                .as_ref()
                .map_or_else(|| "<none>".to_string(), OwnerRef::short),
            dash(&r.run_strategy),
            r.plan.cell(),
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

    /// The small structs a page is read into give the plan exactly what the whole object would.
    #[test]
    fn lean_pages_read_what_the_plan_reads() {
        let vmi = json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "db-0", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "finalizers": ["kubevirt.io/foregroundDeleteVirtualMachine"],
                "labels": {"kubevirt.io/nodeName": "node-a", "app": "db"},
                "annotations": {"big": "x".repeat(1000)},
                "managedFields": [{"manager": "virt-controller"}],
                "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                    "name": "db-0", "uid": "vm1", "controller": true}]},
            "spec": {"domain": {"devices": {}}},
            "status": {"phase": "Running", "nodeName": "node-a",
                "interfaces": [{"ipAddress": "10.0.0.5", "name": "default"}, {"ipAddress": "10.0.0.6"}],
                "migrationState": {"completed": true},
                "guestOSInfo": {"name": "cirros"},
                "phaseTransitionTimestamps": [{"phase": "Running", "phaseTransitionTimestamp": "2026-01-01T00:00:02Z"}],
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:03Z"},
                    {"type": "Paused", "status": "False"}]}
        });
        let full = Vmi::from_object(&serde_json::from_value(vmi.clone()).unwrap());
        let lean: LeanVmi = serde_json::from_value(vmi).unwrap();
        assert_eq!(Vmi::from_object(&lean.into_object()), full);

        let vm = json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "pool-0", "namespace": "prod", "uid": "vu",
                "ownerReferences": [{"apiVersion": "pool.kubevirt.io/v1beta1",
                    "kind": "VirtualMachinePool", "name": "pool", "uid": "pu", "controller": true}]},
            "spec": {"running": false, "template": {"spec": {"domain": {}}}},
            "status": {"startFailure": {"consecutiveFailCount": 3},
                "conditions": [{"type": "ManualRecoveryRequired", "status": "True"}]}
        });
        let full = Vm::from_object(&serde_json::from_value(vm.clone()).unwrap());
        let lean: LeanVm = serde_json::from_value(vm).unwrap();
        assert_eq!(Vm::from_object(&lean.into_object()), full);
        // Without spec.runStrategy the legacy field decides; a null must not appear as present.
        assert_eq!(full.legacy_running, Some(false));
    }

    #[test]
    fn replicas_of_one_set_are_counted_together() {
        let now: kubevirt::Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let replica = |name: &str, phase: &str, set_uid: &str| {
            let obj: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                "metadata": {"name": name, "namespace": "web", "uid": name,
                    "ownerReferences": [{"apiVersion": "kubevirt.io/v1",
                        "kind": "VirtualMachineInstanceReplicaSet", "name": "front",
                        "uid": set_uid, "controller": true}]},
                "status": {"phase": phase, "conditions": [{"type": "Ready", "status":
                    if phase == "Running" && !name.ends_with("-unready") { "True" } else { "False" }}]}
            }))
            .unwrap();
            row(Vmi::from_object(&obj), None, now, plan::Fault::Delete)
        };
        let mut rows = vec![
            replica("front-a", "Running", "rs1"),
            replica("front-b", "Running", "rs1"),
            replica("front-c", "Scheduling", "rs1"),
            replica("front-d-unready", "Running", "rs1"),
            replica("other-a", "Running", "rs2"),
        ];
        count_running_replicas(&mut rows);
        let running: Vec<u32> = rows
            .iter()
            .map(|r| r.group.as_ref().unwrap().running)
            .collect();
        // A replica that runs but is not Ready keeps no one served: it does not count.
        assert_eq!(running, [2, 2, 2, 2, 1]);
        assert_eq!(rows[0].expected_recovery, Recovery::Follow);
        assert!(rows[3].plan.refusal().is_some(), "not Ready: refused");
        assert_eq!(
            rows[0].owner_words(),
            "VirtualMachineInstanceReplicaSet front"
        );
        assert_eq!(rows[0].owner.as_ref().unwrap().short(), "vmirs/front");
    }

    #[test]
    fn owners_are_named_as_they_are() {
        let vm = OwnerRef {
            kind: "VirtualMachine".into(),
            name: "db-0".into(),
        };
        assert_eq!(
            owner_words(Some(&vm), Some("Always"), None),
            "VM db-0 (Always)"
        );
        let pool = Group {
            kind: GroupKind::VirtualMachinePool,
            name: "db".into(),
            key: "prod/db".into(),
            running: 2,
        };
        assert_eq!(
            owner_words(Some(&vm), Some("Manual"), Some(&pool)),
            "VM db-0 of VirtualMachinePool db (Manual)"
        );
        let foreign = OwnerRef {
            kind: "MyOperatorThing".into(),
            name: "x".into(),
        };
        assert_eq!(owner_words(Some(&foreign), None, None), "MyOperatorThing x");
        assert_eq!(foreign.short(), "myoperatorthing/x");
        assert_eq!(vm.short(), "vm/db-0");
        assert_eq!(owner_words(None, None, None), "standalone");
    }

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
            group: None,
            owner: None,
            plan: Plan::Go {
                recovery: Recovery::Recreate,
                warnings: vec![],
            },
        };
        let replica = Target {
            name: "webx7k2p".into(),
            owner: Some(OwnerRef {
                kind: "VirtualMachineInstanceReplicaSet".into(),
                name: "web".into(),
            }),
            plan: Plan::Go {
                recovery: Recovery::Follow,
                warnings: vec![],
            },
            ..row.clone()
        };
        let t = table(&[row, replica], false, true);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE   NAME       PHASE"));
        assert!(lines[0].contains("OWNER"), "{t}");
        assert!(lines[1].starts_with("prod        db-0       Running"));
        assert!(lines[1].contains("<none>"), "{t}");
        assert!(lines[1].ends_with("recreate"));
        assert!(lines[2].contains("vmirs/web"), "{t}");
        assert!(lines[2].ends_with("follow"));
    }
}
