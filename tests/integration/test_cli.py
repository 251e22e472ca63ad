#!/usr/bin/python3
"""jobctl against a real jobd: every subcommand, as a user or a script runs it.

    test_cli.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

submit (text and --json, --env, --cwd, --shell, --wait, --every, --schedule
with seconds, --at, --priority), logs (--stderr, --follow), wait (a run, a
job, --timeout), list, show, runs, status; bad input (exit 2), unknown jobs
(3), no jobd (4). See jobd_harness.py for how jobd is started and stopped.
"""

import os
import re
import select
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, blocked_job, parse_time, release, running_run, wait_until

FINAL = ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')
RUN_FIELDS = ('id', 'job', 'attempt', 'state', 'exit_code', 'scheduled_at', 'started_at', 'finished_at')


def table(text):
    """A jobctl table -> (headers, rows): columns are separated by two or
    more spaces (a cell holds at most single spaces)."""
    lines = [l for l in text.rstrip('\n').split('\n') if l]
    split = [re.split(r' {2,}', l.rstrip()) for l in lines]
    return split[0], split[1:]


def check_run_json(ctx, run, what):
    missing = [f for f in RUN_FIELDS if f not in run]
    ctx.check(not missing, f'{what}: run object lacks {missing}: {run}')
    ctx.check(re.fullmatch(r'r\d+', run['id']) and re.fullmatch(r'j\d+', run['job']),
              f'{what}: run id / job id look wrong: {run}')
    ctx.check(isinstance(run['attempt'], int) and run['attempt'] >= 1, f'{what}: attempt {run["attempt"]!r}')
    if run['state'] in FINAL and run['started_at']:
        s, st, f = (parse_time(run[k]) for k in ('scheduled_at', 'started_at', 'finished_at'))
        ctx.check(s <= st + 0.001 and st <= f, f'{what}: scheduled_at <= started_at <= finished_at does not hold: {run}')


# --- tests -------------------------------------------------------------------

def test_submit_runs_and_logs(ctx):
    j = ctx.jobd()
    r = j.ok('submit', '--', 'sh', '-c', 'echo hello; echo to-stderr >&2')
    ctx.check(re.fullmatch(r'j\d+\n', r.out), f'submit should print a job id such as j1 and a newline, printed {r.out!r}')
    job = r.out.strip()
    w = j.ctl('wait', job)
    ctx.check(w.rc == 0, f'waiting for the job should exit 0: {w.describe()}')
    runs = j.runs(job)
    ctx.check(len(runs) == 1 and runs[0]['state'] == 'succeeded' and runs[0]['exit_code'] == 0,
              f'expected one succeeded run with exit code 0, got {runs}')
    out = j.ok('logs', runs[0]['id']).out
    ctx.check(out == 'hello\n', f'logs {runs[0]["id"]} should print "hello\\n", printed {out!r}')
    err = j.ok('logs', runs[0]['id'], '--stderr').out
    ctx.check(err == 'to-stderr\n', f'logs --stderr should print "to-stderr\\n", printed {err!r}')
    by_job = j.ok('logs', job).out
    ctx.check(by_job == 'hello\n', f'logs {job} (a job) should print its newest run\'s output, printed {by_job!r}')
    shown = j.ok('show', job).out
    ctx.check("command      sh -c 'echo hello; echo to-stderr >&2'" in shown,
              f'show should quote the command as a shell reads it back:\n{shown}')
    j.ok('submit', '--name', 'never', '--at', '2099-01-01T00:00:00Z', '--', 'true')
    none = j.ctl('logs', 'never')
    ctx.check(none.rc == 3 and 'has no runs yet' in none.err, f'logs of a job without runs: exit 3: {none.describe()}')


