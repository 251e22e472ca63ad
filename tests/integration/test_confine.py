#!/usr/bin/python3
"""How runs are started: as another user, with limits, in a cgroup, sandboxed.

    test_confine.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Needs root (it creates users with useradd, removed with userdel -r at the
end of each test, failed or not), bubblewrap, and writable v1 or v2 memory
and pids cgroups for the memory test. A job prints what it sees (id, its
environment, ulimit, /proc/self/cgroup) and the test reads it back with
`jobctl logs`.
"""

import os
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure

FINAL = ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')


# --- helpers -----------------------------------------------------------------

def make_user(ctx, role, groups=()):
    """A fresh Unix user jobdt_ROLE_PID with a home, in `groups` (created
    too); both removed when the test ends."""
    name = f'jobdt_{role}_{os.getpid()}'
    for g in groups:
        subprocess.run(['groupadd', g], check=True)
        ctx.on_cleanup(lambda g=g: subprocess.run(['groupdel', g], stderr=subprocess.DEVNULL))
    cmd = ['useradd', '-m', '-s', '/bin/sh'] + (['-G', ','.join(groups)] if groups else []) + [name]
    subprocess.run(cmd, check=True)
    ctx.on_cleanup(lambda: subprocess.run(['userdel', '-f', '-r', name], stderr=subprocess.DEVNULL))
    return name


def run_job(j, *args):
    """Submits a job that runs once (no retries), waits for its run, and
    returns (run, its stdout)."""
    job = j.submit('--retries', '0', *args)
    j.ctl('wait', job)
    run = j.wait_for_runs(job, 1)[0]
    return run, j.ok('logs', run['id']).out


def lines(text):
    return dict(line.split('=', 1) for line in text.splitlines() if '=' in line)


# --- tests -------------------------------------------------------------------

def test_run_as_user(ctx):
    if os.geteuid() != 0:
        raise Failure('needs root')
    group = f'jobdt_g_{os.getpid()}'
    user = make_user(ctx, 'alice', groups=[group])
    j = ctx.jobd()
    run, out = run_job(j, '--user', user, '--shell',
                       'echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G); echo home=$HOME; '
                       'echo user=$USER; echo logname=$LOGNAME; echo shell=$SHELL; echo cwd=$(pwd); '
                       'echo touched > mine && echo wrote=yes')
    ctx.check(run['state'] == 'succeeded', f'the run as {user} should succeed: {run}')
    seen = lines(out)
    import pwd, grp
    pw = pwd.getpwnam(user)
    want = {'uid': str(pw.pw_uid), 'gid': str(pw.pw_gid), 'home': pw.pw_dir, 'user': user, 'logname': user,
            'shell': '/bin/sh', 'cwd': pw.pw_dir, 'wrote': 'yes'}
    for k, v in want.items():
        ctx.check(seen.get(k) == v, f'{k}: expected {v!r}, the job saw {seen.get(k)!r}\n{out}')
    groups = set(seen.get('groups', '').split())
    ctx.check(str(grp.getgrnam(group).gr_gid) in groups and '0' not in groups,
              f'supplementary groups: expected {group} and not root, saw {groups}')
    st = os.stat(os.path.join(pw.pw_dir, 'mine'))
    ctx.check(st.st_uid == pw.pw_uid, f'a file the job wrote should be {user}\'s, is uid {st.st_uid}')
    # The job's own env wins over the user's.
    run, out = run_job(j, '--user', user, '--env', 'HOME=/elsewhere', '--shell', 'echo home=$HOME')
    ctx.check(lines(out).get('home') == '/elsewhere', f'--env HOME should win over the user\'s home: {out!r}')
    shown = j.ok('show', run['job']).out
    ctx.check(f'user         {user}' in shown, f'show should print the user:\n{shown}')


def test_unknown_user_is_a_start_error(ctx):
    j = ctx.jobd()
    name = f'jobdt_nobody_{os.getpid()}'
    run, _ = run_job(j, '--user', name, '--', 'true')
    ctx.check(run['state'] == 'failed' and f'no such user: {name}' in (run['reason'] or ''),
              f'a run as an unknown user should fail to start with "no such user: {name}": {run}')
    run, _ = run_job(j, '--user', 'root', '--limit', 'nofile=32', '--', 'no-such-program-jobdt')
    ctx.check(run['state'] == 'failed' and
              run['reason'] == 'cannot start: no-such-program-jobdt: No such file or directory',
              f'a missing program under the confined spawn keeps its start error: {run}')
    bad = j.ctl('submit', '--limit', 'memory=lots', '--', 'true')
    ctx.check(bad.rc != 0 and '--limit memory' in bad.err and 'not a size' in bad.err,
              f'a bad size should be refused by submit: {bad.describe()}')
    bad = j.ctl('submit', '--limit', 'stack=1', '--', 'true')
    ctx.check(bad.rc != 0 and 'unknown limit' in bad.err, f'an unknown limit should be refused: {bad.describe()}')
    bad = j.ctl('submit', '--sandbox', '--path-rw', 'data', '--', 'true')
    ctx.check(bad.rc != 0 and 'not an absolute path' in bad.err, f'a relative --path-rw: {bad.describe()}')


