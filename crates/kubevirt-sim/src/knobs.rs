//! Annotations that stage a case, on a VMI (or a VM's `spec.template.metadata`, which KubeVirt
//! copies onto the VMI it creates), except `RECREATE_DELAY` and `REJECT_START`, which go on the VM.
//! Durations are humantime strings: `1500ms`, `2s`.

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
    fn stuck_in_names_a_phase() {
        assert_eq!(
            stuck_in(&annotations(&[(STUCK_IN, "Scheduling")])),
            Some(Phase::Scheduling)
        );
        assert_eq!(stuck_in(&annotations(&[(STUCK_IN, "Limbo")])), None);
        assert_eq!(stuck_in(&annotations(&[])), None);
    }
}
