//! From Kraken's steps to the VMIs each one hits: a pure function of the steps and one list of
//! the running VMIs, decided before anything runs. A step's own matching (the whole-name regex,
//! the namespace regex, the label selector) says which VMIs it is about; the choice among them
//! is `selection`'s, with the guards every entry point has (plans, protected namespaces, never
//! every replica of a set or pool, --max-targets).

use std::{collections::HashSet, path::PathBuf, time::Duration};

use crate::{
    error::Error,
    events::Note,
    kraken::{OutageStep, Step, UnsupportedStep},
    selection::{self, Sample, Scope, SelectionArgs},
    targets::Target,
};

/// An outage step with its targets chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedStep {
    /// 1-based position among all steps.
    pub number: usize,
    pub name: String,
    pub file: PathBuf,
    pub line: u64,
    /// The VMIs to delete, with the plan `list` shows for each.
    pub targets: Vec<Target>,
    pub duration: Duration,
    pub timeout: Duration,
    /// Kraken's `disable_auto_restart`: the outage's keep-down option.
    pub keep_down: bool,
    /// What the user should know about how the targets were chosen.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlannedStep {
    Outage(ResolvedStep),
    /// An unsupported kind, skipped with --skip-unsupported.
    Skip(UnsupportedStep),
}

/// How the outage flags default when a step leaves them out.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub duration: Duration,
    pub timeout: Duration,
}

/// The guards and the seed, from `run`'s flags.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub allow_protected_namespace: bool,
    pub allow_full_outage: bool,
    pub max_targets: usize,
    pub seed: u64,
    /// `--fault`: the plans (and the refusals) are this fault's.
    pub fault: crate::plan::Fault,
}

/// The VMIs a step's selectors match, and which of them it hits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolution {
    pub chosen: Vec<Target>,
    /// Matching VMIs the plan refuses (paused, migrating, not Ready, protected namespace…),
    /// with why.
    pub refused: Vec<(String, String)>,
    /// `ns/name` of VMIs Kraken's prefix match would also have picked.
    pub kraken_extra: Vec<String>,
    pub notes: Vec<Note>,
}

/// Chooses a step's targets among `rows` (running VMIs). `labelled` holds the `(namespace,
/// name)` its `label_selector` selects, when it has one. A guard that refuses the choice is an
/// error; a step that matches nothing it may hit has no targets (the caller says why).
pub fn resolve(
    step: &OutageStep,
    number: usize,
    rows: &[Target],
    labelled: Option<&HashSet<(String, String)>>,
    choice: &Choice,
) -> Result<Resolution, Error> {
    let p = &step.params;
    let in_scope = |t: &Target| {
        t.is_running()
            && p.namespace.matches(&t.namespace)
            && labelled.is_none_or(|set| set.contains(&(t.namespace.clone(), t.name.clone())))
    };
    let mut matching: Vec<Target> = Vec::new();
    let mut out = Resolution::default();
    for t in rows.iter().filter(|t| in_scope(t)) {
        if p.vm_name.as_ref().is_none_or(|n| n.matches(&t.name)) {
            matching.push(t.clone());
        } else if p
            .vm_name
            .as_ref()
            .is_some_and(|n| n.kraken_matches(&t.name))
        {
            out.kraken_extra.push(format!("{}/{}", t.namespace, t.name));
        }
    }
    if !out.kraken_extra.is_empty() {
        out.notes.push(Note::PrefixMatch {
            vm_name: p
                .vm_name
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            extra: out.kraken_extra.clone(),
        });
    }
    let args = SelectionArgs {
        scope: Scope::All,
        names: Vec::new(),
        selector: None,
        all: true,
        sample: None,
        seed: Some(mix(choice.seed, number as u64)),
        max_targets: choice.max_targets,
        allow_full_outage: choice.allow_full_outage,
        allow_protected_namespace: choice.allow_protected_namespace,
        fault: choice.fault,
    };
    let (candidates, refused) = selection::candidates(&matching, &args);
    let candidates = candidates.len();
    out.refused = refused
        .into_iter()
        .map(|r| (format!("{}/{}", r.namespace, r.name), r.reason))
        .collect();
    for (key, why) in &out.refused {
        out.notes.push(Note::NotHitting {
            vmi: key.clone(),
            why: why.clone(),
        });
    }
    if candidates == 0 {
        return Ok(out);
    }
    if candidates < p.kill_count {
        out.notes.push(Note::KillCountShort {
            kill_count: p.kill_count,
            candidates,
        });
    }
    // kill_count of them at random, without replacement; all of them when it asks for as many.
    let args = SelectionArgs {
        sample: (p.kill_count < candidates).then_some(Sample::Count(p.kill_count)),
        ..args
    };
    let chosen = selection::choose(&matching, &args)?;
    out.chosen = chosen
        .targets
        .iter()
        .filter_map(|c| {
            matching
                .iter()
                .find(|t| t.namespace == c.namespace && t.name == c.name)
                .cloned()
        })
        .collect();
    Ok(out)
}

