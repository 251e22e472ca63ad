#!/usr/bin/python3
"""Job dependencies (issue 5) against a real jobd and the real jobctl: task
graphs in one job (`submit --task NAME=CMD --edge A:B --trigger TASK=RULE`,
or `submit --file` with TOML), and cross-job chains (`submit --after`).

    test_dag.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Each fire of a graph job makes one job run (in `jobctl runs JOB`, with a
`tasks` array) and one task run per task attempt (runs whose `parent` is the
job run and whose `task` is the task's name), each with its own exit code and
logs. The tests prove parallelism by making two tasks wait for each other's
marker file (a serial execution fails after a bounded loop), and order by the
runs' timestamps. jobctl lists no task runs on their own: the tests read a
task run's JSON from jobd's `run` op on the socket, from the ids in its job
run's `tasks` array and their retry_of chains. Waiting is polling with a
deadline.
"""

import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, parse_time, wait_until

FINAL = ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')
ACTIVE = ('pending', 'queued', 'running', 'retrying')
TASK_FIELDS = ('task', 'run', 'state', 'attempt', 'exit_code')
# A shell loop that waits (at most 10 s) for a file; false if it never came.
AWAIT = 'for i in $(seq 200); do [ -e {0} ] && break; sleep 0.05; done; [ -e {0} ]'


# --- helpers -----------------------------------------------------------------

def rid(run):
    return int(run['id'][1:])


def t(run, key):
    return parse_time(run[key]) if run.get(key) else None


def workdir(j, name):
    d = os.path.join(j.root, name)
    os.mkdir(d)
    return d


def graph(tasks, edges=(), triggers=()):
    """submit arguments for a task graph: tasks {name: shell command},
    edges [(upstream, downstream)], triggers {task: rule}."""
    args = []
    for name, command in tasks.items():
        args += ['--task', f'{name}={command}']
    for a, b in edges:
        args += ['--edge', f'{a}:{b}']
    for task, rule in dict(triggers).items():
        args += ['--trigger', f'{task}={rule}']
    return args


def later(seconds=3600):
    return h.rfc3339(time.time() + seconds)


def job_runs(j, job):
    """The job's top-level runs, oldest first."""
    return sorted(j.runs(job), key=rid)


def first_job_run(j, job, timeout=10):
    return wait_until(lambda: (lambda rs: rs[0] if rs else None)(job_runs(j, job)), timeout,
                      f'the first job run of {job}')


def final_job_run(ctx, j, job, timeout=20):
    """Polls until the job's first job run and all its task runs are final."""
    def settled():
        runs = job_runs(j, job)
        if not runs or runs[0]['state'] not in FINAL:
            return None
        children = task_runs(j, runs[0]['id'])
        return runs[0] if all(r['state'] in FINAL for r in children) else None
    run = wait_until(settled, timeout, f'the job run of {job} and its task runs to end')
    check_job_run(ctx, run)
    return run


def check_job_run(ctx, run):
    ctx.check(isinstance(run.get('tasks'), list) and run['tasks'],
              f'a job run should have a non-empty `tasks` array: {run}')
    for e in run['tasks']:
        missing = [f for f in TASK_FIELDS if f not in e]
        ctx.check(not missing, f'a `tasks` entry of job run {run["id"]} lacks {missing}: {e}')
    ctx.check(not run.get('parent') and not run.get('task'),
              f'a job run is top-level (no parent, no task): {run}')


def entries(run):
    """The job run's `tasks` array as {task name: entry}."""
    return {e['task']: e for e in run['tasks']}


def run_json(j, ref):
    """One run's JSON, task runs too, by the protocol's `run` op (jobctl
    prints task runs only through their job run's `tasks` array)."""
    c = h.RawClient(j.socket)
    try:
        reply = c.call({'id': 1, 'op': 'run', 'run': ref})
    finally:
        c.close()
    if not reply.get('ok') or not isinstance(reply.get('run'), dict):
        raise Failure(f'jobd\'s `run` op on {ref} did not answer with the run: {reply}')
    return reply['run']


def task_runs(j, job_run_id):
    """Every task run (all attempts) of a job run, oldest first: each task's
    newest run in the job run's `tasks` array, then back along retry_of."""
    found = []
    for e in run_json(j, job_run_id).get('tasks') or []:
        ref = e.get('run')
        while ref:
            r = run_json(j, ref)
            found.append(r)
            ref = r.get('retry_of')
    return sorted(found, key=rid)


def attempts(ctx, j, job_run_id):
    """{task name: [its task runs, oldest first]} of a finished job run."""
    found = {}
    for r in task_runs(j, job_run_id):
        ctx.check(r.get('parent') == job_run_id and r.get('task'),
                  f'task run {r["id"]} should have parent {job_run_id} and a task: {r}')
        found.setdefault(r['task'], []).append(r)
    ctx.check(found, f'job run {job_run_id} has no task runs: {run_json(j, job_run_id)}')
    return found


