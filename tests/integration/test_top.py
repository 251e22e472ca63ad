#!/usr/bin/python3
"""jobctl top, and the progress lines of wait, against a real jobd.

    test_top.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Without a terminal (--once, or standard output a pipe) top prints one plain
snapshot and exits 0. In a terminal it is looked at the way a user does:
in a tmux pane of a fixed size, whose screen `tmux capture-pane` prints (the
capture is part of the test's output). The pane runs top under a shell
script that records the terminal settings before and after, so that the
test sees that q, Ctrl-C, SIGTERM and SIGHUP each end top with status 0 and
leave the terminal as it was: main screen back, cursor shown, settings
restored; and that Ctrl-Z in an interactive shell gives the terminal back
until fg.
`wait` shows a progress line on a terminal and nothing on a pipe. The
`runs` op's state filter and status's run counters, which top uses, are
checked on the wire.

Waiting is polling with a deadline (the pane's text, the job's state).
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, RawClient, blocked_job, release, running_run, wait_until

TMUX = shutil.which('tmux') or '/usr/bin/tmux'


# --- tmux ------------------------------------------------------------------------

class Tmux:
    """A tmux server of the test's own (its own socket, no configuration)."""

    def __init__(self, ctx):
        if not os.access(TMUX, os.X_OK):
            raise Failure(f'tmux is needed for this test and {TMUX} is missing (run scripts/bootstrap)')
        self.socket = os.path.join(ctx.tempdir(), 'tmux.sock')
        ctx.on_cleanup(lambda: subprocess.run(self.base() + ['kill-server'], capture_output=True))

    def base(self):
        return [TMUX, '-S', self.socket, '-f', '/dev/null']

    def __call__(self, *args):
        p = subprocess.run(self.base() + list(args), capture_output=True, text=True, errors='replace',
                           timeout=h.scaled(30))
        if p.returncode != 0:
            raise Failure(f'tmux {" ".join(args)} exited {p.returncode}: {p.stderr.strip()}')
        return p.stdout

    def start(self, name, script, width=120, height=30):
        """A detached session of width x height running `sh -c script`."""
        env_term = {**os.environ, 'TERM': os.environ.get('TERM') or 'xterm'}
        p = subprocess.run(self.base() + ['new-session', '-d', '-s', name, '-x', str(width), '-y', str(height),
                                          'sh', '-c', script], capture_output=True, text=True, env=env_term,
                           timeout=h.scaled(30))
        if p.returncode != 0:
            raise Failure(f'tmux new-session exited {p.returncode}: {p.stderr.strip()}')

    def capture(self, name):
        return self('capture-pane', '-p', '-t', name)

    def flags(self, name):
        """(alternate screen on, cursor shown) of the pane."""
        on, cursor = self('display-message', '-p', '-t', name, '#{alternate_on} #{cursor_flag}').split()
        return on == '1', cursor == '1'

    def wait_for(self, name, condition, what, timeout=15):
        """Polls the pane's text until condition(text); returns the text."""
        return wait_until(lambda: (lambda text: text if condition(text) else None)(self.capture(name)),
                          timeout, f'{what}; the pane shows:\n{self.capture(name)}')


def top_script(ctx, j, *args):
    """A shell script that runs top in the pane and then says how it ended
    and whether the terminal's settings are what they were before."""
    top = shlex.join([ctx.jobctl_path, '--socket', j.socket, 'top'] + list(args))
    return ('trap : INT; printf "before top\\n"; saved=$(stty -g); '
            f'{top}; rc=$?; '
            '[ "$(stty -g)" = "$saved" ] && tty=restored || tty=changed; '
            'echo "top exited $rc, tty $tty"; read line')


def show(title, text):
    print(f'--- {title}\n' + text.rstrip('\n') + '\n---', flush=True)


def lines_of(text):
    return text.rstrip('\n').split('\n')


# --- without a terminal ---------------------------------------------------------

