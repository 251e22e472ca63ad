#!/usr/bin/python3
"""A coordinator and real workers (jobd --join) on loopback, each with its
own state directory, driven with the real jobctl.

    test_cluster.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Runs spread over the workers by load and by tags, and their output stays on
the worker that ran them (jobctl logs relays it); a worker killed with -9
takes its run's processes with it (its keeper kills them) and the run is
lost and retried on another worker; a keeper killed with -9 is replaced,
the runs go on and the new keeper holds them; what a worker reports (exit
codes, signals, a command that cannot start) and kills (a timeout's whole
process group) reaches the coordinator as on one node; a worker killed and
started again reports from its store a run that ended while the coordinator
was away, once, and a run it had running as lost; a worker stopped (SIGSTOP) past down_after loses
its run, which is retried on another worker, and when it is continued it
kills the run's process group itself; a coordinator killed with -9 and
restarted adopts the runs its workers still run, so that no run is lost or
run twice (counted by a marker file each run appends to); a wrong token is
refused; a second worker claiming a connected worker's name is refused
until the first is gone; drain. Health is judged fast here (heartbeat 0.2s, unhealthy 1s,
down 2s). Waiting is polling with a deadline.
"""

import errno
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import wait_until

TOKEN = 'Y2x1c3Rlci10ZXN0LXRva2VuLTU2Nzg5MA=='
HEALTH = 'heartbeat = "200ms"\nunhealthy_after = "1s"\ndown_after = "2s"\n'


class Worker(h.Jobd):
    """jobd --join COORDINATOR as worker `name`; started once the coordinator
    lists it as connected."""

    def __init__(self, ctx, coordinator, address, name, slots=2, tags=(), token_path=None):
        super().__init__(ctx, ctx.tempdir(), slots=slots, label=name)
        self.coordinator = coordinator
        self.address = address
        self.name = name
        self.tags = tags
        self.token_path = token_path

    def command(self):
        cmd = [self.ctx.jobd_path, '--state-dir', self.state_dir, '--socket', self.socket, '--slots', str(self.slots),
               '--jobs-dir', os.path.join(self.root, 'jobs.d'), '--join', self.address, '--name', self.name,
               '--token-file', self.token_path]
        for t in self.tags:
            cmd += ['--tag', t]
        return cmd

    def start(self):
        self.spawn()
        wait_until(lambda: self.proc.poll() is not None or any(
            w['name'] == self.name and w['connected'] and w['state'] == 'ready'
            for w in self.coordinator.json('workers')), 15, f'worker {self.name} to register')
        if self.proc.poll() is not None:
            raise h.Failure(f'worker {self.name} exited with status {self.proc.returncode}\n{self.log_tail()}')
        return self

    @property
    def pid(self):
        return self.proc.pid


def token_file(ctx, token=TOKEN):
    path = os.path.join(ctx.tempdir(), 'token')
    with open(path, 'w') as f:
        f.write(token + '\n')
    return path


def cluster(ctx, workers=(('w1', 2, ()), ('w2', 2, ()), ('w3', 2, ('disk=ssd',))), port=0, health=HEALTH):
    token = token_file(ctx)
    config = (f'slots = 0\nlisten = "127.0.0.1:{port}"\ntoken_file = "{token}"\nname = "coord"\n' + health)
    coord = ctx.jobd(slots=None, config=config)
    address = coord.status()['listen']
    nodes = [Worker(ctx, coord, address, name, slots, tags, token).start() for name, slots, tags in workers]
    return coord, address, nodes


