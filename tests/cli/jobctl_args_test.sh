#!/bin/sh
# jobctl's argument checks that need no daemon: the policy flags of submit and
# the job control commands. Usage: jobctl_args_test.sh PATH/TO/jobctl
set -u
jobctl=$1
failures=0
# Nothing listens here: a check that reached for jobd would exit 4.
JOBCTL_SOCKET=/nonexistent/jobctl_args_test.sock
export JOBCTL_SOCKET

# expect STATUS STDERR -- ARGS...: runs jobctl; nothing may reach stdout.
expect() {
  want_status=$1 want_err=$2
  shift 3
  out=$("$jobctl" "$@" 2>/tmp/jobctl_args_test.$$)
  status=$?
  err=$(cat /tmp/jobctl_args_test.$$)
  rm -f /tmp/jobctl_args_test.$$
  if [ "$status" != "$want_status" ] || [ -n "$out" ] || [ "$err" != "$want_err" ]; then
    failures=$((failures + 1))
    printf 'FAIL: jobctl %s\n  status %s (want %s)\n  stdout: %s\n  stderr: %s\n  want:   %s\n' \
      "$*" "$status" "$want_status" "$out" "$err" "$want_err"
  fi
}

expect 2 'jobctl: --concurrency: "sometimes" is not one of allow, forbid, replace' -- \
  submit --concurrency sometimes -- true
expect 2 'jobctl: --catchup: "some" is not one of none, last, all' -- submit --catchup some -- true
duration='is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. "90s", "1h30m")'
expect 2 "jobctl: --backoff: \"soon\" $duration" -- submit --backoff soon -- true
expect 2 "jobctl: --max-backoff: \"5x\" $duration" -- submit --max-backoff 5x -- true
expect 2 "jobctl: --starting-deadline: \"never\" $duration" -- submit --starting-deadline never -- true
expect 2 'jobctl: Could not convert: --retries = x (see jobctl --help)' -- submit --retries x -- true
expect 2 'jobctl: Could not convert: --jitter = abc (see jobctl --help)' -- submit --jitter abc -- true
expect 2 'jobctl: Could not convert: --keep-runs = 1.5 (see jobctl --help)' -- submit --keep-runs 1.5 -- true

# Each job control command takes exactly one job (or run, for cancel).
for cmd in cancel pause resume trigger delete; do
  err=$("$jobctl" $cmd 2>&1 >/dev/null)
  status=$?
  [ "$status" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
    { failures=$((failures + 1)); echo "FAIL: jobctl $cmd without an argument: status $status: $err"; }
  err=$("$jobctl" $cmd a b 2>&1 >/dev/null)
  status=$?
  [ "$status" = 2 ] || { failures=$((failures + 1)); echo "FAIL: jobctl $cmd a b: status $status: $err"; }
  "$jobctl" --help | grep -q "^  $cmd " || { failures=$((failures + 1)); echo "FAIL: $cmd missing from --help"; }
done
expect 2 'jobctl: The following argument was not expected: --wait (see jobctl --help)' -- cancel j1 --wait

# Valid flags get as far as connecting.
err=$("$jobctl" submit --retries 0 --backoff 1s --max-backoff 1m --jitter 0 --concurrency allow \
  --catchup all --starting-deadline 30s --keep-runs 5 -- true 2>&1)
status=$?
[ "$status" = 4 ] || { failures=$((failures + 1)); echo "FAIL: valid policy flags: status $status: $err"; }
for args in "cancel r1" "cancel nightly" "pause j1" "resume j1" "trigger j1 --wait" "delete j1" "list --all"; do
  err=$("$jobctl" $args 2>&1)
  status=$?
  [ "$status" = 4 ] || { failures=$((failures + 1)); echo "FAIL: jobctl $args without jobd: status $status: $err"; }
done

[ "$failures" = 0 ] && echo "all jobctl argument checks passed"
exit "$((failures > 0))"