def test_snapshot_without_a_terminal(ctx):
    j = ctx.jobd(slots=1)
    job, fifo = blocked_job(j, 'blocker')
    run = running_run(j, job)
    second, second_fifo = blocked_job(j, 'second')
    waiting = wait_until(lambda: next((r for r in j.runs(second) if r['state'] == 'queued'), None), 15,
                         'the second job to be queued')
    for args in (['top', '--once'], ['top']):  # stdout is a pipe: one snapshot either way
        r = j.ctl(*args, timeout=30)
        ctx.check(r.rc == 0 and r.err == '', f'expected exit status 0 and nothing on stderr from {r.describe()}')
        ctx.check('\x1b' not in r.out, f'a snapshot on a pipe must hold no escape sequence: {r.out!r}')
        show(' '.join(args), r.out)
        out = lines_of(r.out)
        ctx.check(out[0].startswith('jobd ') and 'slots 1/1 busy' in out[0] and '1 queued' in out[0],
                  f'header: expected "jobd VERSION, up ...: slots 1/1 busy, 1 queued", got {out[0]!r}')
        ctx.check(out[1].startswith('runs: ') and 'started' in out[1] and 'finished' in out[1],
                  f'second line: expected the runs started and finished, got {out[1]!r}')
        ctx.check('RUNNING (1)' in out and 'WAITING (1)' in out, f'expected RUNNING (1) and WAITING (1):\n{r.out}')
        row = next((line.split() for line in out if line.startswith(run['id'] + ' ')), None)
        ctx.check(row is not None and row[1] == 'blocker' and row[-1] == str(run['pid']),
                  f'expected a row "{run["id"]} blocker ... {run["pid"]}":\n{r.out}')
        row = next((line.split() for line in out if line.startswith(waiting['id'] + ' ')), None)
        ctx.check(row is not None and row[1] == 'second' and row[3] == 'queued' and row[4] == '0',
                  f'expected a row "{waiting["id"]} second - queued 0 ...":\n{r.out}')
    snap = j.json('top')
    ctx.check([r['id'] for r in snap['running']] == [run['id']] and [r['id'] for r in snap['waiting']] ==
              [waiting['id']] and snap['status']['slots'] == 1,
              f'top --json: expected the running and the waiting run, got {snap}')
    release(fifo)
    release(second_fifo)
    j.wait_for_runs(second, 1)


def test_interval_must_be_a_duration(ctx):
    j = ctx.jobd()
    for value, message in (('soon', 'not a duration'), ('10ms', 'at least 100ms')):
        r = j.ctl('top', '--interval', value)
        ctx.check(r.rc == 2 and message in r.err and r.out == '',
                  f'expected exit status 2 and "{message}" on stderr from {r.describe()}')


def test_runs_state_filter_and_counters(ctx):
    """What top asks jobd: the runs in some states, task runs included, and
    how many runs started and finished."""
    j = ctx.jobd(slots=2)
    done = j.submit('--name', 'done', '--', 'true')
    j.wait_for_runs(done, 1)
    job, fifo = blocked_job(j, 'blocker')
    run = running_run(j, job)
    c = RawClient(j.socket)
    reply = c.call({'id': 1, 'op': 'runs', 'state': ['running', 'queued']})
    ctx.check(reply['ok'] and [r['id'] for r in reply['runs']] == [run['id']],
              f'runs with state running or queued: expected only {run["id"]}, got {reply}')
    reply = c.call({'id': 2, 'op': 'runs', 'state': ['succeeded'], 'job': 'done'})
    ctx.check(reply['ok'] and [r['state'] for r in reply['runs']] == ['succeeded'],
              f'runs of job done with state succeeded: expected one, got {reply}')
    reply = c.call({'id': 3, 'op': 'runs', 'state': ['sleeping']})
    ctx.check(not reply['ok'] and reply['error']['code'] == 'invalid_argument' and
              'sleeping' in reply['error']['message'], f'an unknown state must be invalid_argument: {reply}')
    os.mkfifo(f'{fifo}.2')
    graph = j.submit('--name', 'graph', '--task', f'wait=read line < {fifo}.2', '--task', 'after=true',
                     '--edge', 'wait:after')
    reply = wait_until(lambda: (lambda r: r if any(x.get('task') == 'wait' and x.get('pid') for x in r['runs']) else None)(
        c.call({'id': 4, 'op': 'runs', 'state': ['running'], 'job': graph})), 15, 'the graph\'s task to run')
    ctx.check(sorted(str(r.get('task')) for r in reply['runs']) == ['None', 'wait'],
              f'runs of a graph job with state running: expected its job run and its task run, got {reply}')
    status = c.call({'id': 5, 'op': 'status'})
    ctx.check(status['runs_started'] == 3 and status['runs_finished'] == 1,
              f'status: expected runs_started 3 (done, blocker, the task) and runs_finished 1, got {status}')
    release(fifo)
    release(f'{fifo}.2')
    j.wait_for_runs(graph, 1)
    status = wait_until(lambda: (lambda s: s if s['runs_finished'] == 5 else None)(c.call({'id': 6, 'op': 'status'})),
                        15, 'five runs finished (done, blocker, and the graph\'s two tasks and its job run)')
    ctx.check(status['runs_started'] == 4, f'status: expected runs_started 4, got {status}')
    c.close()


