//! Choosing the targets of an outage from the listed VMIs: by name, by label selector or all of
//! them, then optionally a random sample (`--count`, `--percent`) drawn WITHOUT replacement from a
//! seeded generator, so that `--seed` repeats a run exactly. Pure: `choose` reads rows that
//! `targets::list_with` produced and says which to hit, or why not. The guards live here too:
//! `--max-targets`, and never every running replica of one replica set or pool at once.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::Serialize;

use crate::{
    error::{Error, Result},
    kubevirt::{is_protected_namespace, Recovery},
    plan::Warning,
    targets::{Group, OwnerRef, Target},
};

/// Where targets are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Namespace(String),
    All,
}

impl Scope {
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Namespace(ns) => Some(ns),
            Scope::All => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
            Scope::All => f.write_str("all namespaces"),
        }
    }
}

/// A percentage with up to two decimals (`10`, `12.5`, `33.33`, `10%`), kept in hundredths of
/// a percent so that rounding up is exact (10 % of 30 is 3, not 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent {
    hundredths: u64,
}

impl Percent {
    /// How many of `n` this percentage takes: rounded up, and at least 1 when `n > 0`.
    pub fn of(self, n: usize) -> usize {
        let n = n as u64;
        let taken = (n * self.hundredths).div_ceil(10_000);
        taken.max(u64::from(n > 0)) as usize
    }
}

impl FromStr for Percent {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let bad = || format!("{text:?} is not a percentage between 0 and 100 (e.g. 10 or 12.5)");
        let digits = text.trim().trim_end_matches('%');
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || frac.len() > 2
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let hundredths = whole.checked_mul(100).ok_or_else(bad)? + frac;
        if hundredths == 0 || hundredths > 10_000 {
            return Err(bad());
        }
        Ok(Percent { hundredths })
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.hundredths / 100, self.hundredths % 100);
        match frac {
            0 => write!(f, "{whole}%"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}%", f10 / 10),
            _ => write!(f, "{whole}.{frac:02}%"),
        }
    }
}

/// A random sample of the chosen set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    Count(usize),
    Percent(Percent),
}

/// How to choose, resolved from the command line's `Targets` (`SelectionArgs::from_cli`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionArgs {
    pub scope: Scope,
    /// `NAME` (in the scope's namespace; with -A, in whichever namespace has it) or
    /// `NAMESPACE/NAME`.
    pub names: Vec<String>,
    /// The label selector the listing sent to the API server (rows already match it).
    pub selector: Option<String>,
    pub all: bool,
    pub sample: Option<Sample>,
    /// Seeds the random sample; `from_cli` fills in a fresh one when `--seed` is not given.
    pub seed: Option<u64>,
    pub max_targets: usize,
    pub allow_full_outage: bool,
    pub allow_protected_namespace: bool,
    /// `--fault`: the plans (and so the refusals) depend on it.
    pub fault: crate::plan::Fault,
}

impl SelectionArgs {
    /// A set of targets was asked for on the command line (else: the interactive picker).
    pub fn is_set_given(&self) -> bool {
        !self.names.is_empty() || self.selector.is_some() || self.all || self.sample.is_some()
    }

    /// One VMI named, in a known namespace, and nothing else asked: `(namespace, name)`.
    pub fn single_name(&self) -> Option<(String, String)> {
        if self.selector.is_some() || self.all || self.sample.is_some() {
            return None;
        }
        let [given] = self.names.as_slice() else {
            return None;
        };
        match given.split_once('/') {
            Some((ns, name)) => Some((ns.to_string(), name.to_string())),
            None => Some((self.scope.namespace()?.to_string(), given.clone())),
        }
    }

    /// The namespace to list in (None: all namespaces) so that every named VMI is in the rows.
    pub fn listing_namespace(&self) -> Option<String> {
        let mut namespaces = self.names.iter().map(|n| match n.split_once('/') {
            Some((ns, _)) => Some(ns.to_string()),
            None => self.scope.namespace().map(str::to_string),
        });
        match namespaces.next() {
            None => self.scope.namespace().map(str::to_string),
            Some(first) => namespaces.all(|ns| ns == first).then_some(first).flatten(),
        }
    }
}

/// How the set was chosen, for the summary, dry runs and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    /// `namespace prod` or `all namespaces`.
    pub scope: String,
    /// `names`, `selector`, `all` or `picker`.
    pub by: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// `--count 2` or `--percent 10%`, when a random sample was drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    /// The seed of the random sample: `--seed` with it repeats the same choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// VMIs the set could be drawn from (running, and the plan goes ahead).
    pub candidates: usize,
    pub chosen: usize,
    /// Running VMIs in the set that an outage refuses, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusedTarget {
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

/// One VMI the outage will hit, with its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChosenTarget {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: Option<String>,
    pub vm: Option<String>,
    pub run_strategy: Option<String>,
    pub expected_recovery: Recovery,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The replica set or pool it is one replica of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// Its controller (None: standalone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerRef>,
}

impl ChosenTarget {
    fn from_row(row: &Target) -> Self {
        ChosenTarget {
            namespace: row.namespace.clone(),
            name: row.name.clone(),
            uid: row.uid.clone(),
            node: row.node.clone(),
            vm: row.vm.clone(),
            run_strategy: row.run_strategy.clone(),
            expected_recovery: row.plan.recovery(),
            warnings: row.plan.warnings().to_vec(),
            group: row.group.clone(),
            owner: row.owner.clone(),
        }
    }
}

