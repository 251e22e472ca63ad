"""The shared machinery of jobd's integration tests (standard library only).

A test file calls main() with its test functions. Each test function gets a
Context: it starts real jobd daemons on fresh temporary directories
(ctx.jobd()), drives them with the real jobctl (Jobd.ctl()), and asserts
with ctx.check(). At the end of every test, each jobd it started that is
still running gets SIGTERM and must exit 0; then the temporary
directories are removed and any process left behind is killed.

Waiting is always polling with a deadline (wait_until), never a sleep that
hopes something has happened. Deadlines are generous because they only
matter when a test fails; they are multiplied by the time scale, which is 3
when jobd was built with AddressSanitizer (detected in the binary) and can be
set with $JOBD_TEST_TIME_SCALE.

    test_X.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

A failed check prints what was expected and what happened, the last lines of
jobd's log, and, for a known bug of jobd or jobctl, the bug's label (the
assertion stays in, failing, until the bug is fixed). A sanitizer report in
jobd's log or jobctl's stderr fails the test even if the exit status was 0.
The script exits 1 if any test failed, 0 otherwise.
"""

import errno
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone


class Failure(Exception):
    """A failed check: ends the current test."""

    def __init__(self, message, bug=None):
        super().__init__(message)
        self.bug = bug


def _detect_asan(path):
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


TIME_SCALE = 1.0
ASAN = False  # jobd was built with AddressSanitizer


def scaled(seconds):
    return seconds * TIME_SCALE


def wait_until(condition, timeout, what, interval=0.02, scale=True):
    """Polls condition() until it returns a true value, which is returned.
    Fails the test after `timeout` seconds, times the time scale unless
    `scale` is false (for what takes jobd a few milliseconds however slow
    it is built, so that a known bug costs little time)."""
    timeout = scaled(timeout) if scale else timeout
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f'timed out after {timeout:.1f}s waiting for {what}')
        time.sleep(interval)


def parse_time(text):
    """An RFC 3339 timestamp as jobd prints it -> seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


def rfc3339(epoch_seconds):
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat(timespec='microseconds')


# --- processes, seen through /proc ------------------------------------------

def _proc_stat(pid):
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return None
    return text[text.rfind(')') + 2:].split()


def pid_alive(pid):
    """True if `pid` exists and is not a zombie (an exited, unreaped process)."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ('Z', 'X')


def cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
    except OSError:
        return ''


def processes_with(marker):
    """[(pid, command line)] of the live processes whose command line holds
    `marker` (zombies have an empty command line and do not count)."""
    found = []
    me = os.getpid()
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == me:
            continue
        line = cmdline(int(entry))
        if marker in line and pid_alive(int(entry)):
            found.append((int(entry), line))
    return found


def sleeps_with(marker):
    """The pids of the live `sleep MARKER` processes (not the shells that
    started them, whose command lines hold the marker too)."""
    return [pid for pid, line in processes_with(marker) if line.split()[0].endswith('sleep')]


def kill_processes_with(marker):
    for pid, _ in processes_with(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def client_sockets(pid):
    """How many client connections jobd holds: its sockets but the listener."""
    n = 0
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        return -1
    for fd in fds:
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}').startswith('socket:'):
                n += 1
        except OSError:
            pass
    return n - 1


