//! What `schedule` did to its objects, one line each, as kubectl says it.

use crate::events::{ScheduleLine, SCHEDULE_LABEL};

pub fn line(l: &ScheduleLine) -> String {
    match l {
        ScheduleLine::Applied {
            object,
            served_as: None,
        } => format!("{object} applied"),
        ScheduleLine::Applied {
            object,
            served_as: Some(version),
        } => format!(
            "{object} applied as {version}: this API server does not serve batch/v1 CronJob (Kubernetes 1.21 or newer); the spec is the same"
        ),
        ScheduleLine::Suspended {
            object,
            suspended,
        } => format!(
            "{object} {}",
            if *suspended { "suspended" } else { "resumed" }
        ),
        ScheduleLine::Deleted { object } => format!("{object} deleted"),
        ScheduleLine::Kept { object, schedule } => format!(
            "{object} kept: it is not part of schedule {schedule} (no {SCHEDULE_LABEL}={schedule} label)"
        ),
    }
}

/// Every line, each ended by a newline (stdout).
pub fn lines(ls: &[ScheduleLine]) -> String {
    ls.iter().map(|l| line(l) + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_reads_as_kubectl_says_it() {
        let o = |s: &str| s.to_string();
        let rows: Vec<(ScheduleLine, &str)> = vec![
            (
                ScheduleLine::Applied { object: o("role.rbac.authorization.k8s.io/w"), served_as: None },
                "role.rbac.authorization.k8s.io/w applied",
            ),
            (
                ScheduleLine::Applied { object: o("cronjob.batch/w"), served_as: Some(o("batch/v1beta1")) },
                "cronjob.batch/w applied as batch/v1beta1: this API server does not serve batch/v1 CronJob (Kubernetes 1.21 or newer); the spec is the same",
            ),
            (
                ScheduleLine::Suspended { object: o("cronjob.batch/w"), suspended: true },
                "cronjob.batch/w suspended",
            ),
            (
                ScheduleLine::Suspended { object: o("cronjob.batch/w"), suspended: false },
                "cronjob.batch/w resumed",
            ),
            (ScheduleLine::Deleted { object: o("serviceaccount/w") }, "serviceaccount/w deleted"),
            (
                ScheduleLine::Kept { object: o("role.rbac.authorization.k8s.io/w"), schedule: o("w") },
                "role.rbac.authorization.k8s.io/w kept: it is not part of schedule w (no vmchaos.dev/schedule=w label)",
            ),
        ];
        for (l, want) in rows {
            // Every variant has a row: a new one without words fails to compile here.
            match &l {
                ScheduleLine::Applied { .. }
                | ScheduleLine::Suspended { .. }
                | ScheduleLine::Deleted { .. }
                | ScheduleLine::Kept { .. } => {}
            }
            assert_eq!(line(&l), want);
        }
        assert_eq!(
            lines(&[
                ScheduleLine::Deleted { object: o("a/b") },
                ScheduleLine::Deleted { object: o("c/d") }
            ]),
            "a/b deleted\nc/d deleted\n"
        );
    }
}