/// The targets, in a stable order (namespace, name), and how they were chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chosen {
    pub selection: Selection,
    pub targets: Vec<ChosenTarget>,
}

/// Chooses targets among `rows` (a listing of the scope, matching the selector if any).
pub fn choose(rows: &[Target], args: &SelectionArgs) -> Result<Chosen> {
    choose_as(rows, args, if args.names.is_empty() { "" } else { "names" })
}

/// `choose` for VMIs picked at the prompt: the same checks and guards as named VMIs.
pub fn choose_picked(rows: &[Target], args: &SelectionArgs) -> Result<Chosen> {
    choose_as(rows, args, "picker")
}

fn choose_as(rows: &[Target], args: &SelectionArgs, by_names: &'static str) -> Result<Chosen> {
    if !args.names.is_empty() && (args.selector.is_some() || args.all) {
        return Err(Error::usage(
            "VMI names cannot be combined with -l/--selector or --all",
            "either name the VMIs, or choose them with -l SELECTOR / --all (then --count or --percent to sample)",
        ));
    }
    if args.sample == Some(Sample::Count(0)) {
        return Err(Error::usage(
            "--count 0 chooses nothing",
            "give --count 1 or more",
        ));
    }
    if args.max_targets == 0 {
        return Err(Error::usage(
            "--max-targets 0 allows no target",
            "give --max-targets 1 or more",
        ));
    }
    let (by, mut set, refused) = if !args.names.is_empty() {
        (by_names, named(rows, args)?, Vec::new())
    } else if args.is_set_given() {
        let (set, refused) = candidates(rows, args);
        (
            if args.selector.is_some() {
                "selector"
            } else {
                "all"
            },
            set,
            refused,
        )
    } else {
        return Err(Error::usage(
            "no targets given",
            "name the VMIs, or choose them with -l SELECTOR or --all (see `kubectl vmchaos list`)",
        ));
    };
    let candidates = set.len();
    if set.is_empty() {
        let mut scope = args.scope.to_string();
        if let Some(s) = &args.selector {
            scope.push_str(&format!(" matching {s}"));
        }
        if !refused.is_empty() {
            scope.push_str(&format!(
                " that an outage would not refuse ({} refused: {})",
                refused.len(),
                refused
                    .iter()
                    .map(|r| format!("{}/{}: {}", r.namespace, r.name, r.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        return Err(Error::NoTargets { scope });
    }
    set.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let seed = args.seed.unwrap_or(0);
    let mut chosen = match args.sample {
        None => {
            check_max(set.len(), args)?;
            check_full_outage(&set, args)?;
            set
        }
        Some(sample) => {
            let n = match sample {
                Sample::Count(n) => n,
                Sample::Percent(p) => p.of(set.len()),
            };
            if n > set.len() {
                return Err(Error::usage(
                    format!(
                        "--count {n}, but only {} VMI(s) can be targets here",
                        set.len()
                    ),
                    format!(
                        "lower --count to {} or less, or widen the choice (-A, another -l)",
                        set.len()
                    ),
                ));
            }
            check_max(n, args)?;
            sample_without_full_outage(set, n, seed, args)?
        }
    };
    chosen.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let targets: Vec<ChosenTarget> = chosen.iter().map(|r| ChosenTarget::from_row(r)).collect();
    Ok(Chosen {
        selection: Selection {
            scope: args.scope.to_string(),
            by,
            names: args.names.clone(),
            selector: args.selector.clone(),
            sample: args.sample.map(|s| match s {
                Sample::Count(n) => format!("--count {n}"),
                Sample::Percent(p) => format!("--percent {p}"),
            }),
            seed: args.sample.map(|_| seed),
            candidates,
            chosen: targets.len(),
            refused,
        },
        targets,
    })
}

/// The named VMIs, each running and with a plan that goes ahead; anything else is an error.
fn named<'a>(rows: &'a [Target], args: &SelectionArgs) -> Result<Vec<&'a Target>> {
    let mut set: Vec<&Target> = Vec::new();
    for given in &args.names {
        let (namespace, name) = match given.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (args.scope.namespace(), given.as_str()),
        };
        let matches: Vec<&Target> = rows
            .iter()
            .filter(|r| r.name == name && namespace.is_none_or(|ns| r.namespace == ns))
            .collect();
        let row = match matches.as_slice() {
            [row] => *row,
            [] => {
                let running = |ns: Option<&str>| -> Vec<String> {
                    rows.iter()
                        .filter(|r| r.is_running() && ns.is_none_or(|ns| r.namespace == ns))
                        .map(|r| match ns {
                            Some(_) => r.name.clone(),
                            None => format!("{}/{}", r.namespace, r.name),
                        })
                        .collect()
                };
                return Err(match namespace {
                    Some(ns) => Error::VmiNotFound {
                        name: name.into(),
                        namespace: ns.into(),
                        running: running(Some(ns)),
                    },
                    None => Error::usage(
                        format!("no VMI named {name} in any namespace"),
                        format!("running VMIs: {}", running(None).join(", ")),
                    ),
                });
            }
            several => {
                return Err(Error::usage(
                    format!(
                        "{} VMIs are named {name} in different namespaces: {}",
                        several.len(),
                        several
                            .iter()
                            .map(|r| r.namespace.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!("name it as NAMESPACE/{name}, or pick the namespace with -n"),
                ))
            }
        };
        if is_protected_namespace(&row.namespace) && !args.allow_protected_namespace {
            return Err(Error::ProtectedNamespace {
                namespace: row.namespace.clone(),
            });
        }
        if let Some(refusal) = row.plan.refusal() {
            return Err(Error::Refused {
                namespace: row.namespace.clone(),
                name: row.name.clone(),
                refusal: refusal.clone(),
            });
        }
        if !set.iter().any(|r| std::ptr::eq(*r, row)) {
            set.push(row);
        }
    }
    Ok(set)
}

/// Every running VMI in the rows whose plan goes ahead (outside protected namespaces unless
/// allowed); the running ones it refuses, with why. What a set (`-l`, `--all`, a scenario step)
/// can be drawn from.
pub fn candidates<'a>(
    rows: &'a [Target],
    args: &SelectionArgs,
) -> (Vec<&'a Target>, Vec<RefusedTarget>) {
    let mut set = Vec::new();
    let mut refused = Vec::new();
    for row in rows.iter().filter(|r| r.is_running()) {
        let reason = if is_protected_namespace(&row.namespace) && !args.allow_protected_namespace {
            Some(format!(
                "namespace {} is protected (--allow-protected-namespace)",
                row.namespace
            ))
        } else {
            row.plan.refusal().map(|r| r.reason())
        };
        match reason {
            None => set.push(row),
            Some(reason) => refused.push(RefusedTarget {
                namespace: row.namespace.clone(),
                name: row.name.clone(),
                reason,
            }),
        }
    }
    refused.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    (set, refused)
}

fn check_max(n: usize, args: &SelectionArgs) -> Result<()> {
    if n > args.max_targets {
        return Err(Error::TooManyTargets {
            chosen: n,
            max: args.max_targets,
        });
    }
    Ok(())
}

/// How many of each group's running replicas `set` holds.
fn per_group<'a>(set: &[&'a Target]) -> BTreeMap<&'a str, (usize, &'a Group, &'a str)> {
    let mut groups = BTreeMap::new();
    for row in set {
        if let Some(g) = &row.group {
            groups
                .entry(g.key.as_str())
                .or_insert((0, g, row.namespace.as_str()))
                .0 += 1;
        }
    }
    groups
}

