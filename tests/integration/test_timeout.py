#!/usr/bin/python3
"""Ending runs: --timeout kills a run's whole process tree, and stopping jobd
(SIGTERM, SIGINT) stops its runs' trees and then jobd itself, with status 0.

    test_timeout.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Each job's processes carry a unique marker in their command lines
(`sleep 100.48213907`: sleep takes fractional seconds); the test looks for
them in /proc until none is left, and fails if any survives 15 s.
"""

import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import parse_time, wait_until

GONE_WITHIN = 15  # seconds a process tree may take to disappear


def tree_of(ctx, marker, count):
    """Polls until `count` processes with `marker` exist; returns them."""
    return wait_until(lambda: (lambda p: p if len(p) >= count else None)(h.processes_with(marker)), 15,
                      f'{count} processes with {marker} in their command line')


def sleeping(ctx, marker, count):
    """Polls until `count` `sleep` processes with `marker` exist: a shell that
    sets a trap before them has set it (the shell's own command line holds the
    marker from its start, before its trap)."""
    def found():
        p = [x for x in h.processes_with(marker) if x[1].startswith('sleep ')]
        return p if len(p) >= count else None
    return wait_until(found, 15, f'{count} sleep processes with {marker}')


def all_gone(ctx, marker, what):
    def gone():
        return not h.processes_with(marker)
    try:
        wait_until(gone, GONE_WITHIN, what)
    except h.Failure:
        left = '\n    '.join(f'{pid}: {line}' for pid, line in h.processes_with(marker))
        raise h.Failure(f'processes survived {GONE_WITHIN * h.TIME_SCALE:.0f}s after {what}:\n    {left}')


def test_timeout_kills_the_tree(ctx):
    j = ctx.jobd()
    m = ctx.marker()
    job = j.submit('--name', 'slow', '--retries', '0', '--timeout', '1s', '--shell', f'sleep {m} & sleep {m}')
    tree_of(ctx, m, 2)
    r = j.ctl('wait', 'slow', timeout=30)
    ctx.check(r.rc == 1 and 'timed_out' in r.err, f'waiting for a timed-out run should exit 1 saying timed_out: '
                                                   f'{r.describe()}')
    run = j.runs(job)[0]
    ctx.check(run['state'] == 'timed_out', f'the run should be timed_out: {run}')
    ctx.check(run.get('reason') and '1s' in run['reason'], f'the run should say it timed out after 1s: {run}')
    took = parse_time(run['finished_at']) - parse_time(run['started_at'])
    ctx.check(took >= 1.0, f'the run ended {took:.3f}s after it started, before its 1s timeout')
    all_gone(ctx, m, 'the run timed out')
    ctx.check(j.job('slow')['state'] == 'completed', 'the one-time job should be completed')


def test_timeout_kills_what_ignores_sigterm(ctx):
    # SIGTERM first, SIGKILL after kill_grace (set to 1s in jobd.toml).
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    job = j.submit('--name', 'stubborn', '--retries', '0', '--timeout', '1s', '--shell', f"trap '' TERM; sleep {m} & sleep {m}")
    sleeping(ctx, m, 2)
    run = j.wait_for_runs(job, 1, timeout=20)[0]
    ctx.check(run['state'] == 'timed_out', f'the run should be timed_out: {run}')
    took = parse_time(run['finished_at']) - parse_time(run['started_at'])
    ctx.check(took >= 2.0, f'a run ignoring SIGTERM ended {took:.3f}s after starting; expected timeout 1s + grace 1s')
    all_gone(ctx, m, 'the run that ignored SIGTERM timed out')


def test_timers_fire_without_client_traffic(ctx):
    # Nobody talks to jobd while the timeout and then the grace run out: its
    # own timers must drive SIGTERM and SIGKILL (a due timer once went unseen
    # until some I/O woke the loop).
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    job = j.submit('--name', 'quiet', '--retries', '0', '--timeout', '1s', '--shell', f"trap '' TERM; sleep {m} & sleep {m}")
    sleeping(ctx, m, 2)
    all_gone(ctx, m, 'the timeout and the grace ran out, with no client talking to jobd')
    run = j.wait_for_runs(job, 1, timeout=20)[0]
    ctx.check(run['state'] == 'timed_out', f'the run should be timed_out: {run}')
    took = parse_time(run['finished_at']) - parse_time(run['started_at'])
    ctx.check(took < 4.0 * h.TIME_SCALE, f'timeout 1s + grace 1s took {took:.3f}s: a timer waited for I/O')


def test_sigterm_stops_jobd_and_its_runs(ctx):
    j = ctx.jobd()
    m = ctx.marker()
    job = j.submit('--name', 'busy', '--shell', f'sleep {m} & sleep {m}')
    tree_of(ctx, m, 2)
    run = j.runs(job)[0]
    j.stop()  # SIGTERM, exit status 0
    all_gone(ctx, m, 'jobd stopped')
    # Started again on the same state: the run was ended, not left running.
    j.start()
    after = j.run(run['id'])
    ctx.check(after['state'] not in ('running', 'queued') and after['finished_at'],
              f'a run stopped with jobd should be recorded as ended: {after}')
    ctx.check(j.status()['running'] == 0, 'nothing should be running after the restart')


