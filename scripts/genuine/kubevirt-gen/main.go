// kubevirt-gen prints, as a JSON array, what virt-operator would install for the genuine
// test tier: the 19 CRDs of the install strategy plus the KubeVirt CRD, virt-api's APIServices
// and its webhook configurations. It is built inside KubeVirt's own source tree
// (scripts/build-genuine copies it to tools/vmchaos-gen there), so every object comes from the
// same generator functions virt-operator calls, never from a hand-copied file.
//
//	kubevirt-gen -what crds|apiservices|webhooks -namespace kubevirt
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
)

func main() {
	what := flag.String("what", "crds", "crds, apiservices or webhooks")
	namespace := flag.String("namespace", "kubevirt", "KubeVirt's install namespace")
	flag.Parse()

	var objects []interface{}
	switch *what {
	case "crds":
		// The order and the list of install/strategy.go's GenerateCurrentInstallStrategy, then
		// the KubeVirt CRD, which virt-operator's own manifests install.
		builders := []func() (*extv1.CustomResourceDefinition, error){
			components.NewVirtualMachineInstanceCrd, components.NewPresetCrd, components.NewReplicaSetCrd,
			components.NewVirtualMachineCrd, components.NewVirtualMachineInstanceMigrationCrd,
			components.NewVirtualMachineSnapshotCrd, components.NewVirtualMachineSnapshotContentCrd,
			components.NewVirtualMachineRestoreCrd, components.NewVirtualMachineInstancetypeCrd,
			components.NewVirtualMachineClusterInstancetypeCrd, components.NewVirtualMachinePoolCrd,
			components.NewMigrationPolicyCrd, components.NewVirtualMachinePreferenceCrd,
			components.NewVirtualMachineClusterPreferenceCrd, components.NewVirtualMachineExportCrd,
			components.NewVirtualMachineCloneCrd, components.NewVirtualMachineBackupCrd,
			components.NewVirtualMachineBackupTrackerCrd, components.NewPluginCrd,
			components.NewKubeVirtCrd,
		}
		for _, build := range builders {
			crd, err := build()
			if err != nil {
				fail(err)
			}
			objects = append(objects, crd)
		}
	case "apiservices":
		for _, s := range components.NewVirtAPIAPIServices(*namespace) {
			objects = append(objects, s)
		}
	case "webhooks":
		objects = append(objects,
			components.NewVirtAPIMutatingWebhookConfiguration(*namespace),
			components.NewVirtAPIValidatingWebhookConfiguration(*namespace),
			components.NewVirtLauncherPodMutatingWebhookConfiguration(*namespace))
	default:
		fail(fmt.Errorf("unknown -what %q", *what))
	}
	// JSON, not YAML: the API server takes it as it is, and no text post-processing can cut a
	// multi-line description in two.
	out, err := json.Marshal(objects)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kubevirt-gen:", err)
	os.Exit(1)
}
