//! `kubectl vmchaos schedule`: everything a scheduled outage needs in one namespace — a
//! ServiceAccount, a Role with exactly the verbs the run's plan needs (from the same code as the
//! permission pre-flight), a RoleBinding, and a `batch/v1` CronJob running the image with
//! `outage ... --yes -o json`. Printed as YAML, or applied with `--apply`; `--suspend`,
//! `--resume` and `--delete` manage an applied schedule.

use std::{collections::BTreeMap, time::Duration};

use k8s_openapi::{
    api::{
        batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec},
        core::v1::{
            Capabilities, Container, EmptyDirVolumeSource, PodSecurityContext, PodSpec,
            PodTemplateSpec, ResourceRequirements, SeccompProfile, SecurityContext, ServiceAccount,
            Volume, VolumeMount,
        },
        rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject},
    },
    apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::ObjectMeta},
};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions,
};
use serde::Serialize;

use crate::{
    cluster::{self, Cluster, Connection},
    error::{api_code, Error, Result},
    kubevirt::is_protected_namespace,
    outage::preflight::{self, Permission, Target},
    render::progress,
};

/// The image `scripts/image` builds (`kubectl-vmchaos:<version>` inside the archive).
pub const DEFAULT_IMAGE: &str = concat!("kubectl-vmchaos:", env!("CARGO_PKG_VERSION"));
/// The non-root user the image runs as.
pub const IMAGE_UID: i64 = 65532;
/// Where the snapshot goes: an emptyDir, since the root filesystem is read-only.
pub const SAVE_DIR: &str = "/var/lib/kubectl-vmchaos";
const FIELD_MANAGER: &str = "kubectl-vmchaos";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const SCHEDULE_LABEL: &str = "vmchaos.dev/schedule";
/// Beyond --duration + --timeout: start-up, the VMI's own shutdown (30 s by default) and the
/// tool's recovery on SIGTERM (up to 30 s) when the deadline ends the Job.
const DEADLINE_MARGIN: Duration = Duration::from_secs(180);
/// The Pod's grace period after SIGTERM: room for the tool to recover a VMI that is still down.
const TERMINATION_GRACE_SECONDS: i64 = 60;
/// A run that could not start within this long after its slot (controller down, quota) is
/// skipped: a 3 am game day must not run at noon.
const STARTING_DEADLINE_SECONDS: i64 = 600;

/// What the schedule is built from: the validated command line plus what the cluster said.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub namespace: String,
    pub cron: String,
    pub image: String,
    /// The container's arguments: `outage`, the user's outage arguments, `-n`, `--yes`, `-o json`,
    /// `--save-dir`.
    pub args: Vec<String>,
    /// Every verb the run needs (reads, the pre-flight's list, Events), in rule order.
    pub permissions: Vec<Permission>,
    pub active_deadline_seconds: i64,
}

/// The four objects, typed.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub cron_job: CronJob,
}

/// `schedule`'s flags, checked and resolved once (`cli::resolve`): no clap type reaches here.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// NAME: the CronJob, ServiceAccount, Role and RoleBinding (checked by `validate_name`).
    pub name: String,
    pub action: Action,
    pub connection: Connection,
}

/// What `schedule NAME` does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Print (or `--apply`) the four objects.
    Create(Box<Create>),
    /// `--suspend` (true) or `--resume` (false) an applied schedule.
    Suspend(bool),
    /// `--delete` an applied schedule.
    Delete,
}

/// `--cron`, `--apply`, `--image`, `-o` and the outage after `--`, validated.
#[derive(Debug, Clone)]
pub struct Create {
    pub cron: String,
    pub apply: bool,
    pub image: String,
    pub output: ManifestFormat,
    pub outage: ScheduledOutage,
}

/// `-o` of `schedule` (clap's words for it are in `cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    Yaml,
    Json,
}

/// The outage a schedule runs: the words after `--` as given (read by `outage`'s own parser,
/// `cli::scheduled_outage`), and what the schedule needs of them.
#[derive(Debug, Clone)]
pub struct ScheduledOutage {
    pub words: Vec<String>,
    pub targets: crate::selection::Targets,
    pub allow_protected_namespace: bool,
    /// `--yes` was among the words (the container's arguments add it otherwise).
    pub yes: bool,
    pub keep_down: bool,
    pub fault: crate::plan::Fault,
    pub duration: Duration,
    pub timeout: Duration,
    pub serial: bool,
    pub interval: Option<Duration>,
    /// `--repeat N` (1 without it).
    pub trials: u32,
    pub alerts_settle: Duration,
}