def test_sigint_stops_jobd(ctx):
    j = ctx.jobd()
    m = ctx.marker()
    j.submit('--name', 'busy', '--', 'sleep', m)
    tree_of(ctx, m, 1)
    j.signal(signal.SIGINT)
    rc = j.wait_exit(30)
    ctx.check(rc == 0, f'jobd should exit 0 on SIGINT, exited {rc}\n{j.log_tail()}')
    all_gone(ctx, m, 'jobd stopped on SIGINT')


def test_sigterm_with_a_stubborn_run(ctx):
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    j.submit('--name', 'stubborn', '--retries', '0', '--shell', f"trap '' TERM; sleep {m} & sleep {m}")
    sleeping(ctx, m, 2)
    started = time.monotonic()
    j.signal(signal.SIGTERM)
    rc = j.wait_exit(30)
    ctx.check(rc == 0, f'jobd should exit 0 after SIGTERM, exited {rc}\n{j.log_tail()}')
    ctx.check(time.monotonic() - started >= 0.9, 'jobd exited before the kill grace of its run was over')
    all_gone(ctx, m, 'jobd stopped (its run ignored SIGTERM)')


def test_stopping_refuses_submits(ctx):
    # While jobd waits for its runs to end, it answers but takes no new job.
    j = ctx.jobd(config='kill_grace = "1s"\n')
    m = ctx.marker()
    j.submit('--name', 'stubborn', '--retries', '0', '--shell', f"trap '' TERM; sleep {m}")
    sleeping(ctx, m, 1)
    client = h.RawClient(j.socket)  # connected before the listener closes
    j.signal(signal.SIGTERM)
    status = wait_until(lambda: (lambda s: s if s.get('stopping') else None)(
        client.call({'id': 1, 'op': 'status'})), 10, 'status to say stopping')
    ctx.check(status['ok'], f'status while stopping: {status}')
    reply = client.call({'id': 2, 'op': 'submit', 'job': {'argv': ['true']}})
    ctx.check(not reply['ok'] and reply['error']['code'] == 'unavailable',
              f'a submit while jobd stops should be refused as unavailable: {reply}')
    client.close()
    ctx.check(j.wait_exit(30) == 0, f'jobd should exit 0\n{j.log_tail()}')
    all_gone(ctx, m, 'jobd stopped')


def test_sigterm_starts_no_queued_run(ctx):
    # One slot: `first` runs, `second` waits for the slot. Stopping ends
    # `first`; `second` must not start then, and jobd must exit.
    j = ctx.jobd(slots=1)
    m1, m2 = ctx.marker(), ctx.marker()
    j.submit('--name', 'first', '--', 'sleep', m1)
    j.submit('--name', 'second', '--', 'sleep', m2)
    tree_of(ctx, m1, 1)
    ctx.check(j.status()['queued'] == 1, f'the second run should be queued: {j.status()}')
    j.signal(signal.SIGTERM)
    j.exit_expected = True
    try:
        rc = j.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        started = h.processes_with(m2)
        h.kill_processes_with(m2)
        rc = j.wait_exit(15)
        raise h.Failure(f'jobd did not exit within 5s of SIGTERM: while stopping, it started the '
                        f'queued run ({started}) and waited for it; it exited (status {rc}) only when the test '
                        f'killed that run\n{j.log_tail()}', bug='BUG-6 (stopping jobd starts queued runs and waits '
                                                              'for them)')
    ctx.check(rc == 0, f'jobd should exit 0 after SIGTERM, exited {rc}\n{j.log_tail()}')
    ctx.check(not h.processes_with(m2), 'jobd started the queued run while stopping')
    all_gone(ctx, m1, 'jobd stopped')


def test_timeout_of_an_adopted_run(ctx):
    # jobd restarts while a run with a timeout runs; the restarted jobd adopts
    # the process, enforces the timeout, and says so.
    j = ctx.jobd()
    m = ctx.marker('30')
    job = j.submit('--name', 'adopted', '--retries', '0', '--timeout', '2s', '--', 'sleep', m)
    pid = tree_of(ctx, m, 1)[0][0]
    run = wait_until(lambda: next((r for r in j.runs(job) if r.get('pid') == pid), None), 10, 'the run\'s pid')
    # An acknowledged submit is committed with every change before it: the
    # run's pid is on disk, and the restarted jobd can recognise the process.
    j.submit('--name', 'barrier', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    j.kill9()
    j.start()
    ctx.check(j.run(run['id'])['state'] == 'running', f'the restarted jobd should adopt the running process: '
                                                      f'{j.run(run["id"])}')
    ended = wait_until(lambda: (lambda r: r if r['state'] != 'running' else None)(j.run(run['id'])), 15,
                       'the adopted run to end at its timeout')
    all_gone(ctx, m, 'the adopted run timed out')
    ctx.check(ended['state'] == 'timed_out' and 'timed out' in (ended.get('reason') or ''),
              f'jobd killed the adopted run for its 2s timeout, so it should be timed_out, "timed out after 2s"; '
              f'it is {ended["state"]}: {ended.get("reason")!r}', bug='BUG-5 (an adopted run that times out is '
                                                                    'recorded lost)')


if __name__ == '__main__':
    h.main('run timeouts and stopping jobd', [
        test_timeout_kills_the_tree,
        test_timeout_kills_what_ignores_sigterm,
        test_timers_fire_without_client_traffic,
        test_sigterm_stops_jobd_and_its_runs,
        test_sigint_stops_jobd,
        test_sigterm_with_a_stubborn_run,
        test_stopping_refuses_submits,
        test_sigterm_starts_no_queued_run,
        test_timeout_of_an_adopted_run,
    ])