# --- in a terminal ----------------------------------------------------------------

def test_top_in_a_terminal(ctx):
    j = ctx.jobd(slots=4)
    jobs = [blocked_job(j, f'blocker{i}') for i in range(3)]
    runs = [running_run(j, job) for job, _ in jobs]
    tmux = Tmux(ctx)
    tmux.start('top', top_script(ctx, j, '--interval', '200ms'))
    screen = tmux.wait_for('top', lambda t: all(r['id'] in t for r in runs) and '/s)' in t,
                           'top to show the three running runs, and rates')
    show('jobctl top in a 120x30 terminal', screen)
    out = lines_of(screen)
    ctx.check(out[0].startswith('jobd ') and 'slots 3/4 busy, 0 queued, 3 jobs' in out[0],
              f'header: expected "jobd ...: slots 3/4 busy, 0 queued, 3 jobs", got {out[0]!r}')
    ctx.check(out[1].startswith('runs: ') and '/s)' in out[1],
              f'second line: a refresh later, the rates per second, got {out[1]!r}')
    ctx.check('RUNNING (3)' in out and out[out.index('RUNNING (3)') + 1].split() ==
              ['RUN', 'JOB', 'TASK', 'ATTEMPT', 'STARTED', 'ELAPSED', 'PID'], f'expected the running table:\n{screen}')
    newest = next(line.split() for line in out if line.startswith(runs[2]['id'] + ' '))
    ctx.check(newest[1:4] == ['blocker2', '-', '1'] and newest[-1] == str(runs[2]['pid']),
              f'expected a row "{runs[2]["id"]} blocker2 - 1 TIME ELAPSED {runs[2]["pid"]}", got {newest}')
    rows = [line.split()[0] for line in out if line.split() and line.split()[0] in {r['id'] for r in runs}]
    ctx.check(rows == [r['id'] for r in reversed(runs)], f'running runs newest first: got {rows}')
    ctx.check('before top' not in screen, f'top draws on the alternate screen:\n{screen}')
    ctx.check(tmux.flags('top') == (True, False), f'while top runs: alternate screen on, cursor hidden')

    # A smaller terminal (SIGWINCH): lines cut to the width, rows to the height.
    tmux('resize-window', '-t', 'top', '-x', '50', '-y', '10')
    screen = tmux.wait_for('top', lambda t: 'RUNNING (3, 2 shown)' in t, 'top to fit 10 rows')
    show('jobctl top in a 50x10 terminal', screen)
    out = lines_of(screen)
    ctx.check(out[0].startswith('jobd ') and out[1].startswith('runs: ') and len(out) <= 10,
              f'at 50x10: the header cut to the width, not wrapped:\n{screen}')

    tmux('send-keys', '-t', 'top', 'q')
    screen = tmux.wait_for('top', lambda t: 'top exited' in t, 'top to exit after q')
    show('the terminal after q', screen)
    ctx.check('top exited 0, tty restored' in screen, f'q: expected exit status 0 and the tty restored:\n{screen}')
    ctx.check('before top' in screen and 'RUNNING' not in screen,
              f'q: the main screen must be back, without top\'s view:\n{screen}')
    ctx.check(tmux.flags('top') == (False, True), 'after q: alternate screen off, cursor shown')
    for _, fifo in jobs:
        release(fifo)


