#!/bin/sh
# jobctl's checks of task graphs, --after and --file that need no daemon.
# Usage: jobctl_dag_args_test.sh PATH/TO/jobctl
set -u
jobctl=$1
failures=0
# Nothing listens here: a check that reached for jobd would exit 4.
JOBCTL_SOCKET=/nonexistent/jobctl_dag_args_test.sock
export JOBCTL_SOCKET
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

# expect STATUS STDERR -- ARGS...: runs jobctl; nothing may reach stdout.
expect() {
  want_status=$1 want_err=$2
  shift 3
  out=$("$jobctl" "$@" 2>stderr)
  status=$?
  err=$(cat stderr)
  if [ "$status" != "$want_status" ] || [ -n "$out" ] || [ "$err" != "$want_err" ]; then
    failures=$((failures + 1))
    printf 'FAIL: jobctl %s\n  status %s (want %s)\n  stdout: %s\n  stderr: %s\n  want:   %s\n' \
      "$*" "$status" "$want_status" "$out" "$err" "$want_err"
  fi
}

# --task, --edge, --trigger
expect 2 'jobctl: --edge: no task "c" (give it with --task c=COMMAND)' -- \
  submit --task a=true --task b=true --edge a:c
expect 2 'jobctl: --edge: no task "x" (give it with --task x=COMMAND)' -- submit --task a=true --edge x:a
expect 2 'jobctl: --trigger: no task "x" (give it with --task x=COMMAND)' -- \
  submit --task a=true --trigger x=all_done
expect 2 'jobctl: --trigger: "sometimes" is not one of all_success, all_done, one_success, one_failed, all_failed' -- \
  submit --task a=true --trigger a=sometimes
both='jobctl: give either --task NAME=COMMAND (a graph of tasks) or a command (--shell STRING or -- COMMAND), not both'
expect 2 "$both" -- submit --task a=true -- true
expect 2 "$both" -- submit --task a=true --shell true
expect 2 'jobctl: empty command: give -- COMMAND [ARG...], --shell STRING or --task NAME=COMMAND' -- submit
expect 2 'jobctl: --edge needs tasks: give them with --task NAME=COMMAND' -- submit --edge a:b -- true
expect 2 'jobctl: --trigger needs tasks: give them with --task NAME=COMMAND' -- submit --trigger a=all_done -- true
expect 2 'jobctl: --task: "a" is not NAME=COMMAND' -- submit --task a
expect 2 'jobctl: --edge: "a-b" is not UPSTREAM:DOWNSTREAM' -- submit --task a=true --edge a-b
expect 2 'jobctl: task "a" is declared twice' -- submit --task a=true --task a=false
expect 2 'jobctl: task "a" runs after itself' -- submit --task a=true --edge a:a
expect 2 'jobctl: cycle: a -> b -> a' -- submit --task a=true --task b=true --edge a:b --edge b:a
expect 2 'jobctl: cycle: a -> b -> c -> a' -- \
  submit --task a=true --task b=true --task c=true --edge a:b --edge b:c --edge c:a

# --after
expect 2 'jobctl: --after: "sometimes" is not one of success, done, failure' -- submit --after r1:sometimes -- true
expect 2 'jobctl: --after: ":done" names no run or job (REF[:RULE])' -- submit --after :done -- true

# --file
cat >etl.toml <<'TOML'
[job.nightly]
schedule = "0 2 * * *"

[job.nightly.tasks.extract]
command = ["sh", "-c", "echo rows"]

[job.nightly.tasks.load]
command = "load"
after = ["extract"]
trigger = "sometimes"
TOML
expect 2 'jobctl: etl.toml:10:11: job "nightly": task "load": trigger: "sometimes" is not one of all_success, all_done, one_success, one_failed, all_failed' -- \
  submit --file etl.toml
printf '[job.a\ncommand = "true"\n' >syntax.toml
err=$("$jobctl" submit --file syntax.toml 2>&1 >/dev/null)
status=$?
case "$err" in
  "jobctl: syntax.toml:1:7: "*) [ "$status" = 2 ] ;;
  *) false ;;
esac || { failures=$((failures + 1)); echo "FAIL: --file with a syntax error: status $status: $err"; }
printf '[job.a]\ncommand = "true"\ncolour = "blue"\n' >unknown.toml
expect 2 'jobctl: unknown.toml:3:1: job "a": unknown key "colour"' -- submit --file unknown.toml
printf '[job.a]\ncommand = "true"\ntimeout = "2 hours"\n' >timeout.toml
expect 2 'jobctl: timeout.toml:3:11: job "a": timeout: "2 hours" is not a duration (try "2h")' -- \
  submit --file timeout.toml
printf '[job.a]\nretries = 1\n' >nocommand.toml
expect 2 'jobctl: nocommand.toml:1:1: job "a": no command: give command, or [job.a.tasks.TASK] tables' -- \
  submit --file nocommand.toml
printf '[job.a]\ncommand = "true"\n[job.a.tasks.b]\ncommand = "true"\n' >both.toml
expect 2 'jobctl: both.toml:2:11: job "a": give either command or tasks, not both' -- submit --file both.toml
printf '[job.a.tasks.b]\ncommand = "true"\nafter = ["c"]\n' >after.toml
expect 2 'jobctl: after.toml:3:10: job "a": task "b": after: no task "c"' -- submit --file after.toml
printf '[job.a.tasks.x]\ncommand = "true"\nafter = ["y"]\n[job.a.tasks.y]\ncommand = "true"\nafter = ["x"]\n' \
  >cycle.toml
expect 2 'jobctl: cycle.toml:1:1: job "a": cycle: x -> y -> x' -- submit --file cycle.toml
printf 'x = 1\n' >top.toml
expect 2 'jobctl: top.toml:1:1: unknown table or key "x" (expected [defaults] and [job.NAME] tables)' -- submit --file top.toml
expect 2 'jobctl: cannot read missing.toml: No such file or directory' -- submit --file missing.toml
expect 2 'jobctl: --file takes no other option of submit (--name given): the file defines the jobs' -- \
  submit --file etl.toml --name x
expect 2 'jobctl: --file takes no other option of submit (-- COMMAND given): the file defines the jobs' -- \
  submit --file etl.toml -- true

# dag takes one job.
expect 2 'jobctl: job is required (see jobctl --help)' -- dag
"$jobctl" --help | grep -q '^  dag ' || { failures=$((failures + 1)); echo "FAIL: dag missing from --help"; }

# Valid graphs, dependencies and files get as far as connecting.
sed -i 's/sometimes/all_done/' etl.toml
for args in "submit --task a=true --task b=true --edge a:b --trigger b=all_done" \
  "submit --after r1 --after nightly:done --after j2:failure -- true" "submit --file etl.toml" \
  "dag nightly" "dag j1 --dot"; do
  err=$("$jobctl" $args 2>&1)
  status=$?
  [ "$status" = 4 ] || { failures=$((failures + 1)); echo "FAIL: jobctl $args without jobd: status $status: $err"; }
done

[ "$failures" = 0 ] && echo "all jobctl graph argument checks passed"
exit "$((failures > 0))"