def last(found, task):
    if task not in found:
        raise Failure(f'task {task} has no task run: {sorted(found)}')
    return found[task][-1]


def skip_reason(entry, found):
    """A skipped task's reason: on its `tasks` entry, or on its task run."""
    if entry.get('reason'):
        return entry['reason']
    runs = found.get(entry['task'], [])
    return runs[-1].get('reason') if runs else None


def never_started(entry, found):
    return all(r.get('started_at') is None for r in found.get(entry['task'], []))


def summary(run, found):
    return (f'job run {run["id"]} {run["state"]}, tasks '
            f'{[(e["task"], e["state"], e["attempt"], e["exit_code"]) for e in run["tasks"]]}, task runs '
            + str({k: [(r['id'], r['attempt'], r['state'], r['exit_code'], r.get('reason')) for r in v]
                   for k, v in found.items()}))


def task_lines(text, job_run_id):
    """The indented lines under the job run's line in `jobctl runs JOB`."""
    lines = text.split('\n')
    for i, line in enumerate(lines):
        if line.split()[:1] == [job_run_id]:
            out = []
            for below in lines[i + 1:]:
                if not below[:1].isspace():
                    break
                out.append(below)
            return out
    return None


def check_rejected(ctx, j, r, *words):
    ctx.check(r.rc == 2 and r.out == '' and all(w in r.err for w in words),
              f'expected exit status 2, nothing on stdout and {words} on stderr from {r.describe()}')
    ctx.check(r.err.startswith('jobctl: ') and r.err.count('\n') == 1,
              f'an error should be one line on stderr starting "jobctl: ": {r.describe()}')


# --- graphs ------------------------------------------------------------------

def test_diamond_runs_in_parallel(ctx):
    # A -> {B, C} -> D, two slots. B and C each touch a marker and wait for
    # the other's: both succeed only if they overlapped. D runs after both.
    j = ctx.jobd(slots=2)
    d = workdir(j, 'diamond')
    tasks = {
        'A': 'sleep 0.3; touch a.done',
        'B': 'touch b.started; ' + AWAIT.format('c.started'),
        'C': 'touch c.started; ' + AWAIT.format('b.started'),
        'D': '[ -e a.done ] && echo "D after A"',
    }
    job = j.submit('--name', 'diamond', '--cwd', d, '--retries', '0',
                   *graph(tasks, [('A', 'B'), ('A', 'C'), ('B', 'D'), ('C', 'D')]))
    run = first_job_run(j, job)
    w = j.ctl('wait', run['id'], timeout=60)  # on the job run: the whole graph
    ctx.check(w.rc == 0, f'wait on the job run should wait for the whole graph and exit 0: {w.describe()}')
    now = job_runs(j, job)
    ctx.check(len(now) == 1 and now[0]['id'] == run['id'] and now[0]['state'] == 'succeeded',
              f'wait returned: the one job run should have succeeded: {now}')
    run = final_job_run(ctx, j, job)
    found = attempts(ctx, j, run['id'])
    where = summary(run, found)
    ctx.check(run['state'] == 'succeeded', f'the diamond should succeed: {where}')
    ctx.check(sorted(entries(run)) == ['A', 'B', 'C', 'D'] and
              all(e['state'] == 'succeeded' and e['attempt'] == 1 and e['exit_code'] == 0
                  for e in run['tasks']),
              f'every task should have succeeded at its first attempt, exit 0: {where}')
    ctx.check(sorted(found) == ['A', 'B', 'C', 'D'] and all(len(v) == 1 for v in found.values()),
              f'one task run per task: {where}')
    for name, (r,) in found.items():
        ctx.check(r['task'] == name and r['parent'] == run['id'] and entries(run)[name]['run'] == r['id'],
                  f'task run {r["id"]} should name task {name} and parent {run["id"]}, and be the one in '
                  f'the tasks array: {r}')
        ctx.check(r['started_at'] and r['finished_at'], f'task run of {name} should have started and ended: {r}')
    a, b, c, dd = (found[x][0] for x in 'ABCD')
    ctx.check(t(b, 'started_at') >= t(a, 'finished_at') and t(c, 'started_at') >= t(a, 'finished_at'),
              f'B and C must start after A ended: A {a["finished_at"]}, B {b["started_at"]}, C {c["started_at"]}')
    ctx.check(t(b, 'started_at') < t(c, 'finished_at') and t(c, 'started_at') < t(b, 'finished_at'),
              f'B and C should overlap in time: B {b["started_at"]}..{b["finished_at"]}, '
              f'C {c["started_at"]}..{c["finished_at"]}')
    ctx.check(t(dd, 'started_at') >= t(b, 'finished_at') and t(dd, 'started_at') >= t(c, 'finished_at'),
              f'D must start after B and C ended: D {dd["started_at"]}, B {b["finished_at"]}, C {c["finished_at"]}')
    ctx.check(j.ok('logs', dd['id']).out == 'D after A\n', f'logs of D\'s task run {dd["id"]}')
    ctx.check(j.ctl('wait', job).rc == 0, f'wait {job} (its newest job run) should exit 0')

    # `runs JOB`: the job run, then one indented line per task.
    text = j.ok('runs', job).out
    lines = task_lines(text, run['id'])
    ctx.check(lines is not None and len(lines) == 4 and
              all(any(re.search(rf'\b{x}\b', ln) and 'succeeded' in ln for ln in lines) for x in 'ABCD'),
              f'`jobctl runs {job}` should show job run {run["id"]} followed by 4 indented task lines '
              f'(name and state):\n{text}')


