#compdef kubectl-vmchaos

autoload -U is-at-least

_kubectl-vmchaos() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_kubectl-vmchaos_commands" \
"*::: :->kubectl-vmchaos" \
&& ret=0
    case $state in
    (kubectl-vmchaos)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:kubectl-vmchaos-command-$line[1]:"
        case $line[1] in
            (outage)
_arguments "${_arguments_options[@]}" : \
'-l+[Every running VMI matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'--selector=[Every running VMI matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'(--percent)--count=[Hit N of the chosen VMIs, picked at random without replacement]:N:_default' \
'--percent=[Hit P percent of the chosen VMIs (rounded up, at least one), picked at random]:P:_default' \
'--seed=[Seed for --count/--percent\: the same seed picks the same VMIs (printed when not given)]:SEED:_default' \
'--max-targets=[Refuse to hit more VMIs than this at once]:N:_default' \
'--duration=[How long to wait for KubeVirt to recover the VM on its own before the tool recovers it (seconds, or 90s, 2m); recovery seen earlier ends the wait at once]:DURATION:_default' \
'--timeout=[After a new VMI appears or the tool'\''s own recovery, how long to wait for it to be Running and Ready before declaring it not recovered]:DURATION:_default' \
'--grace-period=[Grace period for the delete, in seconds (0 = hard kill); default\: the VMI'\''s own]:SECONDS:_default' \
'--dry-run=[client\: validate and say what would happen; server\: also send the delete with dryRun=All]::MODE:((client\:"Validate only; send nothing that changes the cluster"
server\:"Also send the DELETE with dryRun=All (proves admission and RBAC)"
none\:"A real run"))' \
'-o+[Summary format\: text (a table), json or yaml (one document on stdout)]:FORMAT:(text json yaml)' \
'--output=[Summary format\: text (a table), json or yaml (one document on stdout)]:FORMAT:(text json yaml)' \
'--save-dir=[Where to save the VMI'\''s manifest before deleting it (default\: the user'\''s state directory)]:DIR:_files' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'--all[Every running VMI in the namespace (or, with -A, in all namespaces)]' \
'--allow-full-outage[Allow taking down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once]' \
'-y[Don'\''t ask for confirmation (required without a terminal)]' \
'--yes[Don'\''t ask for confirmation (required without a terminal)]' \
'--no-progress[Plain timestamped lines instead of spinners (automatic without a terminal)]' \
'--allow-protected-namespace[Allow targets in kube-system, kube-public, kubevirt and openshift-*]' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
'*::names -- The VMIs to delete\: NAME (in -n'\''s namespace) or NAMESPACE/NAME; omit them on a terminal to pick from the running VMIs:_default' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'-l+[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'--selector=[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'-o+[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--output=[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
'-l+[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'--selector=[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'-o+[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--output=[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
'--timeout=[How long to wait for the restored VMI to be Running and Ready]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':snapshot -- A snapshot folder printed by `outage` (or the vmi.yaml inside it):_files' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(completion)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':shell:(bash zsh fish powershell)' \
&& ret=0
;;
(__complete)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'*::words -- The words typed after `kubectl vmchaos`, the last being the one to complete:_default' \
&& ret=0
;;
        esac
    ;;
esac
}

(( $+functions[_kubectl-vmchaos_commands] )) ||
_kubectl-vmchaos_commands() {
    local commands; commands=(
'outage:Delete a running VMI and follow its recovery, phase by phase, then print a summary' \
'list:List the running VMIs an outage can target, with the recovery each would get' \
'ls:List the running VMIs an outage can target, with the recovery each would get' \
'restore:Re-create a VMI (or start its VM) from a snapshot saved by \`outage\`' \
'version:Print the version' \
'completion:Print a shell completion script (bash, zsh, fish, powershell)' \
'__complete:Completion candidates for kubectl'\''s plugin completion (used by kubectl_complete-vmchaos)' \
    )
    _describe -t commands 'kubectl-vmchaos commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd____complete_commands] )) ||
_kubectl-vmchaos__subcmd____complete_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos __complete commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__completion_commands] )) ||
_kubectl-vmchaos__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos completion commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__list_commands] )) ||
_kubectl-vmchaos__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos list commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__outage_commands] )) ||
_kubectl-vmchaos__subcmd__outage_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos outage commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__restore_commands] )) ||
_kubectl-vmchaos__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos restore commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__version_commands] )) ||
_kubectl-vmchaos__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos version commands' commands "$@"
}

if [ "$funcstack[1]" = "_kubectl-vmchaos" ]; then
    _kubectl-vmchaos "$@"
else
    compdef _kubectl-vmchaos kubectl-vmchaos
fi