def test_logs_follow(ctx):
    j = ctx.jobd()
    fifo = os.path.join(j.root, 'gate')
    os.mkfifo(fifo)
    job = j.submit('--name', 'talker', '--shell', f'echo one; read x < {fifo}; echo two; echo err-two >&2')
    run = running_run(j, job)
    wait_until(lambda: j.ok('logs', run['id']).out == 'one\n', 10, 'the first line in the log')
    follow = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, 'logs', run['id'], '--follow'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.on_cleanup(follow.kill)
    ready, _, _ = select.select([follow.stdout], [], [], h.scaled(10))
    first = follow.stdout.readline() if ready else ''
    ctx.check(first == 'one\n', f'logs --follow should print what the run wrote so far ("one\\n"): {first!r}')
    ctx.check(follow.poll() is None, 'logs --follow ended while the run was still running')
    release(fifo)
    try:
        rest, err = follow.communicate(timeout=h.scaled(15))
    except subprocess.TimeoutExpired:
        raise Failure('logs --follow did not end within 15s of the run ending')
    out = first + rest
    ctx.check(follow.returncode == 0 and out == 'one\ntwo\n',
              f'logs --follow should print "one\\ntwo\\n" and exit 0; exit {follow.returncode}, '
              f'stdout {out!r}, stderr {err!r}')
    err_out = j.ok('logs', run['id'], '--stderr', '--follow').out
    ctx.check(err_out == 'err-two\n', f'logs --stderr --follow of a finished run printed {err_out!r}')


def test_submit_json(ctx):
    j = ctx.jobd()
    job = j.json('submit', '--name', 'nightly', '--schedule', '0 3 * * *', '--tz', 'Europe/Paris',
                 '--priority', '7', '--', 'true')
    for key in ('id', 'name', 'state', 'schedule', 'tz', 'priority', 'next_fire'):
        ctx.check(key in job, f'submit --json: no "{key}" in {job}')
    ctx.check(re.fullmatch(r'j\d+', job['id']), f'submit --json: id {job["id"]!r} is not like j1')
    expected = {'name': 'nightly', 'state': 'active', 'schedule': '0 3 * * *', 'tz': 'Europe/Paris', 'priority': 7}
    for key, want in expected.items():
        ctx.check(job[key] == want, f'submit --json: {key} is {job[key]!r}, expected {want!r}')
    cron = h.run_jobctl(ctx.jobctl_path, ['cron', 'next', '0 3 * * *', '--tz', 'Europe/Paris'])
    ctx.check(cron.rc == 0, cron.describe())
    ctx.check(job['next_fire'] and parse_time(job['next_fire']) == parse_time(cron.out.strip()),
              f'submit --json: next_fire {job["next_fire"]} differs from `jobctl cron next`: {cron.out.strip()}')

    now = j.json('submit', '--', 'true')
    ctx.check(now['name'] == now['id'] and now['schedule'] == 'now' and now['tz'] is None and now['priority'] == 0,
              f'a job without a name or schedule: expected name = id, schedule "now", tz null, priority 0: {now}')


def test_env_and_cwd(ctx):
    j = ctx.jobd()
    work = os.path.join(j.root, 'work dir')
    os.mkdir(work)
    job = j.submit('--name', 'envjob', '--env', 'GREETING=hi there', '--env', 'EMPTY=', '--env', 'EQ=a=b',
                   '--cwd', work, '--shell', 'echo "G=$GREETING"; echo "E=[$EMPTY]"; echo "Q=$EQ"; pwd')
    w = j.ctl('wait', job)
    ctx.check(w.rc == 0, w.describe())
    run = j.runs(job)[0]
    out = j.ok('logs', run['id']).out
    want = f'G=hi there\nE=[]\nQ=a=b\n{work}\n'
    ctx.check(out == want, f'--env and --cwd should reach the process: expected {want!r}, got {out!r}')

    job = j.submit('--name', 'envdump', '--shell', 'env')
    ctx.check(j.ctl('wait', job).rc == 0, 'the env job failed')
    run = j.runs(job)[0]
    env = dict(line.split('=', 1) for line in j.ok('logs', run['id']).out.splitlines() if '=' in line)
    expected = {'JOBD_JOB': 'envdump', 'JOBD_JOB_ID': job, 'JOBD_RUN_ID': run['id'], 'JOBD_ATTEMPT': '1',
                'JOBD_SCHEDULED_AT': run['scheduled_at']}
    for key, want in expected.items():
        ctx.check(env.get(key) == want, f'{key} in the job\'s environment is {env.get(key)!r}, expected {want!r}')