def test_failed_task_retried_then_downstream(ctx):
    # fetch -> {flaky, steady} -> merge; flaky always exits 1, retried once
    # after 1 s. Under all_success merge is skipped (naming flaky); with
    # --trigger merge=all_done it runs. Both job runs fail.
    j = ctx.jobd(slots=4)
    d = workdir(j, 'w')
    tasks = {
        'fetch': 'true',
        'flaky': 'echo "attempt $JOBD_ATTEMPT of $JOBD_TASK"; exit 1',
        'steady': 'true',
        'merge': 'echo ran > "merge.$JOBD_JOB"',
    }
    edges = [('fetch', 'flaky'), ('fetch', 'steady'), ('flaky', 'merge'), ('steady', 'merge')]
    policy = ['--retries', '1', '--backoff', '1s', '--jitter', '0', '--cwd', d]
    strict = j.submit('--name', 'strict', *policy, *graph(tasks, edges))
    lenient = j.submit('--name', 'lenient', *policy, *graph(tasks, edges, {'merge': 'all_done'}))
    for job in (strict, lenient):
        w = j.ctl('wait', job, timeout=60)
        ctx.check(w.rc == 1, f'wait on {job}, whose flaky task fails, should exit 1: {w.describe()}')

    for job, name in ((strict, 'strict'), (lenient, 'lenient')):
        run = final_job_run(ctx, j, job)
        found = attempts(ctx, j, run['id'])
        where = f'{name}: {summary(run, found)}'
        ctx.check(run['state'] == 'failed', f'the job run should be failed: {where}')
        e = entries(run)
        ctx.check(e['fetch']['state'] == 'succeeded' and e['steady']['state'] == 'succeeded',
                  f'fetch and steady should succeed: {where}')
        ctx.check(e['flaky']['state'] == 'failed' and e['flaky']['attempt'] == 2 and e['flaky']['exit_code'] == 1,
                  f'flaky should end failed at attempt 2, exit 1: {where}')
        flaky = found.get('flaky', [])
        ctx.check([(r['attempt'], r['state'], r['exit_code']) for r in flaky] == [(1, 'failed', 1), (2, 'failed', 1)],
                  f'--retries 1: flaky should have exactly 2 task runs (attempts 1, 2), both failed with exit 1: '
                  f'{where}')
        ctx.check(len({r['id'] for r in flaky}) == 2 and all(r['parent'] == run['id'] for r in flaky),
                  f'each attempt its own task run of job run {run["id"]}: {flaky}')
        ctx.check(e['flaky']['run'] == flaky[-1]['id'], f'the tasks array should point at the last attempt: {where}')
        for k, r in enumerate(flaky, 1):
            log = j.ok('logs', r['id']).out
            ctx.check(log == f'attempt {k} of flaky\n', f'attempt {k} ({r["id"]}) should have its own log: {log!r}')
        gap = t(flaky[1], 'started_at') - t(flaky[0], 'finished_at')
        ctx.check(0.99 <= gap < 1 + 0.8 * h.TIME_SCALE,
                  f'--backoff 1s --jitter 0: the retry should start about 1s after attempt 1 ended, '
                  f'it started {gap:.3f}s after: {where}')
        merge = e['merge']
        if name == 'strict':
            reason = skip_reason(merge, found)
            ctx.check(merge['state'] == 'skipped' and never_started(merge, found) and
                      not os.path.exists(os.path.join(d, 'merge.strict')),
                      f'under all_success merge should be skipped, never started: {where}')
            ctx.check(reason and 'flaky' in reason,
                      f'the skipped merge\'s reason should name its upstream flaky: {reason!r}; {where}')
        else:
            m = last(found, 'merge')
            ctx.check(merge['state'] == 'succeeded' and m['state'] == 'succeeded' and
                      os.path.exists(os.path.join(d, 'merge.lenient')),
                      f'under all_done merge should run and succeed: {where}')
            ctx.check(t(m, 'started_at') >= t(flaky[-1], 'finished_at'),
                      f'merge should start only after flaky\'s last attempt ended: {m["started_at"]} vs '
                      f'{flaky[-1]["finished_at"]}')
        w = j.ctl('wait', run['id'])
        ctx.check(w.rc == 1, f'wait on the failed job run {run["id"]} should exit 1: {w.describe()}')

        text = j.ok('runs', job).out
        lines = task_lines(text, run['id'])
        want = [('flaky', 'failed'), ('merge', 'skipped' if name == 'strict' else 'succeeded')]
        ctx.check(lines and all(any(task in ln and state in ln for ln in lines) for task, state in want),
                  f'`jobctl runs {name}` should list the job run {run["id"]} with indented task lines '
                  f'showing {want}:\n{text}')


