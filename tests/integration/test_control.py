#!/usr/bin/python3
"""Failure policies and job control against a real jobd and the real jobctl.

    test_control.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Retries (every attempt its own run, backoff growing from --backoff up to
--max-backoff, failures by exit status, signal, timeout and loss to a
kill -9), cancel (a run's whole process group; queued and retrying runs;
a job), pause/resume, trigger, delete, the overlap policies (forbid, allow,
replace), --starting-deadline, catch-up after jobd was down (none, last,
all), per-job retention (--keep-runs, with the logs), and bad input.

Jobs count their attempts in a file in their working directory, so one
command can fail and then succeed. Waiting is polling with a deadline; the
few sleeps only let wall-clock time pass (jobd down, a job paused, a window
in which nothing may fire).
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, blocked_job, parse_time, release, running_run, wait_until

FINAL = ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')
ACTIVE = ('pending', 'queued', 'running', 'retrying')
RUN_FIELDS = ('id', 'job', 'attempt', 'state', 'exit_code', 'reason', 'scheduled_at', 'started_at', 'finished_at',
              'retry_at', 'retry_of', 'next_attempt', 'missed_count', 'missed_since')
# A shell prelude: n = this attempt's number, counted in the file `count` of
# the job's working directory.
COUNT = 'n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count; '


# --- helpers -----------------------------------------------------------------

def rid(run):
    return int(run['id'][1:])


def runs_of(j, job):
    """The job's runs, oldest first."""
    return sorted(j.runs(job), key=rid)


def check_fields(ctx, runs, what):
    for r in runs:
        missing = [f for f in RUN_FIELDS if f not in r]
        ctx.check(not missing, f'{what}: run JSON lacks {missing}: {r}')


def workdir(j, name):
    d = os.path.join(j.root, name)
    os.mkdir(d)
    return d


def t(run, key):
    return parse_time(run[key]) if run.get(key) else None