fn full_outage_error(group: &Group, namespace: &str, chosen: usize) -> Error {
    Error::FullOutage {
        kind: group.kind.as_str(),
        namespace: namespace.into(),
        name: group.name.clone(),
        chosen,
        running: group.running,
    }
}

fn check_full_outage(set: &[&Target], args: &SelectionArgs) -> Result<()> {
    if args.allow_full_outage {
        return Ok(());
    }
    match per_group(set)
        .into_values()
        .find(|(n, g, _)| *n as u32 >= g.running)
    {
        Some((n, g, ns)) => Err(full_outage_error(g, ns, n)),
        None => Ok(()),
    }
}

/// `n` of `set` at random, without replacement, skipping any VMI that would take the last
/// running replica of its group (unless --allow-full-outage).
fn sample_without_full_outage<'a>(
    set: Vec<&'a Target>,
    n: usize,
    seed: u64,
    args: &SelectionArgs,
) -> Result<Vec<&'a Target>> {
    let mut order: Vec<usize> = (0..set.len()).collect();
    let mut rng = SplitMix64::new(seed);
    shuffle(&mut order, &mut rng);
    let mut taken: BTreeMap<&str, u32> = BTreeMap::new();
    let mut chosen = Vec::with_capacity(n);
    let mut spared: Option<&Target> = None;
    for i in order {
        if chosen.len() == n {
            break;
        }
        let row = set[i];
        if let Some(g) = row.group.as_ref().filter(|_| !args.allow_full_outage) {
            let count = taken.entry(g.key.as_str()).or_default();
            if *count + 1 >= g.running {
                spared.get_or_insert(row);
                continue;
            }
            *count += 1;
        }
        chosen.push(row);
    }
    if chosen.len() < n {
        let row = spared.expect("a VMI was skipped");
        let group = row.group.as_ref().expect("skipped for its group");
        return Err(Error::usage(
            format!(
                "only {} of the {n} VMIs asked for can be chosen without taking down every serving replica of {} {}/{} ({} Running and Ready)",
                chosen.len(),
                group.kind.as_str(),
                row.namespace,
                group.name,
                group.running
            ),
            "ask for fewer (--count, --percent, a scenario's kill_count), or add --allow-full-outage if a full outage is the test",
        ));
    }
    Ok(chosen)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator; the same seed gives the
/// same sequence on every platform and in every version, which is what `--seed` promises.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Fisher–Yates: every order equally likely.
fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A seed for a run that was not given one: printed, so the run can be repeated.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Only the low 53 bits, so the seed survives JSON readers that parse numbers as doubles.
    SplitMix64::new(nanos ^ (u64::from(std::process::id()) << 32)).next_u64() & ((1 << 53) - 1)
}

/// The targets as given on the command line (names, `-l`, `--all`, `--count`/`--percent`,
/// `--seed`) with the guards (`--max-targets`, `--allow-full-outage`); `cli::TargetArgs`
/// converts into this.
#[derive(Debug, Clone)]
pub struct Targets {
    pub names: Vec<String>,
    pub selector: Option<String>,
    pub all: bool,
    pub count: Option<usize>,
    pub percent: Option<Percent>,
    pub seed: Option<u64>,
    pub max_targets: usize,
    pub allow_full_outage: bool,
}