def test_signals_reset(ctx):
    # jobd ignores SIGPIPE (and whatever its parent ignored) and catches
    # SIGCHLD/SIGTERM/SIGINT; a job sees none of it: nothing blocked, no
    # standard signal ignored. (glibc's posix_spawn leaves its own internal
    # signals 32 and 33 ignored; no sigset_t call can name them.)
    j = ctx.jobd()
    job = j.submit('--name', 'sigs', '--', 'grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status')
    ctx.check(j.ctl('wait', job).rc == 0, 'the signal job failed')
    masks = dict(line.split(':\t') for line in j.ok('logs', j.runs(job)[0]['id']).out.splitlines())
    ctx.check(int(masks['SigBlk'], 16) == 0, f'the job starts with signals blocked: {masks}')
    ctx.check(int(masks['SigIgn'], 16) & 0x7fffffff == 0, f'the job starts with signals 1-31 ignored: {masks}')


def test_submit_wait(ctx):
    j = ctx.jobd()
    r = j.ctl('submit', '--wait', '--', 'true')
    ctx.check(r.rc == 0 and re.fullmatch(r'j\d+\n', r.out), f'submit --wait of a job that succeeds: {r.describe()}')
    r = j.ctl('submit', '--wait', '--name', 'fails', '--retries', '0', '--', 'sh', '-c', 'exit 3')
    ctx.check(r.rc == 1, f'submit --wait of a job that exits 3 should exit 1: {r.describe()}')
    ctx.check(re.fullmatch(r'j\d+\n', r.out) and 'failed' in r.err and 'exit 3' in r.err,
              f'submit --wait of a failing job should print its id, and say on stderr it failed with exit 3: '
              f'{r.describe()}')
    run = j.runs('fails')[0]
    ctx.check(run['state'] == 'failed' and run['exit_code'] == 3, f'the run should be failed, exit 3: {run}')
    r = j.ctl('submit', '--wait', '--name', 'nonesuch', '--', '/nonexistent/program')
    ctx.check(r.rc == 1 and 'cannot start' in r.err,
              f'submit --wait of a program that does not exist should exit 1 saying it cannot start: {r.describe()}')


def test_wait_run_and_job(ctx):
    j = ctx.jobd()
    job, fifo = blocked_job(j, 'gate')
    run = running_run(j, job)
    by_run = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, 'wait', run['id']],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    by_name = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, '--json', 'wait', 'gate'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for p in (by_run, by_name):
        ctx.on_cleanup(p.kill)
    # Both are connected (and, right after, waiting) before the run may end.
    wait_until(lambda: h.client_sockets(j.pid) >= 2, 10, 'both jobctl wait to connect')
    release(fifo)
    for p, what in ((by_run, f'wait {run["id"]}'), (by_name, 'wait gate')):
        try:
            out, err = p.communicate(timeout=h.scaled(15))
        except subprocess.TimeoutExpired:
            raise Failure(f'jobctl {what} did not return within 15s of the run ending')
        ctx.check(p.returncode == 0, f'jobctl {what} should exit 0, exited {p.returncode}: {err}')
    waited = h.Result(['--json', 'wait', 'gate'], by_name.returncode, out, err, 0).json()
    ctx.check(waited['id'] == run['id'] and waited['state'] == 'succeeded',
              f'wait --json should print the run waited for ({run["id"]}, succeeded): {waited}')

    again = j.ctl('wait', run['id'])
    ctx.check(again.rc == 0, f'waiting for a run that already succeeded should exit 0 at once: {again.describe()}')
    j.submit('--name', 'bad', '--retries', '0', '--', 'false')
    r = j.ctl('wait', 'bad')
    ctx.check(r.rc == 1 and 'failed, exit 1' in r.err,
              f'waiting for a job whose run fails should exit 1 saying "failed, exit 1": {r.describe()}')


