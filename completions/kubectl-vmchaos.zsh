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
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
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
'--timeout=[After a new VMI appears or the tool'\''s own recovery, how long to wait for it to be Running and Ready before declaring it not recovered (at least 1s)]:DURATION:_default' \
'--grace-period=[Removed\: the API server ignores a DELETE'\''s grace period for VMIs (kept to say so)]:SECONDS:_default' \
'--fault=[How the VM goes down\: delete (DELETE the VMI, a clean stop) or crash (delete its virt-launcher pod with no grace period, as a host or QEMU failure\: KubeVirt sets the VMI Failed and recovers it by its runStrategy)]:FAULT:(delete crash)' \
'--interval=[With --serial\: the pause between two targets; with --repeat\: the pause between two trials (e.g. 30s)]:DURATION:_default' \
'--repeat=[Run the outage N times (1 to 1000), each trial once every target is Running and Ready again; the summary gives min/p50/p95/max per target]:N:_default' \
'--baseline=[An earlier run'\''s \`-o json\` document or report.json\: each figure is shown beside its own, and a target slower by more than --max-regression fails the run (exit 1)]:FILE:_files' \
'--max-regression=[With --baseline\: how much worse (percent, 0 to 10000) the p95 time to Ready or user downtime of a target may be \[default\: 20%\]]:PERCENT:_default' \
'--dry-run=[client\: validate and say what would happen; server\: also send the delete with dryRun=All]::MODE:((client\:"Validate only; send nothing that changes the cluster"
server\:"Also send the DELETE with dryRun=All (proves admission and RBAC)"
none\:"A real run"))' \
'-o+[Summary format\: text (a table), json or yaml (one document on stdout)]:FORMAT:(text json yaml)' \
'--output=[Summary format\: text (a table), json or yaml (one document on stdout)]:FORMAT:(text json yaml)' \
'--save-dir=[Where to save the VMI'\''s manifest before deleting it (default\: the user'\''s state directory)]:DIR:_files' \
'--report=[Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked before anything changes; never written by a dry run)]:DIR:_files' \
'*--probe=[Probe what users reach, before, during and after the outage (repeatable)\: tcp\://HOST\:PORT, http(s)\://HOST\[\:PORT\]/PATH\[#status=200-399\], vmi\:tcp\:PORT or vmi\:http\:PORT/PATH (the target VMI'\''s own address, followed as it is re-created), prom\:PROMQL (passes while it has a result; needs --prometheus) or alert\:NAME|LABEL=VALUE\[,...\] (passes while no such alert fires)]:SPEC:_default' \
'--probe-interval=[Time between two attempts of each probe]:DURATION:_default' \
'--probe-timeout=[How long one attempt may take (default\: 4 x the interval, at most 1s)]:DURATION:_default' \
'*--abort-if=[Stop the experiment (recover every target, exit 1) when this probe fails for longer than DURATION (default\: at its first failure), or when more than N other running VMIs in scope are not Ready (repeatable)\: SPEC\[,for=DURATION\] or unready=N; e.g. alert\:severity=critical aborts when a critical alert fires in Prometheus]:CONDITION:_default' \
'--alerts=[List the Prometheus alerts that newly fire during and after the outage (needs --prometheus)\: --alerts for every alert, --alerts=NAME or --alerts=LABEL=VALUE\[,...\] to narrow them (e.g. --alerts=severity=critical)]::SELECTOR:_default' \
'--alerts-settle=[With --alerts\: after every target is back, keep watching this long for alerts whose rule waits (\`for\:\`) before firing (at most 10m)]:DURATION:_default' \
'--prometheus=[Prometheus'\''s address for prom\: probes (a \`kubectl port-forward\` or an in-cluster Service), e.g. http\://127.0.0.1\:9090]:URL:_default' \
'--prometheus-token=[Bearer token for Prometheus (e.g. \`\$(kubectl create token …)\` for a kube-rbac-proxy)]:TOKEN:_default' \
'--prometheus-ca=[A PEM file of CAs that sign Prometheus'\''s https certificate (default\: the system'\''s roots)]:FILE:_files' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'--all[Every running VMI in the namespace (or, with -A, in all namespaces)]' \
'--allow-full-outage[Allow taking down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once]' \
'--keep-down[Keep an Always/Once VM down for --duration\: switch it to Manual (KubeVirt then leaves it down), start it after --duration, then put its runStrategy back (Kraken'\''s disable_auto_restart)]' \
'--serial[Delete the targets one after the other (each recovered or given up before the next)]' \
'-y[Don'\''t ask for confirmation (required without a terminal)]' \
'--yes[Don'\''t ask for confirmation (required without a terminal)]' \
'--overwrite[With --report\: replace the reports an earlier run left in DIR]' \
'--no-progress[Plain timestamped lines instead of spinners (automatic without a terminal)]' \
'--allow-protected-namespace[Allow targets in kube-system, kube-public, kubevirt and openshift-*]' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
'*::names -- The VMIs to delete\: NAME (in -n'\''s namespace) or NAMESPACE/NAME; omit them on a terminal to pick from the running VMIs:_default' \
&& ret=0
;;
(run)
_arguments "${_arguments_options[@]}" : \
'*-f+[A Kraken scenario file (top-level scenarios\:) or Kraken'\''s config.yaml; repeat for several, in order; - reads stdin]:FILE:_files' \
'*--filename=[A Kraken scenario file (top-level scenarios\:) or Kraken'\''s config.yaml; repeat for several, in order; - reads stdin]:FILE:_files' \
'--report=[Write report.json, junit.xml, report.md, timeline.svg and report.html into DIR (checked before anything changes; never written by a dry run)]:DIR:_files' \
'--dry-run=[client\: resolve every step and check each target; server\: also send the deletes with dryRun=All]::MODE:((client\:"Validate only; send nothing that changes the cluster"
server\:"Also send the DELETE with dryRun=All (proves admission and RBAC)"
none\:"A real run"))' \
'-o+[Result format\: text (a summary), json or yaml (one game-day document on stdout)]:FORMAT:(text json yaml)' \
'--output=[Result format\: text (a summary), json or yaml (one game-day document on stdout)]:FORMAT:(text json yaml)' \
'--seed=[Seed for picking kill_count targets among the matching VMIs (printed by every run, so a dry run and the real run can pick the same ones)]:N:_default' \
'--save-dir=[Where to save each VMI'\''s manifest before deleting it (default\: the user'\''s state directory)]:DIR:_files' \
'--max-targets=[Refuse a step that hits more VMIs than this at once]:N:_default' \
'--interval=[With --repeat\: the pause between two trials of a step (e.g. 30s)]:DURATION:_default' \
'--repeat=[Run the outage N times (1 to 1000), each trial once every target is Running and Ready again; the summary gives min/p50/p95/max per target]:N:_default' \
'--baseline=[An earlier run'\''s \`-o json\` document or report.json\: each figure is shown beside its own, and a target slower by more than --max-regression fails the run (exit 1)]:FILE:_files' \
'--max-regression=[With --baseline\: how much worse (percent, 0 to 10000) the p95 time to Ready or user downtime of a target may be \[default\: 20%\]]:PERCENT:_default' \
'--fault=[How every step'\''s VMs go down\: delete (the VMI, as Kraken does) or crash (delete each virt-launcher pod with no grace period; KubeVirt sets the VMI Failed)]:FAULT:(delete crash)' \
'--alerts=[List, for each step, the Prometheus alerts that newly fire during and after it (as outage'\''s --alerts; Prometheus\: the config'\''s performance_monitoring.prometheus_url, else PROMETHEUS_URL)]::SELECTOR:_default' \
'--alerts-settle=[With --alerts\: after each step'\''s targets are back, keep watching this long (at most 10m)]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'--continue-on-failure[Go on with the next steps when a step does not recover (default\: stop, report the rest as not run)]' \
'--skip-unsupported[Skip scenario kinds this tool does not run (e.g. node_stop_start_scenario) and report them as skipped, instead of refusing the whole file]' \
'--overwrite[With --report\: replace the reports an earlier run left in DIR]' \
'-y[Don'\''t ask for confirmation (required without a terminal)]' \
'--yes[Don'\''t ask for confirmation (required without a terminal)]' \
'--no-progress[Plain timestamped lines instead of spinners (automatic without a terminal)]' \
'--allow-protected-namespace[Allow targets in kube-system, kube-public, kubevirt and openshift-*]' \
'--allow-full-outage[Allow a step to take down every running replica of a VirtualMachineInstanceReplicaSet or VirtualMachinePool at once]' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'-l+[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'--selector=[Only VMIs matching this label selector (sent to the API server), e.g. app=db]:SELECTOR:_default' \
'-o+[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--output=[Output format\: a table, a wider table, json or yaml]:FORMAT:(table wide json yaml)' \
'--fault=[Show the recovery plans for this fault\: delete (the VMI) or crash (its launcher pod)]:FAULT:(delete crash)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
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
'--fault=[Show the recovery plans for this fault\: delete (the VMI) or crash (its launcher pod)]:FAULT:(delete crash)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
'--timeout=[How long to wait for the restored VMI to be Running and Ready (at least 1s)]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'--allow-protected-namespace[Allow a snapshot of kube-system, kube-public, kubevirt and openshift-*]' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':snapshot -- A snapshot folder printed by `outage` (or the vmi.yaml inside it):_files' \
&& ret=0
;;
(schedule)
_arguments "${_arguments_options[@]}" : \
'--cron=[When to run\: five cron fields (minute hour day-of-month month day-of-week), or @daily, @weekly…, in the cluster'\''s time zone]:SPEC:_default' \
'--image=[The container image to run (built by scripts/image)]:IMAGE:_default' \
'-o+[Printed format\: yaml (documents for \`kubectl apply -f -\`) or json (a List)]:FORMAT:(yaml json)' \
'--output=[Printed format\: yaml (documents for \`kubectl apply -f -\`) or json (a List)]:FORMAT:(yaml json)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'--apply[Create or update the objects in the cluster instead of printing them]' \
'(--cron --apply --resume --delete)--suspend[Stop an applied schedule from starting new runs]' \
'(--cron --apply --delete)--resume[Let a suspended schedule run again]' \
'(--cron --apply)--delete[Delete an applied schedule'\''s CronJob, Role, RoleBinding and ServiceAccount]' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':name -- The schedule'\''s name\: its CronJob, ServiceAccount, Role and RoleBinding:_default' \
'*::outage -- The outage to run, as `kubectl vmchaos outage` takes it (after --)\: the VMI and its flags:_default' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, then ~/.kube/config, then in-cluster)]:FILE:_files' \
'--context=[The kubeconfig context to use (default\: the current context)]:NAME:_default' \
'-n+[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--namespace=[Namespace (default\: the context'\''s namespace, else "default")]:NS:_default' \
'--color=[When to use colours (NO_COLOR is honoured by "auto")]:WHEN:(auto always never)' \
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
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
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
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
'-s+[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--server=[The API server'\''s URL, instead of the kubeconfig'\''s]:URL:_default' \
'--token=[Bearer token for the API server, instead of the kubeconfig user'\''s credentials]:TOKEN:_default' \
'--as=[Act as this user (impersonation, as kubectl --as)]:USER:_default' \
'*--as-group=[Act as this group; repeat for several (needs --as)]:GROUP:_default' \
'--tls-server-name=[The name to verify the API server'\''s certificate against (and send as SNI)]:NAME:_default' \
'--request-timeout=[How long one API request may take\: "0" for no limit, else 30s, 1m, ... (as kubectl)]:DURATION:_default' \
'-A[Look in all namespaces (list and the interactive picker)]' \
'--all-namespaces[Look in all namespaces (list and the interactive picker)]' \
'*-v[Log API traffic and decisions to stderr (-vv for more)]' \
'*--verbose[Log API traffic and decisions to stderr (-vv for more)]' \
'--insecure-skip-tls-verify[Don'\''t verify the API server'\''s certificate (insecure, as kubectl)]' \
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
'run:Run Kraken scenario files (or Kraken'\''s config.yaml)\: every kubevirt_vm_outage step, in order, then one game-day report' \
'list:List the running VMIs an outage can target, with the recovery each would get' \
'ls:List the running VMIs an outage can target, with the recovery each would get' \
'restore:Re-create a VMI (or start its VM) from a snapshot saved by \`outage\`' \
'schedule:Print (or --apply) a ServiceAccount, Role, RoleBinding and CronJob that run an outage on a schedule, inside the cluster' \
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
(( $+functions[_kubectl-vmchaos__subcmd__run_commands] )) ||
_kubectl-vmchaos__subcmd__run_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos run commands' commands "$@"
}
(( $+functions[_kubectl-vmchaos__subcmd__schedule_commands] )) ||
_kubectl-vmchaos__subcmd__schedule_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-vmchaos schedule commands' commands "$@"
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