def test_cancel_task_run(ctx):
    # setup -> slow -> {after_slow (all_success), cleanup (all_done)}. Cancelling
    # slow's task run: slow cancelled and not retried, after_slow skipped
    # (naming slow), cleanup runs, the job run failed.
    j = ctx.jobd(slots=2)
    m = ctx.marker('30')
    tasks = {'setup': 'true', 'slow': f'sleep {m}', 'after_slow': 'echo should not run', 'cleanup': 'echo cleanup'}
    job = j.submit('--name', 'cancelme', '--retries', '2', '--backoff', '1s', '--jitter', '0',
                   *graph(tasks, [('setup', 'slow'), ('slow', 'after_slow'), ('slow', 'cleanup')],
                          {'cleanup': 'all_done'}))
    run = first_job_run(j, job)
    slow = wait_until(lambda: next((r for r in task_runs(j, run['id'])
                                    if r.get('task') == 'slow' and r['state'] == 'running'), None),
                      15, 'the task run of slow to be running')
    wait_until(lambda: h.processes_with(m), 10, 'slow\'s process')
    r = j.ctl('cancel', slow['id'])
    ctx.check(r.rc == 0, f'cancel of a task run should exit 0: {r.describe()}')
    run = final_job_run(ctx, j, job)
    time.sleep(1.2)  # past the 1s backoff: a retry of slow would exist by now
    run = final_job_run(ctx, j, job)
    found = attempts(ctx, j, run['id'])
    where = summary(run, found)
    e = entries(run)
    ctx.check(e['slow']['state'] == 'cancelled' and len(found.get('slow', [])) == 1,
              f'the cancelled task should be cancelled and never retried: {where}')
    reason = skip_reason(e['after_slow'], found)
    ctx.check(e['after_slow']['state'] == 'skipped' and never_started(e['after_slow'], found) and
              reason and 'slow' in reason,
              f'after_slow (all_success) should be skipped, never started, its reason naming slow ({reason!r}): '
              f'{where}')
    ctx.check(e['cleanup']['state'] == 'succeeded' and j.ok('logs', last(found, 'cleanup')['id']).out == 'cleanup\n',
              f'cleanup (all_done) should run after the cancelled task: {where}')
    ctx.check(run['state'] == 'failed', f'a job run with a cancelled task should be failed: {where}')
    wait_until(lambda: not h.processes_with(m), 15, 'the cancelled task\'s process to die')


def test_cancel_job_run(ctx):
    # Cancelling the job run cancels the whole graph: the running task is
    # cancelled, its downstream never starts, nothing is retried.
    j = ctx.jobd(slots=2)
    m = ctx.marker('30')
    job = j.submit('--name', 'whole', '--retries', '2', '--backoff', '1s', '--jitter', '0',
                   *graph({'first': f'sleep {m}', 'second': 'echo no'}, [('first', 'second')]))
    run = first_job_run(j, job)
    wait_until(lambda: any(r.get('task') == 'first' and r['state'] == 'running' for r in task_runs(j, run['id'])),
               15, 'the task run of first to be running')
    r = j.ctl('cancel', run['id'])
    ctx.check(r.rc == 0, f'cancel of a job run should exit 0: {r.describe()}')
    run = final_job_run(ctx, j, job, timeout=15)
    wait_until(lambda: not h.processes_with(m), 15, 'the running task\'s process to die')
    time.sleep(1.2)  # past the 1s backoff: a retry would exist by now
    run = final_job_run(ctx, j, job)
    found = attempts(ctx, j, run['id'])
    where = summary(run, found)
    e = entries(run)
    ctx.check(run['state'] in ('cancelled', 'failed'), f'the cancelled job run should be cancelled (or failed): {where}')
    ctx.check(e['first']['state'] == 'cancelled' and len(found.get('first', [])) == 1,
              f'the running task should be cancelled, not retried: {where}')
    ctx.check(e['second']['state'] in ('skipped', 'cancelled') and never_started(e['second'], found),
              f'the downstream task should never start: {where}')
    w = j.ctl('wait', run['id'])
    ctx.check(w.rc == 1, f'wait on a cancelled job run should exit 1: {w.describe()}')


def test_task_environment(ctx):
    j = ctx.jobd()
    show = 'echo "$JOBD_TASK $JOBD_JOB $JOBD_JOB_ID $JOBD_RUN_ID $JOBD_ATTEMPT"'
    job = j.submit('--name', 'envjob', *graph({'one': show, 'two': show}, [('one', 'two')]))
    ctx.check(j.ctl('wait', job, timeout=30).rc == 0, 'the job envjob failed')
    run = final_job_run(ctx, j, job)
    found = attempts(ctx, j, run['id'])
    for task in ('one', 'two'):
        r = last(found, task)
        log = j.ok('logs', r['id']).out
        ctx.check(log == f'{task} envjob {job} {r["id"]} 1\n',
                  f'task {task}: JOBD_TASK, JOBD_JOB, JOBD_JOB_ID, JOBD_RUN_ID (its task run), JOBD_ATTEMPT '
                  f'should be "{task} envjob {job} {r["id"]} 1", the log is {log!r}')


