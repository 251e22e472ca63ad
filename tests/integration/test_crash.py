#!/usr/bin/python3
"""Crashes: what jobd acknowledged survives `kill -9`, runs are never left
`running` without a process, and one state directory has one jobd.

    test_crash.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

The burst: 1,000 `jobctl submit --name cN --at <in an hour> -- true` from 32
threads; jobd is killed with SIGKILL once 300 have been acknowledged (exit 0
and a job id printed); the rest fail. jobd then starts again on the same
state directory, and every acknowledged job must be there, with its id.
"""

import os
import queue
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, running_run, wait_until

SUBMITS = 1000
THREADS = 32
KILL_AFTER = 300


def runs_are_honest(j):
    """Polls until every run jobd reports `running` has a live process; a run
    whose process is gone must not stay `running`."""
    bad = []

    def honest():
        bad[:] = [r for r in j.runs() if r['state'] == 'running' and not (r.get('pid') and h.pid_alive(r['pid']))]
        return not bad
    try:
        wait_until(honest, 10, 'every run reported running to have a live process')
    except Failure:
        raise Failure('runs reported `running` without a live process (stuck):\n  ' +
                      '\n  '.join(f'{r["id"]} of {r["job_name"]}, pid {r.get("pid")}' for r in bad))


def test_acknowledged_submits_survive_kill9(ctx):
    j = ctx.jobd(slots=4)
    # Runs in flight when jobd dies: one long, and a stream of short ones.
    long_marker = ctx.marker('30')
    j.submit('--name', 'long', '--', 'sleep', long_marker)
    running_run(j, 'long')
    short_marker = ctx.marker('0')
    j.submit('--name', 'churn', '--every', '1s', '--', 'sleep', short_marker)

    at_text = h.rfc3339(time.time() + 3600)
    at = h.parse_time(at_text)
    work = queue.Queue()
    for i in range(SUBMITS):
        work.put(f'c{i}')
    acked, refused = {}, {}
    done = threading.Condition()

    def worker():
        while True:
            try:
                name = work.get_nowait()
            except queue.Empty:
                return
            try:
                r = j.ctl('submit', '--name', name, '--at', at_text, '--', 'true', timeout=60)
            except Failure as e:
                r = h.Result([name], None, '', str(e), 0)
            with done:
                if r.rc == 0 and re.fullmatch(r'j\d+\n', r.out):
                    acked[name] = r.out.strip()
                else:
                    refused[name] = r
                done.notify_all()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    with done:
        done.wait_for(lambda: len(acked) >= KILL_AFTER or len(acked) + len(refused) == SUBMITS,
                      timeout=h.scaled(120))
        at_kill = len(acked)
    j.kill9()
    for t in threads:
        t.join(timeout=h.scaled(120))
    burst = time.monotonic() - started
    print(f'   burst: {len(acked)} acknowledged ({at_kill} when jobd was killed), {len(refused)} refused, '
          f'{burst:.1f}s', flush=True)
    ctx.check(len(acked) + len(refused) == SUBMITS, 'some submits never finished')
    ctx.check(KILL_AFTER <= len(acked) < SUBMITS,
              f'jobd should die in the middle of the burst: {len(acked)} of {SUBMITS} acknowledged')
    odd = {n: r for n, r in refused.items() if r.rc != 4 or r.out != ''}
    ctx.check(not odd, 'a submit that jobd did not acknowledge should print nothing and exit 4 (cannot reach '
                       'jobd); these did not:\n  ' + '\n  '.join(r.describe() for r in list(odd.values())[:5]))

    j.start()
    jobs = j.json('list', '--all')
    by_name = {x['name']: x for x in jobs}
    ctx.check(len(by_name) == len(jobs), 'two jobs share a name after the restart')
    lost = sorted((n for n in acked if n not in by_name), key=lambda n: int(n[1:]))
    ctx.check(not lost, f'{len(lost)} acknowledged jobs are missing after kill -9 and restart: {lost[:20]}')
    moved = [(n, acked[n], by_name[n]['id']) for n in acked if by_name[n]['id'] != acked[n]]
    ctx.check(not moved, f'acknowledged jobs have another id after the restart (name, acked, now): {moved[:10]}')
    for n in acked:
        x = by_name[n]
        ctx.check(x['state'] == 'active' and x['next_fire'] and h.parse_time(x['next_fire']) == at,
                  f'acknowledged job {n} should be active and fire at {at_text}: {x}')
    strangers = [n for n in by_name if n not in ('long', 'churn') and n not in acked and n not in refused]
    ctx.check(not strangers, f'jobs nobody submitted appeared: {strangers[:10]}')
    extra = [n for n in refused if n in by_name]
    print(f'   after the restart: {len(jobs)} jobs; {len(extra)} submits committed but not acknowledged', flush=True)
    ids = [int(x['id'][1:]) for x in jobs]
    ctx.check(len(set(ids)) == len(ids), 'two jobs share an id after the restart')

    runs_are_honest(j)
    newer = j.submit('--name', 'after', '--at', at_text, '--', 'true')
    ctx.check(int(newer[1:]) > max(ids), f'a job submitted after the restart got id {newer}, '
                                         f'not above every id in use (max j{max(ids)})')