/// What a step that matched nothing says, for the error that stops the run.
pub fn describe_no_match(step: &OutageStep, r: &Resolution) -> String {
    let p = &step.params;
    let mut what = Vec::new();
    if let Some(n) = &p.vm_name {
        what.push(format!("vm_name {}", n.as_str()));
    }
    if let Some(l) = &p.label_selector {
        what.push(format!("label_selector {l}"));
    }
    let mut text = format!(
        "step \"{}\" ({} line {}) matches no running VMI: {} in namespaces matching {}",
        step.name,
        step.file.display(),
        step.line,
        what.join(" and "),
        p.namespace.as_str()
    );
    if !r.refused.is_empty() {
        let refused: Vec<String> = r.refused.iter().map(|(k, w)| format!("{k}: {w}")).collect();
        text.push_str(&format!(" (matching but refused: {})", refused.join("; ")));
    }
    if !r.kraken_extra.is_empty() {
        text.push_str(&format!(
            " (Kraken's prefix match would have picked {})",
            r.kraken_extra.join(", ")
        ));
    }
    text
}

/// The namespaces to list, or None for one list across the cluster: every step names one
/// namespace literally, or some pattern could match many.
pub fn namespaces_to_list(steps: &[Step]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for step in steps {
        if let Step::Outage(o) = step {
            let ns = o.params.namespace.literal()?;
            if !out.iter().any(|n| n == ns) {
                out.push(ns.to_string());
            }
        }
    }
    Some(out)
}

pub fn resolved_step(
    step: &OutageStep,
    number: usize,
    r: Resolution,
    defaults: Defaults,
) -> ResolvedStep {
    ResolvedStep {
        number,
        name: step.name.clone(),
        file: step.file.clone(),
        line: step.line,
        targets: r.chosen,
        duration: step.params.duration.unwrap_or(defaults.duration),
        timeout: step.params.timeout.unwrap_or(defaults.timeout),
        keep_down: step.params.disable_auto_restart,
        notes: r.notes,
    }
}