impl Targets {
    /// These VMIs by name (`NAME` or `NAMESPACE/NAME`), with the guards given: how a repeated
    /// trial and a `run -f` step choose again the VMIs they already decided on.
    pub fn named(names: Vec<String>, max_targets: usize, allow_full_outage: bool) -> Targets {
        Targets {
            names,
            selector: None,
            all: false,
            count: None,
            percent: None,
            seed: None,
            max_targets,
            allow_full_outage,
        }
    }
}

impl SelectionArgs {
    /// From the command line; `namespace` is -n or the context's. Fills in a fresh seed when a
    /// sample is asked for without --seed.
    pub fn from_cli(
        targets: &Targets,
        all_namespaces: bool,
        namespace: &str,
        allow_protected_namespace: bool,
    ) -> Self {
        let sample = match (targets.count, targets.percent) {
            (Some(n), _) => Some(Sample::Count(n)),
            (None, Some(p)) => Some(Sample::Percent(p)),
            (None, None) => None,
        };
        SelectionArgs {
            scope: if all_namespaces {
                Scope::All
            } else {
                Scope::Namespace(namespace.to_string())
            },
            names: targets.names.clone(),
            selector: targets.selector.clone(),
            all: targets.all,
            sample,
            seed: sample.map(|_| targets.seed.unwrap_or_else(fresh_seed)),
            max_targets: targets.max_targets,
            allow_full_outage: targets.allow_full_outage,
            allow_protected_namespace,
            fault: crate::plan::Fault::Delete,
        }
    }

    /// The same choice, for this fault.
    pub fn with_fault(self, fault: crate::plan::Fault) -> Self {
        SelectionArgs { fault, ..self }
    }
}

/// `NAME` or `NAMESPACE/NAME`, each part there: `/db-0` would look in a namespace named "".
pub fn check_names(names: &[String]) -> Result<()> {
    for given in names {
        let bad = match given.split_once('/') {
            Some((ns, name)) => ns.is_empty() || name.is_empty() || name.contains('/'),
            None => given.is_empty(),
        };
        if bad {
            return Err(Error::usage(
                format!(
                    "{given:?} is not a VMI name: give NAME, or NAMESPACE/NAME with both parts"
                ),
                "e.g. `db-0 -n prod` or `prod/db-0`",
            ));
        }
    }
    Ok(())
}

/// The chosen targets, and the named VMI's objects when it was read on its own.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub chosen: Chosen,
    /// One VMI named (no flags) and read by GET, not in a replica set or pool: its objects, so
    /// that the outage does not read them again.
    pub read: Option<crate::targets::Read>,
}

/// Reads what `args` needs and chooses, with every guard: the one call `outage` (names, flags,
/// the picker's choice), `run -f` and `schedule` make to know their targets. One named VMI is
/// read with GETs (the VMI and its VM); a replica of a set or pool, several names or flags list
/// the scope (or the named VMIs' namespace), matching the selector.
pub async fn resolve(cluster: &crate::cluster::Cluster, args: &SelectionArgs) -> Result<Resolved> {
    check_names(&args.names)?;
    if let Some((namespace, name)) = args.single_name() {
        let read = cluster
            .bounded(crate::targets::read_one(&cluster.client, &namespace, &name))
            .await
            .map_err(|e| match crate::error::api_code(&e) {
                Some(404) => Error::KubeVirtMissing {
                    context: cluster.context.clone(),
                },
                _ => cluster.request_error(format!("get VMI {namespace}/{name}"), e),
            })?;
        // Not there: the listing below says so, with the running VMIs. A replica: its set's
        // other replicas decide whether it may go.
        if let Some(read) = read {
            let row = read.row(args.fault);
            if row.group.is_none() {
                let chosen = choose(std::slice::from_ref(&row), args)?;
                return Ok(Resolved {
                    chosen,
                    read: Some(read),
                });
            }
        }
    }
    let (_, rows) = list_for(cluster, args).await?;
    Ok(Resolved {
        chosen: choose(&rows, args)?,
        read: None,
    })
}