def processes_in_group(pgid):
    """Live processes whose process group is `pgid`."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            stat = h._proc_stat(int(entry))
            if stat and stat[0] not in ('Z', 'X') and int(stat[2]) == pgid:
                found.append((int(entry), h.cmdline(int(entry))))
    return found


def process_group(pid):
    stat = h._proc_stat(pid)
    return int(stat[2]) if stat else None


def tree_of(marker, count):
    return wait_until(lambda: (lambda p: p if len(p) >= count else None)(h.processes_with(marker)), 15,
                      f'{count} processes with {marker} in their command line')


def all_gone(marker, pgid, what):
    try:
        wait_until(lambda: not h.processes_with(marker) and not processes_in_group(pgid), 15, what)
    except Failure:
        left = h.processes_with(marker) + processes_in_group(pgid)
        raise Failure(f'processes of the run (group {pgid}) survived after {what}:\n    ' +
                      '\n    '.join(f'{p}: {c}' for p, c in left))


def final_run(j, run_id, timeout=15):
    return j.wait_for_state(run_id, FINAL, timeout=timeout)


def job_state(j, job, state, timeout=10):
    return wait_until(lambda: (lambda x: x if x['state'] == state else None)(j.job(job)), timeout,
                      f'job {job} to be {state}')


def seconds(text):
    """A duration as jobd prints it ("10s", "1m30s", "10m") -> seconds."""
    units = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}
    parts = re.findall(r'(\d+(?:\.\d+)?)(ms|s|m|h|d)', text or '')
    if not parts or ''.join(a + b for a, b in parts) != text:
        return None
    return sum(float(a) * units[b] for a, b in parts)


# --- retries -----------------------------------------------------------------

def test_retry_then_success(ctx):
    # Fails twice (exit 11, then 12), succeeds on the third attempt; backoff
    # 1s without jitter: the gaps are 1s, then 2s.
    j = ctx.jobd()
    d = workdir(j, 'flaky')
    job = j.submit('--name', 'flaky', '--retries', '3', '--backoff', '1s', '--jitter', '0', '--cwd', d, '--shell',
                   COUNT + 'echo "attempt=$JOBD_ATTEMPT n=$n"; [ $n -ge 3 ] || exit $((10 + n))')
    first = wait_until(lambda: (lambda rs: rs[0] if rs else None)(runs_of(j, job)), 10, 'the first run')
    by_run = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, '--json', 'wait', first['id']],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.on_cleanup(by_run.kill)

    # The second attempt waits in `retrying`, retry_at 1s after the first ended.
    retrying = wait_until(lambda: next((r for r in j.runs(job) if r['state'] == 'retrying'), None), 10,
                          'a run in state retrying')
    ctx.check(retrying['retry_at'] and retrying['attempt'] == 2 and retrying['retry_of'] == first['id'],
              f'the retry of {first["id"]} should be attempt 2, retry_of {first["id"]}, with retry_at: {retrying}')
    failed1 = j.run(first['id'])
    ctx.check(failed1['state'] == 'failed' and failed1['exit_code'] == 11 and
              failed1['next_attempt'] == retrying['id'],
              f'the first attempt should be failed, exit 11, next_attempt {retrying["id"]}: {failed1}')
    delay = t(retrying, 'retry_at') - t(failed1, 'finished_at')
    ctx.check(0.95 <= delay <= 1.1, f'retry_at should be 1s (backoff 1s, no jitter) after the failed attempt ended, '
                                    f'it is {delay:.3f}s: {retrying["retry_at"]} vs {failed1["finished_at"]}')

    w = j.ctl('--json', 'wait', job, timeout=60)
    ctx.check(w.rc == 0, f'wait {job} should wait through the retries and exit 0: {w.describe()}')
    runs = runs_of(j, job)
    check_fields(ctx, runs, 'runs of flaky')
    ctx.check(w.json()['id'] == runs[-1]['id'], f'wait --json should print the last attempt {runs[-1]["id"]}: {w.out}')
    try:
        out, err = by_run.communicate(timeout=h.scaled(15))
    except subprocess.TimeoutExpired:
        raise Failure(f'jobctl wait {first["id"]} (the first attempt) did not return after the last attempt succeeded')
    ctx.check(by_run.returncode == 0, f'wait {first["id"]} (the failed first attempt) should wait through the '
                                      f'retries to the final attempt and exit 0; exit {by_run.returncode}: {err}')

    ctx.check([r['attempt'] for r in runs] == [1, 2, 3] and
              [r['state'] for r in runs] == ['failed', 'failed', 'succeeded'] and
              [r['exit_code'] for r in runs] == [11, 12, 0],
              f'three attempts expected: failed (11), failed (12), succeeded (0): '
              f'{[(r["id"], r["attempt"], r["state"], r["exit_code"]) for r in runs]}')
    ctx.check(len({r['id'] for r in runs}) == 3, 'every attempt should have its own run id')
    ctx.check([r['retry_of'] for r in runs] == [None, runs[0]['id'], runs[1]['id']] and
              [r['next_attempt'] for r in runs] == [runs[1]['id'], runs[2]['id'], None],
              f'retry_of / next_attempt should chain the attempts: '
              f'{[(r["id"], r["retry_of"], r["next_attempt"]) for r in runs]}')
    for k, r in enumerate(runs, 1):
        log = j.ok('logs', r['id']).out
        ctx.check(log == f'attempt={k} n={k}\n', f'attempt {k} ({r["id"]}) should have its own log '
                                                  f'"attempt={k} n={k}", has {log!r}')
    gap1 = t(runs[1], 'started_at') - t(runs[0], 'finished_at')
    gap2 = t(runs[2], 'started_at') - t(runs[1], 'finished_at')
    print(f'   gaps between attempts: {gap1:.3f}s, {gap2:.3f}s', flush=True)
    ctx.check(gap1 >= 0.99 and gap2 >= 1.99 and gap2 > gap1,
              f'backoff 1s doubling: gaps should be >= 1s then >= 2s, growing; they are {gap1:.3f}s, {gap2:.3f}s')
    ctx.check(gap1 < 1 + 0.8 * h.TIME_SCALE and gap2 < 2 + 0.8 * h.TIME_SCALE,
              f'with no jitter the gaps should be about 1s and 2s; they are {gap1:.3f}s, {gap2:.3f}s')
    ctx.check(j.job(job)['state'] == 'completed', f'the one-time job should be completed: {j.job(job)}')


def test_retries_exhausted(ctx):
    j = ctx.jobd()
    job = j.submit('--name', 'doomed', '--retries', '2', '--backoff', '1s', '--jitter', '0', '--shell', 'exit 7')
    w = j.ctl('wait', job, timeout=60)
    ctx.check(w.rc == 1 and 'failed' in w.err, f'wait on a job that always fails should exit 1 after its last '
                                               f'attempt, saying failed: {w.describe()}')
    runs = runs_of(j, job)
    check_fields(ctx, runs, 'runs of doomed')
    ctx.check([(r['attempt'], r['state'], r['exit_code']) for r in runs] == [(1, 'failed', 7), (2, 'failed', 7),
                                                                            (3, 'failed', 7)],
              f'--retries 2: exactly 3 attempts, all failed with exit 7: '
              f'{[(r["id"], r["attempt"], r["state"], r["exit_code"]) for r in runs]}')
    ctx.check(runs[-1]['next_attempt'] is None,
              f'the last attempt should not be retried: {runs[-1]}')
    ctx.check(j.job(job)['state'] == 'completed', f'the job should be completed: {j.job(job)}')
    gap1 = t(runs[1], 'started_at') - t(runs[0], 'finished_at')
    gap2 = t(runs[2], 'started_at') - t(runs[1], 'finished_at')
    ctx.check(gap1 >= 0.99 and gap2 >= 1.99, f'gaps should be >= 1s and >= 2s: {gap1:.3f}s, {gap2:.3f}s')
    r = j.ctl('wait', runs[0]['id'])
    ctx.check(r.rc == 1, f'wait on the first attempt should follow the retries to the failed last one and exit 1: '
                         f'{r.describe()}')


def test_max_backoff_caps_the_wait(ctx):
    # backoff 1s, max 1s: both gaps about 1s, not 1s then 2s.
    j = ctx.jobd()
    job = j.submit('--name', 'capped', '--retries', '2', '--backoff', '1s', '--max-backoff', '1s', '--jitter', '0',
                   '--shell', 'exit 1')
    ctx.check(j.ctl('wait', job, timeout=60).rc == 1, 'the always-failing job should fail')
    runs = runs_of(j, job)
    ctx.check(len(runs) == 3, f'3 attempts expected: {runs}')
    gaps = [t(b, 'started_at') - t(a, 'finished_at') for a, b in zip(runs, runs[1:])]
    ctx.check(all(0.99 <= g < 1 + 0.5 * h.TIME_SCALE for g in gaps),
              f'--max-backoff 1s: every gap should be about 1s, they are {[round(g, 3) for g in gaps]}')


def test_retry_after_signal_and_timeout(ctx):
    # Attempt 1 kills itself with SIGKILL, attempt 2 runs past --timeout 1s,
    # attempt 3 succeeds: a signal and a timeout are failures too.
    j = ctx.jobd()
    d = workdir(j, 'w')
    m = ctx.marker('30')
    job = j.submit('--name', 'rough', '--retries', '2', '--backoff', '1s', '--jitter', '0', '--timeout', '1s',
                   '--cwd', d, '--shell', COUNT + f'case $n in 1) kill -KILL $$;; 2) exec sleep {m};; esac')
    w = j.ctl('wait', job, timeout=60)
    ctx.check(w.rc == 0, f'the third attempt should succeed: {w.describe()}')
    runs = runs_of(j, job)
    ctx.check([r['state'] for r in runs] == ['failed', 'timed_out', 'succeeded'],
              f'attempts: killed by a signal (failed), timed_out, succeeded: '
              f'{[(r["id"], r["state"], r["exit_code"], r.get("signal")) for r in runs]}')
    ctx.check(runs[0].get('signal') == 9 and runs[0]['exit_code'] is None,
              f'the first attempt died of SIGKILL: signal 9, no exit code: {runs[0]}')
    ctx.check([r['attempt'] for r in runs] == [1, 2, 3], f'attempts 1, 2, 3: {runs}')


# --- cancel ------------------------------------------------------------------

def test_cancel_kills_the_process_tree(ctx):
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    job = j.submit('--name', 'tree', '--retries', '3', '--backoff', '1s', '--shell', f'sleep {m} & sleep {m}')
    tree_of(m, 2)
    run = running_run(j, job)
    pgid = process_group(run['pid'])
    tree = h.processes_with(m)
    ctx.check(pgid and all(process_group(p) == pgid for p, _ in tree),
              f'the run\'s processes should share its process group {pgid}: '
              f'{[(p, process_group(p), c) for p, c in tree]}')
    r = j.ctl('cancel', run['id'])
    ctx.check(r.rc == 0, f'cancel of a running run should exit 0: {r.describe()}')
    ended = final_run(j, run['id'])
    ctx.check(ended['state'] == 'cancelled' and ended['finished_at'],
              f'the cancelled run should end `cancelled`: {ended}')
    all_gone(m, pgid, 'the run was cancelled')
    job_state(j, job, 'completed')
    w = j.ctl('wait', run['id'])
    ctx.check(w.rc == 1 and 'cancelled' in w.err, f'wait on a cancelled run should exit 1 saying cancelled: '
                                                  f'{w.describe()}')
    time.sleep(1.5)  # past the 1s backoff: a retry would have come by now
    runs = j.runs(job)
    ctx.check(len(runs) == 1 and runs[0]['next_attempt'] is None and runs[0]['retry_at'] is None,
              f'a cancelled run is never retried: {runs}')

    # Cancelling a run that has already ended: exit 0, and it says so.
    again = j.ctl('cancel', run['id'])
    ctx.check(again.rc == 0 and (again.out + again.err).strip(),
              f'cancel of a finished run should exit 0 and say so: {again.describe()}')
    ctx.check(j.run(run['id'])['state'] == 'cancelled', 'the run should stay cancelled')
    j.submit('--name', 'done', '--', 'true')
    ctx.check(j.ctl('wait', 'done').rc == 0, 'the job `done` failed')
    done = j.runs('done')[0]
    r = j.ctl('cancel', done['id'])
    text = r.out + r.err
    ctx.check(r.rc == 0 and ('already' in text or 'succeeded' in text),
              f'cancel of a succeeded run should exit 0 saying it had already ended (succeeded): {r.describe()}')
    ctx.check(j.run(done['id'])['state'] == 'succeeded', f'cancel must not change a finished run: {j.run(done["id"])}')


def test_cancel_job_escalates_to_sigkill(ctx):
    # The tree ignores SIGTERM: cancelling the job ends it with SIGKILL after
    # the 1s grace, the run is `cancelled` and the one-time job completed.
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    job = j.submit('--name', 'stubborn', '--shell', f"trap '' TERM; sleep {m} & sleep {m}")
    tree_of(m, 2)
    run = running_run(j, job)
    pgid = process_group(run['pid'])
    asked = time.time()
    r = j.ctl('cancel', 'stubborn')
    ctx.check(r.rc == 0, f'cancel of a job should exit 0: {r.describe()}')
    ended = final_run(j, run['id'], timeout=20)
    ctx.check(ended['state'] == 'cancelled', f'the run should be cancelled: {ended}')
    took = t(ended, 'finished_at') - asked
    ctx.check(took >= 0.9, f'a run ignoring SIGTERM ended {took:.3f}s after cancel, before the 1s grace')
    all_gone(m, pgid, 'the job was cancelled (its run ignored SIGTERM)')
    job_state(j, job, 'completed')


def test_cancel_waiting_runs(ctx):
    # A queued run and a retrying one are dropped at once, never started.
    j = ctx.jobd(slots=1)
    blocker, fifo = blocked_job(j, 'blocker')
    running_run(j, blocker)
    j.submit('--name', 'queued', '--', 'true')
    q = wait_until(lambda: next((r for r in j.runs('queued') if r['state'] == 'queued'), None), 10,
                   'a queued run')
    r = j.ctl('cancel', q['id'])
    ctx.check(r.rc == 0, f'cancel of a queued run: {r.describe()}')
    q = final_run(j, q['id'], timeout=5)
    ctx.check(q['state'] == 'cancelled' and q['started_at'] is None,
              f'a cancelled queued run should be cancelled, never started: {q}')
    release(fifo)
    ctx.check(j.ctl('wait', 'blocker').rc == 0, 'the blocker failed')
    ctx.check(j.runs('queued')[0]['state'] == 'cancelled' and len(j.runs('queued')) == 1,
              f'the cancelled run must not start when the slot frees: {j.runs("queued")}')

    # Default jitter 0.1: retry_at is 10s to 11s after the failure.
    job = j.submit('--name', 'failing', '--retries', '3', '--backoff', '10s', '--shell', 'exit 4')
    retry = wait_until(lambda: next((r for r in j.runs(job) if r['state'] == 'retrying'), None), 10,
                       'a run in state retrying')
    failed = j.run(retry['retry_of'])
    delay = t(retry, 'retry_at') - t(failed, 'finished_at')
    ctx.check(9.99 <= delay <= 11.01, f'backoff 10s, jitter 0.1: the retry should wait 10s to 11s, waits '
                                      f'{delay:.3f}s: {retry}')
    r = j.ctl('cancel', job)
    ctx.check(r.rc == 0, f'cancel of a job with a retrying run: {r.describe()}')
    retry = final_run(j, retry['id'], timeout=5)
    ctx.check(retry['state'] == 'cancelled' and retry['started_at'] is None,
              f'the retrying run should be cancelled, never started: {retry}')
    job_state(j, job, 'completed')
    w = j.ctl('wait', job, '--timeout', '5s')
    ctx.check(w.rc == 1, f'wait on the job whose retry was cancelled should exit 1 at once: {w.describe()}')


# --- pause, resume, trigger, delete -------------------------------------------

def test_pause_and_resume(ctx):
    j = ctx.jobd()
    job = j.submit('--name', 'tick', '--every', '1s', '--', 'true')
    j.wait_for_runs(job, 2, timeout=10)
    r = j.ctl('pause', 'tick')
    ctx.check(r.rc == 0, f'pause: {r.describe()}')
    paused_at = time.time()
    ctx.check(j.job(job)['state'] == 'paused', f'the job should be paused: {j.job(job)}')
    time.sleep(2.6)  # two or three fires' worth of wall-clock time, paused
    late = [r for r in j.runs(job) if t(r, 'scheduled_at') > paused_at]
    ctx.check(not late, f'a paused job fired: {late}')
    before = {r['id'] for r in j.runs(job)}

    resumed_at = time.time()  # before the request: later fires are scheduled after it
    r = j.ctl('resume', 'tick')
    ctx.check(r.rc == 0, f'resume: {r.describe()}')
    r = j.ctl('resume', 'tick')
    ctx.check(r.rc == 0, f'resume of an active job should be idempotent (exit 0): {r.describe()}')
    ctx.check(j.job(job)['state'] == 'active', f'the job should be active again: {j.job(job)}')

    def two_fresh():
        fresh = [r for r in j.runs(job) if r['id'] not in before and t(r, 'scheduled_at') > resumed_at]
        return fresh if len(fresh) >= 2 and all(r['state'] == 'succeeded' for r in fresh) else None
    wait_until(two_fresh, 10, 'two fires after resume')
    # Catch-up `last` (the default) for the fires missed while paused: one
    # run, which says how many it stands for.
    caught = [r for r in j.runs(job) if r['id'] not in before and t(r, 'scheduled_at') < resumed_at]
    ctx.check(len(caught) == 1 and caught[0]['state'] == 'succeeded' and caught[0]['missed_count'] >= 2,
              f'resume with catchup last: one run for the 2-3 fires missed while paused, with missed_count: '
              f'{caught}')
    for cmd in ('pause', 'resume'):
        r = j.ctl(cmd, 'nosuch')
        ctx.check(r.rc == 3, f'{cmd} of an unknown job should exit 3: {r.describe()}')


def test_trigger(ctx):
    j = ctx.jobd()
    job = j.submit('--name', 'manual', '--every', '1h', '--shell', 'echo "triggered $JOBD_RUN_ID"')
    next_fire = j.job(job)['next_fire']
    r = j.ctl('trigger', 'manual')
    ctx.check(r.rc == 0 and re.fullmatch(r'r\d+\n', r.out), f'trigger should print a run id: {r.describe()}')
    run_id = r.out.strip()
    w = j.ctl('wait', run_id)
    ctx.check(w.rc == 0, f'the triggered run should succeed: {w.describe()}')
    ctx.check(j.ok('logs', run_id).out == f'triggered {run_id}\n', f'logs of {run_id}: {j.ok("logs", run_id).out!r}')
    after = j.job(job)
    ctx.check(after['state'] == 'active' and after['next_fire'] == next_fire,
              f'a trigger should leave the schedule alone (next fire {next_fire}): {after}')

    # Under forbid (the default), a trigger while a run is active is skipped.
    blocked, fifo = blocked_job(j, 'gate', '--every', '1h')
    r = j.ctl('trigger', 'gate')
    ctx.check(r.rc == 0 and re.fullmatch(r'r\d+\n', r.out), r.describe())
    first = r.out.strip()
    running_run(j, blocked)
    r = j.ctl('trigger', 'gate')
    ctx.check(r.rc == 0 and re.fullmatch(r'r\d+\n', r.out),
              f'a trigger under forbid while a run is active should still print its (skipped) run: {r.describe()}')
    second = final_run(j, r.out.strip(), timeout=5)
    ctx.check(second['state'] == 'skipped' and second['reason'] and second['started_at'] is None,
              f'the overlapping trigger should be recorded skipped, with a reason: {second}')
    ctx.check(j.run(first)['state'] == 'running', f'the first run should run on: {j.run(first)}')
    release(fifo)
    ctx.check(j.ctl('wait', first).rc == 0, 'the first triggered run failed')
    r = j.ctl('trigger', 'nosuch')
    ctx.check(r.rc == 3, f'trigger of an unknown job should exit 3: {r.describe()}')


def test_delete(ctx):
    j = ctx.jobd()
    job = j.submit('--name', 'doomed', '--every', '1s', '--', 'true')
    j.wait_for_runs(job, 1, timeout=10)
    r = j.ctl('delete', 'doomed')
    ctx.check(r.rc == 0, f'delete: {r.describe()}')
    deleted_at = time.time()
    for ref in ('doomed', job):
        r = j.ctl('show', ref)
        ctx.check(r.rc == 3, f'show of a deleted job ({ref}) should exit 3: {r.describe()}')
    ctx.check(job not in [x['id'] for x in j.json('list')], f'list should omit the deleted job: {j.json("list")}')
    everything = {x['id']: x for x in j.json('list', '--all')}
    ctx.check(job in everything and everything[job]['state'] == 'deleted',
              f'list --all should show {job} as deleted: {everything}')
    time.sleep(1.5)  # more than one period of the every-1s job
    runs = j.runs(job)
    ctx.check(runs, f'runs {job} should still show the deleted job\'s runs')
    late = [r for r in runs if t(r, 'scheduled_at') > deleted_at]
    ctx.check(not late, f'a deleted job fired: {late}')
    ctx.check(all(r['state'] in FINAL for r in runs), f'a deleted job keeps no active run: {runs}')
    r = j.ctl('delete', 'nosuch')
    ctx.check(r.rc == 3, f'delete of an unknown job should exit 3: {r.describe()}')
    again = j.submit('--name', 'doomed', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    ctx.check(again != job, 'a new job named like the deleted one should get a new id')


# --- overlap policies and the starting deadline --------------------------------

def test_forbid_skips_overlapping_fires(ctx):
    j = ctx.jobd(slots=4)
    m = ctx.marker('2')  # sleep 2.xx s, on an every-1s schedule
    job = j.submit('--name', 'slowtick', '--every', '1s', '--', 'sleep', m)
    most = [0]

    def enough():
        most[0] = max(most[0], len(h.processes_with(m)))
        if most[0] > 1:
            raise Failure(f'under forbid (the default), {most[0]} runs of the every-1s job ran at once: '
                          f'{[(r["id"], r["state"], r["scheduled_at"]) for r in runs_of(j, job)]}')
        runs = runs_of(j, job)
        ran = [r for r in runs if r['state'] != 'skipped']
        skipped = [r for r in runs if r['state'] == 'skipped']
        return runs if len(ran) >= 2 and ran[0]['state'] == 'succeeded' and len(skipped) >= 2 else None
    runs = wait_until(enough, 20, 'two runs of slowtick and two skipped fires')
    ran = [r for r in runs if r['state'] != 'skipped']
    for s in (r for r in runs if r['state'] == 'skipped'):
        ctx.check(s['reason'] and s['started_at'] is None and s['attempt'] == 1,
                  f'a skipped fire should have a reason and never start: {s}')
        at = t(s, 'scheduled_at')
        ctx.check(any(t(r, 'started_at') and t(r, 'started_at') <= at and
                      (not r['finished_at'] or at <= t(r, 'finished_at') + 0.05) for r in ran),
                  f'fire {s["scheduled_at"]} was skipped, but no run was active then: '
                  f'{[(r["id"], r["started_at"], r["finished_at"]) for r in ran]}')
    a, b = ran[0], ran[1]
    ctx.check(t(b, 'started_at') >= t(a, 'finished_at') - 0.01, f'two runs overlapped under forbid: {a}, {b}')


def test_allow_runs_side_by_side(ctx):
    j = ctx.jobd(slots=4)
    m = ctx.marker('2')
    job = j.submit('--name', 'overlap', '--every', '1s', '--concurrency', 'allow', '--', 'sleep', m)
    wait_until(lambda: len([r for r in j.runs(job) if r['state'] == 'running']) >= 2, 15,
               'two runs of the job running at once under --concurrency allow')
    ctx.check(not [r for r in j.runs(job) if r['state'] == 'skipped'], f'allow skips nothing: {j.runs(job)}')


def test_replace_cancels_the_active_run(ctx):
    j = ctx.jobd(slots=4)
    m = ctx.marker('30')
    job = j.submit('--name', 'fresh', '--every', '1s', '--concurrency', 'replace', '--', 'sleep', m)
    first = running_run(j, job)

    def replaced():
        runs = runs_of(j, job)
        old = next(r for r in runs if r['id'] == first['id'])
        new = [r for r in runs if rid(r) > rid(first) and r['state'] == 'running' and r.get('pid')]
        return (old, new[0]) if old['state'] in FINAL and new else None
    old, new = wait_until(replaced, 15, f'the next fire to replace {first["id"]}')
    ctx.check(old['state'] == 'cancelled' and old['next_attempt'] is None,
              f'the replaced run should be cancelled and not retried: {old}')
    wait_until(lambda: not h.pid_alive(first['pid']), 10, f'the replaced run\'s process {first["pid"]} to die')
    ctx.check(not [r for r in j.runs(job) if r['attempt'] != 1], f'replaced runs are not retried: {j.runs(job)}')


def test_starting_deadline(ctx):
    # One slot, busy: a run that cannot start within its 1s deadline is skipped.
    j = ctx.jobd(slots=1)
    blocker, fifo = blocked_job(j, 'blocker')
    running_run(j, blocker)
    job = j.submit('--name', 'hurry', '--starting-deadline', '1s', '--', 'true')
    run = wait_until(lambda: (lambda rs: rs[0] if rs else None)(j.runs(job)), 5, 'the run of hurry')
    skipped = j.wait_for_state(run['id'], FINAL, timeout=10)
    ctx.check(skipped['state'] == 'skipped' and skipped['reason'] and skipped['started_at'] is None,
              f'a run not started within its starting deadline should be skipped, with a reason: {skipped}')
    release(fifo)
    ctx.check(j.ctl('wait', 'blocker').rc == 0, 'the blocker failed')
    ctx.check(len(j.runs(job)) == 1 and j.runs(job)[0]['state'] == 'skipped',
              f'the skipped run must not start later: {j.runs(job)}')


# --- catch-up, crashes, retention ---------------------------------------------

def test_catchup_after_downtime(ctx):
    # Three every-2s jobs (catchup none, last, all); jobd is stopped right
    # after a fire F and started again at about F+5: the fires at F+2 and
    # F+4 were missed, F+6 is the first regular one.
    j = ctx.jobd(slots=4)
    # One apply: the three are created in one turn, so their fires (counted
    # from creation) coincide, and one restart time misses them all alike.
    path = os.path.join(j.root, 'catchup.toml')
    with open(path, 'w') as f:
        for mode in ('none', 'last', 'all'):
            f.write(f'[job.c-{mode}]\nevery = "2s"\ncatchup = "{mode}"\n'
                    'command = \'echo "count=$JOBD_MISSED_COUNT since=$JOBD_MISSED_SINCE"\'\n')
    j.ok('apply', path)
    jobs = {mode: f'c-{mode}' for mode in ('none', 'last', 'all')}
    fired = [j.wait_for_runs(job, 1, timeout=10)[0] for job in jobs.values()]
    stop_from = time.time()
    j.stop()
    newest = max(t(r, 'scheduled_at') for r in fired)
    ctx.check(time.time() < newest + 1.5, 'jobd took too long to stop for this test\'s timing')
    time.sleep(max(0.0, newest + 5.0 - time.time()))  # jobd is down across two fires
    restart_from = time.time()
    j.start()
    restarted = time.time()

    for mode, job in jobs.items():
        def settled():
            runs = runs_of(j, job)
            regular = [r for r in runs if t(r, 'scheduled_at') > restarted and r['state'] in FINAL]
            return runs if regular and all(r['state'] in FINAL for r in runs) else None
        runs = wait_until(settled, 15, f'job c-{mode} to fire after the restart and settle')
        check_fields(ctx, runs, f'c-{mode}')
        before = [r for r in runs if t(r, 'scheduled_at') < stop_from]
        f = max(t(r, 'scheduled_at') for r in before)
        missed_at = [f + 2 * k for k in range(1, 10) if f + 2 * k < restart_from]
        ctx.check(all(abs(x - restart_from) > 0.2 and abs(x - restarted) > 0.2 for x in missed_at + [f + 6]),
                  f'test timing: a fire fell on the restart ({restart_from:.3f}-{restarted:.3f}), F={f:.3f}')
        caught = [r for r in runs if stop_from < t(r, 'scheduled_at') < restart_from]
        where = f'catchup {mode}, F={h.rfc3339(f)}, missed fires {len(missed_at)}, ' \
                f'runs: {[(r["id"], r["state"], r["scheduled_at"], r["missed_count"]) for r in runs]}'
        ctx.check(len(missed_at) == 2, f'this test expects 2 fires missed: {where}')
        if mode == 'none':
            ctx.check(len(caught) == 1 and caught[0]['state'] == 'skipped' and caught[0]['started_at'] is None,
                      f'catchup none: no run, one skipped record covering the gap: {where}')
            ctx.check(caught[0]['missed_count'] == 2 and caught[0]['reason'],
                      f'catchup none: the skipped record should count 2 missed fires and say why: {caught[0]}')
        elif mode == 'last':
            ctx.check(len(caught) == 1 and caught[0]['state'] == 'succeeded',
                      f'catchup last: exactly one catch-up run: {where}')
            c = caught[0]
            ctx.check(c['missed_count'] == 2 and c['missed_since'] and abs(t(c, 'missed_since') - missed_at[0]) < 0.01
                      and abs(t(c, 'scheduled_at') - missed_at[-1]) < 0.01,
                      f'catchup last: the run should stand for the newest missed fire ({h.rfc3339(missed_at[-1])}), '
                      f'missed_count 2 since {h.rfc3339(missed_at[0])}: {c}')
            log = j.ok('logs', c['id']).out
            got = re.fullmatch(r'count=(\S*) since=(\S*)\n', log)
            ctx.check(got and got.group(1) == '2', f'JOBD_MISSED_COUNT should be 2 in the catch-up run: {log!r}')
            ctx.check(got.group(2) and abs(parse_time(got.group(2)) - t(c, 'missed_since')) < 0.001,
                      f'JOBD_MISSED_SINCE should be {c["missed_since"]}: {log!r}')
        else:
            ctx.check(len(caught) == 2 and all(r['state'] == 'succeeded' for r in caught),
                      f'catchup all: one run per missed fire: {where}')
            ctx.check(all(abs(t(r, 'scheduled_at') - x) < 0.01 for r, x in zip(caught, missed_at)),
                      f'catchup all: the runs should stand for the fires {[h.rfc3339(x) for x in missed_at]}: {where}')
            ctx.check(t(caught[1], 'started_at') >= t(caught[0], 'finished_at') - 0.001,
                      f'catchup all: the runs should run one after another: {caught}')


def test_lost_run_is_retried(ctx):
    j = ctx.jobd()
    d = workdir(j, 'w')
    m = ctx.marker('30')
    job = j.submit('--name', 'survivor', '--retries', '2', '--backoff', '1s', '--jitter', '0', '--cwd', d,
                   '--shell', f'if [ -e started ]; then echo again; exit 0; fi; touch started; exec sleep {m}')
    pid = tree_of(m, 1)[0][0]
    run = wait_until(lambda: next((r for r in j.runs(job) if r.get('pid') == pid), None), 10, 'the run\'s pid')
    # An acknowledged submit commits everything before it, the pid too.
    j.submit('--name', 'barrier', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    j.kill9()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not h.pid_alive(pid), 10, 'the run\'s process to die')
    j.start()
    lost = j.wait_for_state(run['id'], ('lost',) + FINAL, timeout=10)
    ctx.check(lost['state'] == 'lost' and lost['reason'], f'the run whose process died with jobd down should be '
                                                          f'lost, with a reason: {lost}')
    w = j.ctl('wait', job, timeout=60)
    ctx.check(w.rc == 0, f'the retry of the lost run should succeed: {w.describe()}')
    runs = runs_of(j, job)
    ctx.check(len(runs) == 2 and runs[1]['attempt'] == 2 and runs[1]['state'] == 'succeeded' and
              runs[1]['retry_of'] == run['id'] and j.run(run['id'])['next_attempt'] == runs[1]['id'],
              f'a lost run should be followed by attempt 2, which succeeds: {runs}')
    ctx.check(j.ok('logs', runs[1]['id']).out == 'again\n', 'the second attempt\'s log')


def test_retention_keeps_the_newest_runs(ctx):
    j = ctx.jobd()
    job = j.submit('--name', 'kept', '--at', h.rfc3339(time.time() + 3600), '--keep-runs', '3',
                   '--shell', 'echo "out $JOBD_RUN_ID"; echo "err $JOBD_RUN_ID" >&2')
    made = []
    for _ in range(5):
        r = j.ctl('trigger', job)
        ctx.check(r.rc == 0 and re.fullmatch(r'r\d+\n', r.out), f'trigger: {r.describe()}')
        made.append(r.out.strip())
        ctx.check(j.ctl('wait', made[-1]).rc == 0, f'run {made[-1]} failed')
    logs = os.path.join(j.state_dir, 'logs')
    kept, removed = made[-3:], made[:-3]

    def trimmed():
        ids = [r['id'] for r in j.runs(job)]
        files = [f'{x}.{s}' for x in removed for s in ('out', 'err') if os.path.exists(os.path.join(logs, f'{x}.{s}'))]
        return ids if len(ids) == 3 and not files else None
    try:
        ids = wait_until(trimmed, 10, 'retention to trim the history to 3 runs and delete the others\' logs')
    except Failure as e:
        raise Failure(f'{e}: runs {[r["id"] for r in j.runs(job)]}, made {made}, logs dir {sorted(os.listdir(logs))}')
    ctx.check(sorted(ids) == sorted(kept), f'--keep-runs 3 should keep the newest 3 runs {kept}, kept {ids}')
    for x in kept:
        for s in ('out', 'err'):
            ctx.check(os.path.exists(os.path.join(logs, f'{x}.{s}')), f'the log {x}.{s} of a kept run is gone')
        ctx.check(j.ok('logs', x).out == f'out {x}\n', f'logs of kept run {x}')
    r = j.ctl('logs', removed[0])
    ctx.check(r.rc == 3, f'logs of a removed run should exit 3 (unknown run): {r.describe()}')


# --- policies in the job, bad input -------------------------------------------

def test_policies_in_job_json(ctx):
    j = ctx.jobd()
    plain = j.json('submit', '--name', 'plain', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    want = {'retries': 3, 'backoff': 10, 'max_backoff': 600, 'jitter': 0.1, 'concurrency': 'forbid',
            'catchup': 'last', 'keep_runs': 100, 'starting_deadline': None}
    for show in (plain, j.job('plain')):
        for key, value in want.items():
            got = show.get(key)
            got = seconds(got) if key in ('backoff', 'max_backoff') else got
            ctx.check(got == value, f'default {key} should be {value!r}, is {show.get(key)!r}: {show}')
    j.submit('--name', 'tuned', '--every', '1h', '--retries', '5', '--backoff', '2s', '--max-backoff', '1m',
             '--jitter', '0.25', '--concurrency', 'allow', '--catchup', 'all', '--starting-deadline', '30s',
             '--keep-runs', '7', '--', 'true')
    shown = j.job('tuned')
    got = {'retries': shown.get('retries'), 'backoff': seconds(shown.get('backoff')),
           'max_backoff': seconds(shown.get('max_backoff')), 'jitter': shown.get('jitter'),
           'concurrency': shown.get('concurrency'), 'catchup': shown.get('catchup'),
           'starting_deadline': seconds(shown.get('starting_deadline')), 'keep_runs': shown.get('keep_runs')}
    ctx.check(got == {'retries': 5, 'backoff': 2, 'max_backoff': 60, 'jitter': 0.25, 'concurrency': 'allow',
                      'catchup': 'all', 'starting_deadline': 30, 'keep_runs': 7},
              f'show --json should give back the policies submitted: {got}')


def test_bad_input(ctx):
    j = ctx.jobd()
    cases = [
        (['submit', '--concurrency', 'bogus', '--', 'true'], 2, 'bogus'),
        (['submit', '--catchup', 'sometimes', '--', 'true'], 2, 'sometimes'),
        (['submit', '--retries=-1', '--', 'true'], 2, 'retries'),
        (['submit', '--backoff', 'soon', '--', 'true'], 2, 'soon'),
        (['submit', '--max-backoff', '5x', '--', 'true'], 2, '5x'),
        (['submit', '--jitter=-0.5', '--', 'true'], 2, 'jitter'),
        (['submit', '--starting-deadline', 'never', '--', 'true'], 2, 'never'),
        (['submit', '--keep-runs=-1', '--', 'true'], 2, 'keep'),
        (['cancel', 'r999'], 3, 'no run "r999"'),
        (['cancel', 'nosuch'], 3, 'no job "nosuch"'),
        (['pause', 'nosuch'], 3, 'no job "nosuch"'),
        (['resume', 'j999'], 3, 'no job "j999"'),
        (['trigger', 'nosuch'], 3, 'no job "nosuch"'),
        (['delete', 'nosuch'], 3, 'no job "nosuch"'),
    ]
    for args, rc, message in cases:
        r = j.ctl(*args)
        ctx.check(r.rc == rc and message in r.err and r.out == '',
                  f'expected exit status {rc}, nothing on stdout and "{message}" on stderr from {r.describe()}')
        ctx.check(r.err.startswith('jobctl: ') and r.err.count('\n') == 1,
                  f'an error should be one line on stderr starting "jobctl: ": {r.describe()}')
    ctx.check(j.json('list', '--all') == [], f'invalid submits must not create jobs: {j.json("list", "--all")}')


if __name__ == '__main__':
    h.main('failure policies and job control', [
        test_retry_then_success,
        test_retries_exhausted,
        test_max_backoff_caps_the_wait,
        test_retry_after_signal_and_timeout,
        test_cancel_kills_the_process_tree,
        test_cancel_job_escalates_to_sigkill,
        test_cancel_waiting_runs,
        test_pause_and_resume,
        test_trigger,
        test_delete,
        test_forbid_skips_overlapping_fires,
        test_allow_runs_side_by_side,
        test_replace_cancels_the_active_run,
        test_starting_deadline,
        test_catchup_after_downtime,
        test_lost_run_is_retried,
        test_retention_keeps_the_newest_runs,
        test_policies_in_job_json,
        test_bad_input,
    ])