pub async fn run(config: &ScheduleConfig) -> Result<String> {
    let name = &config.name;
    let create = match &config.action {
        Action::Create(create) => create,
        Action::Suspend(on) => {
            let cluster = cluster::connect(&config.connection, Duration::from_secs(10)).await?;
            return suspend(&cluster, name, *on).await;
        }
        Action::Delete => {
            let cluster = cluster::connect(&config.connection, Duration::from_secs(10)).await?;
            return delete(&cluster, name).await;
        }
    };
    let outage = &create.outage;
    let cluster = cluster::connect(&config.connection, Duration::from_secs(10)).await?;
    let namespace = cluster.namespace.clone();
    if is_protected_namespace(&namespace) && !outage.allow_protected_namespace {
        return Err(Error::ProtectedNamespace { namespace });
    }
    preflight::check_kubevirt(&cluster).await?;
    // Where the CronJob can go, before anything is printed or applied: what is printed must be
    // accepted by this server as a whole.
    let cron_api = cronjob_api(&cluster).await?;
    // The verbs depend on the targets' owners and runStrategies: read them (read-only), and
    // choose them as the run will, with every guard.
    let chosen = resolve_targets(&cluster, &namespace, outage).await?;
    let plan = Plan {
        name: name.clone(),
        namespace: namespace.clone(),
        cron: create.cron.clone(),
        image: create.image.clone(),
        args: container_args(outage, &namespace),
        permissions: permissions_for(&chosen.targets, how(outage), chosen.lists),
        active_deadline_seconds: active_deadline(outage),
    };
    let targets = chosen.targets;
    for t in &targets {
        eprintln!(
            "{}",
            progress::schedule_target(&plan.name, &preflight::checked(t))
        );
    }
    eprintln!(
        "{}",
        progress::schedule_role(&plan.name, &preflight::grants(&plan.permissions))
    );
    let manifests = manifests(&plan);
    // Never an object of that name the schedule did not make: checked for all four before
    // anything is printed or applied.
    let existing = ownership(&cluster, name, &cron_api, create.apply).await?;
    if create.apply {
        apply(&cluster, &manifests, &cron_api, &existing).await
    } else {
        Ok(render(&manifests, create.output, &cron_api.api_version))
    }
}

/// NAME names all four objects; a CronJob's name may have at most 52 characters (its Jobs add 11).
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 52
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(
            format!("invalid schedule name {name:?}: it names a CronJob, a ServiceAccount and a Role"),
            "use at most 52 lowercase letters, digits and '-', starting and ending with a letter or digit",
        ))
    }
}

/// What the container runs: the user's outage arguments as given (validated above), plus what a
/// run in a Pod needs.
fn container_args(outage: &ScheduledOutage, namespace: &str) -> Vec<String> {
    let mut args = vec!["outage".to_string()];
    args.extend(outage.words.iter().cloned());
    args.extend(["-n".into(), namespace.into()]);
    if !outage.yes {
        args.push("--yes".into());
    }
    args.extend([
        "-o".into(),
        "json".into(),
        "--save-dir".into(),
        SAVE_DIR.into(),
    ]);
    args
}

/// --duration + --timeout (per target, and the --interval between them, with --serial) +
/// --alerts-settle + a margin: the Job is killed past it (SIGTERM: the tool recovers what is
/// still down).
pub fn active_deadline(outage: &ScheduledOutage) -> i64 {
    let one = outage.duration + outage.timeout;
    // With -l/--all the number of targets is known at run time: at most --count or
    // --max-targets.
    let t = &outage.targets;
    let most = if t.names.is_empty() {
        t.count.unwrap_or(t.max_targets)
    } else {
        t.names.len()
    };
    let n = u32::try_from(most.max(1)).unwrap_or(u32::MAX);
    let run = if outage.serial {
        one * n + outage.interval.unwrap_or_default() * (n - 1)
    } else {
        one
    };
    // --repeat: every trial, and between two of them --interval and the wait for Ready
    // (at most --timeout).
    let trials = outage.trials.max(1);
    let run = run * trials + (outage.interval.unwrap_or_default() + outage.timeout) * (trials - 1);
    (run + outage.alerts_settle + DEADLINE_MARGIN)
        .as_secs()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// The VMIs a run would hit and their plans, and whether a run lists VMIs and VMs.
struct Chosen {
    targets: Vec<Target>,
    /// The run lists its namespace's VMIs and VMs (flags, several VMIs, or a replica whose set's
    /// other replicas are counted).
    lists: bool,
}

/// The run's targets as the run itself chooses them (`selection`, with every guard), read by
/// the outage's own pre-flight (a refused plan is refused here too). A schedule whose runs the
/// guards would all refuse (every VM of a pool, more than --max-targets) is refused now.
async fn resolve_targets(
    cluster: &Cluster,
    namespace: &str,
    outage: &ScheduledOutage,
) -> Result<Chosen> {
    let t = &outage.targets;
    let sel = crate::selection::SelectionArgs::from_cli(
        t,
        false,
        namespace,
        outage.allow_protected_namespace,
    )
    .with_fault(outage.fault);
    let by_flags = t.selector.is_some() || t.all || t.count.is_some() || t.percent.is_some();
    if by_flags {
        // Each run chooses among the VMIs that match then; the Role covers every one that
        // matches now, and one run's choice must pass the guards.
        let (_, rows) = crate::selection::list_for(cluster, &sel).await?;
        crate::selection::choose(&rows, &sel)?;
        let names: Vec<(String, String)> = crate::selection::candidates(&rows, &sel)
            .0
            .into_iter()
            .map(|r| (r.namespace.clone(), r.name.clone()))
            .collect();
        let targets = preflight::resolve_targets(cluster, &names, how(outage)).await?;
        return Ok(Chosen {
            targets,
            lists: true,
        });
    }
    let resolved = crate::selection::resolve(cluster, &sel).await?;
    let grouped = resolved.chosen.targets.iter().any(|t| t.group.is_some());
    let targets = match resolved.read {
        Some(read) => vec![preflight::target_from(read, how(outage))?],
        None => {
            let names: Vec<(String, String)> = resolved
                .chosen
                .targets
                .iter()
                .map(|t| (t.namespace.clone(), t.name.clone()))
                .collect();
            preflight::resolve_targets(cluster, &names, how(outage)).await?
        }
    };
    Ok(Chosen {
        lists: grouped || targets.len() > 1,
        targets,
    })
}

const fn permission(
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    subresource: Option<&'static str>,
) -> Permission {
    Permission {
        verb,
        group,
        resource,
        subresource,
    }
}

/// Every verb a run against these targets uses: the reads that come before the pre-flight (one
/// target: get the VMI and its VM; `lists`: the run lists the namespace's VMIs and VMs, and
/// reads owner VMs), the pre-flight's own list for the targets' plans, and `create events`.
/// The flags of the scheduled outage its targets' plans depend on.
fn how(outage: &ScheduledOutage) -> preflight::How {
    preflight::How {
        keep_down: outage.keep_down,
        fault: outage.fault,
    }
}

pub fn permissions_for(targets: &[Target], how: preflight::How, lists: bool) -> Vec<Permission> {
    let mut perms = vec![permission(
        "get",
        "kubevirt.io",
        "virtualmachineinstances",
        None,
    )];
    if lists {
        perms.push(permission(
            "list",
            "kubevirt.io",
            "virtualmachineinstances",
            None,
        ));
    }
    if lists || targets.iter().any(|t| t.vm.is_some()) {
        perms.push(permission("get", "kubevirt.io", "virtualmachines", None));
    }
    if lists {
        perms.push(permission("list", "kubevirt.io", "virtualmachines", None));
    }
    let recoveries: Vec<_> = targets.iter().map(|t| t.plan.recovery()).collect();
    perms.extend(preflight::required_permissions(
        &recoveries,
        how.keep_down,
        how.fault,
    ));
    perms.push(permission("create", "", "events", None));
    let mut unique: Vec<Permission> = Vec::new();
    for p in perms {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

/// One rule per (API group, resource), verbs in first-use order.
pub fn rules(perms: &[Permission]) -> Vec<PolicyRule> {
    let mut rules: Vec<PolicyRule> = Vec::new();
    for p in perms {
        let resource = match p.subresource {
            Some(sub) => format!("{}/{sub}", p.resource),
            None => p.resource.to_string(),
        };
        let same = |r: &&mut PolicyRule| {
            r.api_groups.as_deref() == Some(&[p.group.to_string()][..])
                && r.resources.as_deref() == Some(&[resource.clone()][..])
        };
        match rules.iter_mut().find(same) {
            Some(rule) if rule.verbs.iter().any(|v| v == p.verb) => {}
            Some(rule) => rule.verbs.push(p.verb.into()),
            None => rules.push(PolicyRule {
                api_groups: Some(vec![p.group.into()]),
                resources: Some(vec![resource]),
                verbs: vec![p.verb.into()],
                ..PolicyRule::default()
            }),
        }
    }
    rules
}

fn metadata(plan: &Plan) -> ObjectMeta {
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "kubectl-vmchaos".to_string(),
        ),
        (MANAGED_BY.to_string(), FIELD_MANAGER.to_string()),
        (SCHEDULE_LABEL.to_string(), plan.name.clone()),
    ]);
    ObjectMeta {
        name: Some(plan.name.clone()),
        namespace: Some(plan.namespace.clone()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
    ])
}