def test_ctrl_c_and_sigterm_restore_the_terminal(ctx):
    j = ctx.jobd()
    tmux = Tmux(ctx)
    for way in ('C-c', 'SIGTERM', 'SIGHUP'):
        name = way.replace('-', '')
        tmux.start(name, top_script(ctx, j))
        tmux.wait_for(name, lambda t: 'RUNNING (0)' in t, f'top to show its view ({way})')
        if way == 'C-c':
            tmux('send-keys', '-t', name, 'C-c')
        else:
            top = [pid for pid, line in h.processes_with(j.socket) if line.startswith(ctx.jobctl_path + ' ')]
            ctx.check(len(top) == 1, f'expected one jobctl top process, found {top}')
            os.kill(top[0], getattr(signal, way))
        screen = tmux.wait_for(name, lambda t: 'top exited' in t, f'top to exit after {way}')
        ctx.check('top exited 0, tty restored' in screen and 'before top' in screen and 'RUNNING' not in screen,
                  f'{way}: expected exit status 0, the main screen back and the tty restored:\n{screen}')
        ctx.check(tmux.flags(name) == (False, True), f'after {way}: alternate screen off, cursor shown')


def test_ctrl_z_gives_the_terminal_back(ctx):
    """Stopped by Ctrl-Z in an interactive shell, top leaves the alternate
    screen; brought back by fg, it takes it again and q still ends it."""
    j = ctx.jobd()
    tmux = Tmux(ctx)
    tmux.start('z', 'PS1="$ " exec bash --norc --noprofile -i')
    tmux.wait_for('z', lambda t: '$' in t, 'the shell\'s prompt')
    tmux('send-keys', '-t', 'z', shlex.join([ctx.jobctl_path, '--socket', j.socket, 'top']), 'Enter')

    def flags_become(want, what):
        wait_until(lambda: tmux.flags('z') == want, 15, f'{what}; the pane shows:\n{tmux.capture("z")}')

    flags_become((True, False), 'top on the alternate screen, cursor hidden')
    tmux('send-keys', '-t', 'z', 'C-z')
    flags_become((False, True), 'top stopped by Ctrl-Z to give the screen and cursor back')
    tmux.wait_for('z', lambda t: 'Stopped' in t, 'the shell to say that top is stopped')
    tmux('send-keys', '-t', 'z', 'fg', 'Enter')
    flags_become((True, False), 'top back on the alternate screen after fg')
    tmux.wait_for('z', lambda t: 'RUNNING (0)' in t, 'top to draw its view again')
    tmux('send-keys', '-t', 'z', 'q')
    flags_become((False, True), 'top to end after q')
    tmux('send-keys', '-t', 'z', 'echo "top exited $?"', 'Enter')
    screen = tmux.wait_for('z', lambda t: '\ntop exited' in t, 'the shell to say how top exited')
    ctx.check('top exited 0' in screen, f'after Ctrl-Z, fg and q: expected exit status 0:\n{screen}')


def test_wait_shows_progress_only_on_a_terminal(ctx):
    j = ctx.jobd()
    job, fifo = blocked_job(j, 'blocker')
    run = running_run(j, job)
    err_path = os.path.join(j.root, 'wait.err')
    with open(err_path, 'w') as err:  # the same wait, its stderr a file
        quiet = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, 'wait', job], stdout=subprocess.PIPE,
                                 stderr=err)
    tmux = Tmux(ctx)
    wait = shlex.join([ctx.jobctl_path, '--socket', j.socket, 'wait', job])
    tmux.start('wait', f'{wait}; echo "wait exited $?"; read line')
    screen = tmux.wait_for('wait', lambda t: f'waiting for {run["id"]} of job blocker (running ' in t,
                           'the progress line of wait')
    show('jobctl wait in a terminal', screen)
    release(fifo)
    screen = tmux.wait_for('wait', lambda t: 'wait exited' in t, 'wait to exit')
    ctx.check('wait exited 0' in screen and 'waiting for' not in screen,
              f'wait: expected exit status 0 and the progress line erased:\n{screen}')
    try:
        rc = quiet.wait(timeout=h.scaled(15))
    except subprocess.TimeoutExpired:
        quiet.kill()
        raise Failure('jobctl wait (stderr a file) did not exit after its run ended')
    with open(err_path) as f:
        err = f.read()
    ctx.check(rc == 0 and err == '', f'wait with stderr not a terminal: expected exit 0 and nothing, got {rc}, {err!r}')
    quiet.stdout.close()


if __name__ == '__main__':
    h.main('jobctl top and progress', [
        test_snapshot_without_a_terminal,
        test_interval_must_be_a_duration,
        test_runs_state_filter_and_counters,
        test_top_in_a_terminal,
        test_ctrl_c_and_sigterm_restore_the_terminal,
        test_ctrl_z_gives_the_terminal_back,
        test_wait_shows_progress_only_on_a_terminal,
    ])