# --- validation --------------------------------------------------------------

def test_cycles_and_unknown_tasks_rejected(ctx):
    j = ctx.jobd()
    etl = {'extract': 'true', 'transform': 'true', 'load': 'true'}
    r = j.ctl('submit', '--name', 'cyclic',
              *graph(etl, [('extract', 'transform'), ('transform', 'extract'), ('transform', 'load')]))
    check_rejected(ctx, j, r, 'cycle')
    ctx.check(re.search(r'cycle: (extract -> transform -> extract|transform -> extract -> transform)\b', r.err),
              f'the message should print the cycle, "cycle: extract -> transform -> extract": {r.describe()}')
    r = j.ctl('submit', *graph(etl, [('extract', 'transform'), ('transform', 'load'), ('load', 'extract')]))
    check_rejected(ctx, j, r, 'cycle')
    ctx.check(re.search(r'cycle: (\w+) -> (\w+) -> (\w+) -> \1\b', r.err) and
              all(x in r.err for x in etl),
              f'a 3-task cycle should be printed along its edges: {r.describe()}')
    cases = [
        (graph(etl, [('extract', 'nosuch')]), 'nosuch'),
        (graph(etl, [('ghost', 'load')]), 'ghost'),
        (graph(etl, [('load', 'load')]), 'load'),
        (graph(etl, [('extract', 'load')], {'phantom': 'all_done'}), 'phantom'),
        (graph(etl, [('extract', 'load')], {'load': 'sometimes'}), 'sometimes'),
    ]
    for args, word in cases:
        check_rejected(ctx, j, j.ctl('submit', *args), word)

    path = os.path.join(j.root, 'cyclic.toml')
    with open(path, 'w') as f:
        f.write('[job.loop.tasks.extract]\ncommand = "true"\nafter = ["transform"]\n\n'
                '[job.loop.tasks.transform]\ncommand = "true"\nafter = ["extract"]\n')
    r = j.ctl('submit', '--file', path)
    check_rejected(ctx, j, r, 'cycle')
    ctx.check(re.search(r'(extract -> transform -> extract|transform -> extract -> transform)', r.err),
              f'--file with a cycle should print it: {r.describe()}')
    ctx.check(j.json('list', '--all') == [], f'rejected submits must not create jobs: {j.json("list", "--all")}')


# --- files, show and dag -----------------------------------------------------

def test_file_with_two_jobs(ctx):
    j = ctx.jobd()
    d = workdir(j, 'etl')
    data, out = os.path.join(d, 'data'), os.path.join(d, 'out')
    path = os.path.join(j.root, 'jobs.toml')
    with open(path, 'w') as f:
        f.write(f'''
[job.etl]
priority = 3
retries = 0

[job.etl.tasks.extract]
command = ["sh", "-c", "echo rows > {data}"]

[job.etl.tasks.transform]
command = "tr a-z A-Z < {data} > {out}"
after = ["extract"]

[job.etl.tasks.load]
command = "cat {out}"
after = ["transform"]

[job.report]
at = "{later()}"

[job.report.tasks.collect]
command = "echo collect"

[job.report.tasks.mail]
command = "echo mail $JOBD_TASK"
after = ["collect"]
trigger = "all_done"
''')
    r = j.ctl('submit', '--file', path)
    ctx.check(r.rc == 0 and re.fullmatch(r'j\d+\nj\d+\n', r.out),
              f'submit --file with two jobs should print two job ids, one a line: {r.describe()}')
    ids = r.out.split()
    shown = {x: j.job(x) for x in ids}
    names = {s['name']: s for s in shown.values()}
    ctx.check(sorted(names) == ['etl', 'report'] and {s['id'] for s in shown.values()} == set(ids),
              f'the two ids should be the jobs etl and report: {shown}')
    ctx.check(names['etl'].get('priority') == 3 and names['etl'].get('retries') == 0,
              f'etl should have priority 3 and retries 0 from the file: {names["etl"]}')

    ctx.check(j.ctl('wait', 'etl', timeout=30).rc == 0, 'the job etl (run now) failed')
    run = final_job_run(ctx, j, 'etl')
    found = attempts(ctx, j, run['id'])
    where = summary(run, found)
    ctx.check(run['state'] == 'succeeded' and sorted(entries(run)) == ['extract', 'load', 'transform'],
              f'etl: three tasks, succeeded: {where}')
    ctx.check(j.ok('logs', last(found, 'load')['id']).out == 'ROWS\n',
              f'load should print what extract (an argv) and transform (a shell string) made: {where}')
    ex, tr, lo = (last(found, x) for x in ('extract', 'transform', 'load'))
    ctx.check(t(tr, 'started_at') >= t(ex, 'finished_at') and t(lo, 'started_at') >= t(tr, 'finished_at'),
              f'the chain should run in order: {where}')

    ctx.check(job_runs(j, 'report') == [], f'report (at, in an hour) should not have run: {job_runs(j, "report")}')
    r = j.ctl('trigger', 'report')
    ctx.check(r.rc == 0 and re.fullmatch(r'r\d+\n', r.out), f'trigger should print the job run\'s id: {r.describe()}')
    ctx.check(j.ctl('wait', r.out.strip(), timeout=30).rc == 0, 'the triggered job run of report failed')
    run = final_job_run(ctx, j, 'report')
    ctx.check(run['id'] == r.out.strip(), f'trigger printed {r.out.strip()}, the job run is {run["id"]}')
    found = attempts(ctx, j, run['id'])
    ctx.check(j.ok('logs', last(found, 'mail')['id']).out == 'mail mail\n', f'mail\'s log: {summary(run, found)}')
    dot = j.ok('dag', 'report', '--dot').out
    ctx.check(re.findall(r'"([^"]+)"\s*->\s*"([^"]+)"', dot) == [('collect', 'mail')],
              f'dag --dot of report should have the one edge "collect" -> "mail":\n{dot}')


