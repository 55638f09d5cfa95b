# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_vmchaos_global_optspecs
    string join \n kubeconfig= context= n/namespace= A/all-namespaces color= v/verbose s/server= token= as= as-group= insecure-skip-tls-verify tls-server-name= request-timeout= h/help V/version
end

function __fish_kubectl_vmchaos_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_vmchaos_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_vmchaos_using_subcommand
    set -l cmd (__fish_kubectl_vmchaos_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "outage" -d 'Delete a running VMI and follow its recovery, phase by phase, then print a summary'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "run" -d 'Run Kraken scenario files (or Kraken\'s config.yaml): every kubevirt_vm_outage step, in order, then one game-day report'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "list" -d 'List the running VMIs an outage can target, with the recovery each would get'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "ls" -d 'List the running VMIs an outage can target, with the recovery each would get'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "restore" -d 'Re-create a VMI (or start its VM) from a snapshot saved by `outage`'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "schedule" -d 'Print (or --apply) a ServiceAccount, Role, RoleBinding and CronJob that run an outage on a schedule, inside the cluster'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "version" -d 'Print the version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "completion" -d 'Print a shell completion script (bash, zsh, fish, powershell)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "__complete" -d 'Completion candidates for kubectl\'s plugin completion (used by kubectl_complete-vmchaos)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s l -l selector -d 'Every running VMI matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l count -d 'Hit N of the chosen VMIs, picked at random without replacement' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l percent -d 'Hit P percent of the chosen VMIs (rounded up, at least one), picked at random' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l seed -d 'Seed for --count/--percent: the same seed picks the same VMIs (printed when not given)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l max-targets -d 'Refuse to hit more VMIs than this at once' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l duration -d 'How long to wait for KubeVirt to recover the VM on its own before the tool recovers it (seconds, or 90s, 2m); recovery seen earlier ends the wait at once' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l timeout -d 'After a new VMI appears or the tool\'s own recovery, how long to wait for it to be Running and Ready before declaring it not recovered (at least 1s)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l grace-period -d 'Removed: the API server ignores a DELETE\'s grace period for VMIs (kept to say so)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l fault -d 'How the VM goes down: delete (DELETE the VMI, a clean stop) or crash (delete its virt-launcher pod with no grace period, as a host or QEMU failure: KubeVirt sets the VMI Failed and recovers it by its runStrategy)' -r -f -a "delete\t''
crash\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l interval -d 'With --serial: the pause between two targets; with --repeat: the pause between two trials (e.g. 30s)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l repeat -d 'Run the outage N times (1 to 1000), each trial once every target is Running and Ready again; the summary gives min/p50/p95/max per target' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l baseline -d 'An earlier run\'s `-o json` document or report.json: each figure is shown beside its own, and a target slower by more than --max-regression fails the run (exit 1)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l max-regression -d 'With --baseline: how much worse (percent, 0 to 10000) the p95 time to Ready or user downtime of a target may be [default: 20%]' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l dry-run -d 'client: validate and say what would happen; server: also send the delete with dryRun=All' -r -f -a "client\t'Validate only; send nothing that changes the cluster'
server\t'Also send the DELETE with dryRun=All (proves admission and RBAC)'
none\t'A real run'"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s o -l output -d 'Summary format: text (a table), json or yaml (one document on stdout)' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l save-dir -d 'Where to save the VMI\'s manifest before deleting it (default: the user\'s state directory)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l report -d 'Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked before anything changes; never written by a dry run)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l probe -d 'Probe what users reach, before, during and after the outage (repeatable): tcp://HOST:PORT, http(s)://HOST[:PORT]/PATH[#status=200-399], vmi:tcp:PORT or vmi:http:PORT/PATH (the target VMI\'s own address, followed as it is re-created), prom:PROMQL (passes while it has a result; needs --prometheus) or alert:NAME|LABEL=VALUE[,...] (passes while no such alert fires)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l probe-interval -d 'Time between two attempts of each probe' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l probe-timeout -d 'How long one attempt may take (default: 4 x the interval, at most 1s)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l abort-if -d 'Stop the experiment (recover every target, exit 1) when this probe fails for longer than DURATION (default: at its first failure), or when more than N other running VMIs in scope are not Ready (repeatable): SPEC[,for=DURATION] or unready=N; e.g. alert:severity=critical aborts when a critical alert fires in Prometheus' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l alerts -d 'List the Prometheus alerts that newly fire during and after the outage (needs --prometheus): --alerts for every alert, --alerts=NAME or --alerts=LABEL=VALUE[,...] to narrow them (e.g. --alerts=severity=critical)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l alerts-settle -d 'With --alerts: after every target is back, keep watching this long for alerts whose rule waits (`for:`) before firing (at most 10m)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l prometheus -d 'Prometheus\'s address for prom: probes (a `kubectl port-forward` or an in-cluster Service), e.g. http://127.0.0.1:9090' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l prometheus-token -d 'Bearer token for Prometheus (e.g. `$(kubectl create token …)` for a kube-rbac-proxy)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l prometheus-ca -d 'A PEM file of CAs that sign Prometheus\'s https certificate (default: the system\'s roots)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l all -d 'Every running VMI in the namespace (or, with -A, in all namespaces)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l allow-full-outage -d 'Allow taking down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l keep-down -d 'Keep an Always/Once VM down for --duration: switch it to Manual (KubeVirt then leaves it down), start it after --duration, then put its runStrategy back (Kraken\'s disable_auto_restart)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l serial -d 'Delete the targets one after the other (each recovered or given up before the next)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s y -l yes -d 'Don\'t ask for confirmation (required without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l overwrite -d 'With --report: replace the reports an earlier run left in DIR'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l no-progress -d 'Plain timestamped lines instead of spinners (automatic without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l allow-protected-namespace -d 'Allow targets in kube-system, kube-public, kubevirt and openshift-*'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s f -l filename -d 'A Kraken scenario file (top-level scenarios:) or Kraken\'s config.yaml; repeat for several, in order; - reads stdin' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l report -d 'Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked before anything changes; never written by a dry run)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l dry-run -d 'client: resolve every step and check each target; server: also send the deletes with dryRun=All' -r -f -a "client\t'Validate only; send nothing that changes the cluster'
server\t'Also send the DELETE with dryRun=All (proves admission and RBAC)'
none\t'A real run'"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s o -l output -d 'Result format: text (a summary), json or yaml (one game-day document on stdout)' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l seed -d 'Seed for picking kill_count targets among the matching VMIs (printed by every run, so a dry run and the real run can pick the same ones)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l save-dir -d 'Where to save each VMI\'s manifest before deleting it (default: the user\'s state directory)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l max-targets -d 'Refuse a step that hits more VMIs than this at once' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l interval -d 'With --repeat: the pause between two trials of a step (e.g. 30s)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l repeat -d 'Run the outage N times (1 to 1000), each trial once every target is Running and Ready again; the summary gives min/p50/p95/max per target' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l baseline -d 'An earlier run\'s `-o json` document or report.json: each figure is shown beside its own, and a target slower by more than --max-regression fails the run (exit 1)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l max-regression -d 'With --baseline: how much worse (percent, 0 to 10000) the p95 time to Ready or user downtime of a target may be [default: 20%]' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l fault -d 'How every step\'s VMs go down: delete (the VMI, as Kraken does) or crash (delete each virt-launcher pod with no grace period; KubeVirt sets the VMI Failed)' -r -f -a "delete\t''
crash\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l alerts -d 'List, for each step, the Prometheus alerts that newly fire during and after it (as outage\'s --alerts; Prometheus: the config\'s performance_monitoring.prometheus_url, else PROMETHEUS_URL)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l alerts-settle -d 'With --alerts: after each step\'s targets are back, keep watching this long (at most 10m)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l continue-on-failure -d 'Go on with the next steps when a step does not recover (default: stop, report the rest as not run)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l skip-unsupported -d 'Skip scenario kinds this tool does not run (e.g. node_stop_start_scenario) and report them as skipped, instead of refusing the whole file'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l overwrite -d 'With --report: replace the reports an earlier run left in DIR'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s y -l yes -d 'Don\'t ask for confirmation (required without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l no-progress -d 'Plain timestamped lines instead of spinners (automatic without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l allow-protected-namespace -d 'Allow targets in kube-system, kube-public, kubevirt and openshift-*'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l allow-full-outage -d 'Allow a step to take down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand run" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s l -l selector -d 'Only VMIs matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s o -l output -d 'Output format: a table, a wider table, json or yaml' -r -f -a "table\t''
wide\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l fault -d 'Show the recovery plans for this fault: delete (the VMI) or crash (its launcher pod)' -r -f -a "delete\t''
crash\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s l -l selector -d 'Only VMIs matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s o -l output -d 'Output format: a table, a wider table, json or yaml' -r -f -a "table\t''
wide\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l fault -d 'Show the recovery plans for this fault: delete (the VMI) or crash (its launcher pod)' -r -f -a "delete\t''
crash\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l timeout -d 'How long to wait for the restored VMI to be Running and Ready (at least 1s)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l allow-protected-namespace -d 'Allow a snapshot of kube-system, kube-public, kubevirt and openshift-*'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l cron -d 'When to run: five cron fields (minute hour day-of-month month day-of-week), or @daily, @weekly…, in the cluster\'s time zone' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l image -d 'The container image to run (built by scripts/image)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s o -l output -d 'Printed format: yaml (documents for `kubectl apply -f -`) or json (a List)' -r -f -a "yaml\t''
json\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l apply -d 'Create or update the objects in the cluster instead of printing them'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l suspend -d 'Stop an applied schedule from starting new runs'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l resume -d 'Let a suspended schedule run again'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l delete -d 'Delete an applied schedule\'s CronJob, Role, RoleBinding and ServiceAccount'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand schedule" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s s -l server -d 'The API server\'s URL, instead of the kubeconfig\'s' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l token -d 'Bearer token for the API server, instead of the kubeconfig user\'s credentials' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l as -d 'Act as this user (impersonation, as kubectl --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l as-group -d 'Act as this group; repeat for several (needs --as)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l tls-server-name -d 'The name to verify the API server\'s certificate against (and send as SNI)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l request-timeout -d 'How long one API request may take: "0" for no limit, else 30s, 1m, ... (as kubectl)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l insecure-skip-tls-verify -d 'Don\'t verify the API server\'s certificate (insecure, as kubectl)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s V -l version -d 'Print version'