/// The four objects of a schedule (pure: no cluster needed).
pub fn manifests(plan: &Plan) -> Manifests {
    let meta = metadata(plan);
    let service_account = ServiceAccount {
        metadata: meta.clone(),
        // Only the schedule's Pods get its token, and they ask for it explicitly.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };
    let role = Role {
        metadata: meta.clone(),
        rules: Some(rules(&plan.permissions)),
    };
    let role_binding = RoleBinding {
        metadata: meta.clone(),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: plan.name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: plan.name.clone(),
            namespace: Some(plan.namespace.clone()),
            ..Subject::default()
        }]),
    };
    let container = Container {
        name: "vmchaos".into(),
        image: Some(plan.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(plan.args.clone()),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("50m", "32Mi")),
            limits: Some(quantities("500m", "128Mi")),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(IMAGE_UID),
            run_as_group: Some(IMAGE_UID),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "snapshots".into(),
            mount_path: SAVE_DIR.into(),
            ..VolumeMount::default()
        }]),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    };
    let pod = PodSpec {
        service_account_name: Some(plan.name.clone()),
        automount_service_account_token: Some(true),
        restart_policy: Some("Never".into()),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(IMAGE_UID),
            run_as_group: Some(IMAGE_UID),
            fs_group: Some(IMAGE_UID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: "snapshots".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("16Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    let labels = meta.labels.clone();
    let cron_job = CronJob {
        metadata: meta,
        spec: Some(CronJobSpec {
            schedule: plan.cron.clone(),
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            suspend: Some(false),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: labels.clone(),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    // A chaos run is never retried blindly.
                    backoff_limit: Some(0),
                    active_deadline_seconds: Some(plan.active_deadline_seconds),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels,
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod),
                    },
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        status: None,
    };
    Manifests {
        service_account,
        role,
        role_binding,
        cron_job,
    }
}

/// YAML documents (kubectl apply -f -), or one JSON `v1` List; the CronJob in the API version
/// the server serves (`batch/v1`, or `batch/v1beta1` before Kubernetes 1.21: the same spec).
pub fn render(m: &Manifests, format: ManifestFormat, cron_api_version: &str) -> String {
    let mut cron_job = to_value(&m.cron_job);
    cron_job["apiVersion"] = cron_api_version.into();
    let values = [
        to_value(&m.service_account),
        to_value(&m.role),
        to_value(&m.role_binding),
        cron_job,
    ];
    match format {
        ManifestFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": values});
            serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
        }
        ManifestFormat::Yaml => values
            .iter()
            .map(|v| serde_saphyr::to_string(v).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n"),
    }
}

fn to_value<T: Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).unwrap_or_default()
}