def test_wait_timeout(ctx):
    j = ctx.jobd()
    marker = ctx.marker()
    job = j.submit('--name', 'long', '--', 'sleep', marker)
    run = running_run(j, job)
    for target in ('long', run['id']):
        r = j.ctl('wait', target, '--timeout', '300ms')
        ctx.check(r.rc == 6, f'wait --timeout on a long job should exit 6: {r.describe()}')
        ctx.check(r.seconds >= 0.3, f'wait --timeout 300ms returned after {r.seconds:.3f}s')
        ctx.check('ran out' in r.err, f'wait --timeout should say the timeout ran out: {r.describe()}')
    r = j.ctl('wait', 'long', '--timeout', 'soon')
    ctx.check(r.rc == 2 and 'soon' in r.err, f'wait --timeout soon should be invalid input (exit 2): {r.describe()}')
    ctx.check(j.run(run['id'])['state'] == 'running', 'the run should still be running')


def test_wait_timeout_leaves_no_connection(ctx):
    # The same as the end of test_wait_timeout, many times: each abandoned
    # wait costs jobd a descriptor until the run ends (here: in an hour).
    j = ctx.jobd()
    j.submit('--name', 'later', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    for _ in range(20):
        r = j.ctl('wait', 'later', '--timeout', '10ms')
        ctx.check(r.rc == 6, r.describe())
    held = []

    def released():
        held.append(h.client_sockets(j.pid))
        return held[-1] == 0
    try:
        wait_until(released, 2, 'jobd to release the connections of 20 `jobctl wait --timeout 10ms` that gave up',
                   scale=False)
    except Failure as e:
        raise Failure(f'{e}: jobd still holds {held[-1]} connections (and descriptors) for clients that are gone',
                      bug='BUG-3 (abandoned waits leak a connection each)')


def test_jobd_config(ctx):
    # jobd.toml: slots and log_max_bytes (the tail of a run's output is kept).
    j = ctx.jobd(slots=None, config='slots = 3\nlog_max_bytes = 1000\n')
    s = j.status()
    ctx.check(s['slots'] == 3, f'slots from jobd.toml: {s}')
    job = j.submit('--name', 'chatty', '--shell', 'seq 1 2000; seq 1 3000 >&2')
    ctx.check(j.ctl('wait', job).rc == 0, 'the chatty job failed')
    run = j.runs(job)[0]
    out, err = j.ok('logs', run['id']).out, j.ok('logs', run['id'], '--stderr').out
    full_out = ''.join(f'{i}\n' for i in range(1, 2001))
    full_err = ''.join(f'{i}\n' for i in range(1, 3001))
    ctx.check(out == full_out[-1000:] and err == full_err[-1000:],
              f'with log_max_bytes = 1000, logs should keep the last 1000 bytes of each stream: got '
              f'{len(out)} and {len(err)} bytes, ending {out[-20:]!r} and {err[-20:]!r}')

    d = ctx.tempdir()
    for text, message in (('slots = -1\n', 'expected a number of slots'), ('bogus = 1\n', 'unknown setting'),
                          ('slots = \n', ':1:'), ('kill_grace = "soon"\n', 'kill_grace')):
        bad = h.Jobd(ctx, d, config=text, label='badconfig')
        bad.spawn()
        rc = bad.wait_exit(20)
        ctx.check(rc == 2 and message in bad.log() and 'badconfig.toml:1:' in bad.log(),
                  f'jobd with jobd.toml {text!r} should exit 2 naming the file, line and problem: exit {rc}, '
                  f'log {bad.log()!r}')


def test_list_show_runs(ctx):
    j = ctx.jobd()
    alpha = j.submit('--name', 'alpha', '--', 'true')
    ctx.check(j.ctl('wait', 'alpha').rc == 0, 'alpha failed')
    beta = j.submit('--name', 'beta', '--schedule', '0 3 * * *', '--tz', 'UTC', '--priority', '4',
                    '--timeout', '90s', '--env', 'K=V', '--cwd', '/', '--', 'echo', 'x', 'y')

    headers, rows = table(j.ok('list').out)
    ctx.check(headers == ['ID', 'NAME', 'STATE', 'SCHEDULE', 'NEXT FIRE', 'LAST'], f'list headers: {headers}')
    by_id = {r[0]: r for r in rows}
    ctx.check(len(rows) == 2 and set(by_id) == {alpha, beta}, f'list should show {alpha} and {beta}: {rows}')
    ctx.check(by_id[alpha][1:] == ['alpha', 'completed', 'now', '-', 'succeeded (0)'], f'list, alpha: {by_id[alpha]}')
    ctx.check(by_id[beta][1:4] == ['beta', 'active', '0 3 * * *'] and by_id[beta][5] == '-'
              and parse_time(by_id[beta][4]) % 86400 == 3 * 3600, f'list, beta (next fire 03:00 UTC): {by_id[beta]}')

    jobs = {x['id']: x for x in j.json('list')}
    b = jobs[beta]
    for key, want in {'name': 'beta', 'state': 'active', 'schedule': '0 3 * * *', 'tz': 'UTC', 'priority': 4,
                      'command': ['echo', 'x', 'y'], 'env': {'K': 'V'}, 'cwd': '/', 'runs': 0,
                      'last_run': None}.items():
        ctx.check(b.get(key) == want, f'list --json, beta: {key} is {b.get(key)!r}, expected {want!r}')
    ctx.check(b.get('timeout') in ('90s', '1m30s'), f'list --json, beta: timeout {b.get("timeout")!r}')
    ctx.check(jobs[alpha]['last_run'] and jobs[alpha]['last_run']['state'] == 'succeeded',
              f'list --json, alpha: last_run {jobs[alpha].get("last_run")}')
    ctx.check({x['id'] for x in j.json('list', '--all')} == {alpha, beta}, 'list --all should list both jobs')

    text = j.ok('show', 'beta').out
    for line in (f'id           {beta}', 'name         beta', 'state        active', 'schedule     0 3 * * * (UTC)',
                 'priority     4', 'command      echo x y', 'cwd          /', 'env          K=V',
                 'retries      3, backoff 10s doubling up to 10m, jitter 0.1', 'concurrency  forbid'):
        ctx.check(line in text.split('\n'), f'show beta: no line {line!r} in:\n{text}')
    fires = [parse_time(l.split()[-1]) for l in text.split('\n') if l.startswith('next fire')]
    ctx.check(len(fires) == 5 and all(b - a == 86400 for a, b in zip(fires, fires[1:])),
              f'show beta should list 5 next fires a day apart:\n{text}')
    shown = j.json('show', beta)
    ctx.check(len(shown.get('next_fires', [])) == 5 and shown.get('recent_runs') == [],
              f'show --json beta: 5 next_fires and no recent_runs expected: {shown}')
    shown = j.json('show', alpha)
    ctx.check(shown['next_fires'] == [] and len(shown['recent_runs']) == 1, f'show --json alpha: {shown}')
    check_run_json(ctx, shown['recent_runs'][0], 'show --json alpha')

    for n in range(3):
        j.submit('--name', f'quick{n}', '--', 'true')
    for n in range(3):
        ctx.check(j.ctl('wait', f'quick{n}').rc == 0, f'quick{n} failed')
    headers, rows = table(j.ok('runs').out)
    ctx.check(headers == ['RUN', 'JOB', 'ATTEMPT', 'STATE', 'EXIT', 'SCHEDULED', 'STARTED', 'FINISHED', 'NOTE'],
              f'runs headers: {headers}')
    ctx.check([r[1] for r in rows] == ['quick2', 'quick1', 'quick0', 'alpha'] and
              all(r[2:5] == ['1', 'succeeded', '0'] for r in rows), f'runs table, newest first: {rows}')
    runs = j.json('runs')
    ctx.check([r['job_name'] for r in runs] == ['quick2', 'quick1', 'quick0', 'alpha'], f'runs --json: {runs}')
    ids = [int(r['id'][1:]) for r in runs]
    ctx.check(ids == sorted(ids, reverse=True), f'runs should be newest first: {[r["id"] for r in runs]}')
    for r in runs:
        check_run_json(ctx, r, 'runs --json')
        ctx.check(r['state'] == 'succeeded' and r['exit_code'] == 0 and r['attempt'] == 1, f'runs --json: {r}')
    two = j.json('runs', '-n', '2')
    ctx.check([r['id'] for r in two] == [r['id'] for r in runs[:2]], f'runs -n 2 should give the 2 newest: {two}')
    only = j.json('runs', 'alpha')
    ctx.check(len(only) == 1 and only[0]['job'] == alpha, f'runs alpha should give alpha\'s run only: {only}')
    r = j.ctl('runs', '-n', '0')
    ctx.check(r.rc == 2, f'runs -n 0 should be invalid input: {r.describe()}')


def test_status(ctx):
    j = ctx.jobd(slots=3)
    text = j.ok('status').out.split('\n')
    ctx.check(re.fullmatch(rf'jobd \S+ \(pid {j.pid}\), up \d+s, socket {re.escape(j.socket)}', text[0]),
              f'status, first line: {text[0]!r}')
    ctx.check(text[1] == f'slots 0/3 busy, 0 queued, 0 jobs, state in {j.state_dir}',
              f'status, second line: {text[1]!r}')
    s = j.status()
    for key, want in {'pid': j.pid, 'slots': 3, 'running': 0, 'queued': 0, 'jobs': 0, 'stopping': False,
                      'socket': j.socket, 'state_dir': j.state_dir}.items():
        ctx.check(s.get(key) == want, f'status --json: {key} is {s.get(key)!r}, expected {want!r}')
    ctx.check(isinstance(s.get('version'), str) and isinstance(s.get('uptime_seconds'), int),
              f'status --json: version and uptime_seconds: {s}')
    job, fifo = blocked_job(j, 'busy')
    running_run(j, job)
    s = j.status()
    ctx.check(s['running'] == 1 and s['jobs'] == 1 and s['queued'] == 0, f'status with one job running: {s}')
    release(fifo)
    wait_until(lambda: j.status()['running'] == 0, 10, 'status to show no run running')


def test_schedules_fire(ctx):
    j = ctx.jobd(slots=4)
    at_text = h.rfc3339(time.time() + 1.5)
    at = parse_time(at_text)
    every = j.submit('--name', 'ev', '--every', '1s', '--', 'true')
    cron = j.json('submit', '--name', 'cr', '--schedule', '*/1 * * * * *', '--', 'true')
    once = j.json('submit', '--name', 'once', '--at', at_text, '--', 'true')
    ctx.check(cron['next_fire'] and parse_time(cron['next_fire']) % 1 == 0,
              f'a cron job with seconds should fire on a whole second: next_fire {cron["next_fire"]}')
    ctx.check(once['next_fire'] and parse_time(once['next_fire']) == at and once['schedule'].startswith('at '),
              f'--at job: next_fire should be {at_text}: {once}')

    w = j.ctl('wait', 'once', timeout=30)
    ctx.check(w.rc == 0, f'waiting for the --at job (its next run) should exit 0: {w.describe()}')
    runs = j.runs('once')
    ctx.check(len(runs) == 1, f'--at job should have one run: {runs}')
    ctx.check(parse_time(runs[0]['scheduled_at']) == at and parse_time(runs[0]['started_at']) >= at,
              f'--at run should be scheduled at {at_text} and start no earlier: {runs[0]}')
    shown = wait_until(lambda: (lambda s: s if s['state'] == 'completed' else None)(j.job('once')), 10,
                       'the --at job to become completed')
    ctx.check(shown['next_fire'] is None and shown['next_fires'] == [], f'a completed --at job fires no more: {shown}')

    for name in (every, 'cr'):
        runs = j.wait_for_runs(name, 2, timeout=15)
        ctx.check(all(r['state'] == 'succeeded' for r in runs), f'runs of {name}: {runs}')
        times = sorted(parse_time(r['scheduled_at']) for r in runs)
        ctx.check(all(t % 1 == 0 for t in times) and all(b - a >= 1 and (b - a) % 1 == 0
                                                         for a, b in zip(times, times[1:])),
                  f'{name} should fire on distinct whole seconds: {[r["scheduled_at"] for r in runs]}')
    ctx.check(len(j.runs('once')) == 1, f'the --at job fired again: {j.runs("once")}')
    ctx.check(j.job('ev')['state'] == 'active' and j.job('cr')['state'] == 'active', 'recurring jobs stay active')


def test_priority_order(ctx):
    j = ctx.jobd(slots=1)
    job, fifo = blocked_job(j, 'blocker')
    running_run(j, job)
    order = [('low', 1), ('neg', -5), ('mid', 5), ('high', 10), ('high2', 10)]
    for name, priority in order:
        j.submit('--name', name, '--priority', str(priority), '--', 'true')
    s = j.status()
    ctx.check(s['running'] == 1 and s['queued'] == len(order), f'with the one slot busy, 5 runs should queue: {s}')
    release(fifo)
    for name, _ in order:
        ctx.check(j.ctl('wait', name).rc == 0, f'{name} failed')
    started = {name: parse_time(j.runs(name)[0]['started_at']) for name, _ in order}
    by_start = sorted(started, key=started.get)
    ctx.check(by_start == ['high', 'high2', 'mid', 'low', 'neg'],
              f'runs should start by priority, then in submission order: started {by_start} '
              f'({ {n: j.runs(n)[0]["started_at"] for n, _ in order} })')


def test_bad_input(ctx):
    j = ctx.jobd()
    cases = [
        (['submit', '--schedule', '61 * * * *', '--', 'true'], 2,
         'invalid cron expression "61 * * * *": minute: 61 is out of range 0-59'),
        (['submit', '--schedule', '* * *', '--', 'true'], 2, 'invalid cron expression "* * *"'),
        (['submit', '--schedule', '0 3 * * *', '--tz', 'Mars/Olympus', '--', 'true'], 2,
         'unknown time zone "Mars/Olympus"'),
        (['submit', '--every', '5x', '--', 'true'], 2, '"5x" is not a duration'),
        (['submit', '--every', '500ms', '--', 'true'], 2, 'at least 1s'),
        (['submit', '--timeout', 'forever', '--', 'true'], 2, '"forever" is not a duration'),
        (['submit', '--at', 'tomorrow', '--', 'true'], 2, 'invalid time "tomorrow"'),
        (['submit'], 2, 'empty command'),
        (['submit', '--', ''], 2, 'empty command'),
        (['submit', '--shell', 'true', '--', 'true'], 2, 'not both'),
        (['submit', '--cwd', 'relative/dir', '--', 'true'], 2, 'not an absolute path'),
        (['submit', '--env', 'NOEQUALS', '--', 'true'], 2, 'is not KEY=VALUE'),
        (['submit', '--name', 'two words', '--', 'true'], 2, 'name "two words"'),
        (['submit', '--every', '1s', '--tz', 'UTC', '--', 'true'], 2, 'tz applies to cron schedules only'),
        (['show', 'nosuch'], 3, 'no job "nosuch"'),
        (['runs', 'nosuch'], 3, 'no job "nosuch"'),
        (['wait', 'nosuch'], 3, 'no job "nosuch"'),
        (['wait', 'r999'], 3, 'no run "r999"'),
        (['logs', 'r999'], 3, 'no run "r999"'),
        (['show', 'j999'], 3, 'no job "j999"'),
        (['frobnicate'], 2, 'unknown command "frobnicate"'),
    ]
    for args, rc, message in cases:
        r = j.ctl(*args)
        ctx.check(r.rc == rc and message in r.err and r.out == '',
                  f'expected exit status {rc}, nothing on stdout and "{message}" on stderr from {r.describe()}')
        ctx.check(r.err.startswith('jobctl: ') and r.err.count('\n') == 1,
                  f'an error should be one line on stderr starting "jobctl: ": {r.describe()}')
    j.submit('--name', 'dup', '--', 'true')
    r = j.ctl('submit', '--name', 'dup', '--', 'true')
    ctx.check(r.rc == 2 and 'a job named "dup" already exists' in r.err and r.out == '',
              f'a duplicate name should be invalid input (exit 2): {r.describe()}')
    jobs = j.json('list', '--all')
    ctx.check([x['name'] for x in jobs] == ['dup'], f'invalid submits must not create jobs: {jobs}')


def test_no_jobd(ctx):
    d = ctx.tempdir()
    missing = os.path.join(d, 'none.sock')
    for args in (['status'], ['list'], ['submit', '--', 'true'], ['wait', 'j1'], ['runs']):
        r = h.run_jobctl(ctx.jobctl_path, ['--socket', missing] + args)
        ctx.check(r.rc == 4 and 'cannot reach jobd' in r.err and r.out == '',
                  f'with nothing at the socket, jobctl should exit 4 saying it cannot reach jobd: {r.describe()}')
    stale = os.path.join(d, 'stale.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    r = h.run_jobctl(ctx.jobctl_path, ['--socket', stale, 'status'])
    ctx.check(r.rc == 4 and 'cannot reach jobd' in r.err,
              f'a socket nobody listens on should give exit 4: {r.describe()}')

    j = ctx.jobd()
    env = dict(os.environ, JOBCTL_SOCKET=j.socket)
    r = h.run_jobctl(ctx.jobctl_path, ['--json', 'status'], env=env)
    ctx.check(r.rc == 0 and r.json()['pid'] == j.pid, f'$JOBCTL_SOCKET should name the socket: {r.describe()}')
    r = h.run_jobctl(ctx.jobctl_path, ['status'], env=dict(os.environ, JOBCTL_SOCKET=missing))
    ctx.check(r.rc == 4, f'$JOBCTL_SOCKET naming nothing: exit 4 expected: {r.describe()}')
    j.stop()
    ctx.check(not os.path.exists(j.socket), 'jobd should remove its socket when it stops')
    r = j.ctl('status')
    ctx.check(r.rc == 4 and 'cannot reach jobd' in r.err, f'after jobd stopped: exit 4 expected: {r.describe()}')


if __name__ == '__main__':
    h.main('jobctl and jobd, command by command', [
        test_submit_runs_and_logs,
        test_logs_follow,
        test_submit_json,
        test_env_and_cwd,
        test_signals_reset,
        test_submit_wait,
        test_wait_run_and_job,
        test_wait_timeout,
        test_wait_timeout_leaves_no_connection,
        test_list_show_runs,
        test_jobd_config,
        test_status,
        test_schedules_fire,
        test_priority_order,
        test_bad_input,
        test_no_jobd,
    ])