def rss_kib(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


# --- jobctl ------------------------------------------------------------------

def blocked_job(j, name, *args):
    """Submits a job that runs until release(fifo): it reads a line from a
    FIFO. Returns (job id, fifo path)."""
    fifo = os.path.join(j.root, f'{name}.fifo')
    os.mkfifo(fifo)
    return j.submit('--name', name, *args, '--shell', f'read line < {fifo}'), fifo


def release(fifo):
    """Lets a blocked_job end: opens its FIFO for writing, which succeeds as
    soon as the job has it open for reading, and writes a line."""
    def opened():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:  # no reader yet
                return False
            raise
        os.write(fd, b'go\n')
        os.close(fd)
        return True
    wait_until(opened, 15, f'a job to read from {fifo}')


def running_run(j, job):
    """Polls until `job` has a running run with a pid; returns that run."""
    return wait_until(lambda: next((r for r in j.runs(job) if r['state'] == 'running' and r.get('pid')), None),
                      15, f'job {job} to be running')


class Result:
    """What one jobctl command did."""

    def __init__(self, args, rc, out, err, seconds):
        self.args, self.rc, self.out, self.err, self.seconds = args, rc, out, err, seconds

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise Failure(f'{self.describe()}\n  stdout is not JSON: {e}')

    def describe(self):
        def block(text):
            text = text.rstrip('\n')
            if len(text) > 2000:
                text = text[:2000] + f'... ({len(text)} characters)'
            return text.replace('\n', '\n      ') if text else '(empty)'
        return (f'jobctl {" ".join(self.args)}\n  exit status {self.rc}'
                f'\n  stdout: {block(self.out)}\n  stderr: {block(self.err)}')


# What AddressSanitizer, LeakSanitizer and UBSan print when they find something
# (UBSan goes on running unless told to halt, so the exit status may be 0).
SANITIZER_REPORTS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:')


def sanitizer_report(text):
    return next((line for line in text.split('\n') if any(m in line for m in SANITIZER_REPORTS)), None)


def run_jobctl(jobctl, args, env=None, timeout=60):
    started = time.monotonic()
    try:
        p = subprocess.run([jobctl] + list(args), capture_output=True, text=True, errors='replace',
                           env=env, timeout=scaled(timeout))
    except subprocess.TimeoutExpired as e:
        raise Failure(f'jobctl {" ".join(args)} did not finish within {scaled(timeout):.0f}s '
                      f'(stdout so far: {e.stdout!r})')
    result = Result(list(args), p.returncode, p.stdout, p.stderr, time.monotonic() - started)
    if sanitizer_report(p.stderr):
        raise Failure(f'a sanitizer reported a problem in jobctl: {sanitizer_report(p.stderr)}\n{result.describe()}')
    return result


# --- jobd --------------------------------------------------------------------

class Jobd:
    """One jobd process on a state directory and a socket under `root`.
    Several Jobd objects may share a root (a restart on the same state)."""

    def __init__(self, ctx, root, slots=2, state_dir=None, socket_path=None, config=None, label='jobd', env=None):
        self.ctx = ctx
        self.env = env  # jobd's environment; None: the test's own
        self.root = root
        self.slots = slots
        self.state_dir = state_dir or os.path.join(root, 'state')
        self.socket = socket_path or os.path.join(root, 'jobd.sock')
        self.config = config
        self.label = label
        self.proc = None
        self.log_path = None
        self.log_paths = []
        self.starts = 0
        self.exit_expected = False  # set when the test stops, kills or waits for it

    # The process.
    def command(self):
        cmd = [self.ctx.jobd_path, '--state-dir', self.state_dir, '--socket', self.socket]
        if self.slots is not None:  # None: jobd's default, or its jobd.toml
            cmd += ['--slots', str(self.slots)]
        if not self.config or 'jobs_dir' not in self.config:
            # Not the machine's /etc/jobd/jobs.d (tests may run as root): one of its own, absent.
            cmd += ['--jobs-dir', os.path.join(self.root, 'jobs.d')]
        if self.config:
            path = os.path.join(self.root, f'{self.label}.toml')
            with open(path, 'w') as f:
                f.write(self.config)
            cmd += ['--config', path]
        return cmd

    def popen_options(self):
        """How jobd's process is made beyond its command and output: keywords
        of subprocess.Popen (a subclass adds inherited sockets)."""
        return {'env': self.env}

    def spawn(self):
        """Starts jobd without waiting for it to answer."""
        self.starts += 1
        self.exit_expected = False
        self.log_path = os.path.join(self.root, f'{self.label}.{self.starts}.log')
        self.log_paths.append(self.log_path)
        self.log_file = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, **self.popen_options())
        if self not in self.ctx._daemons:
            self.ctx._daemons.append(self)
        return self

    def start(self):
        """Starts jobd and waits until it answers `status` with its own pid."""
        self.spawn()

        def answering():
            if self.proc.poll() is not None:
                raise Failure(f'{self.label} exited with status {self.proc.returncode} while starting\n'
                              f'{self.log_tail()}')
            r = self.ctl('status', '--json', timeout=30)
            return r.rc == 0 and r.json().get('pid') == self.proc.pid
        wait_until(answering, 20, f'{self.label} to answer on {self.socket}', interval=0.01)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        if self.alive():
            self.proc.send_signal(signum)

    def wait_exit(self, timeout=30):
        self.exit_expected = True
        try:
            rc = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            raise Failure(f'{self.label} (pid {self.pid}) did not exit within {scaled(timeout):.0f}s\n'
                          f'{self.log_tail()}')
        self.log_file.close()
        return rc

    def stop(self, timeout=30):
        """SIGTERM; jobd must exit with status 0."""
        if self.proc.poll() is not None:
            raise Failure(f'{self.label} (pid {self.pid}) had already exited with status '
                          f'{self.proc.returncode} before it was asked to stop\n{self.log_tail()}')
        self.exit_expected = True
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc != 0:
            raise Failure(f'{self.label} exited with status {rc} after SIGTERM, expected 0\n{self.log_tail()}')

    def kill9(self):
        self.exit_expected = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log_file.close()

    def log(self, path=None):
        try:
            with open(path or self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except (OSError, TypeError):
            return ''

    def log_tail(self, lines=25, path=None):
        path = path or self.log_path
        text = self.log(path).rstrip('\n').split('\n')
        # A sanitizer's report is shown from its start (the stack is what matters).
        report = next((i for i, line in enumerate(text) if 'ERROR: AddressSanitizer' in line
                       or 'ERROR: LeakSanitizer' in line or 'runtime error:' in line), None)
        if report is not None:
            return f'  {self.label} log ({path}), from the sanitizer\'s report:\n    ' + \
                '\n    '.join(text[report:report + 60])
        return f'  {self.label} log ({path}), last lines:\n    ' + '\n    '.join(text[-lines:])

    # Talking to it.
    def ctl(self, *args, env=None, timeout=60):
        """Runs jobctl --socket SOCKET ARGS... and returns its Result."""
        return run_jobctl(self.ctx.jobctl_path, ['--socket', self.socket] + list(args), env=env, timeout=timeout)

    def ok(self, *args, **kw):
        """jobctl that must exit 0."""
        r = self.ctl(*args, **kw)
        if r.rc != 0:
            raise Failure(f'expected exit status 0 from {r.describe()}\n{self.log_tail()}')
        return r

    def json(self, *args, **kw):
        """jobctl --json ... that must exit 0; its parsed output."""
        return self.ok('--json', *args, **kw).json()

    def api_token(self, name, role='admin', namespace=None):
        """jobctl token create NAME --role ROLE [--namespace NS], written to a
        file (0600) in the test's directory; returns the file's path."""
        args = ['token', 'create', name, '--role', role] + (['--namespace', namespace] if namespace else [])
        secret = self.ok(*args).out
        if secret.count('\n') != 1 or not secret.startswith('jobd_'):
            raise Failure(f'jobctl token create should print the secret alone on a line: {secret!r}')
        path = os.path.join(self.ctx.tempdir(), f'token-{name}')
        with open(path, 'w') as f:
            f.write(secret)
        os.chmod(path, 0o600)
        return path

    def submit(self, *args):
        """jobctl submit ARGS; returns the new job's id."""
        out = self.ok('submit', *args).out.strip()
        if not out.startswith('j') or not out[1:].isdigit():
            raise Failure(f'jobctl submit printed {out!r}, expected a job id such as j1')
        return out

    def runs(self, job=None, limit=100000):
        args = ['runs', '-n', str(limit)] + ([job] if job else [])
        return self.json(*args)

    def run(self, run_id):
        for r in self.runs():
            if r['id'] == run_id:
                return r
        raise Failure(f'run {run_id} is not in `jobctl runs`')

    def job(self, ref):
        return self.json('show', ref)

    def wait_for_runs(self, job, count, timeout=15, final=True):
        """Polls until `job` has at least `count` runs (all final if `final`)."""
        def enough():
            runs = self.runs(job)
            done = [r for r in runs if not final or r['state'] not in ('queued', 'running', 'pending', 'retrying')]
            return runs if len(runs) >= count and len(done) == len(runs) else None
        return wait_until(enough, timeout, f'{count} {"finished " if final else ""}run(s) of job {job}')

    def wait_for_state(self, run_id, states, timeout=15):
        states = (states,) if isinstance(states, str) else tuple(states)
        return wait_until(lambda: (lambda r: r if r['state'] in states else None)(self.run(run_id)),
                          timeout, f'run {run_id} to be {" or ".join(states)}')

    def status(self):
        return self.json('status')


# --- raw protocol clients ----------------------------------------------------

class RawClient:
    """A client on the socket, speaking the line protocol by hand."""

    def __init__(self, path, read_hello=True, timeout=10):
        """`path`: the Unix socket's, or a (host, port) to reach over TCP."""
        self.sock = socket.socket(socket.AF_INET if isinstance(path, tuple) else socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(scaled(timeout))
        self.sock.connect(path)
        self.buffer = b''
        self.hello = self.read_json() if read_hello else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def request(self, body):
        self.send(json.dumps(body) + '\n')

    def read_line(self, timeout=10):
        """The next line (without its newline); None at end of stream."""
        self.sock.settimeout(scaled(timeout))
        while b'\n' not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b''
            except socket.timeout:
                raise Failure(f'no line from jobd within {scaled(timeout):.0f}s (have {self.buffer[:200]!r})')
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\n', 1)
        return line

    def read_json(self, timeout=10):
        line = self.read_line(timeout)
        if line is None:
            raise Failure('jobd closed the connection where a reply was expected')
        try:
            return json.loads(line)
        except ValueError:
            raise Failure(f'jobd sent a line that is not JSON: {line[:300]!r}')

    def call(self, body, timeout=10):
        """Sends a request and returns the reply with its id, skipping
        other lines (error replies to earlier garbage have id null)."""
        self.request(body)
        while True:
            reply = self.read_json(timeout)
            if reply.get('id') == body.get('id'):
                return reply

    def at_eof(self, timeout=10):
        """True once jobd has closed the connection (unread lines skipped)."""
        self.buffer = b''
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
        return False

    def close(self):
        self.sock.close()


# --- tests -------------------------------------------------------------------

class Context:
    """What a test function gets: the binaries, temporary directories, the
    daemons it started (stopped at its end), and check()."""

    def __init__(self, jobd_path, jobctl_path):
        self.jobd_path = jobd_path
        self.jobctl_path = jobctl_path
        self._daemons = []
        self._dirs = []
        self._markers = []
        self._cleanups = []
        self._reported = set()
        self.checks = 0

    def tempdir(self):
        d = tempfile.mkdtemp(prefix='jobd-it-')
        self._dirs.append(d)
        return d

    def jobd(self, slots=2, config=None, env=None):
        """A jobd on a fresh temporary directory, started and answering;
        `env`: its environment, if not the test's."""
        return Jobd(self, self.tempdir(), slots=slots, config=config, env=env).start()

    def marker(self, prefix='100'):
        """A unique number such as 100.48213907 to put in a job's command
        line (sleep accepts it), so that its processes can be found; any
        such process left at the end of the test is killed."""
        m = f'{prefix}.{random.SystemRandom().randrange(10**7, 10**8)}'
        self._markers.append(m)
        return m

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    def check(self, condition, message, bug=None):
        """Fails the test with `message` unless condition holds. `bug`: the
        label of a known, reported bug that makes this check fail today."""
        self.checks += 1
        if not condition:
            raise Failure(message, bug)

    def _finish(self):
        errors = []
        for j in self._daemons:
            if j.proc.poll() is not None and not j.exit_expected:
                j.exit_expected = True
                errors.append(f'{j.label} (pid {j.pid}) exited by itself during the test, with status '
                              f'{j.proc.returncode}\n{j.log_tail()}')
            if j.proc.poll() is None:
                try:
                    j.stop()
                except Failure as e:
                    errors.append(str(e))
                    if j.proc.poll() is None:
                        j.proc.kill()
                        j.proc.wait()
            j.log_file.close()
        for j in self._daemons:
            for path in j.log_paths:
                report = sanitizer_report(j.log(path))
                if report and (path, report) not in self._reported:
                    self._reported.add((path, report))
                    errors.append(f'a sanitizer reported a problem in {j.label}: {report}\n{j.log_tail(path=path)}')
        for fn in self._cleanups:
            try:
                fn()
            except Exception:
                pass
        for m in self._markers:
            kill_processes_with(m)
        for d in self._dirs:
            shutil.rmtree(d, ignore_errors=True)
        return errors

    def log_tails(self):
        seen, out = set(), []
        for j in self._daemons:
            for path in j.log_paths:
                if path not in seen:
                    seen.add(path)
                    out.append(j.log_tail(path=path))
        return '\n'.join(out)


def main(title, tests):
    """Runs `tests` (functions taking a Context) and exits 0 if all passed."""
    global TIME_SCALE, ASAN
    args = sys.argv[1:]
    only = []
    while '-k' in args:
        i = args.index('-k')
        only.append(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(f'usage: {sys.argv[0]} PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...')
    jobd_path, jobctl_path = (os.path.abspath(a) for a in args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # e.g. Meson's timeout
    ASAN = _detect_asan(jobd_path)
    TIME_SCALE = float(os.environ.get('JOBD_TEST_TIME_SCALE', 3 if ASAN else 1))
    print(f'== {title}\n   jobd {jobd_path}\n   jobctl {jobctl_path}\n'
          f'   time scale {TIME_SCALE:g}{" (AddressSanitizer build)" if ASAN else ""}', flush=True)

    failed, bugs, passed = [], [], 0
    suite_started = time.monotonic()
    for test in tests:
        name = test.__name__
        if only and not any(o in name for o in only):
            continue
        ctx = Context(jobd_path, jobctl_path)
        started = time.monotonic()
        error = None
        finished = False
        try:
            try:
                test(ctx)
            except Failure as e:
                error = e
            except Exception:
                error = Failure('the test itself raised an exception:\n' + traceback.format_exc())
            tails = ctx.log_tails() if error else ''
            problems = ctx._finish()
            finished = True
        finally:
            if not finished:  # interrupted: leave no daemon, process or directory behind
                ctx._finish()
        for problem in problems:
            if error is None:
                error = Failure(problem)
        elapsed = time.monotonic() - started
        if error is None:
            passed += 1
            print(f'PASS {name} ({elapsed:.2f}s, {ctx.checks} checks)', flush=True)
            continue
        failed.append(name)
        label = f'  [KNOWN BUG {error.bug}]' if error.bug else ''
        if error.bug:
            bugs.append(f'{name}: {error.bug}')
        print(f'FAIL {name} ({elapsed:.2f}s){label}\n  ' + str(error).replace('\n', '\n  '), flush=True)
        if tails and 'log (' not in str(error):
            print(tails, flush=True)
    total = time.monotonic() - suite_started
    print(f'== {title}: {passed} passed, {len(failed)} failed in {total:.1f}s')
    if failed:
        print('   failed: ' + ', '.join(failed))
    for b in bugs:
        print(f'   known bug: {b}')
    sys.exit(1 if failed else 0)