def test_kill9_while_a_run_runs(ctx):
    j = ctx.jobd()
    m = ctx.marker('30')
    job = j.submit('--name', 'long', '--retries', '0', '--', 'sleep', m)
    run = running_run(j, job)
    pid = run['pid']
    ctx.check(m in h.cmdline(pid), f'pid {pid} of {run["id"]} is not our sleep: {h.cmdline(pid)!r}')
    # An acknowledged submit commits every change before it, the pid too.
    j.submit('--name', 'barrier', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    j.kill9()
    j.start()
    after = j.run(run['id'])
    ctx.check(after['state'] in ('running', 'lost'),
              f'after kill -9 and restart the run should be running (adopted) or lost: {after}')
    print(f'   after the restart, run {run["id"]} is {after["state"]}', flush=True)
    if after['state'] == 'running':
        ctx.check(after['pid'] == pid and h.pid_alive(pid),
                  f'an adopted run should report its live process {pid}: {after}')
        ctx.check(j.status()['running'] == 1, f'status should count the adopted run: {j.status()}')
    os.kill(pid, signal.SIGKILL)
    ended = j.wait_for_state(run['id'], 'lost', timeout=10)
    ctx.check(ended['finished_at'] and ended['reason'], f'a lost run should say when and why: {ended}')
    ctx.check(j.job(job)['state'] == 'completed', 'the one-time job of a lost run should be completed')
    ctx.check(j.status()['running'] == 0, f'nothing should run any more: {j.status()}')
    r = j.ctl('submit', '--wait', '--', 'true')
    ctx.check(r.rc == 0, f'a new job should run after the lost one: {r.describe()}')


def test_run_ended_while_jobd_was_down(ctx):
    j = ctx.jobd()
    m = ctx.marker('30')
    job = j.submit('--name', 'long', '--', 'sleep', m)
    run = running_run(j, job)
    j.kill9()
    os.kill(run['pid'], signal.SIGKILL)
    wait_until(lambda: not h.pid_alive(run['pid']), 10, 'the sleep to die')
    j.start()
    ended = j.wait_for_state(run['id'], 'lost', timeout=10)
    ctx.check(ended['reason'], f'a lost run should say why: {ended}')
    ctx.check(j.status()['running'] == 0, f'nothing should run: {j.status()}')


def test_second_jobd_on_the_same_state_dir(ctx):
    a = ctx.jobd()
    other_socket = os.path.join(a.root, 'second.sock')
    b = h.Jobd(ctx, a.root, state_dir=a.state_dir, socket_path=other_socket, label='second').spawn()
    rc = b.wait_exit(20)
    ctx.check(rc != 0, f'a second jobd on the same state directory should refuse to start; it exited {rc}')
    ctx.check(a.state_dir in b.log(), f'the refusal should name the state directory {a.state_dir}:\n{b.log_tail()}')
    ctx.check(not os.path.exists(other_socket), 'the refused jobd should not have created its socket')
    s = a.status()
    ctx.check(s['pid'] == a.pid, f'the first jobd should still answer: {s}')
    a.submit('--name', 'still-works', '--', 'true')


def test_second_jobd_on_the_same_socket(ctx):
    # Another state directory, but the socket of a running jobd: the socket
    # is in use, and the second jobd should say so rather than take it.
    a = ctx.jobd()
    b = h.Jobd(ctx, ctx.tempdir(), socket_path=a.socket, label='second').spawn()

    def outcome():
        if b.proc.poll() is not None:
            return 'refused'
        r = a.ctl('--json', 'status')
        if r.rc == 0 and r.json()['pid'] == b.pid:
            return 'took over'
        return None
    result = wait_until(outcome, 20, 'the second jobd to refuse, or to answer on the socket')
    s = a.ctl('--json', 'status')
    reached = s.json()['pid'] if s.rc == 0 else None
    ctx.check(result == 'refused' and reached == a.pid,
              f'a second jobd (state {b.state_dir}) on the socket of a running jobd (pid {a.pid}) should refuse '
              f'to start; instead it {result} the socket: jobctl now reaches pid {reached}, and the first jobd '
              f'runs on, unreachable',
              bug='BUG-2 (a second jobd takes over a live socket)')
    if result == 'refused':
        b.exit_expected = True
        ctx.check(b.proc.returncode != 0, f'the refusing jobd should exit non-zero:\n{b.log_tail()}')


if __name__ == '__main__':
    h.main('kill -9, restarts and exclusive state', [
        test_acknowledged_submits_survive_kill9,
        test_kill9_while_a_run_runs,
        test_run_ended_while_jobd_was_down,
        test_second_jobd_on_the_same_state_dir,
        test_second_jobd_on_the_same_socket,
    ])
