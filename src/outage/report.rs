//! The result of an outage: one document, printed as a table (text) or as JSON/YAML.

use std::path::PathBuf;

use serde::Serialize;

use super::tracker::Timings;
use crate::{error::Exit, kubevirt::Recovery};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub target: TargetRef,
    pub context: String,
    pub server: String,
    /// The owner VM, if any.
    pub vm: Option<String>,
    pub run_strategy: Option<String>,
    pub expected_recovery: Recovery,
    /// What actually brought it back (`none` if nothing did).
    pub recovery: Recovery,
    pub recovered: bool,
    /// `client` or `server` for a dry run, absent for a real one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<String>,
    pub interrupted: bool,
    pub before: Endpoint,
    pub after: Option<Endpoint>,
    /// When the DELETE was sent (RFC 3339, milliseconds); timings count from here.
    pub injected_at: Option<String>,
    pub timings: Timings,
    pub snapshot: Option<PathBuf>,
    /// The command that brings the VMI back, when it may still be needed.
    pub restore_command: Option<String>,
    pub verdict: String,
    pub exit_code: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip)]
    pub exit: Exit,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TargetRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Endpoint {
    pub uid: String,
    pub node: Option<String>,
    pub ip: Option<String>,
}

impl Report {
    pub fn set_exit(&mut self, exit: Exit) {
        self.exit = exit;
        self.exit_code = exit.code();
    }
}
