# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_vmchaos_global_optspecs
    string join \n kubeconfig= context= n/namespace= A/all-namespaces color= v/verbose h/help V/version
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
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "outage" -d 'Delete a running VMI and follow its recovery, phase by phase, then print a summary'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "list" -d 'List the running VMIs an outage can target, with the recovery each would get'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "ls" -d 'List the running VMIs an outage can target, with the recovery each would get'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "restore" -d 'Re-create a VMI (or start its VM) from a snapshot saved by `outage`'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "version" -d 'Print the version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "completion" -d 'Print a shell completion script (bash, zsh, fish, powershell)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_needs_command" -f -a "__complete" -d 'Completion candidates for kubectl\'s plugin completion (used by kubectl_complete-vmchaos)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s l -l selector -d 'Every running VMI matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l count -d 'Hit N of the chosen VMIs, picked at random without replacement' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l percent -d 'Hit P percent of the chosen VMIs (rounded up, at least one), picked at random' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l seed -d 'Seed for --count/--percent: the same seed picks the same VMIs (printed when not given)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l max-targets -d 'Refuse to hit more VMIs than this at once' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l duration -d 'How long to wait for KubeVirt to recover the VM on its own before the tool recovers it (seconds, or 90s, 2m); recovery seen earlier ends the wait at once' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l timeout -d 'After a new VMI appears or the tool\'s own recovery, how long to wait for it to be Running and Ready before declaring it not recovered' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l grace-period -d 'Grace period for the delete, in seconds (0 = hard kill); default: the VMI\'s own' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l dry-run -d 'client: validate and say what would happen; server: also send the delete with dryRun=All' -r -f -a "client\t'Validate only; send nothing that changes the cluster'
server\t'Also send the DELETE with dryRun=All (proves admission and RBAC)'
none\t'A real run'"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s o -l output -d 'Summary format: text (a table), json or yaml (one document on stdout)' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l save-dir -d 'Where to save the VMI\'s manifest before deleting it (default: the user\'s state directory)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l all -d 'Every running VMI in the namespace (or, with -A, in all namespaces)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l allow-full-outage -d 'Allow taking down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s y -l yes -d 'Don\'t ask for confirmation (required without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l no-progress -d 'Plain timestamped lines instead of spinners (automatic without a terminal)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -l allow-protected-namespace -d 'Allow targets in kube-system, kube-public, kubevirt and openshift-*'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand outage" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s l -l selector -d 'Only VMIs matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s o -l output -d 'Output format: a table, a wider table, json or yaml' -r -f -a "table\t''
wide\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand list" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s l -l selector -d 'Only VMIs matching this label selector (sent to the API server), e.g. app=db' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s o -l output -d 'Output format: a table, a wider table, json or yaml' -r -f -a "table\t''
wide\t''
json\t''
yaml\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand ls" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l timeout -d 'How long to wait for the restored VMI to be Running and Ready' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand restore" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -l color -d 'When to use colours (NO_COLOR is honoured by "auto")' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s A -l all-namespaces -d 'Look in all namespaces (list and the interactive picker)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s v -l verbose -d 'Log API traffic and decisions to stderr (-vv for more)'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s h -l help -d 'Print help'
complete -c kubectl-vmchaos -n "__fish_kubectl_vmchaos_using_subcommand __complete" -s V -l version -d 'Print version'
