//! What `schedule --apply`, `--suspend`, `--resume` and `--delete` did to each object, as data;
//! `render::schedule` says it as kubectl would.

/// The label that marks a schedule's objects as its own (value: the schedule's name).
pub const SCHEDULE_LABEL: &str = "vmchaos.dev/schedule";

/// One object's line. `object` is kubectl's `kind.group/name` (`cronjob.batch/weekly`,
/// `role.rbac.authorization.k8s.io/weekly`, `serviceaccount/weekly`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleLine {
    /// Created or updated; `served_as`: the CronJob's API version when the server does not
    /// serve `batch/v1`.
    Applied {
        object: String,
        served_as: Option<String>,
    },
    /// `--suspend` (true) or `--resume` (false).
    Suspended {
        object: String,
        suspended: bool,
    },
    Deleted {
        object: String,
    },
    /// An object of the schedule's name without its label: left alone.
    Kept {
        object: String,
        schedule: String,
    },
}