/// The rows `choose` needs for `args`: every VMI (not only running ones, so that a named VMI
/// that isn't running is refused with its reason) in the namespace to look in.
pub async fn list_for(
    cluster: &crate::cluster::Cluster,
    args: &SelectionArgs,
) -> Result<(Option<String>, Vec<Target>)> {
    let namespace = args.listing_namespace();
    let query = crate::targets::Query {
        namespace: namespace.as_deref(),
        selector: args.selector.as_deref(),
        running_only: false,
        fault: args.fault,
    };
    let rows = crate::targets::list_with(&cluster.client, &query)
        .await
        .map_err(|e| match crate::error::api_code(&e) {
            Some(404) => Error::KubeVirtMissing {
                context: cluster.context.clone(),
            },
            _ => {
                let scope = namespace
                    .as_deref()
                    .map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
                cluster.request_error(format!("list VMIs in {scope}"), e)
            }
        })?;
    Ok((namespace, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        plan::{Plan, Refusal},
        targets::GroupKind,
    };

    fn row(ns: &str, name: &str) -> Target {
        Target {
            namespace: ns.into(),
            name: name.into(),
            phase: "Running".into(),
            ready: true,
            node: Some("node-a".into()),
            ip: None,
            uid: format!("uid-{ns}-{name}"),
            age: "5m".into(),
            vm: Some(name.into()),
            run_strategy: Some("Always".into()),
            expected_recovery: Recovery::Automatic,
            refused: None,
            group: None,
            owner: Some(OwnerRef {
                kind: "VirtualMachine".into(),
                name: name.into(),
            }),
            plan: Plan::Go {
                recovery: Recovery::Automatic,
                warnings: vec![],
            },
        }
    }

    fn halted(ns: &str, name: &str) -> Target {
        let refusal = Refusal::Halted {
            vm: name.into(),
            legacy: false,
        };
        Target {
            expected_recovery: Recovery::None,
            refused: Some(refusal.reason()),
            plan: Plan::Refuse(refusal),
            ..row(ns, name)
        }
    }

    fn replica(ns: &str, name: &str, set: &str, running: u32) -> Target {
        Target {
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Follow,
            plan: Plan::Go {
                recovery: Recovery::Follow,
                warnings: vec![],
            },
            group: Some(Group {
                kind: GroupKind::VirtualMachineInstanceReplicaSet,
                name: set.into(),
                key: format!("uid-{set}"),
                running,
            }),
            owner: Some(OwnerRef {
                kind: "VirtualMachineInstanceReplicaSet".into(),
                name: set.into(),
            }),
            ..row(ns, name)
        }
    }

    #[test]
    fn a_name_needs_both_parts_around_its_slash() {
        let ok = |n: &str| check_names(&[n.to_string()]).is_ok();
        assert!(ok("db-0") && ok("prod/db-0"));
        assert!(!ok("/db-0") && !ok("prod/") && !ok("a/b/c") && !ok(""));
    }

    fn args() -> SelectionArgs {
        SelectionArgs {
            scope: Scope::Namespace("prod".into()),
            names: vec![],
            selector: None,
            all: false,
            sample: None,
            seed: None,
            max_targets: 10,
            allow_full_outage: false,
            allow_protected_namespace: false,
            fault: crate::plan::Fault::Delete,
        }
    }

    fn names(chosen: &Chosen) -> Vec<String> {
        chosen
            .targets
            .iter()
            .map(|t| format!("{}/{}", t.namespace, t.name))
            .collect()
    }

    fn fleet(n: usize) -> Vec<Target> {
        (0..n).map(|i| row("prod", &format!("vm-{i:02}"))).collect()
    }

    fn message(e: &Error) -> (String, String) {
        (e.to_string(), e.hint().unwrap_or_default())
    }

    #[test]
    fn named_vmis_in_a_stable_order_without_duplicates() {
        let rows = vec![row("prod", "b"), row("prod", "a"), row("dev", "a")];
        let chosen = choose(
            &rows,
            &SelectionArgs {
                names: vec!["b".into(), "a".into(), "prod/b".into(), "dev/a".into()],
                ..args()
            },
        )
        .unwrap();
        assert_eq!(names(&chosen), ["dev/a", "prod/a", "prod/b"]);
        assert_eq!(chosen.selection.by, "names");
        assert_eq!(chosen.selection.seed, None);
        assert_eq!(chosen.targets[0].expected_recovery, Recovery::Automatic);
    }

    #[test]
    fn an_unknown_name_lists_the_running_vmis() {
        let rows = vec![row("prod", "a"), row("prod", "b"), row("dev", "c")];
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["zz".into()],
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert_eq!(msg, "no VMI named zz in namespace prod");
        assert_eq!(hint, "running VMIs there: a, b");
        assert_eq!(err.exit(), crate::error::Exit::NothingChanged);
    }

    #[test]
    fn a_named_refused_vmi_is_an_error_with_the_plans_reason_and_hint() {
        let rows = vec![row("prod", "a"), halted("prod", "off")];
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["a".into(), "off".into()],
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert_eq!(
            msg,
            "refusing VMI prod/off: VM off is Halted: KubeVirt is already stopping this VMI"
        );
        assert!(hint.contains("runStrategy"), "{hint}");
        assert_eq!(err.exit().code(), 2);
    }

    #[test]
    fn with_all_namespaces_a_plain_name_must_be_unambiguous() {
        let rows = vec![row("prod", "a"), row("dev", "a"), row("dev", "b")];
        let all = SelectionArgs {
            scope: Scope::All,
            ..args()
        };
        let chosen = choose(
            &rows,
            &SelectionArgs {
                names: vec!["b".into()],
                ..all.clone()
            },
        )
        .unwrap();
        assert_eq!(names(&chosen), ["dev/b"]);
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["a".into()],
                ..all.clone()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("2 VMIs are named a"), "{err}");
        assert!(err.hint().unwrap().contains("NAMESPACE/a"));
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["x".into()],
                ..all
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "no VMI named x in any namespace");
    }

    #[test]
    fn names_with_a_selector_or_all_are_a_usage_error() {
        let rows = fleet(3);
        for extra in [
            SelectionArgs {
                selector: Some("app=db".into()),
                ..args()
            },
            SelectionArgs {
                all: true,
                ..args()
            },
        ] {
            let err = choose(
                &rows,
                &SelectionArgs {
                    names: vec!["vm-00".into()],
                    ..extra
                },
            )
            .unwrap_err();
            assert!(matches!(err, Error::Usage { .. }), "{err}");
            assert!(err.to_string().contains("cannot be combined"));
        }
        let err = choose(&rows, &args()).unwrap_err();
        assert_eq!(err.to_string(), "no targets given");
    }

    #[test]
    fn all_takes_every_running_vmi_the_plan_allows_and_lists_the_refused() {
        let mut rows = fleet(3);
        rows.push(halted("prod", "off"));
        rows.push(Target {
            phase: "Scheduling".into(),
            ..row("prod", "booting")
        });
        let chosen = choose(
            &rows,
            &SelectionArgs {
                all: true,
                ..args()
            },
        )
        .unwrap();
        assert_eq!(names(&chosen), ["prod/vm-00", "prod/vm-01", "prod/vm-02"]);
        assert_eq!(chosen.selection.candidates, 3);
        assert_eq!(chosen.selection.by, "all");
        // Only running VMIs are "in scope" for --all: the booting one is not mentioned.
        assert_eq!(chosen.selection.refused.len(), 1);
        assert_eq!(chosen.selection.refused[0].name, "off");
        assert!(chosen.selection.refused[0].reason.contains("Halted"));
    }

    #[test]
    fn protected_namespaces_are_left_out_of_sets_and_refused_by_name() {
        let rows = vec![row("kubevirt", "infra"), row("prod", "a")];
        let all = SelectionArgs {
            scope: Scope::All,
            all: true,
            ..args()
        };
        let chosen = choose(&rows, &all).unwrap();
        assert_eq!(names(&chosen), ["prod/a"]);
        assert!(chosen.selection.refused[0].reason.contains("protected"));
        let chosen = choose(
            &rows,
            &SelectionArgs {
                allow_protected_namespace: true,
                ..all
            },
        )
        .unwrap();
        assert_eq!(chosen.targets.len(), 2);
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["kubevirt/infra".into()],
                ..args()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::ProtectedNamespace { .. }));
    }

    #[test]
    fn nothing_to_choose_is_no_targets_with_the_refusals() {
        let rows = vec![halted("prod", "off")];
        let err = choose(
            &rows,
            &SelectionArgs {
                selector: Some("app=db".into()),
                ..args()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::NoTargets { .. }));
        let text = err.to_string();
        assert!(
            text.starts_with("no running VMI in namespace prod matching app=db"),
            "{text}"
        );
        assert!(text.contains("prod/off: VM off is Halted"), "{text}");
    }

    #[test]
    fn seeded_samples_repeat_and_never_pick_twice() {
        let rows = fleet(40);
        let pick = |seed| {
            names(
                &choose(
                    &rows,
                    &SelectionArgs {
                        all: true,
                        sample: Some(Sample::Count(7)),
                        seed: Some(seed),
                        ..args()
                    },
                )
                .unwrap(),
            )
        };
        let first = pick(42);
        assert_eq!(first, pick(42), "the same seed picks the same VMIs");
        assert_eq!(first.len(), 7);
        let mut unique = first.clone();
        unique.dedup();
        assert_eq!(unique.len(), 7, "without replacement: {first:?}");
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, first, "reported in a stable order");
        assert!(
            (0..20).map(pick).any(|p| p != first),
            "other seeds pick others"
        );
        // Taking all of them by count is every VMI once.
        let every = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(40)),
                seed: Some(1),
                max_targets: 40,
                ..args()
            },
        )
        .unwrap();
        assert_eq!(every.targets.len(), 40);
        assert_eq!(every.selection.seed, Some(1));
        assert_eq!(every.selection.sample.as_deref(), Some("--count 40"));
    }

    #[test]
    fn every_vmi_can_be_picked() {
        let rows = fleet(5);
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let chosen = choose(
                &rows,
                &SelectionArgs {
                    all: true,
                    sample: Some(Sample::Count(1)),
                    seed: Some(seed),
                    ..args()
                },
            )
            .unwrap();
            seen.insert(chosen.targets[0].name.clone());
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    #[test]
    fn the_generator_is_splitmix64() {
        // Reference values of SplitMix64 seeded with 1234567 (the algorithm's published outputs).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn percent_rounds_up_to_at_least_one() {
        let p = |s: &str| s.parse::<Percent>().unwrap();
        assert_eq!(p("10").of(30), 3, "exactly 3, no floating-point 3.0000001");
        assert_eq!(p("10").of(31), 4);
        assert_eq!(p("1").of(5), 1);
        assert_eq!(p("0.01").of(1), 1);
        assert_eq!(p("12.5").of(8), 1);
        assert_eq!(p("12.5%").of(16), 2);
        assert_eq!(p("33.33").of(3), 1);
        assert_eq!(p("100").of(7), 7);
        assert_eq!(p("50").of(0), 0);
        for bad in ["0", "101", "-5", "abc", "1.234", "", "%", ".5"] {
            assert!(bad.parse::<Percent>().is_err(), "{bad}");
        }
        assert_eq!(p("12.5").to_string(), "12.5%");
        assert_eq!(p("10").to_string(), "10%");
        let rows = fleet(30);
        let chosen = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Percent(p("10"))),
                seed: Some(3),
                ..args()
            },
        )
        .unwrap();
        assert_eq!(chosen.targets.len(), 3);
        assert_eq!(chosen.selection.sample.as_deref(), Some("--percent 10%"));
    }

    #[test]
    fn more_than_max_targets_is_refused_with_a_hint() {
        let rows = fleet(17);
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert_eq!(msg, "17 VMIs chosen, more than --max-targets 10");
        assert!(
            hint.contains("--max-targets 17") && hint.contains("--count"),
            "{hint}"
        );
        assert!(choose(
            &rows,
            &SelectionArgs {
                all: true,
                max_targets: 17,
                ..args()
            }
        )
        .is_ok());
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(11)),
                seed: Some(1),
                ..args()
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "11 VMIs chosen, more than --max-targets 10"
        );
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(18)),
                seed: Some(1),
                max_targets: 99,
                ..args()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("--count 18, but only 17"), "{err}");
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(0)),
                ..args()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("--count 0"));
    }

    #[test]
    fn never_every_replica_of_a_set_unless_allowed() {
        let rows = vec![
            replica("prod", "web-a", "web", 3),
            replica("prod", "web-b", "web", 3),
            replica("prod", "web-c", "web", 3),
            row("prod", "db"),
        ];
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert_eq!(
            msg,
            "the choice takes down every serving replica of VirtualMachineInstanceReplicaSet prod/web at once (3 of 3 Running and Ready)"
        );
        assert!(hint.contains("--allow-full-outage"));
        let ok = choose(
            &rows,
            &SelectionArgs {
                all: true,
                allow_full_outage: true,
                ..args()
            },
        )
        .unwrap();
        assert_eq!(ok.targets.len(), 4);
        assert_eq!(ok.targets[1].group.as_ref().unwrap().name, "web");
        // Two of three by name is fine; all three by name is not.
        assert!(choose(
            &rows,
            &SelectionArgs {
                names: vec!["web-a".into(), "web-b".into()],
                ..args()
            }
        )
        .is_ok());
        assert!(choose(
            &rows,
            &SelectionArgs {
                names: vec!["web-a".into(), "web-b".into(), "web-c".into()],
                ..args()
            }
        )
        .is_err());
        // A set whose other replicas are down (running 1): its one running VMI is all of it.
        let lonely = vec![replica("prod", "solo-a", "solo", 1)];
        assert!(choose(
            &lonely,
            &SelectionArgs {
                names: vec!["solo-a".into()],
                ..args()
            }
        )
        .is_err());
    }

    #[test]
    fn random_samples_spare_the_last_replica() {
        let rows = vec![
            replica("prod", "web-a", "web", 3),
            replica("prod", "web-b", "web", 3),
            replica("prod", "web-c", "web", 3),
            row("prod", "db"),
        ];
        for seed in 0..50 {
            let chosen = choose(
                &rows,
                &SelectionArgs {
                    all: true,
                    sample: Some(Sample::Count(3)),
                    seed: Some(seed),
                    ..args()
                },
            )
            .unwrap();
            let web = chosen
                .targets
                .iter()
                .filter(|t| t.name.starts_with("web"))
                .count();
            assert_eq!(web, 2, "seed {seed}: {:?}", names(&chosen));
        }
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(4)),
                seed: Some(1),
                ..args()
            },
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("only 3 of the 4 VMIs"), "{err}");
        let all = choose(
            &rows,
            &SelectionArgs {
                all: true,
                sample: Some(Sample::Count(4)),
                seed: Some(1),
                allow_full_outage: true,
                ..args()
            },
        )
        .unwrap();
        assert_eq!(all.targets.len(), 4);
    }

    #[test]
    fn pool_vms_count_as_one_group() {
        let pooled = |name: &str| Target {
            group: Some(Group {
                kind: GroupKind::VirtualMachinePool,
                name: "pool".into(),
                key: "prod/pool".into(),
                running: 2,
            }),
            ..row("prod", name)
        };
        let rows = vec![pooled("pool-0"), pooled("pool-1")];
        let err = choose(
            &rows,
            &SelectionArgs {
                all: true,
                ..args()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("VirtualMachinePool prod/pool"),
            "{err}"
        );
    }

    #[test]
    fn the_listing_namespace_covers_every_name() {
        let a = |names: &[&str], scope: Scope| SelectionArgs {
            names: names.iter().map(|s| s.to_string()).collect(),
            scope,
            ..args()
        };
        let prod = Scope::Namespace("prod".into());
        assert_eq!(
            a(&[], prod.clone()).listing_namespace().as_deref(),
            Some("prod")
        );
        assert_eq!(
            a(&["x", "prod/y"], prod.clone())
                .listing_namespace()
                .as_deref(),
            Some("prod")
        );
        assert_eq!(
            a(&["dev/x"], prod.clone()).listing_namespace().as_deref(),
            Some("dev")
        );
        assert_eq!(a(&["x", "dev/y"], prod).listing_namespace(), None);
        assert_eq!(a(&["x"], Scope::All).listing_namespace(), None);
    }

    fn unready(ns: &str, name: &str) -> Target {
        Target {
            ready: false,
            expected_recovery: Recovery::None,
            refused: Some(Refusal::NotReady.reason()),
            plan: Plan::Refuse(Refusal::NotReady),
            ..row(ns, name)
        }
    }

    #[test]
    fn a_running_but_unready_vmi_is_refused_by_name_and_left_out_of_sets() {
        let rows = vec![row("prod", "a"), unready("prod", "sick")];
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["sick".into()],
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert!(
            msg.starts_with("refusing VMI prod/sick: the VMI is Running but not Ready"),
            "{msg}"
        );
        assert!(
            hint.contains("kubectl wait vmi sick -n prod --for=condition=Ready"),
            "{hint}"
        );
        assert_eq!(err.exit().code(), 2);
        let chosen = choose(
            &rows,
            &SelectionArgs {
                all: true,
                ..args()
            },
        )
        .unwrap();
        assert_eq!(names(&chosen), ["prod/a"]);
        assert_eq!(chosen.selection.refused[0].name, "sick");
        assert!(chosen.selection.refused[0].reason.contains("not Ready"));
    }

    /// The picker's choice goes through the same guards as names and flags, with the flags given
    /// on the command line (--max-targets, --allow-full-outage, --allow-protected-namespace).
    #[test]
    fn picked_vmis_meet_every_guard() {
        let rows = vec![
            replica("prod", "web-a", "web", 2),
            replica("prod", "web-b", "web", 2),
            row("prod", "db"),
            unready("prod", "sick"),
            row("kube-system", "infra"),
        ];
        let picked = |names: &[&str], extra: SelectionArgs| {
            choose_picked(
                &rows,
                &SelectionArgs {
                    names: names.iter().map(|n| n.to_string()).collect(),
                    ..extra
                },
            )
        };
        let ok = picked(&["prod/web-a", "prod/db"], args()).unwrap();
        assert_eq!(ok.selection.by, "picker");
        assert_eq!(names(&ok), ["prod/db", "prod/web-a"]);
        let err = picked(&["prod/web-a", "prod/web-b"], args()).unwrap_err();
        assert!(matches!(err, Error::FullOutage { .. }), "{err}");
        assert!(picked(
            &["prod/web-a", "prod/web-b"],
            SelectionArgs {
                allow_full_outage: true,
                ..args()
            }
        )
        .is_ok());
        let err = picked(
            &["prod/web-a", "prod/db"],
            SelectionArgs {
                max_targets: 1,
                ..args()
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "2 VMIs chosen, more than --max-targets 1");
        let err = picked(&["prod/sick"], args()).unwrap_err();
        assert!(err.to_string().contains("not Ready"), "{err}");
        let err = picked(&["kube-system/infra"], args()).unwrap_err();
        assert!(matches!(err, Error::ProtectedNamespace { .. }), "{err}");
    }

    #[test]
    fn one_name_alone_is_read_on_its_own() {
        let one = |names: &[&str], extra: SelectionArgs| {
            SelectionArgs {
                names: names.iter().map(|n| n.to_string()).collect(),
                ..extra
            }
            .single_name()
        };
        assert_eq!(
            one(&["db-0"], args()),
            Some(("prod".to_string(), "db-0".to_string()))
        );
        assert_eq!(
            one(&["dev/db-0"], args()),
            Some(("dev".to_string(), "db-0".to_string()))
        );
        assert_eq!(one(&["a", "b"], args()), None);
        let all_ns = SelectionArgs {
            scope: Scope::All,
            ..args()
        };
        assert_eq!(one(&["db-0"], all_ns), None);
        let with_selector = SelectionArgs {
            selector: Some("app=db".into()),
            ..args()
        };
        assert_eq!(one(&["db-0"], with_selector), None);
    }

    #[test]
    fn a_lone_replica_by_name_is_a_full_outage() {
        // One running replica of a set, named alone: the whole set.
        let rows = vec![replica("prod", "solo-a", "solo", 1)];
        let err = choose(
            &rows,
            &SelectionArgs {
                names: vec!["solo-a".into()],
                ..args()
            },
        )
        .unwrap_err();
        let (msg, hint) = message(&err);
        assert_eq!(
            msg,
            "the choice takes down every serving replica of VirtualMachineInstanceReplicaSet prod/solo at once (1 of 1 Running and Ready)"
        );
        assert!(hint.contains("--allow-full-outage"), "{hint}");
    }

    #[test]
    fn the_plan_names_a_replicas_set_not_standalone() {
        let rows = vec![replica("prod", "web-a", "web", 2), row("prod", "db")];
        let chosen = choose(
            &rows,
            &SelectionArgs {
                names: vec!["web-a".into(), "db".into()],
                ..args()
            },
        )
        .unwrap();
        let text = crate::render::chosen::render(&chosen);
        assert!(
            text.contains("VirtualMachineInstanceReplicaSet web"),
            "{text}"
        );
        assert!(text.contains("VM db (Always)"), "{text}");
        assert!(!text.contains("standalone"), "{text}");
    }

    #[test]
    fn the_summary_says_how_and_prints_the_seed() {
        let rows = fleet(5);
        let chosen = choose(
            &rows,
            &SelectionArgs {
                selector: Some("app=db".into()),
                sample: Some(Sample::Count(2)),
                seed: Some(7),
                ..args()
            },
        )
        .unwrap();
        assert_eq!(
            crate::render::chosen::how(&chosen.selection),
            "2 of 5 running VMIs matching app=db in namespace prod, at random (--count 2, --seed 7)"
        );
        let text = crate::render::chosen::render(&chosen);
        assert!(text.contains("VM vm-0"), "{text}");
        assert!(!text.contains("REPLICAS"), "no replica set here: {text}");
        assert!(text.contains("KubeVirt re-creates it"), "{text}");
        let json = serde_json::to_value(&chosen).unwrap();
        assert_eq!(json["selection"]["seed"], 7);
        assert_eq!(json["targets"][0]["expectedRecovery"], "automatic");
    }
}