def test_rlimits(ctx):
    user = make_user(ctx, 'bob')
    j = ctx.jobd()
    for who in (['--user', user], []):
        run, out = run_job(j, *who, '--limit', 'nofile=64', '--limit', 'nproc=50', '--shell',
                           'echo nofile=$(ulimit -n); '
                           'echo nproc=$(awk \'/^Max processes/ {print $3}\' /proc/self/limits)')
        seen = lines(out)
        ctx.check(run['state'] == 'succeeded' and seen.get('nofile') == '64' and seen.get('nproc') == '50',
                  f'{who or "as root"}: ulimit -n should be 64 and -u 50: {run}\n{out}')
    job = j.submit('--retries', '0', '--user', user, '--limit', 'cpu=1s', '--shell', 'while :; do :; done')
    run = j.wait_for_runs(job, 1, timeout=20)[0]
    ctx.check(run['state'] == 'failed' and run['signal'] in (signal.SIGXCPU, signal.SIGKILL),
              f'a busy loop with cpu=1s should end by SIGXCPU or SIGKILL: {run}')
    shown = j.ok('show', job).out
    ctx.check('limits       cpu=1s' in shown, f'show should print the limits:\n{shown}')


def test_memory_cgroup(ctx):
    j = ctx.jobd()
    mode = j.status().get('cgroups')
    ctx.check(mode in ('v1', 'v2', 'none'), f'status should say which cgroups jobd uses: {mode!r}')
    ctx.check(f'cgroups {mode}' in j.ok('status').out, 'jobctl status should print the cgroup mode')
    if mode == 'none':
        print('   (no writable cgroups here: memory test skipped)')
        return
    user = make_user(ctx, 'carol')
    # The limit, seen from inside the run's own cgroup.
    limit_file = 'memory.limit_in_bytes' if mode == 'v1' else 'memory.max'
    root = '/sys/fs/cgroup/memory' if mode == 'v1' else '/sys/fs/cgroup'
    line = ':memory:' if mode == 'v1' else '^0::'
    run, out = run_job(j, '--user', user, '--limit', 'memory=64M', '--limit', 'nproc=20', '--shell',
                       f'p=$(grep -E "{line}" /proc/self/cgroup | cut -d: -f3); '
                       f'echo cgroup=$p; echo limit=$(cat {root}$p/{limit_file})')
    seen = lines(out)
    ctx.check(run['state'] == 'succeeded' and seen.get('limit') == str(64 << 20),
              f'the run\'s cgroup should have a 64M memory limit: {run}\n{out}')
    cgroup = seen.get('cgroup', '')
    ctx.check('/jobd/r' in cgroup, f'the run should be in a jobd/rN cgroup: {cgroup!r}')
    h.wait_until(lambda: not os.path.exists(root + cgroup), 10, f'the run\'s cgroup {cgroup} to be removed')
    # Allocating past it kills the run.
    run, _ = run_job(j, '--user', user, '--limit', 'memory=64M', '--', '/usr/bin/python3', '-c',
                     'b = b"x" * (200 << 20); print(len(b))')
    ctx.check(run['state'] == 'failed' and run['signal'] == signal.SIGKILL,
              f'allocating 200 MB with memory=64M should be killed (SIGKILL, OOM): {run}')


