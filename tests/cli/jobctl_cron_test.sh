#!/bin/sh
# jobctl cron as a user runs it: output, exit statuses, one-line errors.
# Usage: jobctl_cron_test.sh PATH/TO/jobctl
set -u
jobctl=$1
failures=0

# expect STATUS STDOUT STDERR -- ARGS...: runs jobctl and compares all three.
expect() {
  want_status=$1 want_out=$2 want_err=$3
  shift 4
  out=$("$jobctl" "$@" 2>/tmp/jobctl_cron_test.$$)
  status=$?
  err=$(cat /tmp/jobctl_cron_test.$$)
  rm -f /tmp/jobctl_cron_test.$$
  if [ "$status" != "$want_status" ] || [ "$out" != "$want_out" ] || [ "$err" != "$want_err" ]; then
    failures=$((failures + 1))
    printf 'FAIL: jobctl %s\n  status %s (want %s)\n  stdout: %s\n  want:   %s\n  stderr: %s\n  want:   %s\n' \
      "$*" "$status" "$want_status" "$out" "$want_out" "$err" "$want_err"
  fi
}

nl='
'
expect 0 "2026-03-06T03:00:00-05:00${nl}2026-03-09T03:00:00-04:00${nl}2026-03-10T03:00:00-04:00" "" -- \
  cron next '0 3 * * 1-5' --from 2026-03-06T00:00:00Z --count 3 --tz America/New_York
# The expression may come as separate words.
expect 0 "2026-03-08T03:00:00-04:00" "" -- \
  cron next 30 2 '*' '*' '*' --from 2026-03-08T05:00:00Z --tz America/New_York
expect 0 '{"expression":"@every 90s","zone":"UTC","from":"2026-01-01T00:00:00+00:00","fires":["2026-01-01T00:01:30+00:00"]}' "" -- \
  cron next '@every 90s' --from 2026-01-01T00:00:00Z --tz UTC --json
expect 0 "At 03:00, Monday through Friday" "" -- cron explain '0 3 * * 1-5'
expect 0 '{"expression":"0 0 L * *","description":"At 00:00, on the last day of the month"}' "" -- \
  cron explain '0 0 L * *' --json

# The default zone is $TZ.
out=$(TZ=Asia/Kolkata "$jobctl" cron next '0 9 * * *' --from 2026-01-01T00:00:00Z)
[ "$out" = "2026-01-01T09:00:00+05:30" ] || { failures=$((failures + 1)); echo "FAIL: TZ default: $out"; }
# The default start is now: the next minute boundary is within a minute.
now=$(date +%s)
next=$("$jobctl" cron next '* * * * *' --tz UTC)
next_s=$(date -d "$next" +%s)
[ "$next_s" -gt "$now" ] && [ "$next_s" -le $((now + 61)) ] ||
  { failures=$((failures + 1)); echo "FAIL: default --from: now $now, next $next"; }

# Bad input: status 2, one line on stderr, nothing on stdout.
expect 2 "" 'jobctl: invalid cron expression "61 * * * *": minute: 61 is out of range 0-59' -- cron next '61 * * * *'
expect 2 "" 'jobctl: invalid cron expression "0 0 30 2 *": never fires (no allowed month has a day that matches)' -- \
  cron explain '0 0 30 2 *'
expect 2 "" 'jobctl: invalid cron expression "@reboot": @reboot fires when jobd starts, so it has no next fire time' -- \
  cron next @reboot
expect 2 "" 'jobctl: unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Paris" or "UTC"; see /usr/share/zoneinfo)' -- \
  cron next '* * * * *' --tz Mars/Olympus
expect 2 "" 'jobctl: invalid time "yesterday": the date must be YYYY-MM-DD (expected RFC 3339, e.g. 2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00)' -- \
  cron next '* * * * *' --from yesterday
expect 2 "" 'jobctl: --count: 0 is not at least 1' -- cron next '* * * * *' --count 0
out=$(TZ=Nowhere/Land "$jobctl" cron next "* * * * *" 2>&1)
status=$?
[ "$status" = 2 ] && [ "$out" = 'jobctl: $TZ: unknown time zone "Nowhere/Land" (expected an IANA name such as "Europe/Paris" or "UTC"; see /usr/share/zoneinfo)' ] ||
  { failures=$((failures + 1)); echo "FAIL: bad TZ: status $status: $out"; }

# Usage errors: status 2 and one line.
for args in "cron next" "cron" "" "cron next '* * * * *' --count" "cron next '* * * * *' --bogus" "frobnicate"; do
  eval "set -- $args"
  err=$("$jobctl" "$@" 2>&1 >/dev/null)
  status=$?
  lines=$(printf '%s\n' "$err" | wc -l)
  if [ "$status" != 2 ] || [ "$lines" != 1 ]; then
    failures=$((failures + 1))
    printf 'FAIL: usage error "jobctl %s": status %s, %s lines: %s\n' "$args" "$status" "$lines" "$err"
  fi
done
"$jobctl" --help | grep -q 'cron' || { failures=$((failures + 1)); echo "FAIL: jobctl --help"; }

[ "$("$jobctl" --version)" = "jobctl $("$jobctl" --version | cut -d' ' -f2)" ] && "$jobctl" --version | grep -Eq '^jobctl [0-9]+\.[0-9]+\.[0-9]+$' ||
  { failures=$((failures + 1)); echo "FAIL: jobctl --version"; }

[ "$failures" = 0 ] && echo "all jobctl cron checks passed"
exit "$((failures > 0))"
