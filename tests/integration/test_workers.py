#!/usr/bin/python3
"""The coordinator's side of workers, against a real jobd and the real
jobctl, with workers simulated here (they speak the protocol over TCP: auth,
register, heartbeat, report; they receive assign and signal lines).

    test_workers.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Runs spread over workers by free slots and by tags; a run no worker can take
stays queued and `jobctl show` says why; a report must match the run's
lease (worker and epoch); a worker that falls silent past down_after loses
its leases, its runs are lost and retried on another worker, and when it
wakes its report is refused and its heartbeat is told to kill the run; a
coordinator killed with -9 and restarted adopts the runs its workers still
hold; drain. Health is judged fast here (heartbeat 0.2s, unhealthy 1s, down
2s). Waiting is polling with a deadline.
"""

import json
import os
import signal
import socket
import threading
import time

import sys
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, wait_until

TOKEN = 'd29ya2Vycy10ZXN0LXRva2VuLTEyMzQ='
HEALTH = 'heartbeat = "200ms"\nunhealthy_after = "1s"\ndown_after = "2s"\n'


class FakeWorker:
    """A worker simulated over TCP: it records what the coordinator pushes
    (assignments, signals) and answers only when the test says so."""

    def __init__(self, address, name, slots=2, tags=None, leases=(), seen_epoch=0, token=TOKEN):
        host, port = address.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=h.scaled(10))
        self.name = name
        self.buffer = b''
        self.lock = threading.Condition()
        self.replies = {}
        self.assigned = []  # assign messages, in order
        self.signals = []
        self.closed = False
        self.next_id = 1
        self.hello = self._read_line()
        threading.Thread(target=self._reader, daemon=True).start()
        auth = self.call({'op': 'auth', 'token': token})
        if not auth.get('ok'):
            raise Failure(f'worker {name}: auth refused: {auth}')
        self.registered = self.call({'op': 'register', 'name': name, 'slots': slots, 'tags': tags or {},
                                     'version': 'test', 'leases': list(leases), 'seen_epoch': seen_epoch})

    def _read_line(self):
        while b'\n' not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\n', 1)
        return json.loads(line)

    def _reader(self):
        self.sock.settimeout(None)
        try:
            while True:
                msg = self._read_line()
                if msg is None:
                    break
                with self.lock:
                    if 'assign' in msg:
                        self.assigned.append(msg['assign'])
                    elif 'signal' in msg:
                        self.signals.append(msg['signal'])
                    else:
                        self.replies[msg.get('id')] = msg
                    self.lock.notify_all()
        except OSError:
            pass
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def call(self, request, timeout=10):
        with self.lock:
            rid = self.next_id
            self.next_id += 1
        self.sock.sendall((json.dumps(dict(request, id=rid)) + '\n').encode())
        deadline = time.monotonic() + h.scaled(timeout)
        with self.lock:
            while rid not in self.replies:
                if self.closed:
                    raise Failure(f'worker {self.name}: the coordinator closed the connection')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f'worker {self.name}: no reply to {request}')
                self.lock.wait(left)
            return self.replies.pop(rid)

    def leases(self, runs=None):
        """Leases of the runs assigned to it (all, or those in `runs`)."""
        with self.lock:
            return [{'run': a['run'], 'epoch': a['epoch']} for a in self.assigned if runs is None or a['run'] in runs]

    def seen_epoch(self):
        with self.lock:
            return max([a['epoch'] for a in self.assigned], default=0)

    def beat(self, runs=None):
        return self.call({'op': 'heartbeat', 'leases': self.leases(runs), 'seen_epoch': self.seen_epoch()})

    def report(self, run, exit_code=0, epoch=None):
        if epoch is None:
            epoch = next(a['epoch'] for a in self.assigned if a['run'] == run)
        return self.call({'op': 'report', 'run': run, 'epoch': epoch, 'exit_code': exit_code, 'signal': 0})

    def wait_assigned(self, count, timeout=10):
        return wait_until(lambda: list(self.assigned) if len(self.assigned) >= count else None, timeout,
                          f'{count} assignment(s) to {self.name} (has {len(self.assigned)})')

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Beating:
    """Heartbeats from a thread, as a live worker sends them."""

    def __init__(self, ctx, *workers):
        self.workers = list(workers)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        ctx.on_cleanup(self.halt)

    def _run(self):
        while not self.stop.wait(0.2):
            for w in list(self.workers):
                try:
                    w.beat()
                except Failure:
                    pass

    def halt(self):
        self.stop.set()
        self.thread.join()


def token_file(ctx):
    path = os.path.join(ctx.tempdir(), 'token')
    with open(path, 'w') as f:
        f.write(TOKEN + '\n')
    return path