def test_sandbox(ctx):
    # Not under /tmp, which the sandbox replaces with its own.
    base = tempfile.mkdtemp(prefix='jobd-it-', dir='/var/tmp')
    ctx.on_cleanup(lambda: subprocess.run(['rm', '-rf', base]))
    rw, ro = os.path.join(base, 'rw'), os.path.join(base, 'ro')
    os.mkdir(rw)
    os.mkdir(ro)
    j = ctx.jobd()
    tmp = f'/tmp/jobd-it-sandbox-{os.getpid()}'
    run, out = run_job(j, '--sandbox', '--path-rw', rw, '--shell',
                       f'touch {rw}/ok && echo rw=yes; touch {ro}/no 2>/dev/null && echo ro=yes || echo ro=no; '
                       f'touch {tmp} && echo tmp=yes; echo pid=$$')
    seen = lines(out)
    ctx.check(run['state'] == 'succeeded', f'the sandboxed run should succeed: {run}\n{out}')
    ctx.check(seen.get('rw') == 'yes' and os.path.exists(os.path.join(rw, 'ok')),
              f'a paths_rw directory should be writable in the sandbox:\n{out}')
    ctx.check(seen.get('ro') == 'no' and not os.path.exists(os.path.join(ro, 'no')),
              f'a directory not in paths_rw should be read-only in the sandbox:\n{out}')
    ctx.check(seen.get('tmp') == 'yes' and not os.path.exists(tmp), f'/tmp should be the sandbox\'s own:\n{out}')
    ctx.check(seen.get('pid') in ('1', '2'), f'the sandbox should have its own pid namespace: pid {seen.get("pid")}')
    # Without network: only lo.
    run, out = run_job(j, '--sandbox', '--no-network', '--shell', 'tail -n +3 /proc/net/dev | cut -d: -f1')
    ifaces = out.split()
    ctx.check(run['state'] == 'succeeded' and ifaces == ['lo'], f'network=false should leave only lo: {ifaces}')
    run, out = run_job(j, '--sandbox', '--shell', 'tail -n +3 /proc/net/dev | cut -d: -f1')
    ctx.check(len(out.split()) > 1, f'network=true keeps the host\'s interfaces: {out.split()}')
    shown = j.ok('show', run['job']).out
    ctx.check('sandbox      yes' in shown, f'show should say the job is sandboxed:\n{shown}')
    # As another user too (bwrap then makes a user namespace).
    user = make_user(ctx, 'dave')
    os.chmod(base, 0o755)
    os.chown(rw, pwd_uid(user), -1)
    run, out = run_job(j, '--user', user, '--sandbox', '--path-rw', rw, '--shell',
                       f'echo uid=$(id -u); touch {rw}/dave && echo rw=yes; touch {ro}/dave 2>/dev/null || echo ro=no')
    seen = lines(out)
    ctx.check(run['state'] == 'succeeded' and seen.get('uid') == str(pwd_uid(user)) and seen.get('rw') == 'yes'
              and seen.get('ro') == 'no', f'a sandboxed run as {user}: {run}\n{out}')
    # A run's timeout still kills its whole tree inside the sandbox.
    m = ctx.marker()
    job = j.submit('--retries', '0', '--sandbox', '--timeout', '1s', '--shell', f'sleep {m} & sleep {m}; wait')
    run = j.wait_for_runs(job, 1, timeout=20)[0]
    ctx.check(run['state'] == 'timed_out', f'a sandboxed run should time out: {run}')
    h.wait_until(lambda: not h.processes_with(m), 10, 'the sandboxed processes to be killed')


def test_sandbox_without_bwrap(ctx):
    j = ctx.jobd(env=dict(os.environ, PATH='/nonexistent'))
    run, _ = run_job(j, '--sandbox', '--', '/bin/true')
    ctx.check(run['state'] == 'failed' and 'needs bubblewrap (bwrap), not found in PATH' in (run['reason'] or ''),
              f'without bwrap a sandboxed run should fail to start, saying why: {run}')


class JobdAs(h.Jobd):
    """A jobd started as another user, by setpriv."""

    def __init__(self, ctx, root, user):
        super().__init__(ctx, root)
        self.user = user

    def command(self):
        import pwd
        pw = pwd.getpwnam(self.user)
        return ['setpriv', f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--init-groups'] + super().command()


def test_jobd_not_root_runs_only_its_own_user(ctx):
    owner, other = make_user(ctx, 'erin'), make_user(ctx, 'frank')
    root = ctx.tempdir()
    os.chown(root, pwd_uid(owner), -1)
    j = JobdAs(ctx, root, owner).start()
    run, out = run_job(j, '--user', owner, '--shell', 'echo uid=$(id -u); echo home=$HOME')
    seen = lines(out)
    ctx.check(run['state'] == 'succeeded' and seen.get('uid') == str(pwd_uid(owner)),
              f'jobd as {owner} runs jobs as {owner} without a switch: {run}\n{out}')
    ctx.check(seen.get('home') == f'/home/{owner}', f'with its HOME: {out}')
    run, _ = run_job(j, '--user', other, '--', 'true')
    want = f'jobd runs as {owner} and cannot start jobs as {other}'
    ctx.check(run['state'] == 'failed' and want in (run['reason'] or ''), f'expected "{want}": {run}')
    run, _ = run_job(j, '--user', 'root', '--', 'true')
    ctx.check(run['state'] == 'failed' and 'cannot start jobs as root' in (run['reason'] or ''),
              f'jobd not root cannot run jobs as root: {run}')


def pwd_uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


if __name__ == '__main__':
    h.main('jobd: run-as users, limits, cgroups and the sandbox', [
        test_run_as_user,
        test_unknown_user_is_a_start_error,
        test_rlimits,
        test_memory_cgroup,
        test_sandbox,
        test_sandbox_without_bwrap,
        test_jobd_not_root_runs_only_its_own_user,
    ])