/// Creates the object, or, when the schedule's own object is there (`existing`: its
/// resourceVersion), applies it server-side with that resourceVersion as a precondition: an
/// object replaced in between is never taken over.
async fn apply_one(
    cluster: &Cluster,
    resource: &ApiResource,
    mut object: DynamicObject,
    existing: Option<&str>,
) -> Result<String> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let ns = &cluster.namespace;
    let what = resource.kind.to_lowercase();
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), ns, resource);
    let done = match existing {
        None => {
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            cluster
                .bounded(api.create(&params, &object))
                .await
                .map(|_| ())
        }
        Some(version) => {
            object.metadata.resource_version = Some(version.to_string());
            let params = PatchParams::apply(FIELD_MANAGER).force();
            cluster
                .bounded(api.patch(&name, &params, &Patch::Apply(&object)))
                .await
                .map(|_| ())
        }
    };
    done.map_err(|e| match api_code(&e) {
        Some(409) => Error::usage(
            format!(
                "{what} {ns}/{name} was created or changed by someone else while the schedule was being applied: nothing of it was taken over"
            ),
            "look at it (`kubectl get -n NAMESPACE KIND NAME -o yaml`), then run the command again",
        ),
        _ => cluster.request_error(format!("apply {} {ns}/{name}", resource.kind), e),
    })?;
    let group = if resource.group.is_empty() {
        String::new()
    } else {
        format!(".{}", resource.group)
    };
    let short = match resource.kind.as_str() {
        // As the lines always read.
        "ServiceAccount" | "Role" | "RoleBinding" => what.clone(),
        _ => format!("{what}{group}"),
    };
    Ok(format!("{short}/{name} applied"))
}

/// The four objects' API resources, in the order they are applied.
fn resources(cron_api: &ApiResource) -> [ApiResource; 4] {
    [
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Role>(&()),
        ApiResource::erase::<RoleBinding>(&()),
        cron_api.clone(),
    ]
}

/// The resourceVersion of each of the four objects that exists and is the schedule's (its
/// `vmchaos.dev/schedule` label names it); any other same-named object is an error naming it,
/// before anything changes. Printing only (`applying` false) needs no right to read them: an
/// object that may not be read is said in a warning.
async fn ownership(
    cluster: &Cluster,
    name: &str,
    cron_api: &ApiResource,
    applying: bool,
) -> Result<[Option<String>; 4]> {
    let ns = &cluster.namespace;
    let mut found: [Option<String>; 4] = Default::default();
    let mut foreign = Vec::new();
    for (i, resource) in resources(cron_api).iter().enumerate() {
        let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), ns, resource);
        let what = resource.kind.to_lowercase();
        let object = match cluster.bounded(api.get_opt(name)).await {
            Ok(object) => object,
            Err(e) if api_code(&e) == Some(403) && !applying => {
                eprintln!("{}", progress::schedule_unchecked(&what, name, ns));
                continue;
            }
            Err(e) => return Err(cluster.request_error(format!("get {what} {ns}/{name}"), e)),
        };
        let Some(object) = object else { continue };
        if owned_by_schedule(&object, name) {
            found[i] = object.metadata.resource_version;
        } else {
            foreign.push(format!("{what}/{name}"));
        }
    }
    if !foreign.is_empty() {
        return Err(Error::usage(
            format!(
                "refusing to change {} in namespace {ns}: not part of schedule {name} (no {SCHEDULE_LABEL}={name} label); nothing was applied",
                foreign.join(", ")
            ),
            format!(
                "choose another schedule name; if it really is this schedule's, label it first: kubectl label -n {ns} {} {SCHEDULE_LABEL}={name}",
                foreign.join(" ")
            ),
        ));
    }
    Ok(found)
}

/// The object carries the schedule's label: this tool made it for this schedule.
fn owned_by_schedule(object: &DynamicObject, name: &str) -> bool {
    object
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SCHEDULE_LABEL))
        .is_some_and(|v| v == name)
}

/// Whether the API server serves CronJobs in this group version.
async fn serves_cronjobs(cluster: &Cluster, group_version: &str) -> Result<bool> {
    match cluster
        .bounded(cluster.client.list_api_group_resources(group_version))
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "cronjobs")),
        Err(e) if api_code(&e) == Some(404) => Ok(false),
        Err(e) => Err(cluster.request_error(format!("discover {group_version}"), e)),
    }
}

fn cronjob_resource(version: &str) -> ApiResource {
    ApiResource {
        group: "batch".into(),
        version: version.into(),
        api_version: format!("batch/{version}"),
        kind: "CronJob".into(),
        plural: "cronjobs".into(),
    }
}

/// The CronJob API this server serves: batch/v1 (Kubernetes 1.21+), else batch/v1beta1.
async fn cronjob_api(cluster: &Cluster) -> Result<ApiResource> {
    if serves_cronjobs(cluster, "batch/v1").await? {
        return Ok(cronjob_resource("v1"));
    }
    if serves_cronjobs(cluster, "batch/v1beta1").await? {
        return Ok(cronjob_resource("v1beta1"));
    }
    Err(Error::usage(
        format!(
            "the API server {} serves no CronJob API (batch/v1 or batch/v1beta1)",
            cluster.server
        ),
        "print the manifests without --apply and run the Job by another scheduler",
    ))
}