def coordinator(ctx, slots=0, extra=''):
    """A coordinator that runs nothing itself (slots 0) unless told, on TCP."""
    config = f'slots = {slots}\nlisten = "127.0.0.1:0"\ntoken_file = "{token_file(ctx)}"\nname = "coord"\n' + \
        HEALTH + extra
    j = ctx.jobd(slots=None, config=config)
    return j, j.status()['listen']


def run_of(j, job):
    runs = j.runs(job)
    return runs[0] if runs else None


def test_runs_spread_over_workers_and_end_by_report(ctx):
    j, address = coordinator(ctx)
    a = FakeWorker(address, 'w-a', slots=2)
    b = FakeWorker(address, 'w-b', slots=2)
    ctx.on_cleanup(a.close)
    ctx.on_cleanup(b.close)
    Beating(ctx, a, b)
    for i in range(4):
        j.submit('--name', f'spread{i}', '--retries', '0', '--', 'true')
    a.wait_assigned(2)
    b.wait_assigned(2)
    ctx.check(len(a.assigned) == 2 and len(b.assigned) == 2, f'two runs each: {a.assigned} {b.assigned}')
    first = a.assigned[0]
    ctx.check(first['argv'] == ['true'] and first['job_name'].startswith('spread') and first['epoch'] >= 1,
              f'an assignment carries the command and its lease: {first}')
    ctx.check(any(e.startswith('JOBD_RUN_ID=') for e in first['env']), f'and the run\'s environment: {first["env"]}')
    run = j.run(first['run'])
    ctx.check(run['state'] == 'running' and run['worker'] == 'w-a' and run['epoch'] == first['epoch'],
              f'the run names its worker and epoch: {run}')
    r = a.report(first['run'], exit_code=3)
    ctx.check(r.get('ok') is True, f'the report is accepted: {r}')
    ended = j.run(first['run'])
    ctx.check(ended['state'] == 'failed' and ended['exit_code'] == 3, f'and ends the run: {ended}')
    again = a.report(first['run'], exit_code=0)
    ctx.check(again.get('error', {}).get('message', '').startswith('stale lease'), f'a second report is stale: {again}')
    wrong = b.report(a.assigned[1]['run'], epoch=a.assigned[1]['epoch'])
    ctx.check('stale lease' in wrong.get('error', {}).get('message', ''), f'another worker\'s run: refused: {wrong}')
    ctx.check(j.run(a.assigned[1]['run'])['state'] == 'running', 'and changes nothing')
    listed = {w['name']: w for w in j.json('workers')}
    ctx.check(set(listed) == {'w-a', 'w-b'} and listed['w-a']['used'] == 1 and listed['w-b']['used'] == 2
              and listed['w-a']['state'] == 'ready', f'jobctl workers: {listed}')
    text = j.ok('workers').out
    ctx.check('w-a' in text and 'ready' in text and '1/2' in text, f'jobctl workers as a table:\n{text}')


def test_tags_place_runs_and_a_run_nobody_can_take_waits(ctx):
    j, address = coordinator(ctx)
    plain = FakeWorker(address, 'plain', slots=4)
    ssd = FakeWorker(address, 'fast', slots=1, tags={'disk': 'ssd'})
    ctx.on_cleanup(plain.close)
    ctx.on_cleanup(ssd.close)
    Beating(ctx, plain, ssd)
    j.submit('--name', 'needs-ssd', '--constraint', 'disk=ssd', '--', 'true')
    j.submit('--name', 'needs-gpu', '--constraint', 'gpu=yes', '--', 'true')
    j.submit('--name', 'pinned', '--node', 'plain', '--', 'true')
    ssd.wait_assigned(1)
    plain.wait_assigned(1)
    ctx.check(ssd.assigned[0]['job_name'] == 'needs-ssd' and plain.assigned[0]['job_name'] == 'pinned',
              f'tags and node decide: {ssd.assigned} {plain.assigned}')
    waiting = run_of(j, 'needs-gpu')
    ctx.check(waiting['state'] == 'queued' and waiting['waiting'] == 'no worker with gpu=yes',
              f'a run no worker can take waits, saying why: {waiting}')
    shown = j.ok('show', 'needs-gpu').out
    ctx.check('no worker with gpu=yes' in shown, f'jobctl show says why it waits:\n{shown}')