fn mix(seed: u64, salt: u64) -> u64 {
    splitmix(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn words(notes: &[Note]) -> Vec<String> {
        notes.iter().map(crate::render::notes::note).collect()
    }
    use crate::{kraken, kubevirt::Recovery};

    fn row(ns: &str, name: &str) -> Target {
        Target {
            namespace: ns.into(),
            name: name.into(),
            phase: "Running".into(),
            ready: true,
            node: Some("node-a".into()),
            ip: None,
            uid: format!("uid-{name}"),
            age: "5m".into(),
            vm: Some(name.into()),
            run_strategy: Some("Always".into()),
            expected_recovery: Recovery::Automatic,
            refused: None,
            group: None,
            owner: Some(crate::targets::OwnerRef {
                kind: "VirtualMachine".into(),
                name: name.into(),
            }),
            plan: crate::plan::Plan::Go {
                recovery: Recovery::Automatic,
                warnings: vec![],
            },
        }
    }

    fn step(params: &str) -> OutageStep {
        let text = format!(
            "scenarios:\n  - name: s\n    scenario: kubevirt_vm_outage\n    parameters:\n{params}"
        );
        let loaded = kraken::parse(Path::new("g.yaml"), &text, Path::new(".")).unwrap();
        match loaded.steps.into_iter().next().unwrap() {
            Step::Outage(o) => *o,
            other => panic!("{other:?}"),
        }
    }

    fn names(r: &Resolution) -> Vec<String> {
        r.chosen
            .iter()
            .map(|t| format!("{}/{}", t.namespace, t.name))
            .collect()
    }

    const CHOICE: Choice = Choice {
        allow_protected_namespace: false,
        allow_full_outage: false,
        max_targets: 10,
        seed: 7,
        fault: crate::plan::Fault::Delete,
    };

    fn replica(ns: &str, name: &str, set: &str, running: u32) -> Target {
        Target {
            vm: None,
            run_strategy: None,
            expected_recovery: Recovery::Follow,
            plan: crate::plan::Plan::Go {
                recovery: Recovery::Follow,
                warnings: vec![],
            },
            group: Some(crate::targets::Group {
                kind: crate::targets::GroupKind::VirtualMachineInstanceReplicaSet,
                name: set.into(),
                key: format!("uid-{set}"),
                running,
            }),
            owner: Some(crate::targets::OwnerRef {
                kind: "VirtualMachineInstanceReplicaSet".into(),
                name: set.into(),
            }),
            ..row(ns, name)
        }
    }

    #[test]
    fn whole_name_match_and_what_kraken_would_have_hit() {
        let rows = [
            row("demo", "vm-1"),
            row("demo", "vm-10"),
            row("demo", "vm-11"),
        ];
        let s = step("      vm_name: vm-1\n      namespace: demo\n");
        let r = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert_eq!(names(&r), ["demo/vm-1"]);
        assert_eq!(r.kraken_extra, ["demo/vm-10", "demo/vm-11"]);
        assert_eq!(
            words(&r.notes),
            ["vm_name vm-1 is matched against the whole name; Kraken's prefix match would also have picked demo/vm-10, demo/vm-11"]
        );
    }

    #[test]
    fn kill_count_picks_distinct_vmis_and_says_when_fewer_match() {
        let rows = [row("db", "db-0"), row("db", "db-1"), row("db", "db-2")];
        let s = step("      vm_name: db-.*\n      namespace: db\n      kill_count: 2\n");
        for seed in 0..50 {
            let r = resolve(&s, 1, &rows, None, &Choice { seed, ..CHOICE }).unwrap();
            let n = names(&r);
            assert_eq!(n.len(), 2);
            assert_ne!(n[0], n[1], "seed {seed}");
            assert!(r.notes.is_empty());
        }
        // The same seed picks the same VMIs (a dry run shows what the real run hits).
        let a = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert_eq!(a, resolve(&s, 1, &rows, None, &CHOICE).unwrap());
        let s = step("      vm_name: db-.*\n      namespace: db\n      kill_count: 5\n");
        let r = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert_eq!(names(&r), ["db/db-0", "db/db-1", "db/db-2"]);
        assert_eq!(words(&r.notes), ["kill_count is 5 but only 3 running VMI(s) match: hitting 3 (each VMI at most once; Kraken may pick the same VMI twice)"]);
    }

    #[test]
    fn every_vmi_can_be_picked() {
        let rows = [
            row("db", "db-0"),
            row("db", "db-1"),
            row("db", "db-2"),
            row("db", "db-3"),
        ];
        let s = step("      vm_name: db-.*\n      namespace: db\n");
        let mut seen = HashSet::new();
        for seed in 0..200 {
            let r = resolve(&s, 1, &rows, None, &Choice { seed, ..CHOICE }).unwrap();
            seen.insert(names(&r)[0].clone());
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
    }

    /// The guards of every entry point: a step never takes down every replica of a set, nor
    /// more than --max-targets, unless allowed.
    #[test]
    fn a_step_meets_the_guards() {
        let rows = [
            replica("web", "fronta1b2c", "front", 2),
            replica("web", "frontx9y8z", "front", 2),
            row("web", "db-0"),
        ];
        let all = step("      vm_name: front.*\n      namespace: web\n      kill_count: 2\n");
        let err = resolve(&all, 1, &rows, None, &CHOICE).unwrap_err();
        assert!(matches!(err, Error::FullOutage { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("VirtualMachineInstanceReplicaSet web/front"),
            "{err}"
        );
        let allowed = Choice {
            allow_full_outage: true,
            ..CHOICE
        };
        assert_eq!(
            resolve(&all, 1, &rows, None, &allowed)
                .unwrap()
                .chosen
                .len(),
            2
        );
        // kill_count above what matches is every match: still a full outage.
        let more = step("      vm_name: front.*\n      namespace: web\n      kill_count: 5\n");
        assert!(resolve(&more, 1, &rows, None, &CHOICE).is_err());
        // One of the two at random is fine.
        let one = step("      vm_name: front.*\n      namespace: web\n");
        for seed in 0..20 {
            let r = resolve(&one, 1, &rows, None, &Choice { seed, ..CHOICE }).unwrap();
            assert_eq!(r.chosen.len(), 1);
        }
        let wide = step("      vm_name: .*\n      namespace: web\n      kill_count: 3\n");
        let capped = Choice {
            max_targets: 2,
            allow_full_outage: true,
            ..CHOICE
        };
        let err = resolve(&wide, 1, &rows, None, &capped).unwrap_err();
        assert_eq!(err.to_string(), "3 VMIs chosen, more than --max-targets 2");
    }

    #[test]
    fn an_unready_vmi_is_not_hit() {
        let mut sick = row("db", "db-1");
        sick.ready = false;
        sick.plan = crate::plan::Plan::Refuse(crate::plan::Refusal::NotReady);
        sick.refused = Some(crate::plan::Refusal::NotReady.reason());
        let rows = [row("db", "db-0"), sick];
        let s = step("      vm_name: db-.*\n      namespace: db\n      kill_count: 2\n");
        let r = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert_eq!(names(&r), ["db/db-0"]);
        assert!(
            words(&r.notes)
                .iter()
                .any(|n| n.contains("not hitting db/db-1") && n.contains("not Ready")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn namespace_regex_labels_and_refusals() {
        let mut paused = row("prod-b", "web-2");
        paused.plan = crate::plan::Plan::Refuse(crate::plan::Refusal::Paused);
        paused.refused = Some(crate::plan::Refusal::Paused.reason());
        let rows = [
            row("prod-a", "web-1"),
            paused,
            row("staging", "web-3"),
            row("kube-system", "web-4"),
        ];
        let s = step(
            "      vm_name: web-.*\n      namespace: prod-.*|kube-system\n      kill_count: 9\n",
        );
        let r = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert_eq!(names(&r), ["prod-a/web-1"]);
        assert_eq!(
            r.refused,
            [
                (
                    "kube-system/web-4".to_string(),
                    "namespace kube-system is protected (--allow-protected-namespace)".to_string()
                ),
                (
                    "prod-b/web-2".to_string(),
                    crate::plan::Refusal::Paused.reason()
                ),
            ]
        );
        let allowed = Choice {
            allow_protected_namespace: true,
            ..CHOICE
        };
        assert_eq!(
            names(&resolve(&s, 1, &rows, None, &allowed).unwrap()),
            ["kube-system/web-4", "prod-a/web-1"]
        );
        let s = step("      label_selector: tier=web\n      namespace: .*\n      kill_count: 9\n");
        let labelled: HashSet<(String, String)> =
            [("staging".to_string(), "web-3".to_string())].into();
        assert_eq!(
            names(&resolve(&s, 1, &rows, Some(&labelled), &CHOICE).unwrap()),
            ["staging/web-3"]
        );
    }

    #[test]
    fn a_step_matching_nothing_says_why() {
        let rows = [row("demo", "vm-10")];
        let s = step("      vm_name: vm-1\n      namespace: demo\n");
        let r = resolve(&s, 1, &rows, None, &CHOICE).unwrap();
        assert!(r.chosen.is_empty());
        assert_eq!(
            describe_no_match(&s, &r),
            "step \"s\" (g.yaml line 2) matches no running VMI: vm_name vm-1 in namespaces matching demo (Kraken's prefix match would have picked demo/vm-10)"
        );
    }

    #[test]
    fn one_list_per_literal_namespace_else_one_across_the_cluster() {
        let loaded = kraken::parse(
            Path::new("g.yaml"),
            "scenarios:\n- {scenario: kubevirt_vm_outage, parameters: {vm_name: a, namespace: x}}\n- {scenario: kubevirt_vm_outage, parameters: {vm_name: b, namespace: x}}\n- {scenario: kubevirt_vm_outage, parameters: {vm_name: c}}\n- {scenario: node_stop_start_scenario}\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            namespaces_to_list(&loaded.steps),
            Some(vec!["x".to_string(), "default".to_string()])
        );
        let loaded = kraken::parse(
            Path::new("g.yaml"),
            "scenarios:\n- {scenario: kubevirt_vm_outage, parameters: {vm_name: a, namespace: \"x|y\"}}\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(namespaces_to_list(&loaded.steps), None);
    }
}
