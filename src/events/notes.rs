//! Everything the user should read besides the phases and the verdict, as data: one variant
//! per kind of note. `render::notes` words them (terminal, reports, and the `notes`/`warnings`
//! strings of the JSON/YAML documents).

use std::{path::PathBuf, time::Duration};

use super::target::{ProbeChange, TargetEvent};
use crate::{plan::Warning, repeat::series::BackOff, selection::Chosen};

#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    // Before the delete.
    /// The chosen targets with each plan (a table).
    Chosen(Box<Chosen>),
    /// A plan's warning about one target (`vmi`: namespace/name), before the delete.
    WarningFor {
        vmi: String,
        warning: Warning,
    },
    /// A dry run: virt-api answered the dry-run start of VM `vm` with "already running".
    DryRunStartServed {
        vmi: String,
        vm: String,
    },

    // While the outage runs.
    /// The first Ctrl-C or SIGTERM: the tool brings the `targets` VMIs back first.
    Interrupted {
        targets: usize,
    },
    /// The second one: the tool exits at once.
    InterruptedAgain,
    /// A probe starts failing or passes again; `vmi`: the VMI a `vmi:` probe follows.
    Probe {
        change: ProbeChange,
        vmi: Option<String>,
    },
    /// The watch on a namespace broke (`error`) and is being resumed.
    WatchBroke {
        namespace: String,
        error: String,
    },
    WatchBack {
        namespace: String,
    },
    /// The run ended with `count` requests in flight, waited for `within` at most.
    FinishingRequests {
        count: usize,
        within: Duration,
    },
    /// They did not all answer within `after`.
    GaveUpOnRequests {
        count: usize,
        after: Duration,
    },
    /// A Kubernetes Event (`reason`) on `object` (e.g. `VirtualMachine prod/db-0`) in
    /// `namespace` could not be created.
    EventNotRecorded {
        reason: &'static str,
        object: String,
        namespace: String,
        failure: EventFailure,
    },
    /// After Ctrl-C: the command that brings VMI `vmi` back if nothing else does.
    IfNotBack {
        vmi: String,
        command: String,
    },

    // `--repeat`.
    /// Trial `n` of `of` begins.
    Trial {
        n: u32,
        of: u32,
    },
    /// KubeVirt's start back-off delayed a VM between trials.
    BackOff(BackOff),

    // In the documents.
    /// A plan's warning (a `Report`'s `warnings`).
    Warning(Warning),
    /// Something that happened to the target worth reading afterwards (from the core).
    Target(TargetEvent),
    /// Replica set `set` (namespace `namespace`) replaces its VMI itself: not recovered yet.
    ReplicaSetReplaces {
        set: String,
        namespace: String,
    },
    /// VMI `namespace/name` exists but is not Running and Ready.
    ReplacementExists {
        namespace: String,
        name: String,
    },
    /// `--report DIR`: the reports could not be written (`why`: the error, worded).
    ReportsNotWritten {
        why: String,
    },
    /// A typed error's hint (worded with the error, in `error.rs`).
    Hint(String),

    // `run -f`.
    /// `file` line `line`: key `key` is Kraken's own and read past.
    KrakenOwn {
        file: PathBuf,
        line: u64,
        key: String,
    },
    /// `performance_monitoring` has `enable_alerts` off: no alert profile read.
    AlertsOff {
        file: PathBuf,
        line: u64,
    },
    /// The alert profile read: `critical` rules abort a step, `others` are not watched.
    AlertProfile {
        file: PathBuf,
        critical: usize,
        others: usize,
    },
    /// The seed that picked the targets.
    Seed(u64),
    /// `vm_name` matched whole; Kraken's prefix match would also have picked `extra`.
    PrefixMatch {
        vm_name: String,
        extra: Vec<String>,
    },
    /// A matching VMI the outage refuses (`why`: the refusal, worded by the selection).
    NotHitting {
        vmi: String,
        why: String,
    },
    /// `kill_count` asks for more VMIs than the `candidates` that match.
    KillCountShort {
        kill_count: usize,
        candidates: usize,
    },
}

/// Why a Kubernetes Event was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFailure {
    /// 403: no `create events` permission.
    NoPermission,
    /// Another refusal (the API server's message).
    Refused(String),
    /// No answer within this long.
    NoAnswer(Duration),
}
