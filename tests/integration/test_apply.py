#!/usr/bin/python3
"""Job files against a real jobd and the real jobctl.

    test_apply.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

`jobctl apply`: idempotence, --dry-run, --prune, all or nothing across
files (errors found by jobctl and errors found by jobd), jobs taken over
from `submit`, the declared `paused`; `jobctl export` -> `apply` round trips
into a second jobd; the examples/ files apply; the watched jobs_dir (add,
edit, broken, fixed, removed, ignored names, SIGHUP); sources survive a
restart. Waiting is polling with a deadline.
"""

import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, '..', '..', 'examples')
CRONTABS = os.path.join(HERE, '..', 'cli', 'fixtures')

NIGHTLY = '''
[defaults]
tz = "UTC"
retries = 1
env = { STAGE = "prod" }

[job.backup]
schedule = "30 2 * * *"
command = "echo backup"
timeout = "1h"

[job.tick]
every = "1h"
command = ["echo", "tick"]
paused = true

[job."etl.v2"]
schedule = "H 3 * * *"

[job."etl.v2".tasks.extract]
command = "echo extract"

[job."etl.v2".tasks.load]
command = "echo load"
after = ["extract"]
trigger = "all_done"
'''


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def names(j, all_jobs=False):
    return sorted(x['name'] for x in j.json('list', *(['--all'] if all_jobs else [])))


def lines(r):
    return [line for line in r.out.split('\n') if line]


def stable(job):
    """What an unchanged job keeps: all but the counters that move by themselves."""
    return {k: v for k, v in job.items() if k not in ('runs', 'last_run', 'recent_runs', 'next_fires')}


def test_apply_is_idempotent_dry_run_and_prune(ctx):
    j = ctx.jobd()
    path = write(os.path.join(j.root, 'nightly.toml'), NIGHTLY)
    r = j.ok('apply', '--dry-run', path)
    ctx.check(lines(r)[:3] == [f'+ create backup ({path})', f'+ create tick ({path})', f'+ create etl.v2 ({path})'],
              f'apply --dry-run should list three creations in file order:\n{r.out}')
    ctx.check(names(j) == [], f'apply --dry-run created jobs: {names(j)}')

    r = j.ok('apply', path)
    ctx.check(names(j) == ['backup', 'etl.v2', 'tick'], f'apply should create three jobs, got {names(j)}\n{r.out}')
    backup = j.job('backup')
    ctx.check(backup['source'] == path, f'a job remembers the file it came from: {backup["source"]!r}')
    ctx.check(backup['env'] == {'STAGE': 'prod'} and backup['retries'] == 1 and backup['timeout'] == '1h',
              f'[defaults] should reach the job, its own keys winning: {backup}')
    ctx.check(j.job('tick')['state'] == 'paused', 'paused = true should create the job paused')
    before = {n: stable(j.job(n)) for n in ('backup', 'tick', 'etl.v2')}

    r = j.ok('apply', path)
    ctx.check(lines(r) == ['no changes (3 jobs unchanged)'], f'applying again should change nothing:\n{r.out}')
    after = {n: stable(j.job(n)) for n in ('backup', 'tick', 'etl.v2')}
    ctx.check(after == before, f'applying again changed the jobs:\n{before}\n{after}')

    # An edit (a changed timeout, a job gone): an update; the job gone stays without --prune.
    write(path, NIGHTLY.replace('timeout = "1h"', 'timeout = "2h"').replace(
        '[job.tick]\nevery = "1h"\ncommand = ["echo", "tick"]\npaused = true\n', ''))
    r = j.ok('apply', path)
    ctx.check(lines(r)[0] == '~ update backup: timeout', f'the edit should update backup\'s timeout:\n{r.out}')
    ctx.check(j.job('backup')['timeout'] == '2h', 'the update did not reach the job')
    ctx.check('tick' in names(j), 'without --prune, a job no longer in the file stays')
    r = j.ok('apply', '--prune', '--dry-run', path)
    ctx.check(f'- delete tick (no longer in {path})' in lines(r) and 'tick' in names(j),
              f'apply --prune --dry-run should plan the deletion and not do it:\n{r.out}')
    j.ok('apply', '--prune', path)
    ctx.check(names(j) == ['backup', 'etl.v2'], f'apply --prune should delete tick: {names(j)}')


