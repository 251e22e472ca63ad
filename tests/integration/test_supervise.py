#!/usr/bin/python3
"""jobd-supervise, the per-run supervisor: alone, then under jobd --supervise.
A run must not outlive the process that started it (a worker killed with
kill -9), and must look to jobd as it would without a supervisor: the same
exit status or signal, the same process group, the same spawn failures.

    test_supervise.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

jobd-supervise is taken from beside jobd, where jobd itself finds it in the
build tree. Processes carry a unique marker in their command lines (`sleep
100.48213907`); the test polls /proc for them, never sleeps to wait.
"""

import errno
import os
import signal
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import running_run, wait_until

GONE_WITHIN = 15  # seconds a process tree may take to disappear


def supervisor(ctx):
    return os.path.join(os.path.dirname(ctx.jobd_path), 'jobd-supervise')


def supervise(ctx, *command, **kw):
    """Runs jobd-supervise -- COMMAND to its end: (exit status, stderr)."""
    p = subprocess.run([supervisor(ctx), '--', *command], capture_output=True, text=True,
                       timeout=h.scaled(30), **kw)
    return p.returncode, p.stderr


def sleeps(marker, count):
    """Polls until `count` sleep processes with `marker` run; returns their pids."""
    def found():
        p = [pid for pid, line in h.processes_with(marker) if line.startswith('sleep ')]
        return p if len(p) >= count else None
    return wait_until(found, 15, f'{count} sleep processes with {marker}')


def all_gone(ctx, marker, what):
    ok = True
    try:
        wait_until(lambda: not h.processes_with(marker), GONE_WITHIN, what)
    except h.Failure:
        ok = False
    left = '\n    '.join(f'{pid}: {line}' for pid, line in h.processes_with(marker))
    ctx.check(ok, f'processes survived {GONE_WITHIN * h.TIME_SCALE:.0f}s after {what}:\n    {left}')


class SupervisedJobd(h.Jobd):
    """jobd --supervise: its runs start under jobd-supervise."""

    def command(self):
        return super().command() + ['--supervise']


def supervised_jobd(ctx, slots=2, config=None):
    j = SupervisedJobd(ctx, ctx.tempdir(), slots=slots, config=config)
    return j.start()


# --- jobd-supervise alone ------------------------------------------------------

def test_exit_status_passes_through(ctx):
    for code in (0, 3, 127, 255):
        rc, err = supervise(ctx, 'sh', '-c', f'exit {code}')
        ctx.check(rc == code, f'sh -c "exit {code}" under the supervisor: status {rc}, stderr {err!r}')


def test_signal_passes_through(ctx):
    # The supervisor dies of the signal that killed the command: its parent
    # sees WIFSIGNALED and the same WTERMSIG.
    d = ctx.tempdir()  # where a core would go
    for sig in (signal.SIGUSR2, signal.SIGSEGV, signal.SIGKILL, signal.SIGTERM):
        rc, err = supervise(ctx, 'sh', '-c', f'kill -{sig.name[3:]} $$', cwd=d)
        ctx.check(rc == -sig, f'a command killed by {sig.name}: the supervisor ended with {rc}, expected -{int(sig)}'
                              f' (stderr {err!r})')


def test_sigterm_to_the_group_reaches_the_command(ctx):
    m = ctx.marker()
    p = subprocess.Popen([supervisor(ctx), '--', 'sleep', m])
    ctx.on_cleanup(p.kill)
    [pid] = sleeps(m, 1)
    ctx.check(os.getsid(p.pid) == p.pid, 'the supervisor leads a session of its own')
    ctx.check(os.getpgid(pid) == p.pid, f'the command is in the supervisor\'s group: pgid {os.getpgid(pid)}, '
                                        f'supervisor {p.pid}')
    os.killpg(p.pid, signal.SIGTERM)
    rc = p.wait(timeout=h.scaled(15))
    ctx.check(rc == -signal.SIGTERM, f'SIGTERM to the group: the supervisor ended with {rc}, expected -15')

    # A command that handles SIGTERM decides the status.
    m = ctx.marker()
    p = subprocess.Popen([supervisor(ctx), '--', 'sh', '-c', f"trap 'exit 7' TERM; sleep {m} & wait"])
    ctx.on_cleanup(p.kill)
    sleeps(m, 1)
    os.killpg(p.pid, signal.SIGTERM)
    rc = p.wait(timeout=h.scaled(15))
    ctx.check(rc == 7, f'a command that exits 7 on SIGTERM: the supervisor ended with {rc}')
    all_gone(ctx, m, 'SIGTERM to the group')


