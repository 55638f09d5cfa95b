//! Annotations that stage a case, on a VMI (or a VM's or replica set's template metadata, which
//! KubeVirt copies onto the VMIs it creates), except those marked "On a VM", which go on the VM's
//! own metadata. Durations are humantime strings: `1500ms`, `2s`.
//!
//! Some knobs stage a state KubeVirt reaches by ways the simulator doesn't run (a user's pause,
//! a live migration, repeated start failures, a failed volume migration): the object then looks
//! as KubeVirt writes it, and the simulated controllers react to it as KubeVirt's do.

use std::{collections::BTreeMap, time::Duration};

use crate::kubevirt::Phase;

/// Total Pending -> Running time, split evenly over Pending, Scheduling, Scheduled.
pub const BOOT_DELAY: &str = "sim.vmchaos.dev/boot-delay";
/// Running -> Ready=True.
pub const READY_DELAY: &str = "sim.vmchaos.dev/ready-delay";
/// Simulated guest shutdown after the DELETE, instead of terminationGracePeriodSeconds x scale.
pub const SHUTDOWN_DELAY: &str = "sim.vmchaos.dev/shutdown-delay";
/// On a VM: wait this long before re-creating a missing VMI.
pub const RECREATE_DELAY: &str = "sim.vmchaos.dev/recreate-delay";
/// "true": reaches Running, never Ready.
pub const NEVER_READY: &str = "sim.vmchaos.dev/never-ready";
/// A phase name (e.g. "Scheduling"): the VMI stops progressing there.
pub const STUCK_IN: &str = "sim.vmchaos.dev/stuck-in";
/// A duration: that long after Running the VMI goes to Failed (Ready=False).
pub const FAIL_AFTER: &str = "sim.vmchaos.dev/fail-after";
/// "true": an extra finalizer (`BLOCKING_FINALIZER`) the simulator never removes.
pub const BLOCK_DELETION: &str = "sim.vmchaos.dev/block-deletion";
pub const BLOCKING_FINALIZER: &str = "sim.vmchaos.dev/block";
/// On a VM: "true": the `start` subresource answers 500 Internal Server Error.
pub const REJECT_START: &str = "sim.vmchaos.dev/reject-start";

/// "true": once Running and Ready, the VMI is paused as `virtctl pause vmi` leaves it:
/// condition `Paused=True` (reason `PausedByUser`).
pub const PAUSED: &str = "sim.vmchaos.dev/paused";
/// "true": once Running and Ready, the VMI is being live-migrated and stays so:
/// `status.migrationState` with `completed: false` (a source and a target node, a target pod).
pub const MIGRATING: &str = "sim.vmchaos.dev/migrating";
/// On a VM: `[<count>,]<duration>` (e.g. `3,2m`): the VM controller writes
/// `status.startFailure` once, `{consecutiveFailCount: <count, default 1>, retryAfterTimestamp:
/// now + <duration>}`, as KubeVirt records VMIs that failed before Running. Like KubeVirt, it
/// then creates no VMI (Always, RerunOnFailure) before `retryAfterTimestamp`, and clears the
/// record once a later VMI of the VM was Running. Only for Always, RerunOnFailure and Once
/// (KubeVirt clears the record at once under the others).
pub const START_FAILURE: &str = "sim.vmchaos.dev/start-failure";
/// On a VM: "true": the VM controller sets condition `ManualRecoveryRequired=True` (as after a
/// failed volume migration); KubeVirt then creates no VMI for the VM and virt-api refuses
/// `start` with 409.
pub const MANUAL_RECOVERY_REQUIRED: &str = "sim.vmchaos.dev/manual-recovery-required";
/// On a VM: wait this long before stopping a VMI that runStrategy Halted (or `running: false`)
/// says must not run: a busy VM controller, so that a Running VMI under a Halted VM can be seen.
pub const STOP_DELAY: &str = "sim.vmchaos.dev/stop-delay";

/// A duration knob; a value that doesn't parse is reported and ignored, never fatal.
pub(crate) fn duration(annotations: &BTreeMap<String, String>, key: &str) -> Option<Duration> {
    let value = annotations.get(key)?;
    match humantime::parse_duration(value.trim()) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!("ignoring annotation {key}={value:?}: not a duration ({e})");
            None
        }
    }
}

