//! The interactive picker and the confirmation prompt, on stderr. Only called on a terminal.

use dialoguer::{theme::ColorfulTheme, Confirm, FuzzySelect};

use crate::{
    error::{Error, Result},
    targets::Target,
};

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::usage(
        format!("the prompt failed: {e}"),
        "name the VMI and pass --yes to run without prompts",
    )
}

/// The picker's rows, in aligned columns: where it runs and how it would come back.
pub fn picker_rows(targets: &[Target]) -> Vec<String> {
    let cells: Vec<[String; 4]> = targets
        .iter()
        .map(|t| {
            let owner = match (&t.vm, &t.run_strategy) {
                (Some(vm), Some(s)) => format!("VM {vm} ({s})"),
                _ => "standalone".into(),
            };
            [
                format!("{}/{}", t.namespace, t.name),
                format!("node {}", t.node.as_deref().unwrap_or("?")),
                format!("age {}", t.age),
                owner,
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    cells
        .iter()
        .zip(targets)
        .map(|(c, t)| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  → {}",
                c[0],
                c[1],
                c[2],
                c[3],
                t.refused
                    .as_ref()
                    .map_or(t.expected_recovery.describe().to_string(), |r| format!(
                        "refused: {r}"
                    )),
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        })
        .collect()
}

/// Fuzzy-pick a running VMI; None when the user pressed Esc.
pub async fn pick(rows: Vec<Target>) -> Result<Option<Target>> {
    let items = picker_rows(&rows);
    let choice = tokio::task::spawn_blocking(move || {
        FuzzySelect::with_theme(&ColorfulTheme::default())
            .with_prompt("VMI to delete (type to filter, Esc to cancel)")
            .items(&items)
            .default(0)
            .max_length(15)
            .interact_opt()
    })
    .await
    .map_err(|e| {
        Error::usage(
            format!("the prompt failed: {e}"),
            "name the VMI on the command line",
        )
    })?
    .map_err(prompt_error)?;
    Ok(choice.map(|i| rows[i].clone()))
}

/// Yes/no, default no.
pub async fn confirm(question: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(question)
            .default(false)
            .interact_opt()
    })
    .await
    .map_err(|e| Error::usage(format!("the prompt failed: {e}"), "pass --yes to skip it"))?
    .map(|a| a.unwrap_or(false))
    .map_err(prompt_error)
}
