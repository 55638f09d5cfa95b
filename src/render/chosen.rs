//! The chosen targets as a table (a note before the confirmation, and in a dry run).

use crate::selection::{Chosen, Selection};

/// How the set was chosen, in one line: `2 of 5 running VMIs matching app=db in namespace prod,
/// at random (--count 2, --seed 7)`.
pub fn how(s: &Selection) -> String {
    let what = match (s.by, &s.selector) {
        ("names", _) => format!("named VMIs in {}", s.scope),
        ("picker", _) => format!("VMIs picked at the prompt in {}", s.scope),
        (_, Some(sel)) => format!("running VMIs matching {sel} in {}", s.scope),
        _ => format!("running VMIs in {}", s.scope),
    };
    let mut line = format!("{} of {} {what}", s.chosen, s.candidates);
    if let (Some(sample), Some(seed)) = (&s.sample, s.seed) {
        line.push_str(&format!(", at random ({sample}, --seed {seed})"));
    }
    line
}

/// The chosen set as people read it before confirming, and in a dry run: one line on how it was
/// chosen, a row per target with its plan, and the running VMIs that were left out, with why.
pub fn render(chosen: &Chosen) -> String {
    let mut out = format!("{}:\n", how(&chosen.selection));
    let mut cells: Vec<[String; 5]> = vec![[
        "VMI".into(),
        "NODE".into(),
        "OWNER".into(),
        "RECOVERY".into(),
        "REPLICAS".into(),
    ]];
    for t in &chosen.targets {
        let owner = crate::targets::owner_words(
            t.owner.as_ref(),
            t.run_strategy.as_deref(),
            t.group.as_ref(),
        );
        cells.push([
            format!("{}/{}", t.namespace, t.name),
            t.node.clone().unwrap_or_else(|| "<none>".into()),
            owner,
            t.expected_recovery.describe().to_string(),
            t.group
                .as_ref()
                .map_or(String::new(), |g| format!("{} running", g.running)),
        ]);
    }
    // The REPLICAS column only when a target is one replica of a set or pool.
    let columns = if chosen.targets.iter().any(|t| t.group.is_some()) {
        5
    } else {
        4
    };
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .take(columns)
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(&format!("  {}\n", line.join("  ").trim_end()));
    }
    for t in &chosen.targets {
        for w in &t.warnings {
            out.push_str(&format!(
                "  warning: {}/{}: {}\n",
                t.namespace,
                t.name,
                super::words::warning(w)
            ));
        }
    }
    if !chosen.selection.refused.is_empty() {
        out.push_str("left out (an outage refuses them):\n");
        for r in &chosen.selection.refused {
            out.push_str(&format!("  {}/{}: {}\n", r.namespace, r.name, r.reason));
        }
    }
    out
}