/// A "true"/"false" knob (case-insensitive); anything else counts as false.
pub(crate) fn flag(annotations: &BTreeMap<String, String>, key: &str) -> bool {
    annotations
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// `START_FAILURE`: (consecutiveFailCount, back-off); a bad value is reported and ignored.
pub(crate) fn start_failure(annotations: &BTreeMap<String, String>) -> Option<(u32, Duration)> {
    let value = annotations.get(START_FAILURE)?;
    let (count, backoff) = match value.split_once(',') {
        Some((count, backoff)) => (count.trim().parse().ok(), backoff),
        None => (Some(1), value.as_str()),
    };
    match (count, humantime::parse_duration(backoff.trim())) {
        (Some(count), Ok(backoff)) if count > 0 => Some((count, backoff)),
        _ => {
            tracing::warn!(
                "ignoring annotation {START_FAILURE}={value:?}: not [<count>,]<duration>"
            );
            None
        }
    }
}

/// `STUCK_IN`: the phase a VMI stops progressing in.
pub(crate) fn stuck_in(annotations: &BTreeMap<String, String>) -> Option<Phase> {
    let value = annotations.get(STUCK_IN)?;
    let phase = Phase::parse(value.trim());
    if phase.is_none() {
        tracing::warn!("ignoring annotation {STUCK_IN}={value:?}: not a VMI phase");
    }
    phase
}

// The simulated guest (see `guest`): it serves TCP and HTTP on the VMI's address once Ready.
/// Ready -> the guest serves (default `SimConfig::guest_boot_delay`).
pub const GUEST_BOOT_DELAY: &str = "sim.vmchaos.dev/guest-boot-delay";
/// "true": the guest never serves (the VMI still becomes Ready).
pub const GUEST_NEVER_SERVES: &str = "sim.vmchaos.dev/guest-never-serves";
/// A duration: for that long after it starts serving, the guest answers slowly.
pub const GUEST_SLOW_START: &str = "sim.vmchaos.dev/guest-slow-start";
/// How slowly (each answer's delay) during the slow start; default 2s.
pub const GUEST_SLOW_ANSWER: &str = "sim.vmchaos.dev/guest-slow-answer";
/// Written by the simulator on each VM (and VMI replica set): its stable front address, which
/// forwards the guest ports to whichever of its VMIs serves.
pub const FRONT_ADDRESS: &str = "sim.vmchaos.dev/front-address";

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations_are_humantime_and_bad_values_are_ignored() {
        let a = annotations(&[
            (BOOT_DELAY, "1500ms"),
            (READY_DELAY, " 2s "),
            (SHUTDOWN_DELAY, "soon"),
        ]);
        assert_eq!(duration(&a, BOOT_DELAY), Some(Duration::from_millis(1500)));
        assert_eq!(duration(&a, READY_DELAY), Some(Duration::from_secs(2)));
        assert_eq!(duration(&a, SHUTDOWN_DELAY), None);
        assert_eq!(duration(&a, FAIL_AFTER), None);
    }

    #[test]
    fn flags_need_true() {
        let a = annotations(&[(NEVER_READY, "True"), (BLOCK_DELETION, "yes")]);
        assert!(flag(&a, NEVER_READY));
        assert!(!flag(&a, BLOCK_DELETION));
        assert!(!flag(&a, REJECT_START));
    }

    #[test]
    fn start_failure_takes_an_optional_count_and_a_back_off() {
        let one = annotations(&[(START_FAILURE, "90s")]);
        assert_eq!(start_failure(&one), Some((1, Duration::from_secs(90))));
        let three = annotations(&[(START_FAILURE, "3, 2m")]);
        assert_eq!(start_failure(&three), Some((3, Duration::from_secs(120))));
        for bad in ["0,1s", "x,1s", "soon"] {
            assert_eq!(
                start_failure(&annotations(&[(START_FAILURE, bad)])),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn stuck_in_names_a_phase() {
        assert_eq!(
            stuck_in(&annotations(&[(STUCK_IN, "Scheduling")])),
            Some(Phase::Scheduling)
        );
        assert_eq!(stuck_in(&annotations(&[(STUCK_IN, "Limbo")])), None);
        assert_eq!(stuck_in(&annotations(&[])), None);
    }
}
