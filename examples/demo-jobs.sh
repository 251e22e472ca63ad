#!/bin/sh
# Example jobs, submitted with jobctl to the jobd of $JOBCTL_SOCKET.
# scripts/demo runs this; copy the lines you like.
set -eu
jobctl=${JOBCTL:-jobctl}

# Cron, six fields (seconds first): every 10 seconds.
$jobctl submit --name heartbeat --schedule '*/10 * * * * *' -- sh -c 'echo "alive at $(date +%T)"'
# Recurring: every 5 seconds.
$jobctl submit --name disk-usage --every 5s -- df -h /
# One that fails: exit code 3, retried twice (1 s, then 2 s later), then `failed`.
$jobctl submit --name flaky --retries 2 --backoff 1s --shell 'echo "about to fail" >&2; exit 3'
# One that outlives its timeout: SIGTERM to its process group after 2 s, no retry.
$jobctl submit --name too-slow --timeout 2s --retries 0 -- sleep 60
# One-time, three seconds from now, with a high priority.
$jobctl submit --name once --priority 10 --at "$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)" \
  --env GREETING=hello -- sh -c 'echo "$GREETING from run $JOBD_RUN_ID, due at $JOBD_SCHEDULED_AT"'
# A task graph every minute, from a TOML file (see `jobctl dag etl`).
$jobctl submit --file "$(dirname "$0")/etl.toml"