def test_all_or_nothing(ctx):
    # jobd.toml's [defaults] reach the jobs only in jobd: a file can be refused there alone.
    j = ctx.jobd(config='[defaults]\nbackoff = "1h"\nmax_backoff = "2h"\n')
    good = write(os.path.join(j.root, 'good.toml'), '[job.good]\nschedule = "0 * * * *"\ncommand = "true"\n')
    broken = write(os.path.join(j.root, 'broken.toml'), '[job.bad]\nschedule = "0 * * * *"\ncommand = "true\n')
    r = j.ctl('apply', good, broken)
    ctx.check(r.rc == 2 and f'{broken}:3:' in r.err, f'a TOML error should exit 2 naming file:line:column: {r.describe()}')
    ctx.check(names(j) == [], f'a broken file should change nothing at all, got {names(j)}')

    # Errors only jobd finds (a name declared twice, a value against jobd's defaults) stop everything too.
    twice = write(os.path.join(j.root, 'twice.toml'), '[job.good]\nevery = "1m"\ncommand = "true"\n')
    r = j.ctl('apply', good, twice)
    ctx.check(r.rc == 2 and 'job "good" is also declared at' in r.err and twice in r.err and good in r.err,
              f'a job declared in two files should be refused naming both: {r.describe()}')
    many = write(os.path.join(j.root, 'many.toml'), '[job.many]\nevery = "1m"\ncommand = "true"\nmax_backoff = "1m"\n')
    r = j.ctl('apply', good, many)
    ctx.check(r.rc == 2 and 'many.toml:1:1: job "many": max_backoff: 1m is shorter than backoff (1h)' in r.err,
              f'jobd\'s refusal should name the file and the job: {r.describe()}')
    ctx.check(names(j) == [], f'nothing should have been created: {names(j)}')

    # An update in one file and an error in another: the update does not happen either.
    j.ok('apply', good)
    write(good, '[job.good]\nschedule = "5 * * * *"\ncommand = "true"\n')
    ctx.check(j.job('good')['backoff'] == '1h', 'jobd.toml [defaults] should reach applied jobs')
    r = j.ctl('apply', good, many)
    ctx.check(r.rc == 2 and j.job('good')['schedule'] == '0 * * * *',
              f'an error elsewhere should leave the update undone: {r.describe()}')


def test_apply_takes_over_a_submitted_job_and_paused_is_declared(ctx):
    j = ctx.jobd()
    j.submit('--name', 'report', '--schedule', '0 9 * * *', '--', 'echo', 'old')
    path = write(os.path.join(j.root, 'r.toml'),
                 '[job.report]\nschedule = "0 9 * * *"\ncommand = ["echo", "new"]\npaused = true\n')
    r = j.ok('apply', path)
    ctx.check(lines(r)[0] == '~ update report: command, paused, source', f'apply should take the job over:\n{r.out}')
    ctx.check(j.job('report')['state'] == 'paused', 'the declared paused should pause it')
    j.ok('resume', 'report')
    r = j.ok('apply', path)
    ctx.check(j.job('report')['state'] == 'active' and 'no changes' in r.out,
              f'a job resumed by hand stays active while the file says the same: {r.out}')
    write(path, '[job.report]\nschedule = "0 9 * * *"\ncommand = ["echo", "new"]\n')
    r = j.ok('apply', path)
    ctx.check(lines(r)[0] == '~ update report: paused' and j.job('report')['state'] == 'active',
              f'paused true -> false is an update: {r.out}')
    # Paused by hand, then declared paused: still paused, and jobd still there.
    j.ok('pause', 'report')
    write(path, '[job.report]\nschedule = "0 9 * * *"\ncommand = ["echo", "new"]\npaused = true\n')
    r = j.ok('apply', path)
    ctx.check(lines(r)[0] == '~ update report: paused' and j.job('report')['state'] == 'paused',
              f'declaring paused a job paused by hand keeps it paused: {r.out}')
    exported = write(os.path.join(j.root, 'exported.toml'), j.ok('export', 'report').out)
    j.ok('apply', exported)
    ctx.check(j.job('report')['state'] == 'paused', 'applying the export of a paused job keeps it paused')