def test_dag_and_show(ctx):
    j = ctx.jobd()
    tasks = {'alpha': 'true', 'bravo': 'true', 'charlie': 'true', 'delta': 'true'}
    edges = [('alpha', 'bravo'), ('alpha', 'charlie'), ('bravo', 'delta'), ('charlie', 'delta')]
    job = j.submit('--name', 'shape', '--at', later(), *graph(tasks, edges, {'delta': 'one_success'}))

    text = j.ok('dag', 'shape').out
    ctx.check(all(x in text for x in tasks), f'dag should print every task:\n{text}')
    ctx.check(text.index('alpha') < min(text.index('bravo'), text.index('charlie')) and
              max(text.index('bravo'), text.index('charlie')) < text.index('delta'),
              f'dag text should list the tasks in topological order (alpha first, delta last):\n{text}')
    ctx.check('digraph' not in text, f'dag without --dot should be text, not DOT:\n{text}')

    dot = j.ok('dag', job, '--dot').out
    ctx.check(dot.lstrip().startswith('digraph') and dot.rstrip().endswith('}'),
              f'dag --dot should be a Graphviz digraph:\n{dot}')
    got = re.findall(r'"([^"]+)"\s*->\s*"([^"]+)"', dot)
    ctx.check(sorted(got) == sorted(edges), f'dag --dot should have exactly the edges {edges}, has {got}:\n{dot}')
    r = subprocess.run(['dot', '-Tplain'], input=dot, capture_output=True, text=True) \
        if os.path.exists('/usr/bin/dot') else None
    ctx.check(r is None or r.returncode == 0, f'Graphviz should accept the DOT: {r and r.stderr}')

    show = j.ok('show', 'shape').out
    ctx.check(all(x in show for x in tasks), f'show should show the graph\'s tasks:\n{show}')
    ctx.check('one_success' in show, f'show should show delta\'s trigger rule one_success:\n{show}')
    ctx.check(job_runs(j, job) == [], 'the job at an hour from now should not have run')
    r = j.ctl('dag', 'nosuch')
    ctx.check(r.rc == 3 and 'nosuch' in r.err, f'dag of an unknown job should exit 3: {r.describe()}')


# --- cross-job chains ----------------------------------------------------------

CHAIN_SCRIPT = '''#!/bin/sh
# Three jobs, each after the one before; prints their ids.
set -eu
j1=$("$JOBCTL" submit --name step1 --cwd "$PWD" -- sh -c \
  'for i in $(seq 300); do [ -e go ] && break; sleep 0.05; done; echo step1 >> order')
j2=$("$JOBCTL" submit --name step2 --cwd "$PWD" --after "$j1" -- sh -c 'echo step2 >> order')
j3=$("$JOBCTL" submit --name step3 --cwd "$PWD" --after "$j2" -- sh -c 'echo step3 >> order')
echo "$j1 $j2 $j3"
'''