def test_parent_killed_kills_the_tree(ctx):
    # A shell starts the supervisor (which takes it for its parent), and the
    # command leaves a grandchild; the shell is then killed with SIGKILL.
    m = ctx.marker()
    parent = subprocess.Popen(['sh', '-c', f'{supervisor(ctx)} -- sh -c "sleep {m} & sleep {m}" & wait'])
    ctx.on_cleanup(parent.kill)
    sleeps(m, 2)
    parent.kill()
    parent.wait()
    all_gone(ctx, m, 'the supervisor\'s parent was killed with SIGKILL')

    # A parent named with --parent, as jobd names itself.
    m = ctx.marker()
    code = (f'import os, subprocess, time\n'
            f'subprocess.Popen(["{supervisor(ctx)}", "--parent", str(os.getpid()), "--",'
            f' "sh", "-c", "sleep {m} & sleep {m}"])\n'
            f'time.sleep(3600)\n')
    parent = subprocess.Popen([sys.executable, '-c', code])
    ctx.on_cleanup(parent.kill)
    sleeps(m, 2)
    parent.kill()
    parent.wait()
    all_gone(ctx, m, 'the --parent was killed with SIGKILL')


def test_parent_already_gone(ctx):
    # A --parent that is not (or no longer) the parent: it died before the
    # supervisor could ask to be told. The command must not start.
    d = ctx.tempdir()
    flag = os.path.join(d, 'started')
    p = subprocess.run([supervisor(ctx), '--parent', '1', '--', 'touch', flag], capture_output=True, text=True,
                       timeout=h.scaled(30))
    ctx.check(p.returncode == 125 and 'parent is gone' in p.stderr,
              f'a parent already gone: status {p.returncode} (expected 125), stderr {p.stderr!r}')
    ctx.check(not os.path.exists(flag), 'the command started although the parent was gone')


def test_missing_command_is_reported(ctx):
    rc, err = supervise(ctx, '/nonexistent/program')
    ctx.check(rc == 127 and '/nonexistent/program' in err and 'No such file' in err,
              f'a missing command: status {rc} (expected 127), stderr {err!r}')

    # On the report descriptor: its pid and the errno, and nothing on stderr.
    r, w = os.pipe()
    p = subprocess.Popen([supervisor(ctx), '--report-fd', str(w), '--', '/nonexistent/program'], pass_fds=[w],
                         stderr=subprocess.PIPE)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        report = f.read()
    _, err = p.communicate(timeout=h.scaled(30))
    ctx.check(report == struct.pack('ii', p.pid, errno.ENOENT), f'the report of a missing command: {report!r}')
    ctx.check(p.returncode == 127 and err == b'', f'reported: status {p.returncode}, stderr {err!r}')

    # A command that starts: end of file while it still runs, and the
    # command does not hold the descriptor.
    m = ctx.marker()
    r, w = os.pipe()
    p = subprocess.Popen([supervisor(ctx), '--report-fd', str(w), '--', 'sleep', m], pass_fds=[w])
    ctx.on_cleanup(p.kill)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        report = f.read()
    ctx.check(report == b'' and p.poll() is None, f'a started command: report {report!r}, status {p.poll()}')
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=h.scaled(15))


def test_usage(ctx):
    for args in ([], ['sleep', '1'], ['--parent'], ['--report-fd', '1', '--', 'true'], ['--'],
                 ['--bad', '1', '--', 'true']):
        p = subprocess.run([supervisor(ctx), *args], capture_output=True, text=True, timeout=h.scaled(30))
        ctx.check(p.returncode == 125 and 'usage' in p.stderr, f'jobd-supervise {args}: status {p.returncode}, '
                                                              f'stderr {p.stderr!r}')


# --- under jobd --supervise ----------------------------------------------------

