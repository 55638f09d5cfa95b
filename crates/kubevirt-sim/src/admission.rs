//! virt-api's VMI create validator, in the one rule the genuine tier showed the simulator was
//! missing: a VMI may not be created with the labels KubeVirt reserves for itself
//! (`restrictedVmiLabels` in KubeVirt v1.9.0's `vmi-create-admitter.go`), "creation of the
//! following reserved kubevirt.io/ labels on a VMI object is prohibited". A re-created VMI that
//! still carries its old `kubevirt.io/nodeName` is refused by a real cluster; the simulator
//! refuses it the same way, with a ValidatingAdmissionPolicy (CEL, in the API server itself)
//! instead of a webhook. The simulator's own controllers never create VMIs with those labels.

use anyhow::Context;
use kube::{
    api::{Api, ApiResource, DynamicObject, Patch, PatchParams},
    Client,
};
use serde_json::json;

const POLICY: &str = "vmchaos-sim-vmi-reserved-labels";

/// The labels, as KubeVirt v1.9.0 lists them.
pub const RESERVED_LABELS: [&str; 6] = [
    "kubevirt.io/created-by",
    "kubevirt.io/migrationJobUID",
    "kubevirt.io/nodeName",
    "kubevirt.io/migrationTargetNodeName",
    "kubevirt.io/schedulable",
    "kubevirt.io/install-strategy",
];

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "admissionregistration.k8s.io".into(),
        version: "v1".into(),
        api_version: "admissionregistration.k8s.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// The CEL rule: none of the reserved labels on a new VMI.
fn expression() -> String {
    let list = RESERVED_LABELS
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("!has(object.metadata.labels) || !object.metadata.labels.exists(k, k in [{list}])")
}

/// Installs (or updates) the policy and its binding.
pub async fn install(client: &Client) -> anyhow::Result<()> {
    let params = PatchParams::apply(crate::FIELD_MANAGER).force();
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["kubevirt.io"], "apiVersions": ["*"],
                "operations": ["CREATE"], "resources": ["virtualmachineinstances"],
            }]},
            "validations": [{
                "expression": expression(),
                "message": "creation of the following reserved kubevirt.io/ labels on a VMI \
                            object is prohibited",
                "reason": "Invalid",
            }],
        },
    });
    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
    });
    let policies: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &resource("ValidatingAdmissionPolicy", "validatingadmissionpolicies"),
    );
    policies
        .patch(POLICY, &params, &Patch::Apply(&policy))
        .await
        .context("failed to install the VMI create policy")?;
    let bindings: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &resource(
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
        ),
    );
    bindings
        .patch(POLICY, &params, &Patch::Apply(&binding))
        .await
        .context("failed to bind the VMI create policy")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_names_every_reserved_label() {
        let e = expression();
        for label in RESERVED_LABELS {
            assert!(e.contains(&format!("'{label}'")), "{e}");
        }
    }
}