def open_gate(gate, done, what):
    """Ends the runs blocked in `cat GATE` until done(): each open for
    writing (and close) gives the readers then waiting their end of file; a
    run that reaches its open later is let through by a later one."""
    def attempt():
        try:
            os.close(os.open(gate, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader at the moment
                raise
        return done()
    wait_until(attempt, 15, what)


def marker_lines(path):
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def test_runs_spread_by_load_and_tags(ctx):
    coord, _, (w1, w2, w3) = cluster(ctx)
    gate = os.path.join(ctx.tempdir(), 'gate')
    os.mkfifo(gate)
    for i in range(6):
        coord.submit('--name', f'held{i}', '--retries', '0', '--shell', f'cat {gate} > /dev/null')
    wait_until(lambda: sum(w['used'] for w in coord.json('workers')) == 6, 15, 'six runs to be placed')
    placed = {}
    for r in coord.runs():
        placed.setdefault(r['worker'], []).append(r['job_name'])
    ctx.check(sorted(len(v) for v in placed.values()) == [2, 2, 2], f'two runs on each worker (slots 2): {placed}')
    open_gate(gate, lambda: all(r['state'] == 'succeeded' for r in coord.runs()), 'every run to succeed')
    coord.submit('--name', 'on-ssd', '--retries', '0', '--constraint', 'disk=ssd', '--shell', 'echo fast')
    ssd = wait_until(lambda: (lambda r: r if r['state'] == 'succeeded' else None)(coord.runs('on-ssd')[0]), 15,
                     'the ssd job to succeed')
    ctx.check(ssd['worker'] == 'w3', f'the ssd job ran on the ssd worker: {ssd}')
    with open(os.path.join(w3.state_dir, 'logs', f'{ssd["id"]}.out')) as f:
        ctx.check(f.read() == 'fast\n', 'its output stays on the worker that ran it')
    out = coord.ok('logs', ssd['id']).out
    ctx.check(out == 'fast\n', f'jobctl logs on the coordinator relays it: {out!r}')


def test_logs_of_a_remote_run_follow_it(ctx):
    coord, _, _ = cluster(ctx, workers=(('w1', 1, ()),))
    gate = os.path.join(ctx.tempdir(), 'gate')
    os.mkfifo(gate)
    coord.submit('--name', 'talker', '--retries', '0', '--shell', f'echo one; echo err >&2; cat {gate}; echo two')
    run = wait_until(lambda: (lambda r: r if r and r['state'] == 'running' else None)(
        (coord.runs('talker') or [None])[0]), 15, 'the run to start')
    wait_until(lambda: coord.ok('logs', run['id']).out == 'one\n', 15, 'its first line, relayed')
    follow = subprocess.Popen([ctx.jobctl_path, '--socket', coord.socket, 'logs', run['id'], '--follow'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.on_cleanup(follow.kill)
    ctx.check(follow.stdout.readline() == 'one\n', 'logs --follow prints what it has so far')
    with open(gate, 'w') as f:
        f.write('two? no: ')
    out, err = follow.communicate(timeout=h.scaled(15))
    ctx.check(follow.returncode == 0 and out == 'two? no: two\n', f'and the rest, then ends: {out!r} {err!r}')
    ctx.check(coord.ok('logs', run['id'], '--stderr').out == 'err\n', 'and --stderr')


def start_marked_run(ctx, coord, name):
    """Submits job `name` (one retry, 100 ms apart): each attempt appends its
    run id to a marker file, then sleeps under a unique marker. Returns its
    first run once running, the marker file and the sleep's marker."""
    marker = os.path.join(ctx.tempdir(), 'marker')
    m = ctx.marker()
    coord.submit('--name', name, '--retries', '1', '--backoff', '100ms', '--jitter', '0', '--shell',
                 f'echo $JOBD_RUN_ID >> {marker}; sleep {m}')
    first = wait_until(lambda: (lambda r: r if r and r['state'] == 'running' else None)(
        (coord.runs(name) or [None])[0]), 15, 'the run to start')
    return first, marker, m


def lost_and_retried(ctx, coord, name, first, elsewhere):
    """Waits for `first` to be lost with its lease, and its retry to run on
    worker `elsewhere`; returns the retry."""
    lost = wait_until(lambda: (lambda r: r if r['state'] == 'lost' else None)(coord.run(first['id'])), 15,
                      f'the run of worker {first["worker"]} to be lost')
    ctx.check('its lease expired' in lost['reason'], f'lost with its lease: {lost}')
    retry = wait_until(lambda: (lambda rs: rs[0] if rs[0]['id'] != first['id'] and rs[0]['state'] == 'running'
                                else None)(coord.runs(name)), 15, 'the retry to run')
    ctx.check(retry['worker'] == elsewhere and retry['attempt'] == 2, f'retried on the other worker: {retry}')
    return retry


def test_stopped_worker_loses_its_run_and_kills_it_when_continued(ctx):
    coord, _, (w1, w2) = cluster(ctx, workers=(('w1', 1, ()), ('w2', 1, ())))
    first, marker, m = start_marked_run(ctx, coord, 'moved')
    victim, other = (w1, w2) if first['worker'] == 'w1' else (w2, w1)
    wait_until(lambda: len(marker_lines(marker)) == 1, 15, 'the run to write its marker')
    os.kill(victim.pid, signal.SIGSTOP)
    try:
        retry = lost_and_retried(ctx, coord, 'moved', first, other.name)
    finally:
        os.kill(victim.pid, signal.SIGCONT)
    # Continued, the worker finds its lease gone and kills the run's process group.
    wait_until(lambda: 'killing its runs' in victim.log() or 'is gone: killing it' in victim.log(), 15,
               'the continued worker to kill its run')
    wait_until(lambda: len(h.sleeps_with(m)) == 1, 15, 'only the retry\'s process to remain')
    ctx.check(marker_lines(marker) == [first['id'], retry['id']], f'each attempt ran once: {marker_lines(marker)}')


def test_worker_kill9_loses_its_run_which_dies_with_it(ctx):
    coord, _, (w1, w2) = cluster(ctx, workers=(('w1', 1, ()), ('w2', 1, ())))
    first, marker, m = start_marked_run(ctx, coord, 'orphan')
    wait_until(lambda: len(h.sleeps_with(m)) == 1, 15, 'its process to run')
    victim, other = (w1, w2) if first['worker'] == 'w1' else (w2, w1)
    victim.kill9()
    # Its keeper takes the run's process group down with the worker.
    wait_until(lambda: not h.sleeps_with(m), 10, 'the dead worker\'s run to die with it')
    retry = lost_and_retried(ctx, coord, 'orphan', first, other.name)
    wait_until(lambda: len(h.sleeps_with(m)) == 1, 15, 'the retry\'s process')
    ctx.check(marker_lines(marker) == [first['id'], retry['id']], f'each attempt ran once: {marker_lines(marker)}')


def keeper_of(worker):
    """The pid of the worker's keeper (`jobd --keeper`, its child)."""
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open(f'/proc/{p}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
                with open(f'/proc/{p}/cmdline', 'rb') as f:
                    argv = f.read().split(b'\0')
            except (OSError, ValueError, IndexError):
                continue
            if ppid == worker.pid and argv[1:2] == [b'--keeper']:
                return int(p)
    return None


def test_keeper_kill9_is_replaced_and_the_runs_go_on_held_by_the_new_one(ctx):
    coord, _, (w1,) = cluster(ctx, workers=(('w1', 1, ()),))
    m = ctx.marker()
    coord.submit('--name', 'kept', '--retries', '0', '--shell', f'sleep {m} & sleep {m}')
    wait_until(lambda: len(h.sleeps_with(m)) == 2, 15, 'the run and its grandchild to run')
    keeper = keeper_of(w1)
    ctx.check(keeper is not None, 'the worker has a keeper')
    os.kill(keeper, signal.SIGKILL)
    wait_until(lambda: 'holds its 1 runs' in w1.log(), 15, 'the worker to start another keeper and tell it its run')
    ctx.check(keeper_of(w1) not in (None, keeper) and len(h.sleeps_with(m)) == 2 and
              coord.runs('kept')[0]['state'] == 'running', 'a new keeper, and the run goes on')
    # The new keeper holds it: the run dies with its worker.
    w1.kill9()
    wait_until(lambda: not h.sleeps_with(m), 10, 'the run to die with its worker')


def held_in_store(worker):
    """The worker's store (worker.db): run id -> waitpid status (None while
    it runs), of the runs whose end it has not had acknowledged."""
    import sqlite3
    db = sqlite3.connect(f'file:{os.path.join(worker.state_dir, "worker.db")}?mode=ro', uri=True)
    try:
        return {f'r{run}': status for run, status in db.execute("SELECT run, status FROM runs WHERE state = 'held'")}
    except sqlite3.Error:
        return {}
    finally:
        db.close()


def test_restarted_worker_reports_what_its_store_kept(ctx):
    # A slow down_after: the restarts must come before the leases expire.
    coord, address, (w1,) = cluster(ctx, workers=(('w1', 2, ()),),
                                    health='heartbeat = "200ms"\nunhealthy_after = "1s"\ndown_after = "20s"\n')
    marker = os.path.join(ctx.tempdir(), 'marker')
    gate = os.path.join(ctx.tempdir(), 'gate')
    os.mkfifo(gate)
    m = ctx.marker()
    coord.submit('--name', 'done', '--retries', '1', '--shell', f'echo $JOBD_RUN_ID >> {marker}; cat {gate} > /dev/null')
    coord.submit('--name', 'cut', '--retries', '0', '--shell', f'sleep {m}')
    wait_until(lambda: len(marker_lines(marker)) == 1 and len(h.sleeps_with(m)) == 1, 15, 'both runs to start')
    done, cut = coord.runs('done')[0]['id'], coord.runs('cut')[0]['id']
    # The coordinator away, `done` ends: the worker cannot report it, and
    # dies with the end only in its store; `cut` dies with the worker.
    coord.kill9()
    open_gate(gate, lambda: held_in_store(w1).get(done) is not None, 'the worker to record the end of the run')
    w1.kill9()
    wait_until(lambda: not h.sleeps_with(m), 10, 'the running run to die with its worker')
    coord.config = coord.config.replace('listen = "127.0.0.1:0"', f'listen = "{address}"')
    coord.start()
    w1.start()
    ended = wait_until(lambda: (lambda r: r if r['state'] == 'succeeded' else None)(coord.run(done)), 15,
                       'the stored end to be reported')
    ctx.check(ended['attempt'] == 1 and marker_lines(marker) == [done], f'it ran once: {ended}, {marker_lines(marker)}')
    lost = wait_until(lambda: (lambda r: r if r['state'] == 'lost' else None)(coord.run(cut)), 15,
                      'the run it had running to be lost')
    ctx.check(lost['reason'] == 'its worker restarted while it ran', f'lost at once, said why: {lost}')
    wait_until(lambda: held_in_store(w1) == {}, 10, 'the store to hold nothing once both are taken')


def test_worker_reports_like_one_node(ctx):
    coord, _, _ = cluster(ctx, workers=(('w1', 4, ()),))
    m = ctx.marker()
    coord.submit('--name', 'three', '--retries', '0', '--shell', 'exit 3')
    coord.submit('--name', 'termed', '--retries', '0', '--shell', 'kill -TERM $$')
    coord.submit('--name', 'missing', '--retries', '2', '--', '/nonexistent/program')
    coord.submit('--name', 'slow', '--retries', '0', '--timeout', '1s', '--shell', f'sleep {m} & sleep {m}')
    done = wait_until(lambda: (lambda rs: rs if len(rs) == 4 and all(r['state'] not in ('queued', 'running')
                                                                      for r in rs) else None)(coord.runs()),
                      30, 'the four runs to end')
    by = {r['job_name']: r for r in done}
    ctx.check(by['three']['state'] == 'failed' and by['three']['exit_code'] == 3, f'exit 3: {by["three"]}')
    ctx.check(by['termed']['state'] == 'failed' and 'signal 15' in by['termed']['reason'],
              f'killed by SIGTERM: {by["termed"]}')
    ctx.check(by['missing']['state'] == 'failed' and by['missing']['attempt'] == 1 and
              by['missing']['reason'] == 'cannot start: /nonexistent/program: No such file or directory',
              f'a command the worker cannot start fails as on one node, not retried: {by["missing"]}')
    ctx.check(by['slow']['state'] == 'timed_out', f'timed out: {by["slow"]}')
    wait_until(lambda: not h.sleeps_with(m), 10, 'the timed-out run\'s whole group to be killed')


def test_coordinator_kill9_and_restart_adopts_running_runs(ctx):
    coord, address, workers = cluster(ctx, workers=(('w1', 2, ()), ('w2', 2, ())))
    marker = os.path.join(ctx.tempdir(), 'marker')
    gate = os.path.join(ctx.tempdir(), 'gate')
    os.mkfifo(gate)
    for i in range(4):
        coord.submit('--name', f'long{i}', '--retries', '2', '--shell', f'echo $JOBD_RUN_ID >> {marker}; cat {gate} > /dev/null')
    wait_until(lambda: len(marker_lines(marker)) == 4, 15, 'four runs to start')
    coord.kill9()
    # The same address: workers come back to it.
    coord.config = coord.config.replace('listen = "127.0.0.1:0"', f'listen = "{address}"')
    coord.start()
    wait_until(lambda: all(w['connected'] and w['used'] == 2 for w in coord.json('workers')), 15,
               'the workers to register again with their runs')
    ctx.check(all(r['state'] == 'running' for r in coord.runs()), f'every run adopted: {coord.runs()}')
    open_gate(gate, lambda: all(r['state'] == 'succeeded' for r in coord.runs()) and len(coord.runs()) == 4,
              'the four runs to succeed')
    lines = marker_lines(marker)
    ctx.check(len(lines) == 4 and len(set(lines)) == 4, f'none lost, none run twice: {lines}')


class Namespace:
    """A network namespace joined to this one by a veth pair: the host end
    10.213.N.1, the namespace's 10.213.N.2. cut() and heal() take the link
    down and up: a partition."""

    def __init__(self, ctx):
        n = os.getpid() % 200 + 20
        self.name = f'jobdtest{os.getpid()}'
        self.host_if, self.ns_if = f'jh{os.getpid() % 100000}', f'jw{os.getpid() % 100000}'
        self.host_ip, self.ns_ip = f'10.213.{n}.1', f'10.213.{n}.2'
        ctx.on_cleanup(self.remove)
        for cmd in (['ip', 'netns', 'add', self.name],
                    ['ip', 'link', 'add', self.host_if, 'type', 'veth', 'peer', 'name', self.ns_if],
                    ['ip', 'link', 'set', self.ns_if, 'netns', self.name],
                    ['ip', 'addr', 'add', f'{self.host_ip}/24', 'dev', self.host_if],
                    ['ip', 'link', 'set', self.host_if, 'up'],
                    ['ip', 'netns', 'exec', self.name, 'ip', 'addr', 'add', f'{self.ns_ip}/24', 'dev', self.ns_if],
                    ['ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', self.ns_if, 'up'],
                    ['ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', 'lo', 'up']):
            subprocess.run(cmd, check=True, capture_output=True)

    def cut(self):
        subprocess.run(['ip', 'link', 'set', self.host_if, 'down'], check=True)

    def heal(self):
        subprocess.run(['ip', 'link', 'set', self.host_if, 'up'], check=True)

    def remove(self):
        subprocess.run(['ip', 'link', 'del', self.host_if], capture_output=True)
        subprocess.run(['ip', 'netns', 'del', self.name], capture_output=True)


def netns_works():
    if os.geteuid() != 0:
        return 'not root'
    probe = f'jobdprobe{os.getpid()}'
    r = subprocess.run(['ip', 'netns', 'add', probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f'ip netns add: {r.stderr.strip()}'
    subprocess.run(['ip', 'netns', 'del', probe], capture_output=True)
    return None


class NsWorker(Worker):
    """A worker inside a network namespace."""

    def __init__(self, ctx, coordinator, address, name, ns, **kw):
        super().__init__(ctx, coordinator, address, name, **kw)
        self.ns = ns

    def command(self):
        return ['ip', 'netns', 'exec', self.ns.name] + super().command()


def test_partition_with_network_namespaces(ctx):
    why = netns_works()
    if why:
        print(f'   (skipped: network namespaces do not work here: {why}; SIGSTOP stands in for a partition)')
        return
    ns = Namespace(ctx)
    token = token_file(ctx)
    # The coordinator listens on the veth's host end: reachable from both
    # sides; not the loopback, so in clear only with insecure_tcp.
    config = (f'slots = 0\nlisten = "{ns.host_ip}:0"\ntoken_file = "{token}"\nname = "coord"\n'
              'insecure_tcp = true\n' + HEALTH)
    coord = ctx.jobd(slots=None, config=config)
    address = coord.status()['listen']
    far = NsWorker(ctx, coord, address, 'far', ns, slots=1, token_path=token).start()
    marker = os.path.join(ctx.tempdir(), 'marker')
    m = ctx.marker()
    coord.submit('--name', 'cut-off', '--node', 'far', '--retries', '0', '--shell',
                 f'echo $JOBD_RUN_ID >> {marker}; sleep {m}')
    run = wait_until(lambda: (lambda r: r if r and r['state'] == 'running' else None)(
        (coord.runs('cut-off') or [None])[0]), 15, 'the run to start on the far worker')
    wait_until(lambda: len(h.sleeps_with(m)) == 1, 15, 'its process to run')
    ns.cut()
    try:
        lost = wait_until(lambda: (lambda r: r if r['state'] == 'lost' else None)(coord.run(run['id'])), 15,
                          'the cut-off worker\'s run to be lost')
        ctx.check('its lease expired' in lost['reason'], f'lost with its lease: {lost}')
        # The worker, cut off, fenced itself: no process of the run is left.
        wait_until(lambda: not h.sleeps_with(m), 15, 'the cut-off worker to kill its run')
        ctx.check('killing its runs' in far.log(), f'it says why\n{far.log_tail()}')
    finally:
        ns.heal()
    wait_until(lambda: any(w['name'] == 'far' and w['state'] == 'ready' and w['connected']
                           for w in coord.json('workers')), 30, 'the worker to come back after the partition')
    ctx.check(marker_lines(marker) == [run['id']], f'the run ran once: {marker_lines(marker)}')


def test_wrong_token_is_refused(ctx):
    coord, address, _ = cluster(ctx, workers=())
    bad = Worker(ctx, coord, address, 'intruder', token_path=token_file(ctx, 'not-the-cluster-token-at-all'))
    bad.spawn()
    wait_until(lambda: 'refused the token' in bad.log(), 15, 'the worker to be refused')
    ctx.check(coord.json('workers') == [], 'it is not registered')
    ctx.check('wrong token' in coord.log(), f'the coordinator logs it\n{coord.log_tail()}')


def test_a_second_worker_with_a_taken_name_is_refused_until_the_first_is_gone(ctx):
    coord, address, (w1,) = cluster(ctx, workers=(('w1', 1, ()),))
    twin = Worker(ctx, coord, address, 'w1', token_path=w1.token_path)
    twin.spawn()
    wait_until(lambda: 'is taken by another worker' in twin.log(), 15, 'the second w1 to be refused')
    ctx.check(coord.log().count('worker w1 registered') == 1, f'the first keeps its place\n{coord.log_tail()}')
    coord.submit('--name', 'on-w1', '--', 'true')
    wait_until(lambda: coord.runs('on-w1')[0]['state'] == 'succeeded', 15, 'a run on the first w1')
    w1.kill9()
    # Its connection closed: the name is free, and the second takes it.
    wait_until(lambda: coord.log().count('worker w1 registered') == 2, 15, 'the second w1 to register')
    coord.submit('--name', 'on-twin', '--', 'true')
    wait_until(lambda: coord.runs('on-twin')[0]['state'] == 'succeeded', 15, 'a run on the second w1')
    ctx.check('on-twin' in twin.log(), 'the second w1 ran it')


def test_drain(ctx):
    coord, _, (w1, w2) = cluster(ctx, workers=(('w1', 4, ()), ('w2', 4, ())))
    coord.ok('workers', 'drain', 'w1')
    for i in range(3):
        coord.submit('--name', f'd{i}', '--', 'true')
    wait_until(lambda: len(coord.runs()) == 3 and all(r['state'] == 'succeeded' for r in coord.runs()), 15,
               'three runs to succeed')
    ctx.check({r['worker'] for r in coord.runs()} == {'w2'}, f'none on the drained worker: {coord.runs()}')


def test_user_and_limits_travel_to_the_worker(ctx):
    # The worker resolves the user and applies the limits: the assignment carries them.
    user = f'jobdt_wuser_{os.getpid()}'
    subprocess.run(['useradd', '-m', '-s', '/bin/sh', user], check=True)
    ctx.on_cleanup(lambda: subprocess.run(['userdel', '-f', '-r', user], stderr=subprocess.DEVNULL))
    coord, _, (w1,) = cluster(ctx, workers=(('w1', 2, ()),))
    coord.submit('--name', 'confined', '--retries', '0', '--user', user, '--limit', 'nofile=64', '--shell',
                 'echo $(id -un) $(ulimit -n) $HOME $(pwd)')
    run = wait_until(lambda: (lambda r: r if r['state'] in ('succeeded', 'failed') else None)(coord.runs('confined')[0]),
                     15, 'the confined run to end')
    out = coord.ok('logs', run['id']).out
    ctx.check(run['state'] == 'succeeded' and out == f'{user} 64 /home/{user} /home/{user}\n',
              f'the worker should run it as {user} with nofile 64 in its home: {run}\n{out!r}')
    coord.submit('--name', 'nobody-here', '--retries', '0', '--user', user + 'x', '--', 'true')
    run = wait_until(lambda: (lambda r: r if r['state'] == 'failed' else None)(coord.runs('nobody-here')[0]), 15,
                     'the run as an unknown user to fail')
    ctx.check(f'no such user: {user}x' in (run['reason'] or ''), f'the worker\'s start error comes back: {run}')


if __name__ == '__main__':
    h.main('a coordinator and its workers', [
        test_runs_spread_by_load_and_tags,
        test_logs_of_a_remote_run_follow_it,
        test_stopped_worker_loses_its_run_and_kills_it_when_continued,
        test_coordinator_kill9_and_restart_adopts_running_runs,
        test_worker_kill9_loses_its_run_which_dies_with_it,
        test_keeper_kill9_is_replaced_and_the_runs_go_on_held_by_the_new_one,
        test_worker_reports_like_one_node,
        test_restarted_worker_reports_what_its_store_kept,
        test_partition_with_network_namespaces,
        test_wrong_token_is_refused,
        test_a_second_worker_with_a_taken_name_is_refused_until_the_first_is_gone,
        test_drain,
        test_user_and_limits_travel_to_the_worker,
    ])
