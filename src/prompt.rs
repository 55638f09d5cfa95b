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

/// One picker row: where it runs and how it would come back.
pub fn picker_row(t: &Target) -> String {
    let owner = match (&t.vm, &t.run_strategy) {
        (Some(vm), Some(s)) => format!("VM {vm} ({s})"),
        _ => "standalone".into(),
    };
    format!(
        "{}/{}  node {}  age {}  {owner}  → {}",
        t.namespace,
        t.name,
        t.node.as_deref().unwrap_or("?"),
        t.age,
        t.expected_recovery.describe()
    )
}

/// Fuzzy-pick a running VMI; None when the user pressed Esc.
pub async fn pick(rows: Vec<Target>) -> Result<Option<Target>> {
    let items: Vec<String> = rows.iter().map(picker_row).collect();
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
