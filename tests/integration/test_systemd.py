#!/usr/bin/python3
"""jobd under systemd, without systemd: the test plays the service manager.

    test_systemd.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

The notify protocol (READY=1 once the socket answers, WATCHDOG=1, RELOADING=1
and READY=1 around SIGHUP, STOPPING=1 on SIGTERM) over a datagram socket of
the test's own; socket activation with a listening socket the test passes as
fd 3; `jobd --check-config`; and SIGHUP reloading jobd.toml. jobd is started
through `sh -c 'export LISTEN_PID=$$ WATCHDOG_PID=$$; exec jobd ...'`, so
that the variables name jobd's own pid, as systemd sets them.
"""

import os
import signal
import socket
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, blocked_job, release, running_run, wait_until


class Managed(h.Jobd):
    """A jobd started as systemd starts one: with `env` added to its
    environment, and `listen` (sockets) as fds 3, 4, ... with LISTEN_FDS.
    `configured_socket` replaces the --socket it is given (jobctl still uses
    `socket_path`). Unless `own_pid` is false, LISTEN_PID and WATCHDOG_PID
    are its pid."""

    def __init__(self, ctx, root, env=None, listen=(), configured_socket=None, own_pid=True, **kw):
        super().__init__(ctx, root, env=dict(os.environ, **(env or {})), **kw)
        self.listen = listen
        self.configured_socket = configured_socket
        self.own_pid = own_pid

    def command(self):
        cmd = super().command()
        if self.configured_socket:
            cmd[cmd.index('--socket') + 1] = self.configured_socket
        if not self.own_pid:
            return cmd
        return ['/bin/sh', '-c', 'export LISTEN_PID=$$ WATCHDOG_PID=$$; exec "$@"', 'sh'] + cmd

    def popen_options(self):
        options = super().popen_options()
        fds = [s.fileno() for s in self.listen]
        if not fds:
            return options

        def as_fd_3_and_up():
            # Through copies, in case a socket is already on one of 3, 4, ...
            copies = [os.dup(fd) for fd in fds]
            for i, fd in enumerate(copies):
                os.dup2(fd, 3 + i)  # inheritable: jobd gets it
        # pass_fds would close fds 3, 4, ... again after preexec_fn; Python
        # opens everything else close-on-exec, so nothing else is inherited.
        return dict(options, env=dict(options['env'], LISTEN_FDS=str(len(fds))), close_fds=False,
                    preexec_fn=as_fd_3_and_up)