def test_silent_worker_loses_its_lease_and_the_run_is_retried_elsewhere(ctx):
    j, address = coordinator(ctx)
    a = FakeWorker(address, 'sleepy', slots=1)
    ctx.on_cleanup(a.close)
    j.submit('--name', 'moved', '--retries', '1', '--backoff', '100ms', '--jitter', '0', '--', 'true')
    a.wait_assigned(1)
    b = FakeWorker(address, 'awake', slots=1)
    ctx.on_cleanup(b.close)
    Beating(ctx, b)  # `sleepy` sends no heartbeat any more: as if SIGSTOPped
    first = a.assigned[0]
    lost = wait_until(lambda: (lambda r: r if r['state'] == 'lost' else None)(j.run(first['run'])), 15,
                      'the silent worker\'s run to be lost')
    ctx.check('sent no heartbeat for 2s' in lost['reason'], f'and why: {lost}')
    b.wait_assigned(1)
    retry = b.assigned[0]
    ctx.check(retry['run'] != first['run'] and retry['epoch'] > first['epoch'] and retry['attempt'] == 2,
              f'retried on the other worker under a new epoch: {retry}')
    states = {w['name']: w['state'] for w in j.json('workers')}
    ctx.check(states.get('sleepy') == 'down', f'the silent worker is down: {states}')
    # It wakes up (SIGCONT): its report is refused, and its heartbeat says to kill the run.
    r = a.report(first['run'])
    ctx.check('stale lease' in r.get('error', {}).get('message', ''), f'its late report is refused: {r}')
    beat = a.beat()
    ctx.check(beat.get('revoke') == [{'run': first['run'], 'epoch': first['epoch']}],
              f'its heartbeat is told to kill the run: {beat}')
    ctx.check('report refused: stale lease' in j.log(), f'the refusal is logged\n{j.log_tail()}')
    ctx.check(j.status()['stale_reports'] == 1, f'and counted: {j.status()}')
    ok = b.report(retry['run'])
    ctx.check(ok.get('ok') is True and j.run(retry['run'])['state'] == 'succeeded', f'the retry ends: {ok}')


def test_coordinator_restart_adopts_the_runs_workers_hold(ctx):
    j, address = coordinator(ctx, extra='')
    host, port = address.rsplit(':', 1)
    a = FakeWorker(address, 'keeper', slots=2)
    ctx.on_cleanup(a.close)
    for name in ('kept', 'dropped'):
        j.submit('--name', name, '--retries', '0', '--', 'true')
    a.wait_assigned(2)
    kept = next(x for x in a.assigned if x['job_name'] == 'kept')
    j.kill9()
    a.close()
    # The same port: workers come back to the address they know.
    j.config = j.config.replace('listen = "127.0.0.1:0"', f'listen = "{address}"')
    j.start()
    again = FakeWorker(address, 'keeper', slots=2, leases=[{'run': kept['run'], 'epoch': kept['epoch']}],
                       seen_epoch=max(x['epoch'] for x in a.assigned))
    ctx.on_cleanup(again.close)
    ctx.check(again.registered.get('revoke') == [], f'its lease is still good: {again.registered}')
    run = j.run(kept['run'])
    ctx.check(run['state'] == 'running' and run['worker'] == 'keeper', f'the run it holds is adopted: {run}')
    dropped = run_of(j, 'dropped')
    ctx.check(dropped['state'] == 'lost' and 'no longer runs it' in dropped['reason'],
              f'the one it no longer holds is lost: {dropped}')
    ok = again.report(kept['run'], epoch=kept['epoch'])
    ctx.check(ok.get('ok') is True and j.run(kept['run'])['state'] == 'succeeded', f'and ends by its report: {ok}')
    ctx.check(len(j.runs('kept')) == 1, 'none run twice')


def test_drain(ctx):
    j, address = coordinator(ctx)
    a = FakeWorker(address, 'd-a', slots=4)
    b = FakeWorker(address, 'd-b', slots=4)
    ctx.on_cleanup(a.close)
    ctx.on_cleanup(b.close)
    Beating(ctx, a, b)
    j.ok('workers', 'drain', 'd-a')
    for i in range(3):
        j.submit('--name', f'dr{i}', '--', 'true')
    b.wait_assigned(3)
    ctx.check(a.assigned == [], f'a drained worker gets nothing: {a.assigned}')
    ctx.check({w['name']: w['state'] for w in j.json('workers')}['d-a'] == 'draining', 'it shows draining')
    j.ok('workers', 'undrain', 'd-a')
    j.submit('--name', 'dr-after', '--', 'true')
    a.wait_assigned(1)
    r = j.ctl('workers', 'drain', 'nobody')
    ctx.check(r.rc == 3, f'an unknown worker: exit 3: {r.describe()}')


if __name__ == '__main__':
    h.main('workers, from the coordinator\'s side', [
        test_runs_spread_over_workers_and_end_by_report,
        test_tags_place_runs_and_a_run_nobody_can_take_waits,
        test_silent_worker_loses_its_lease_and_the_run_is_retried_elsewhere,
        test_coordinator_restart_adopts_the_runs_workers_hold,
        test_drain,
    ])