def test_examples_apply_and_export_round_trips(ctx):
    j = ctx.jobd()
    files = sorted(os.path.join(EXAMPLES, f) for f in os.listdir(EXAMPLES) if f.endswith('.toml'))
    ctx.check(len(files) >= 3, f'examples/ should hold the everyday, ETL and spread files: {files}')
    r = j.ok('apply', *files)
    created = [line for line in lines(r) if line.startswith('+ create')]
    ctx.check(len(created) == len(names(j)) and len(created) >= 6, f'every example job should be created:\n{r.out}')
    for job in j.json('list'):
        ctx.check(job['next_fire'] or job['trigger'] == 'now' or job['state'] != 'active',
                  f'example job {job["name"]} never fires: {job}')

    # The scheduled ones (demo.toml's run-now jobs are running or done: not declarations to compare).
    scheduled = [x['name'] for x in j.json('list') if x['trigger'] != 'now']
    exported = j.ok('export', *scheduled).out
    copy = write(os.path.join(j.root, 'exported.toml'), exported)
    k = ctx.jobd()
    k.ok('apply', copy)
    again = k.ok('export').out
    ctx.check(again == exported, f'export -> apply -> export should give the same text:\n{exported}\n---\n{again}')
    ctx.check(names(k) == sorted(scheduled), f'the second jobd should have the exported jobs: {names(k)}')
    for name in scheduled:
        a, b = j.job(name), k.job(name)
        for key in ('schedule', 'tz', 'command', 'tasks', 'env', 'timeout', 'retries', 'priority', 'concurrency'):
            ctx.check(a[key] == b[key], f'{name}: {key} differs after the round trip: {a[key]!r} != {b[key]!r}')
    r = j.ctl('export', 'no-such-job-xyz')
    ctx.check(r.rc == 3, f'exporting an unknown job should exit 3: {r.describe()}')


def test_imported_crontabs_apply(ctx):
    j = ctx.jobd()
    for name, args in (('crontab.txt', []), ('crontab.system', ['--system'])):
        r = j.ctl('import-crontab', *args, os.path.join(CRONTABS, name))
        ctx.check(r.rc in (0, 2) and r.out.startswith('# Imported from'), f'import-crontab {name}: {r.describe()}')
        path = write(os.path.join(j.root, name + '.toml'), r.out)
        declared = r.out.count('\n[job.')
        r = j.ok('apply', path)
        created = [line for line in lines(r) if line.startswith('+ create')]
        ctx.check(declared >= 3 and len(created) == declared,
                  f'every job imported from {name} should apply ({declared} declared):\n{r.out}')


def test_thousands_of_jobs_in_one_apply(ctx):
    # One request holds them all (over 1 MiB of JSON): all or nothing needs it.
    j = ctx.jobd()
    n = 5000
    text = ''.join(f'[job.j-{i}]\nschedule = "H * * * *"\ncommand = "echo {i} {"x" * 200}"\n\n' for i in range(n))
    path = write(os.path.join(j.root, 'big.toml'), text)
    r = j.ok('apply', path, timeout=120)
    ctx.check(lines(r)[-1] == f'{n} created, 0 updated, 0 deleted, 0 unchanged', f'apply of {n} jobs: {lines(r)[-1:]}')
    r = j.ok('apply', path, timeout=120)
    ctx.check(lines(r) == [f'no changes ({n} jobs unchanged)'], f'again: {r.out[:300]}')


def jobs_dir_jobd(ctx, create=True):
    root = ctx.tempdir()
    d = os.path.join(root, 'jobs.d')
    if create:
        os.mkdir(d)
    return h.Jobd(ctx, root, config=f'jobs_dir = "{d}"\n'), d


def dir_errors(j):
    return j.status()['jobs_dir']['errors']