def test_graph_survives_kill9(ctx):
    # jobd dies (kill -9) while B of A -> B -> C runs, and B's process dies
    # with it: after the restart the job run is replayed from its task runs,
    # B is lost and retried, and C runs after it. The job run itself has no
    # process and must not be taken for a lost one.
    j = ctx.jobd()
    d = workdir(j, 'w')
    m = ctx.marker('30')
    job = j.submit('--name', 'g', '--retries', '1', '--backoff', '1s', '--jitter', '0', '--cwd', d,
                   *graph({'A': 'true', 'B': f'if [ -e b.once ]; then exit 0; fi; touch b.once; exec sleep {m}',
                           'C': 'echo done > c.ran'}, [('A', 'B'), ('B', 'C')]))
    pid = wait_until(lambda: (lambda p: p[0][0] if p else None)(
        [x for x in h.processes_with(m) if x[1].startswith('sleep ')]), 15, 'B\'s sleep')
    job_run = first_job_run(j, job)
    b = wait_until(lambda: next((e for e in run_json(j, job_run['id'])['tasks']
                                 if e['task'] == 'B' and e['run'] and run_json(j, e['run']).get('pid') == pid),
                                None), 10, 'B\'s pid saved')
    j.submit('--name', 'barrier', '--at', later(), '--', 'true')  # commits everything before it
    j.kill9()
    os.kill(pid, 9)
    wait_until(lambda: not h.pid_alive(pid), 10, 'B\'s process to die')
    j.start()
    run = final_job_run(ctx, j, job, timeout=30)
    ctx.check(run['state'] == 'succeeded', f'the job run should end succeeded after B\'s retry: {run}')
    first_b = run_json(j, b['run'])
    ctx.check(first_b['state'] == 'lost' and first_b['next_attempt'],
              f'B\'s first attempt died with jobd: lost, and retried: {first_b}')
    ctx.check(entries(run)['B']['attempt'] == 2 and entries(run)['C']['state'] == 'succeeded',
              f'B\'s second attempt succeeded and C ran: {run["tasks"]}')
    ctx.check(os.path.exists(os.path.join(d, 'c.ran')), 'C should have run')


def test_wait_job_answers_with_the_job_run(ctx):
    # `wait JOB` on a graph job that has no run yet waits for its next job
    # run: its first task run ending must not answer it.
    j = ctx.jobd()
    job = j.submit('--name', 'w', '--at', later(), *graph({'A': 'true', 'B': 'sleep 0.5'}, [('A', 'B')]))
    waiter = subprocess.Popen([ctx.jobctl_path, '--socket', j.socket, '--json', 'wait', job],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: j.json('status').get('waiters') == 1, 10, 'jobd to hold the waiter')
        j.ok('trigger', job)
        out, err = waiter.communicate(timeout=20 * h.TIME_SCALE)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    ctx.check(waiter.returncode == 0, f'wait JOB should exit 0 once the job run succeeded: {err}')
    run = json.loads(out.splitlines()[-1])
    run = run.get('run', run)
    ctx.check(not run.get('parent') and run.get('tasks') and run['state'] == 'succeeded',
              f'wait JOB should answer with the job run, not a task run: {run}')


def test_after_chain_from_a_script(ctx):
    j = ctx.jobd(slots=4)
    d = workdir(j, 'chain')
    script = os.path.join(j.root, 'chain.sh')
    with open(script, 'w') as f:
        f.write(CHAIN_SCRIPT)
    os.chmod(script, 0o755)
    env = dict(os.environ, JOBCTL=ctx.jobctl_path, JOBCTL_SOCKET=j.socket)
    p = subprocess.run([script], cwd=d, env=env, capture_output=True, text=True, timeout=h.scaled(30))
    ctx.check(p.returncode == 0 and re.fullmatch(r'j\d+ j\d+ j\d+\n', p.stdout),
              f'the chain script should submit three jobs: exit {p.returncode}, stdout {p.stdout!r}, '
              f'stderr {p.stderr!r}')
    j1, j2, j3 = p.stdout.split()

    # step1 waits for the file `go`: meanwhile step2 and step3 wait, pending.
    wait_until(lambda: any(r['state'] == 'running' for r in job_runs(j, j1)), 10, 'step1 to be running')
    for job in (j2, j3):
        run = wait_until(lambda: (lambda rs: rs[0] if rs else None)(job_runs(j, job)), 5,
                         f'the run of {job}')
        ctx.check(run['state'] == 'pending' and run['started_at'] is None,
                  f'{job} should wait in state pending while its upstream runs: {run}')
    ctx.check(not os.path.exists(os.path.join(d, 'order')), 'nothing should have run yet')
    open(os.path.join(d, 'go'), 'w').close()
    w = j.ctl('wait', j3, timeout=60)
    ctx.check(w.rc == 0, f'wait on the last job of the chain should exit 0: {w.describe()}')
    runs = [j.wait_for_runs(job, 1)[0] for job in (j1, j2, j3)]
    where = [(r['id'], r['job'], r['state'], r['started_at'], r['finished_at']) for r in runs]
    ctx.check(all(r['state'] == 'succeeded' for r in runs), f'all three should succeed: {where}')
    with open(os.path.join(d, 'order')) as f:
        order = f.read()
    ctx.check(order == 'step1\nstep2\nstep3\n', f'the steps should run in order: {order!r}')
    ctx.check(t(runs[1], 'started_at') >= t(runs[0], 'finished_at') and
              t(runs[2], 'started_at') >= t(runs[1], 'finished_at'),
              f'each step should start after the one before ended: {where}')
    for job in (j1, j2, j3):
        ctx.check(j.job(job)['state'] == 'completed', f'the one-time job {job} should be completed: {j.job(job)}')