def test_jobd_records_exits_through_the_supervisor(ctx):
    j = supervised_jobd(ctx)
    m = ctx.marker()
    j.submit('--name', 'long', '--retries', '0', '--', 'sleep', m)
    run = running_run(j, 'long')
    ctx.check(h.cmdline(run['pid']).startswith(supervisor(ctx)),
              f'the run\'s pid should be its supervisor\'s: {h.cmdline(run["pid"])!r}')
    [pid] = sleeps(m, 1)
    ctx.check(os.getpgid(pid) == run['pid'], 'the command is in the run\'s process group (the supervisor\'s pid)')
    j.ok('cancel', run['id'])
    done = j.wait_for_state(run['id'], ('cancelled', 'failed'))
    ctx.check(done['state'] == 'cancelled' and done.get('signal') == 15,
              f'a cancelled run: SIGTERM reaches the command and is what jobd sees: {done}')

    j.submit('--name', 'three', '--retries', '0', '--shell', 'exit 3')
    j.submit('--name', 'usr2', '--retries', '0', '--shell', 'kill -USR2 $$')
    [three] = j.wait_for_runs('three', 1)
    [usr2] = j.wait_for_runs('usr2', 1)
    ctx.check(three['state'] == 'failed' and three['exit_code'] == 3, f'exit 3: {three}')
    ctx.check(usr2['state'] == 'failed' and usr2['exit_code'] is None and usr2.get('signal') == signal.SIGUSR2,
              f'killed by SIGUSR2: {usr2}')


def test_jobd_reports_a_missing_program(ctx):
    j = supervised_jobd(ctx)
    for i in range(5):
        j.submit('--name', f'missing{i}', '--retries', '2', '--', '/nonexistent/program')
    for i in range(5):
        runs = j.wait_for_runs(f'missing{i}', 1)
        ctx.check(len(runs) == 1 and runs[0]['state'] == 'failed' and runs[0]['exit_code'] is None and
                  runs[0].get('reason') == 'cannot start: /nonexistent/program: No such file or directory',
                  f'a missing program fails at once, without retries, as without a supervisor: {runs}')
    # The supervisors that reported it were reaped without a trace: jobd goes on.
    j.submit('--name', 'after', '--', 'true')
    [after] = j.wait_for_runs('after', 1)
    ctx.check(after['state'] == 'succeeded', f'a run after the failed starts: {after}')
    d = ctx.tempdir()
    j.submit('--name', 'nodir', '--retries', '0', '--cwd', os.path.join(d, 'absent'), '--', 'true')
    [nodir] = j.wait_for_runs('nodir', 1)
    ctx.check(nodir['state'] == 'failed' and 'working directory' in (nodir.get('reason') or ''),
              f'a missing working directory: {nodir}')


def test_jobd_timeout_kills_the_tree(ctx):
    j = supervised_jobd(ctx)
    m = ctx.marker()
    job = j.submit('--name', 'slow', '--retries', '0', '--timeout', '1s', '--shell', f'sleep {m} & sleep {m}')
    sleeps(m, 2)
    j.wait_for_runs(job, 1, timeout=30)
    run = j.runs(job)[0]
    ctx.check(run['state'] == 'timed_out', f'the run should be timed_out: {run}')
    all_gone(ctx, m, 'the timeout')


def test_jobd_kill9_kills_its_runs(ctx):
    # The point of the supervisor: jobd dies, and so do its runs, grandchildren
    # included (without --supervise they live on; see test_crash.py).
    j = supervised_jobd(ctx)
    m = ctx.marker()
    j.submit('--name', 'tree', '--shell', f'sleep {m} & sleep {m}')
    j.submit('--name', 'plain', '--', 'sleep', m)
    sleeps(m, 3)
    j.kill9()
    all_gone(ctx, m, 'jobd was killed with SIGKILL')
    # Restarted, jobd finds those runs' processes gone: lost, not running.
    j.start()
    runs = wait_until(lambda: (lambda rs: rs if rs and all(r['state'] != 'running' for r in rs) else None)(
        [r for r in j.runs() if r['job_name'] in ('tree', 'plain') and r['attempt'] == 1]), 15,
        'the killed runs to be recorded')
    ctx.check(all(r['state'] == 'lost' for r in runs), f'runs killed with their jobd should be lost: {runs}')


if __name__ == '__main__':
    h.main('jobd-supervise: runs die with their parent', [
        test_exit_status_passes_through,
        test_signal_passes_through,
        test_sigterm_to_the_group_reaches_the_command,
        test_parent_killed_kills_the_tree,
        test_parent_already_gone,
        test_missing_command_is_reported,
        test_usage,
        test_jobd_records_exits_through_the_supervisor,
        test_jobd_reports_a_missing_program,
        test_jobd_timeout_kills_the_tree,
        test_jobd_kill9_kills_its_runs,
    ])