def test_jobs_dir_add_edit_broken_remove(ctx):
    j, d = jobs_dir_jobd(ctx)
    write(os.path.join(d, 'a.toml'), '[job.a]\nschedule = "0 * * * *"\ncommand = "true"\n')
    j.start()
    ctx.check(names(j) == ['a'], f'files already there should be applied at start: {names(j)}')

    limit = h.scaled(1.0)
    started = time.monotonic()
    write(os.path.join(d, 'b.toml'), '[job.b]\nevery = "1h"\ncommand = "true"\n')
    wait_until(lambda: 'b' in names(j), 10, 'the job of a new file')
    took = time.monotonic() - started
    ctx.check(took < limit, f'a new file should be applied within a second, took {took:.2f}s')

    write(os.path.join(d, 'b.toml'), '[job.b]\nevery = "1h"\ncommand = "true"\ntimeout = "5m"\n')
    wait_until(lambda: j.job('b')['timeout'] == '5m', 10, 'the edit of b.toml to be applied')

    write(os.path.join(d, 'b.toml'), '[job.b]\nevery = "1h"\ncommand = "true"\ntimeout = "5 minutes"\n')
    errors = wait_until(lambda: dir_errors(j), 10, 'jobd to report the broken file')
    ctx.check(len(errors) == 1 and errors[0]['file'].endswith('/b.toml') and 'b.toml:4:11' in errors[0]['error'],
              f'status should name the broken file and the place: {errors}')
    ctx.check('not applied' in j.ok('status').out, 'jobctl status should show the broken file')
    ctx.check(j.job('b')['timeout'] == '5m', 'a broken file leaves its jobs as they were')
    ctx.check('b.toml:4:11' in j.log(), 'the broken file should be in jobd\'s log')

    # Bytes that made the TOML parser abort (toml++ 3.3, found by fuzzing):
    # an error like any other, and jobd goes on.
    write(os.path.join(d, 'b.toml'), '[;')
    errors = wait_until(lambda: (lambda e: e if e and 'not valid TOML' in e[0]['error'] else None)(dir_errors(j)),
                        10, 'jobd to report the file that crashed the parser')
    ctx.check(j.proc.poll() is None and j.job('b')['timeout'] == '5m', f'jobd lives on, b unchanged: {errors}')

    write(os.path.join(d, 'b.toml'), '[job.b]\nevery = "1h"\ncommand = "true"\ntimeout = "7m"\n')
    wait_until(lambda: j.job('b')['timeout'] == '7m', 10, 'the fixed file to be applied')
    ctx.check(dir_errors(j) == [], f'a fixed file is no longer reported: {dir_errors(j)}')

    # Editor leftovers and other names are not job files.
    write(os.path.join(d, '.#c.toml'), '[job.hidden]\nevery = "1h"\ncommand = "true"\n')
    write(os.path.join(d, 'c.toml.swp'), 'garbage')
    write(os.path.join(d, 'README'), 'not a job file')
    os.remove(os.path.join(d, 'a.toml'))
    wait_until(lambda: 'a' not in names(j), 10, 'the jobs of a removed file to go')
    ctx.check(names(j) == ['b'], f'only b should be left: {names(j)}')
    ctx.check(dir_errors(j) == [], f'ignored names are not errors: {dir_errors(j)}')

    # A restart reads the directory again: b stays, nothing doubles.
    j.stop()
    j.start()
    ctx.check(names(j) == ['b'], f'after a restart: {names(j)}')
    os.remove(os.path.join(d, 'b.toml'))
    j.stop()
    j.start()
    ctx.check(names(j) == [], f'a file removed while jobd was down takes its jobs along at start: {names(j)}')


def test_sighup_reads_the_jobs_dir_again(ctx):
    j, d = jobs_dir_jobd(ctx, create=False)
    j.start()
    ctx.check(j.status()['jobs_dir']['watching'] is False, 'a missing jobs_dir is not watched')
    os.mkdir(d)
    write(os.path.join(d, 'x.toml'), '[job.x]\nevery = "1h"\ncommand = "true"\n')
    j.signal(signal.SIGHUP)
    wait_until(lambda: 'x' in names(j), 10, 'SIGHUP to pick up the new jobs_dir')
    ctx.check(j.status()['jobs_dir']['watching'] is True, 'the jobs_dir should be watched after SIGHUP')
    # Changed behind jobd's back (`jobctl delete`): SIGHUP applies the file again.
    j.ok('delete', 'x')
    j.signal(signal.SIGHUP)
    wait_until(lambda: 'x' in names(j), 10, 'SIGHUP to apply the unchanged file again')


def test_sources_survive_a_restart(ctx):
    j = ctx.jobd()
    path = write(os.path.join(j.root, 'nightly.toml'), NIGHTLY)
    j.ok('apply', path)
    j.stop()
    j.start()
    r = j.ok('apply', '--prune', path)
    ctx.check(lines(r) == ['no changes (3 jobs unchanged)'], f'after a restart nothing should differ:\n{r.out}')
    write(path, '')
    r = j.ok('apply', '--prune', path)
    ctx.check(len([x for x in lines(r) if x.startswith('- delete')]) == 3 and names(j) == [],
              f'an emptied file with --prune deletes its jobs:\n{r.out}')


if __name__ == '__main__':
    h.main('job files: apply, export, the watched jobs_dir', [
        test_apply_is_idempotent_dry_run_and_prune,
        test_all_or_nothing,
        test_apply_takes_over_a_submitted_job_and_paused_is_declared,
        test_examples_apply_and_export_round_trips,
        test_imported_crontabs_apply,
        test_thousands_of_jobs_in_one_apply,
        test_jobs_dir_add_edit_broken_remove,
        test_sighup_reads_the_jobs_dir_again,
        test_sources_survive_a_restart,
    ])
