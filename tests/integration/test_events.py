#!/usr/bin/python3
"""The event stream against a real jobd and the real jobctl.

    test_events.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

`jobctl events`: every change of a job or run in order (sequence numbers
with no gaps; a run's states in the order they happened), filtered by job,
from the backlog with --since/--last; --follow delivers what happens next;
a subscriber that does not read is dropped while jobd keeps serving.
Waiting is polling with a deadline.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, RawClient, wait_until


def events(j, *args):
    r = j.ok('events', '--json', *args)
    return [json.loads(line) for line in r.out.split('\n') if line]


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_a_run_in_order(ctx):
    j = ctx.jobd()
    jid = j.submit('--name', 'one', '--retries', '0', '--', 'sh', '-c', 'exit 3')
    j.wait_for_runs('one', 1)
    evs = events(j, '--job', 'one')
    seqs = [e['seq'] for e in evs]
    ctx.check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f'seqs should increase: {seqs}')
    what = [(e['run'], e['from'], e['state'], e['event']) for e in evs]
    run = evs[1]['run'] if len(evs) > 1 else None
    ctx.check(what[:4] == [(None, None, None, 'submitted'), (run, None, 'queued', 'fired'),
                           (run, 'queued', 'running', 'started'), (run, 'running', 'failed', 'finished')],
              f'submitted, fired, started, finished in order: {what}')
    failed = evs[3]
    ctx.check(failed['exit_code'] == 3 and failed['job'] == jid and failed['job_name'] == 'one',
              f'the end of a run names its job and exit status: {failed}')
    ctx.check(all(e['time'] for e in evs), 'every event has its time')
    text = j.ok('events', '--job', 'one').out
    ctx.check('finished: running -> failed, exit 3' in text and '(j1)' in text, f'the text form:\n{text}')
    # All events: no gaps.
    every = events(j)
    ctx.check([e['seq'] for e in every] == list(range(1, len(every) + 1)), 'the backlog has no gaps')


def test_backlog_since_and_last(ctx):
    j = ctx.jobd()
    for i in range(5):
        j.submit('--name', f'j{i}x', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    every = events(j)
    ctx.check(len(every) == 5 and all(e['event'] == 'submitted' for e in every), f'five submits: {every}')
    ctx.check([e['job_name'] for e in events(j, '--last', '2')] == ['j3x', 'j4x'], '--last 2: the newest two')
    ctx.check([e['seq'] for e in events(j, '--since', '3')] == [4, 5], '--since 3: after #3')
    j.ok('pause', 'j1x')
    j.ok('delete', 'j2x')
    tail = [(e['job_name'], e['from'], e['event']) for e in events(j, '--since', '5')]
    ctx.check(tail == [('j1x', 'active', 'paused'), ('j2x', 'active', 'deleted')],
              f'pause and delete are events of their jobs: {tail}')
    r = j.ctl('events', '--job', 'nope')
    ctx.check(r.rc == 3, f'an unknown job exits 3: {r.describe()}')


def subscribers(j):
    with urllib.request.urlopen(f'http://{j.status()["metrics"]}/metrics', timeout=10) as r:
        for line in r.read().decode().split('\n'):
            if line.startswith('jobd_event_subscribers '):
                return float(line.split()[1])
    raise Failure('no jobd_event_subscribers on the metrics page')


def test_follow(ctx):
    j = ctx.jobd(config='metrics_listen = "127.0.0.1:0"\n')
    j.submit('--name', 'before', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    p = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, 'events', '--follow', '--json', '--since', '1'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = []

        def seen(state):
            # readline blocks: jobd's writes arrive as lines; the deadline is wait_until's.
            while not any(e['state'] == state for e in got):
                line = p.stdout.readline()
                if not line:
                    raise Failure(f'jobctl events --follow ended: {p.stderr.read()}')
                got.append(json.loads(line))
            return True
        wait_until(lambda: j.status()['metrics'] and subscribers(j) == 1, 10, 'jobd_event_subscribers to be 1')
        j.submit('--name', 'after', '--', 'true')
        wait_until(lambda: seen('succeeded'), 10, 'the followed run to succeed')
        names = [e['job_name'] for e in got]
        ctx.check('before' not in names, f'--since 1 skips #1: {names}')
        ctx.check([e['event'] for e in got][:4] == ['submitted', 'fired', 'started', 'finished'],
                  f'the run as it happened: {got}')
    finally:
        p.kill()
        p.wait()
    wait_until(lambda: subscribers(j) == 0, 10, 'a follower that left to be no longer counted')


def test_slow_subscriber_is_dropped(ctx):
    j = ctx.jobd()
    c = RawClient(j.socket)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.request({'id': 1, 'op': 'events', 'follow': True})
    # Thousands of events in one turn (an apply of 8,000 jobs), never read.
    n = 8000
    text = ''.join(f'[job.j-{i}]\nschedule = "H * * * *"\ncommand = "true"\n' for i in range(n))
    path = write(os.path.join(j.root, 'many.toml'), text)
    j.ok('apply', path, timeout=120)
    wait_until(lambda: 'dropping an events subscriber' in j.log(), 20, 'jobd to drop the subscriber that does not read')
    started = time.monotonic()
    ctx.check(j.status()['jobs'] == n, 'jobd keeps serving everyone else')
    ctx.check(time.monotonic() - started < h.scaled(2), 'status answered at once')
    ctx.check(c.at_eof(timeout=20), 'the dropped subscriber\'s connection is closed')
    # A new subscriber still gets the (bounded) backlog.
    backlog = events(j, '--last', '3')
    ctx.check(len(backlog) == 3 and backlog[-1]['seq'] == n, f'the backlog goes on: {backlog}')


if __name__ == '__main__':
    h.main('the event stream', [
        test_a_run_in_order,
        test_backlog_since_and_last,
        test_follow,
        test_slow_subscriber_is_dropped,
    ])
