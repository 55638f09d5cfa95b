//! The words of every note and warning (`events::Note`): the terminal, the Markdown/HTML/JUnit
//! reports and the documents' `notes`/`warnings` strings all word them here.

use serde::{Serialize, Serializer};

use super::{format_duration, trials, words};
use crate::events::{EventFailure, Note};

/// One note, as the user reads it.
pub fn note(n: &Note) -> String {
    match n {
        Note::Chosen(chosen) => super::chosen::render(chosen).trim_end().to_string(),
        Note::WarningFor { vmi, warning } => format!("{vmi}: {}", words::warning(warning)),
        Note::DryRunStartServed { vmi, vm } => format!(
            "{vmi}: virt-api answered the dry-run start of VM {vm} with \"VM is already running\", as it does while the VMI runs: the start is authorized and served"
        ),
        Note::Interrupted { targets } => format!(
            "interrupted: bringing {} back before exiting (Ctrl-C again to exit at once)",
            if *targets == 1 { "the VMI" } else { "the VMIs" }
        ),
        Note::InterruptedAgain => "interrupted again: exiting now, with the state as last seen".into(),
        Note::Probe { change, vmi } => words::probe_change(change, vmi.as_deref()),
        Note::WatchBroke { namespace, error } => format!(
            "the watch on namespace {namespace} broke ({error}); resuming — steps missed meanwhile are timed from the server's timestamps"
        ),
        Note::WatchBack { namespace } => format!("the watch on namespace {namespace} is back"),
        Note::FinishingRequests { count, within } => format!(
            "finishing {count} request(s) already sent (at most {})",
            format_duration(*within)
        ),
        Note::GaveUpOnRequests { count, after } => format!(
            "gave up on {count} request(s) after {}: the summary says what may be left to do",
            format_duration(*after)
        ),
        Note::EventNotRecorded {
            reason,
            object,
            namespace,
            failure,
        } => {
            let what = format!("Event {reason} on {object} not recorded");
            match failure {
                EventFailure::NoPermission => format!(
                    "{what}: no permission to create events in namespace {namespace} (add `create events` to the role)"
                ),
                EventFailure::Refused(message) => format!("{what}: {message}"),
                EventFailure::NoAnswer(d) => format!("{what}: no answer within {}s", d.as_secs()),
            }
        }
        Note::IfNotBack { vmi, command } => {
            format!("if VMI {vmi} does not come back: {command}")
        }
        Note::Trial { n, of } => format!("trial {n} of {of}"),
        Note::BackOff(b) => trials::back_off(b),
        Note::Warning(w) => words::warning(w),
        Note::Target(what) => words::target_event(what).unwrap_or_default(),
        Note::ReplicaSetReplaces { set, namespace } => format!(
            "replica set {set} replaces the VMI itself (the tool never re-creates it): `kubectl get vmirs {set} -n {namespace}` shows its replicas"
        ),
        Note::ReplacementExists { namespace, name } => format!(
            "VMI {namespace}/{name} exists but is not Running and Ready: `kubectl describe vmi {name} -n {namespace}` says why (no restore: it exists)"
        ),
        Note::ReportsNotWritten { why } => format!("the reports were not written: {why}"),
        Note::Hint(hint) => hint.clone(),
        Note::KrakenOwn { file, line, key } => format!(
            "{} line {line}: {key} is Kraken's own: not used by kubectl-vmchaos",
            file.display()
        ),
        Note::AlertsOff { file, line } => format!(
            "{} line {line}: performance_monitoring enable_alerts is off: no alert profile read",
            file.display()
        ),
        Note::AlertProfile {
            file,
            critical,
            others,
        } => format!(
            "alert profile {}: {critical} critical alert(s) abort any step as soon as they fire; {others} other(s) not watched",
            file.display()
        ),
        Note::Seed(seed) => {
            format!("targets picked with --seed {seed} (the same seed picks the same VMIs)")
        }
        Note::PrefixMatch { vm_name, extra } => format!(
            "vm_name {vm_name} is matched against the whole name; Kraken's prefix match would also have picked {}",
            extra.join(", ")
        ),
        Note::NotHitting { vmi, why } => format!("not hitting {vmi}: {why}"),
        Note::KillCountShort {
            kill_count,
            candidates,
        } => format!(
            "kill_count is {kill_count} but only {candidates} running VMI(s) match: hitting {candidates} (each VMI at most once; Kraken may pick the same VMI twice)"
        ),
    }
}

/// The documents' `notes` and `warnings` are the notes' words, as they always were.
impl Serialize for Note {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&note(self))
    }
}

#[cfg(test)]
#[path = "notes_tests.rs"]
mod tests;