class Manager:
    """The service manager's end of the notify protocol: a datagram socket
    that collects what jobd sends, one dict of its fields per message."""

    def __init__(self, ctx, root):
        self.path = os.path.join(root, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        ctx.on_cleanup(self.sock.close)
        self.seen = []

    def expect(self, field, timeout=15, skip=('WATCHDOG=1',)):
        """Waits for the next message, skipping those made only of `skip`
        fields, and fails unless it has `field` (such as 'READY=1')."""
        deadline = time.monotonic() + h.scaled(timeout)
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise Failure(f'no {field} from jobd within {h.scaled(timeout):.0f}s; it sent {self.seen}')
            lines = [line for line in data.decode('utf-8', 'replace').split('\n') if line]
            self.seen.append(lines)
            if all(line in skip for line in lines):
                continue
            if field not in lines:
                raise Failure(f'expected {field} from jobd, got {lines} (all it sent: {self.seen})')
            return dict(line.split('=', 1) for line in lines if '=' in line)

    def count(self, field):
        return sum(field in lines for lines in self.seen)


def environment_of_a_job(ctx, j, name):
    """The environment a job of `j` runs with, as a dict."""
    path = os.path.join(j.root, f'{name}.env')
    j.submit('--name', name, '--shell', f'env > {path}')
    ctx.check(j.ctl('wait', name).rc == 0, f'job {name} failed\n{j.log_tail()}')
    with open(path) as f:
        return dict(line.rstrip('\n').split('=', 1) for line in f if '=' in line)


def test_notify_protocol(ctx):
    root = ctx.tempdir()
    manager = Manager(ctx, root)
    j = Managed(ctx, root, env={'NOTIFY_SOCKET': manager.path, 'WATCHDOG_USEC': '200000'})
    j.spawn()
    ready = manager.expect('READY=1')
    # READY=1 promises a socket that answers: no retrying here.
    r = j.ctl('status', '--json')
    ctx.check(r.rc == 0 and r.json().get('pid') == j.pid,
              f'jobd said READY=1, but `jobctl status` right after failed:\n{r.describe()}\n{j.log_tail()}')
    ctx.check('listening on' in ready.get('STATUS', ''), f'READY=1 should come with a STATUS: {ready}')

    # Every 100ms with WATCHDOG_USEC=200000: a few within a second or so.
    def watchdog_pings():
        manager.sock.settimeout(0.05)
        try:
            manager.seen.append(manager.sock.recv(65536).decode().strip().split('\n'))
        except socket.timeout:
            pass
        return manager.count('WATCHDOG=1') >= 3
    wait_until(watchdog_pings, 10, 'three WATCHDOG=1 from jobd', interval=0)
    env = environment_of_a_job(ctx, j, 'env')
    leaked = [k for k in ('WATCHDOG_USEC', 'WATCHDOG_PID') if k in env]
    ctx.check(not leaked, f'jobs should not inherit the watchdog variables: {leaked}')

    j.signal(signal.SIGHUP)
    reloading = manager.expect('RELOADING=1')
    ctx.check('MONOTONIC_USEC' in reloading, f'RELOADING=1 should carry MONOTONIC_USEC: {reloading}')
    manager.expect('READY=1')
    ctx.check(j.ctl('status').rc == 0, 'jobd should answer after a reload')

    j.signal(signal.SIGTERM)
    j.exit_expected = True
    manager.expect('STOPPING=1')
    rc = j.wait_exit()
    ctx.check(rc == 0, f'jobd exited with status {rc} after SIGTERM\n{j.log_tail()}')


def test_no_watchdog_for_another_pid(ctx):
    # WATCHDOG_PID names another process: the keep-alives are not jobd's to send.
    root = ctx.tempdir()
    manager = Manager(ctx, root)
    j = Managed(ctx, root, own_pid=False,
                env={'NOTIFY_SOCKET': manager.path, 'WATCHDOG_USEC': '200000', 'WATCHDOG_PID': str(os.getpid())})
    j.spawn()
    manager.expect('READY=1')
    # A reload's messages come after any keep-alive sent meanwhile.
    j.signal(signal.SIGHUP)
    manager.expect('RELOADING=1', skip=())
    manager.expect('READY=1', skip=())
    ctx.check(manager.count('WATCHDOG=1') == 0, f'jobd sent keep-alives for another pid: {manager.seen}')


def test_socket_activation(ctx):
    root = ctx.tempdir()
    path = os.path.join(root, 'activated.sock')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    ctx.on_cleanup(listener.close)
    configured = os.path.join(root, 'configured.sock')
    j = Managed(ctx, root, socket_path=path, listen=[listener], configured_socket=configured).start()
    ctx.check(not os.path.exists(configured), f'jobd bound {configured} although systemd passed it a socket')
    ctx.check('(from systemd)' in j.log(), f'jobd should say it serves on the socket it was given\n{j.log_tail()}')
    env = environment_of_a_job(ctx, j, 'env')
    leaked = [k for k in ('LISTEN_FDS', 'LISTEN_PID') if k in env]
    ctx.check(not leaked, f'jobs should not inherit the socket-activation variables: {leaked}')

    j.stop()
    ctx.check(os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode),
              f'jobd removed {path}, the socket systemd holds, when it stopped')
    # As systemd keeps the socket: a client connects while no jobd runs, and
    # the next jobd answers it.
    early = h.RawClient(path, read_hello=False)
    j.start()
    hello = early.read_json()
    ctx.check(hello.get('hello') == 'jobd', f'the client that connected between two jobds got {hello}')
    reply = early.call({'id': 1, 'op': 'status'})
    ctx.check(reply.get('ok') is True, f'status on the early connection: {reply}')
    early.close()


def test_socket_activation_refuses_two_sockets(ctx):
    root = ctx.tempdir()
    first, second = (socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(2))
    for i, s in enumerate((first, second)):
        s.bind(os.path.join(root, f's{i}.sock'))
        s.listen(4)
        ctx.on_cleanup(s.close)
    j = Managed(ctx, root, listen=[first, second])
    j.spawn()
    rc = j.wait_exit()
    ctx.check(rc == 1 and 'systemd passed 2 sockets' in j.log(),
              f'jobd given two sockets should exit 1 saying why: exit {rc}\n{j.log_tail()}')