def test_after_rules(ctx):
    j = ctx.jobd(slots=4)
    good = j.submit('--name', 'good', '--', 'true')
    bad = j.submit('--name', 'bad', '--retries', '0', '--', 'false')
    ctx.check(j.ctl('wait', good).rc == 0 and j.ctl('wait', bad).rc == 1, 'good should succeed and bad fail')
    good_run, bad_run = j.runs(good)[0]['id'], j.runs(bad)[0]['id']

    cases = [  # (name, --after, expected state)
        ('ok_then_failure', f'{good_run}:failure', 'skipped'),
        ('ok_then_done', f'{good_run}:done', 'succeeded'),
        ('ok_then_success', good_run, 'succeeded'),
        ('bad_then_success', bad_run, 'skipped'),
        ('bad_then_failure', f'{bad_run}:failure', 'succeeded'),
        ('bad_then_done', f'{bad_run}:done', 'succeeded'),
    ]
    jobs = {name: j.submit('--name', name, '--after', after, '--', 'true') for name, after, _ in cases}
    for name, after, state in cases:
        run = j.wait_for_runs(jobs[name], 1)[0]
        upstream = 'succeeded' if name.startswith('ok') else 'failed'
        ctx.check(run['state'] == state, f'--after {after} (an upstream run that {upstream}) should end {state}: {run}')
        if state == 'skipped':
            ctx.check(run['reason'] and run['started_at'] is None,
                      f'a skipped waiting run should have a reason and never start: {run}')

    # A job name: its active run. gate runs until `open` exists.
    d = workdir(j, 'gate')
    j.submit('--name', 'gate', '--cwd', d, '--retries', '0', '--shell', AWAIT.format('open') + '; exit 3')
    wait_until(lambda: any(r['state'] == 'running' for r in j.runs('gate')), 10, 'gate to be running')
    after_gate = j.submit('--name', 'after_gate', '--after', 'gate:failure', '--', 'true')
    not_after = j.submit('--name', 'not_after_gate', '--after', 'gate', '--', 'true')
    for job in (after_gate, not_after):
        run = wait_until(lambda: (lambda rs: rs[0] if rs else None)(j.runs(job)), 5, f'the run of {job}')
        ctx.check(run['state'] == 'pending', f'{job} should be pending while gate runs: {run}')
    open(os.path.join(d, 'open'), 'w').close()
    ctx.check(j.ctl('wait', 'gate').rc == 1, 'gate should fail (exit 3)')
    ctx.check(j.wait_for_runs(after_gate, 1)[0]['state'] == 'succeeded',
              f'--after gate:failure should run once gate failed: {j.runs(after_gate)}')
    ctx.check(j.wait_for_runs(not_after, 1)[0]['state'] == 'skipped',
              f'--after gate (success) should be skipped once gate failed: {j.runs(not_after)}')

    for ref, rc in (('r999', 3), ('nosuch', 3), (f'{good_run}:sometimes', 2)):
        r = j.ctl('submit', '--after', ref, '--', 'true')
        ctx.check(r.rc == rc, f'submit --after {ref} should exit {rc}: {r.describe()}')


def test_after_a_finished_job(ctx):
    # The chain of jobctl(1)'s example, j2=$(jobctl submit --after "$j1" ...),
    # when j1 (a one-time job) has already ended: it has no active run and
    # will have no next one, so its newest run decides. Anything else makes
    # a script's chain depend on how fast the first job is.
    j = ctx.jobd()
    j1 = j.submit('--name', 'quick', '--', 'true')
    ctx.check(j.ctl('wait', j1).rc == 0, 'quick should succeed')
    ctx.check(j.job(j1)['state'] == 'completed', f'quick should be completed: {j.job(j1)}')
    cases = [('then_success', j1, 'succeeded'), ('then_failure', f'{j1}:failure', 'skipped')]
    jobs = {name: j.submit('--name', name, '--after', ref, '--', 'true') for name, ref, _ in cases}
    for name, ref, state in cases:
        def ended():
            runs = j.runs(jobs[name])
            return runs[0] if runs and runs[0]['state'] in FINAL else None
        try:
            run = wait_until(ended, 5, f'the run of --after {ref} to end')
        except Failure:
            raise Failure(f'--after {ref} on a completed one-time job whose only run succeeded should end {state}; '
                          f'its run is still {j.runs(jobs[name])[0]["state"]} after {h.scaled(5):.0f}s, and '
                          f'{j1} will never run again')
        ctx.check(run['state'] == state, f'--after {ref} (a completed job whose run succeeded) should end {state}: '
                                         f'{run}')


if __name__ == '__main__':
    h.main('job dependencies: task graphs and --after chains', [
        test_diamond_runs_in_parallel,
        test_failed_task_retried_then_downstream,
        test_cancel_task_run,
        test_cancel_job_run,
        test_task_environment,
        test_cycles_and_unknown_tasks_rejected,
        test_file_with_two_jobs,
        test_dag_and_show,
        test_graph_survives_kill9,
        test_wait_job_answers_with_the_job_run,
        test_after_chain_from_a_script,
        test_after_rules,
        test_after_a_finished_job,
    ])