async fn apply(
    cluster: &Cluster,
    m: &Manifests,
    cron_api: &ApiResource,
    existing: &[Option<String>; 4],
) -> Result<String> {
    let mut cron_job = to_value(&m.cron_job);
    cron_job["apiVersion"] = cron_api.api_version.clone().into();
    let values = [
        to_value(&m.service_account),
        to_value(&m.role),
        to_value(&m.role_binding),
        cron_job,
    ];
    let mut lines = Vec::new();
    for ((resource, value), version) in resources(cron_api).iter().zip(values).zip(existing) {
        let object: DynamicObject = serde_json::from_value(value).map_err(|e| Error::Usage {
            message: format!("failed to encode the {}: {e}", resource.kind),
            hint: None,
        })?;
        lines.push(apply_one(cluster, resource, object, version.as_deref()).await?);
    }
    if cron_api.version != "v1" {
        if let Some(last) = lines.last_mut() {
            last.push_str(&format!(
                " as {}: this API server does not serve batch/v1 CronJob (Kubernetes 1.21 or newer); the spec is the same",
                cron_api.api_version
            ));
        }
    }
    Ok(lines.join("\n") + "\n")
}

fn not_found(name: &str, namespace: &str) -> Error {
    Error::usage(
        format!("no schedule {name} in namespace {namespace}"),
        format!(
            "list them with `kubectl get cronjobs -n {namespace} -l {MANAGED_BY}={FIELD_MANAGER}`"
        ),
    )
}

/// Sets the CronJob's `spec.suspend`: no new runs (a running one goes on), or runs again.
async fn suspend(cluster: &Cluster, name: &str, suspend: bool) -> Result<String> {
    let ns = &cluster.namespace;
    let cron_api = cronjob_api(cluster).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), ns, &cron_api);
    let found = cluster
        .bounded(api.get_opt(name))
        .await
        .map_err(|e| cluster.request_error(format!("get CronJob {ns}/{name}"), e))?;
    let Some(cron_job) = found else {
        return Err(not_found(name, ns));
    };
    if !owned_by_schedule(&cron_job, name) {
        return Err(Error::usage(
            format!(
                "refusing to change cronjob.batch/{name} in namespace {ns}: not part of schedule {name} (no {SCHEDULE_LABEL}={name} label)"
            ),
            format!("suspend it yourself if you mean it: kubectl patch cronjob {name} -n {ns} -p '{{\"spec\":{{\"suspend\":true}}}}'"),
        ));
    }
    // The resourceVersion just read is a precondition: never a CronJob that replaced it.
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": cron_job.metadata.resource_version},
        "spec": {"suspend": suspend}
    });
    match cluster
        .bounded(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)))
        .await
    {
        Ok(_) => Ok(format!(
            "cronjob.batch/{name} {}\n",
            if suspend { "suspended" } else { "resumed" }
        )),
        Err(e) if api_code(&e) == Some(404) => Err(not_found(name, ns)),
        Err(e) => Err(cluster.request_error(format!("patch CronJob {ns}/{name}"), e)),
    }
}

/// Deletes the schedule's four objects, each only if this tool made it (its labels say so).
async fn delete(cluster: &Cluster, name: &str) -> Result<String> {
    let ns = cluster.namespace.clone();
    let cron_api = cronjob_api(cluster).await?;
    let client = &cluster.client;
    let objects = [
        (cron_api, "cronjob.batch"),
        (
            ApiResource::erase::<RoleBinding>(&()),
            "rolebinding.rbac.authorization.k8s.io",
        ),
        (
            ApiResource::erase::<Role>(&()),
            "role.rbac.authorization.k8s.io",
        ),
        (ApiResource::erase::<ServiceAccount>(&()), "serviceaccount"),
    ];
    // Background: the CronJob's Jobs and Pods go with it.
    let params = DeleteParams::background();
    let mut lines = Vec::new();
    for (resource, label) in objects {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
        let found = cluster
            .bounded(api.get_opt(name))
            .await
            .map_err(|e| cluster.request_error(format!("get {label} {ns}/{name}"), e))?;
        let Some(object) = found else { continue };
        if !owned_by_schedule(&object, name) {
            lines.push(format!(
                "{label}/{name} kept: it is not part of schedule {name} (no {SCHEDULE_LABEL}={name} label)"
            ));
            continue;
        }
        // Only the object just read: never one that replaced it in between.
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: object.metadata.uid.clone(),
                resource_version: object.metadata.resource_version.clone(),
            }),
            ..params.clone()
        };
        match cluster.bounded(api.delete(name, &params)).await {
            Ok(_) => lines.push(format!("{label}/{name} deleted")),
            Err(e) if api_code(&e) == Some(404) => {}
            Err(e) => return Err(cluster.request_error(format!("delete {label} {ns}/{name}"), e)),
        }
    }
    if !lines.iter().any(|l| l.ends_with(" deleted")) {
        return Err(match not_found(name, &ns) {
            Error::Usage { message, hint } if !lines.is_empty() => Error::Usage {
                message: format!("{message} ({})", lines.join("; ")),
                hint,
            },
            other => other,
        });
    }
    Ok(lines.join("\n") + "\n")
}

/// Kubernetes' cron syntax, as the API server checks a CronJob's schedule: the robfig/cron v3
/// standard parser (`cron.ParseStandard`: five fields or a descriptor, `@every DURATION`
/// included) and no time zone in the schedule. Checked here so that a schedule the server
/// would refuse stops before any object is created.
pub mod cron {
    use crate::error::{Error, Result};