def test_check_config(ctx):
    d = ctx.tempdir()
    state = os.path.join(d, 'state')
    sock = os.path.join(d, 'jobd.sock')
    path = os.path.join(d, 'jobd.toml')

    def check_config(text, *extra):
        if text is not None:
            with open(path, 'w') as f:
                f.write(text)
        args = [ctx.jobd_path, '--check-config', '--state-dir', state, '--socket', sock]
        args += ['--config', path] if text is not None else []
        p = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=h.scaled(30))
        return p

    good = ('slots = 3\njobs_dir = "/nonexistent/jobs.d"\nkill_grace = "30s"\nkeep_for = "7d"\n'
            'log_level = "debug"\nlog_max_bytes = 1000\n\n[defaults]\nretries = 2\ntimeout = "1h"\n'
            'env = { A = "b" }\n')
    for text in (good, None, ''):
        p = check_config(text)
        ctx.check(p.returncode == 0 and p.stdout == 'jobd: configuration OK\n' and p.stderr == '',
                  f'--check-config with {text!r}: exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}')
    ctx.check(not os.path.exists(state) and not os.path.exists(sock),
              '--check-config should create neither the state directory nor the socket')

    bad = (
        ('slots = 2\nkill_grace = "5s"\n  keep_fr = "1d"\n', ':3:3:', 'unknown setting "keep_fr" (did you mean "keep_for"?)'),
        ('slost = 2\n', ':1:1:', 'did you mean "slots"?'),
        ('colour = "blue"\n', ':1:1:', 'unknown setting "colour" (expected one of: state_dir, socket'),
        ('slots = 2\nkill_grace = "10 secs"\n', ':2:1:', 'kill_grace'),
        ('keep_for = 30\n', ':1:1:', 'expected a duration such as "30d"'),
        ('log_level = "verbose"\n', ':1:1:', '"verbose" is not a log level'),
        ('defaults = 3\n', ':1:1:', 'defaults: expected a table'),
        ('jobs_dir = 7\n', ':1:1:', 'jobs_dir'),
        ('slots = \n', ':1:', ''),
    )
    for text, where, message in bad:
        p = check_config(text)
        ctx.check(p.returncode == 2 and f'{path}{where}' in p.stderr and message in p.stderr and p.stdout == '',
                  f'--check-config with {text!r} should exit 2 naming {path}{where} and {message!r}: '
                  f'exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}')

    # No lock: a running jobd's state directory checks fine.
    j = ctx.jobd()
    p = subprocess.run([ctx.jobd_path, '--check-config', '--state-dir', j.state_dir, '--socket', j.socket],
                       capture_output=True, text=True, timeout=h.scaled(30))
    ctx.check(p.returncode == 0, f'--check-config beside a running jobd: exit {p.returncode}, {p.stderr!r}')
    ctx.check(j.ctl('status').rc == 0, 'the running jobd should be untouched by --check-config')


class StateFromConfig(h.Jobd):
    """A jobd whose state directory comes from its jobd.toml, not a flag."""

    def command(self):
        cmd = super().command()
        i = cmd.index('--state-dir')
        del cmd[i:i + 2]
        return cmd


def test_sighup_reload(ctx):
    root = ctx.tempdir()
    state = f'state_dir = "{os.path.join(root, "state")}"\n'
    j = StateFromConfig(ctx, root, slots=None, config=state + 'slots = 1\n').start()
    config = os.path.join(root, f'{j.label}.toml')

    def reload(text, line):
        """Rewrites jobd.toml, sends SIGHUP, and waits for `line` in the log."""
        with open(config, 'w') as f:
            f.write(text)
        before = j.log().count(line)
        j.signal(signal.SIGHUP)
        wait_until(lambda: j.log().count(line) > before, 10, f'{line!r} in the log of jobd')

    _, fifo_a = blocked_job(j, 'a')
    _, fifo_b = blocked_job(j, 'b')
    running_run(j, 'a')
    wait_until(lambda: [r['state'] for r in j.runs('b')] == ['queued'], 10, 'job b to be queued behind a')

    reload(state + 'slots = 2\n', 'jobd: reloaded configuration (slots 1 -> 2)')
    running_run(j, 'b')
    ctx.check(j.status()['slots'] == 2, f'status after the reload: {j.status()}')

    # A broken file: logged, and jobd carries on with what it had.
    reload(state + 'slots = 3\nslot = 4\n', 'jobd: cannot reload the configuration')
    ctx.check('did you mean "slots"?' in j.log() and f'{config}:3:1:' in j.log(),
              f'the reload error should name the file, line and column\n{j.log_tail()}')
    ctx.check(j.status()['slots'] == 2, f'a broken jobd.toml should change nothing: {j.status()}')

    # Fewer slots stop nothing that runs; restart-only settings are
    # reported, unless a flag overrides them (--socket).
    other = os.path.join(root, 'elsewhere')
    reload(f'slots = 1\nstate_dir = "{other}"\nsocket = "{other}.sock"\nlog_level = "warning"\n',
           'jobd: reloaded configuration (slots 2 -> 1, log_level info -> warning)')
    ctx.check(f'state_dir {other} takes effect when jobd restarts' in j.log(),
              f'a changed state_dir should be reported as needing a restart\n{j.log_tail()}')
    ctx.check('elsewhere.sock' not in j.log(), f'--socket wins over jobd.toml, on reload too\n{j.log_tail()}')
    ctx.check(not os.path.exists(other), 'jobd should not move to the new state_dir while running')
    states = sorted(r['state'] for name in ('a', 'b') for r in j.runs(name))
    ctx.check(states == ['running', 'running'], f'lowering slots should not stop running runs: {states}')
    release(fifo_a)
    release(fifo_b)
    j.wait_for_runs('a', 1)
    j.wait_for_runs('b', 1)
    j.submit('--name', 'quiet', '--', 'true')
    ctx.check(j.ctl('wait', 'quiet').rc == 0, 'job quiet failed')
    ctx.check('quiet' not in j.log(), f'with log_level = "warning", info lines should not be logged\n{j.log_tail()}')


if __name__ == '__main__':
    h.main('jobd under systemd: notify, watchdog, socket activation, --check-config, SIGHUP', [
        test_notify_protocol,
        test_no_watchdog_for_another_pid,
        test_socket_activation,
        test_socket_activation_refuses_two_sockets,
        test_check_config,
        test_sighup_reload,
    ])