    const DESCRIPTORS: [&str; 7] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    struct Field {
        name: &'static str,
        min: u32,
        max: u32,
        names: &'static [&'static str],
    }

    const FIELDS: [Field; 5] = [
        Field {
            name: "minute",
            min: 0,
            max: 59,
            names: &[],
        },
        Field {
            name: "hour",
            min: 0,
            max: 23,
            names: &[],
        },
        Field {
            name: "day of month",
            min: 1,
            max: 31,
            names: &[],
        },
        Field {
            name: "month",
            min: 1,
            max: 12,
            names: &MONTHS,
        },
        // 0-6, Sunday = 0: the server's parser refuses 7.
        Field {
            name: "day of week",
            min: 0,
            max: 6,
            names: &DAYS,
        },
    ];

    fn error(spec: &str, why: String) -> Error {
        Error::usage(
            format!("invalid --cron {spec:?}: {why}"),
            "five fields: minute hour day-of-month month day-of-week (0-6 or sun-sat), e.g. \
             '0 3 * * 1' (Mondays at 03:00); or @hourly, @daily, @weekly, @monthly, @yearly, \
             @every 6h",
        )
    }

    /// A number (a name where the field has names, any case), as the parser reads one.
    fn value(field: &Field, text: &str) -> std::result::Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        if let Some(i) = field.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + field.min);
        }
        text.parse::<u32>().map_err(|_| {
            let names = match field.names.first().zip(field.names.last()) {
                Some((first, last)) => format!(" or {first}-{last}"),
                None => String::new(),
            };
            format!(
                "{} {text:?} is not a number between {} and {}{names}",
                field.name, field.min, field.max
            )
        })
    }

    /// One comma-separated item: `*` or `?`, `N`, `N-M`, each with an optional `/STEP` (`N/STEP`
    /// runs from N to the field's maximum).
    fn check_item(field: &Field, item: &str) -> std::result::Result<(), String> {
        let parts: Vec<&str> = item.split('/').collect();
        let (range, step) = match parts.as_slice() {
            [range] => (*range, None),
            [range, step] => (*range, Some(*step)),
            _ => return Err(format!("{} {item:?} has more than one '/'", field.name)),
        };
        let bounds: Vec<&str> = range.split('-').collect();
        let (lo, hi) = match bounds.as_slice() {
            ["*" | "?", ..] => (field.min, field.max),
            [one] => {
                let v = value(field, one)?;
                (v, if step.is_some() { field.max } else { v })
            }
            [lo, hi] => (value(field, lo)?, value(field, hi)?),
            _ => return Err(format!("{} {item:?} has more than one '-'", field.name)),
        };
        let out_of_range = |v: u32| {
            format!(
                "{} \"{v}\" is not a number between {} and {}",
                field.name, field.min, field.max
            )
        };
        if lo < field.min || lo > field.max {
            return Err(out_of_range(lo));
        }
        if hi > field.max {
            return Err(out_of_range(hi));
        }
        if lo > hi {
            return Err(format!("{} range {range:?} runs backwards", field.name));
        }
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(s) if s > 0 => {}
                _ => {
                    return Err(format!(
                        "{} step {step:?} is not a positive number",
                        field.name
                    ))
                }
            }
        }
        Ok(())
    }

    /// Go's `time.ParseDuration`: `90m`, `1h30m`, `1.5h`, `500ms` (units ns, us, µs, ms, s, m,
    /// h), or `0`.
    fn go_duration(text: &str) -> bool {
        let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
        if rest == "0" {
            return true;
        }
        let mut rest = rest;
        if rest.is_empty() {
            return false;
        }
        while !rest.is_empty() {
            let number = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (digits, after) = rest.split_at(number);
            if !digits.chars().any(|c| c.is_ascii_digit()) || digits.matches('.').count() > 1 {
                return false;
            }
            let unit = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, next) = after.split_at(unit);
            if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
                return false;
            }
            rest = next;
        }
        true
    }

    /// Accepts exactly what the API server accepts in a CronJob's `spec.schedule`.
    pub fn validate(spec: &str) -> Result<()> {
        if spec.trim().is_empty() {
            return Err(error(spec, "it is empty".into()));
        }
        if spec.contains("TZ") {
            return Err(error(
                spec,
                "time zones are not allowed in the schedule (Kubernetes refuses TZ= and CRON_TZ=; the cluster's time zone applies)".into(),
            ));
        }
        if spec.starts_with('@') {
            if DESCRIPTORS.contains(&spec) {
                return Ok(());
            }
            if let Some(duration) = spec.strip_prefix("@every ") {
                return if go_duration(duration) {
                    Ok(())
                } else {
                    Err(error(
                        spec,
                        format!("{duration:?} is not a duration such as 90m, 6h or 1h30m"),
                    ))
                };
            }
            return Err(error(spec, format!("unknown descriptor {spec}")));
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(error(spec, format!("{} fields, not 5", fields.len())));
        }
        for (field, text) in FIELDS.iter().zip(&fields) {
            for item in text.split(',') {
                check_item(field, item).map_err(|why| error(spec, why))?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::validate;

        #[test]
        fn accepts_what_kubernetes_accepts() {
            for ok in [
                "0 3 * * 1",
                "*/15 * * * *",
                "0 3 1-7 * mon",
                "30 2 * jan-mar MON-FRI",
                "0 0,12 * * 0,6",
                "5/10 * * * *",
                "0 3 ? * *",
                "@weekly",
                "@midnight",
                "@every 6h",
                "@every 1h30m",
                "@every 1.5h",
                "5 4 * * sun",
                "0 3 * * 0-6/2",
            ] {
                assert!(validate(ok).is_ok(), "{ok}: {:?}", validate(ok).err());
            }
        }

        #[test]
        fn refuses_with_the_reason() {
            for (bad, why) in [
                ("0 3 * *", "4 fields, not 5"),
                ("0 3 * * 1 2026", "6 fields, not 5"),
                ("60 3 * * 1", "minute \"60\""),
                ("0 24 * * *", "hour \"24\""),
                ("0 3 0 * *", "day of month \"0\""),
                ("0 3 * 13 *", "month \"13\""),
                // The server's parser: day of week is 0-6 (Sunday is 0, never 7).
                (
                    "0 3 * * 7",
                    "day of week \"7\" is not a number between 0 and 6",
                ),
                ("0 3 * * 5-7", "day of week \"7\""),
                ("0 0,12 * * 0,7", "day of week \"7\""),
                ("0 3 * * 8", "day of week \"8\""),
                ("0 3 * * funday", "or sun-sat"),
                ("*/0 * * * *", "step \"0\""),
                ("0 5-3 * * *", "runs backwards"),
                ("0 1-2-3 * * *", "more than one '-'"),
                ("0 1/2/3 * * *", "more than one '/'"),
                ("0 3,,4 * * *", "hour \"\""),
                ("@sometimes", "unknown descriptor"),
                ("@daily ", "unknown descriptor"),
                ("@every soon", "is not a duration"),
                ("CRON_TZ=UTC 0 3 * * *", "time zones"),
                ("TZ=Europe/Paris 0 3 * * *", "time zones"),
                ("", "empty"),
            ] {
                let err = validate(bad).unwrap_err().to_string();
                assert!(err.contains(why), "{bad}: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubevirt::{Recovery, RunStrategy, Vm, Vmi};

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    fn target(vm: Option<RunStrategy>) -> Target {
        let recovery = match &vm {
            Some(RunStrategy::Always | RunStrategy::Once) => Recovery::Automatic,
            Some(_) => Recovery::Start,
            None => Recovery::Recreate,
        };
        Target {
            object: serde_json::from_value(serde_json::json!({"metadata": {"name": "db-0"}}))
                .unwrap(),
            vmi: Vmi::default(),
            vm_object: None,
            vm: vm.map(|run_strategy| Vm {
                name: "db-0".into(),
                uid: String::new(),
                run_strategy,
                legacy_running: None,
                start_failure: None,
                manual_recovery_required: false,
                pool: None,
            }),
            plan: crate::plan::Plan::Go {
                recovery,
                warnings: Vec::new(),
            },
            launcher: None,
        }
    }

    fn plan(outage: &str, targets: &[Target]) -> Plan {
        let words = words(outage);
        let parsed = crate::cli::scheduled_outage(&words).unwrap();
        Plan {
            name: "weekly".into(),
            namespace: "prod".into(),
            cron: "0 3 * * 1".into(),
            image: DEFAULT_IMAGE.into(),
            args: container_args(&parsed, "prod"),
            permissions: permissions_for(targets, how(&parsed), targets.len() > 1),
            active_deadline_seconds: active_deadline(&parsed),
        }
    }

    #[test]
    fn a_repeated_outage_gets_every_trial_in_its_deadline_and_no_baseline() {
        let p = plan(
            "db-0 --duration 2m --timeout 3m --repeat 3 --interval 1m",
            &[target(Some(RunStrategy::Always))],
        );
        // 3 trials of 2m + 3m, and twice 1m + at most 3m waiting for Ready between them.
        assert_eq!(p.active_deadline_seconds, 3 * 300 + 2 * 240 + 180);
        let err = crate::cli::scheduled_outage(&words("db-0 --baseline q3.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--baseline has no place"), "{err}");
    }

    #[test]
    fn the_job_runs_the_outage_arguments_as_json_with_a_deadline() {
        let p = plan(
            "db-0 --duration 2m --timeout 3m",
            &[target(Some(RunStrategy::Always))],
        );
        assert_eq!(
            p.args,
            words("outage db-0 --duration 2m --timeout 3m -n prod --yes -o json --save-dir /var/lib/kubectl-vmchaos")
        );
        assert_eq!(p.active_deadline_seconds, 120 + 180 + 180);
        let watched = crate::cli::scheduled_outage(&words(
            "db-0 --duration 2m --timeout 3m --alerts --alerts-settle 1m",
        ))
        .unwrap();
        assert_eq!(active_deadline(&watched), 120 + 180 + 60 + 180);
        let m = manifests(&p);
        let job = m.cron_job.spec.as_ref().unwrap();
        assert_eq!(job.concurrency_policy.as_deref(), Some("Forbid"));
        let job_spec = job.job_template.spec.as_ref().unwrap();
        assert_eq!(job_spec.backoff_limit, Some(0));
        let pod = job_spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("weekly"));
        assert_eq!(pod.automount_service_account_token, Some(true));
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.run_as_non_root, Some(true));
        assert!(c.resources.as_ref().unwrap().requests.is_some());
        // The args the container gets parse with the real outage parser.
        let mut argv = vec!["kubectl-vmchaos".to_string()];
        argv.extend(c.args.clone().unwrap());
        assert!(<crate::cli::Cli as clap::Parser>::try_parse_from(argv).is_ok());
    }

    #[test]
    fn json_is_one_list_of_the_four_objects() {
        let m = manifests(&plan("db-0", &[target(Some(RunStrategy::Always))]));
        let list: serde_json::Value =
            serde_json::from_str(&render(&m, ManifestFormat::Json, "batch/v1")).unwrap();
        assert_eq!(list["kind"], "List");
        let kinds: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding", "CronJob"]);
        let yaml = render(&m, ManifestFormat::Yaml, "batch/v1");
        assert_eq!(yaml.matches("\n---\n").count(), 3, "{yaml}");
        assert_eq!(list["items"][3]["apiVersion"], "batch/v1");
    }

    /// What is printed is what this server serves: a v1beta1-only server gets a v1beta1
    /// CronJob (the same spec), so `kubectl apply -f -` creates all four or none.
    #[test]
    fn the_printed_cronjob_has_the_served_api_version() {
        let m = manifests(&plan("db-0", &[target(Some(RunStrategy::Always))]));
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&render(&m, ManifestFormat::Yaml, "batch/v1beta1"))
                .unwrap();
        assert_eq!(docs[3]["kind"], "CronJob");
        assert_eq!(docs[3]["apiVersion"], "batch/v1beta1");
        assert_eq!(docs[3]["spec"]["schedule"], "0 3 * * 1");
        assert_eq!(docs[0]["apiVersion"], "v1");
    }

    #[test]
    fn only_objects_labelled_for_this_schedule_are_its_own() {
        let object = |labels: serde_json::Value| -> DynamicObject {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "weekly", "namespace": "prod", "labels": labels}
            }))
            .unwrap()
        };
        assert!(owned_by_schedule(
            &object(serde_json::json!({SCHEDULE_LABEL: "weekly"})),
            "weekly"
        ));
        assert!(!owned_by_schedule(
            &object(serde_json::json!({SCHEDULE_LABEL: "other"})),
            "weekly"
        ));
        assert!(!owned_by_schedule(
            &object(serde_json::json!({MANAGED_BY: FIELD_MANAGER})),
            "weekly"
        ));
        assert!(!owned_by_schedule(&object(serde_json::json!({})), "weekly"));
        // Every object the schedule makes carries the label.
        let m = manifests(&plan("db-0", &[target(Some(RunStrategy::Always))]));
        for value in [
            to_value(&m.service_account),
            to_value(&m.role),
            to_value(&m.role_binding),
            to_value(&m.cron_job),
        ] {
            let object: DynamicObject = serde_json::from_value(value).unwrap();
            assert!(owned_by_schedule(&object, "weekly"));
        }
    }

    /// A run that lists (flags, several VMIs, a replica counted against its set) may list
    /// VMIs and VMs and get any owner VM.
    #[test]
    fn a_listing_run_may_list() {
        let lists = rules(&permissions_for(
            &[target(None)],
            preflight::How::default(),
            true,
        ));
        let text = serde_json::to_string(&lists).unwrap();
        assert!(
            text.contains(r#""resources":["virtualmachineinstances"],"verbs":["get","list","delete","watch","create"]"#),
            "{text}"
        );
        assert!(
            text.contains(r#""resources":["virtualmachines"],"verbs":["get","list"]"#),
            "{text}"
        );
    }

    #[test]
    fn yes_is_not_given_twice() {
        let p = plan("db-0 --yes", &[target(Some(RunStrategy::Always))]);
        assert_eq!(p.args.iter().filter(|a| *a == "--yes").count(), 1);
    }

    #[test]
    fn role_rules_follow_the_plan() {
        let always = rules(&permissions_for(
            &[target(Some(RunStrategy::Always))],
            preflight::How::default(),
            false,
        ));
        let text = serde_json::to_string(&always).unwrap();
        assert_eq!(
            text,
            r#"[{"apiGroups":["kubevirt.io"],"resources":["virtualmachineinstances"],"verbs":["get","delete","list","watch"]},{"apiGroups":["kubevirt.io"],"resources":["virtualmachines"],"verbs":["get"]},{"apiGroups":[""],"resources":["events"],"verbs":["create"]}]"#
        );
        let manual = rules(&permissions_for(
            &[target(Some(RunStrategy::Manual))],
            preflight::How::default(),
            false,
        ));
        assert!(manual.iter().any(|r| r.api_groups.as_deref()
            == Some(&["subresources.kubevirt.io".to_string()][..])
            && r.resources.as_deref() == Some(&["virtualmachines/start".to_string()][..])
            && r.verbs == ["update"]));
        let standalone = rules(&permissions_for(
            &[target(None)],
            preflight::How::default(),
            false,
        ));
        assert!(!serde_json::to_string(&standalone)
            .unwrap()
            .contains("\"virtualmachines\""));
        assert_eq!(
            standalone[0].verbs,
            ["get", "delete", "list", "watch", "create"]
        );
        // A scheduled `--fault crash` may find and delete launcher pods.
        let crash = preflight::How {
            keep_down: false,
            fault: crate::plan::Fault::Crash,
        };
        let crashed = rules(&permissions_for(&[target(None)], crash, false));
        assert!(crashed
            .iter()
            .any(|r| r.api_groups.as_deref() == Some(&[String::new()][..])
                && r.resources.as_deref() == Some(&["pods".to_string()][..])
                && r.verbs == ["list", "delete"]));
    }

    #[test]
    fn outage_arguments_are_checked_by_the_outage_parser() {
        for (bad, why) in [
            ("db-0 --duration soon", "not valid"),
            ("db-0 --frobnicate", "not valid"),
            ("db-0 -n prod", "-n/--namespace"),
            ("db-0 -o yaml", "-o/--output"),
            ("db-0 --save-dir /x", "--save-dir"),
            ("--duration 1m", "no VMI named"),
            ("db-0 --context other", "--kubeconfig/--context"),
        ] {
            let err = crate::cli::scheduled_outage(&words(bad))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn names_must_fit_a_cronjob() {
        assert!(validate_name("weekly-db").is_ok());
        assert!(validate_name("Weekly").is_err());
        assert!(validate_name(&"a".repeat(53)).is_err());
        assert!(validate_name("-x").is_err());
    }
}
