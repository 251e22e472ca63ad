#!/usr/bin/python3
"""The metrics endpoint and `jobctl stats` against a real jobd.

    test_metrics.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

The endpoint is scraped over HTTP and its text parsed by a small parser of
the Prometheus text format below: values move as jobs run (runs by job and
state, retries, slots, queue depth, submits); garbage, oversized and silent
clients get 400 or time out while jobd keeps serving HTTP and jobctl; the
per-job series are capped by metrics_max_jobs; SIGHUP keeps the listener;
`jobctl stats` sums up known runs. jobd listens on port 0 and `jobctl
status` says where. Waiting is polling with a deadline.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, wait_until

LISTEN = 'metrics_listen = "127.0.0.1:0"\n'


# --- the text format ------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def unescape(value):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}[m.group(1)], value)


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise Failure(f'cannot parse the labels {text!r} at {pos}')
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return labels


class Page:
    """A parsed /metrics page: samples by (name, labels), and the families' types."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        self.helps = set()
        for line in text.split('\n'):
            if not line:
                continue
            if line.startswith('# TYPE '):
                _, _, name, kind = line.split(' ', 3)
                self.types[name] = kind
                continue
            if line.startswith('# HELP '):
                self.helps.add(line.split(' ', 3)[2])
                continue
            if line.startswith('#'):
                continue
            m = SAMPLE.match(line)
            if not m:
                raise Failure(f'not a sample line: {line!r}')
            labels = parse_labels(m.group(2) or '')
            self.samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))

    def get(self, name, **labels):
        """A sample's value; 0 if the page has no such series (a counter not yet moved)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def series(self, name):
        return {k[1]: v for k, v in self.samples.items() if k[0] == name}


def address(j):
    addr = j.status().get('metrics')
    if not addr:
        raise Failure(f'jobctl status should say where metrics are served: {j.status()}')
    return addr


def http_get(addr, path='/metrics', method='GET', timeout=10):
    """(status, headers, body) of one request with urllib."""
    req = urllib.request.Request(f'http://{addr}{path}', method=method)
    try:
        with urllib.request.urlopen(req, timeout=h.scaled(timeout)) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def scrape(j, addr=None):
    status, headers, body = http_get(addr or address(j))
    if status != 200:
        raise Failure(f'GET /metrics answered {status}')
    return Page(body)


def raw(addr, data, timeout=10):
    """Sends bytes on a fresh connection and reads the answer to the end."""
    host, port = addr.rsplit(':', 1)
    with socket.create_connection((host, int(port)), timeout=h.scaled(timeout)) as s:
        s.sendall(data)
        out = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out.decode('latin-1')
            out += chunk


def status_line(answer):
    return answer.split('\r\n', 1)[0]


def jobd_with_flag(ctx, slots=2, config=None):
    """A jobd given --metrics-listen on its command line."""
    j = h.Jobd(ctx, ctx.tempdir(), slots=slots, config=config)
    command = j.command
    j.command = lambda: command() + ['--metrics-listen', '127.0.0.1:0']
    return j.start()


# --- the tests ------------------------------------------------------------------

def test_values_move_as_jobs_run(ctx):
    j = ctx.jobd(slots=3, config=LISTEN)
    addr = address(j)
    ctx.check(re.fullmatch(r'127\.0\.0\.1:\d+', addr) and not addr.endswith(':0'),
              f'status should give the bound address with its real port: {addr}')
    page = scrape(j, addr)
    for name, kind in [('jobd_runs_total', 'counter'), ('jobd_run_duration_seconds', 'histogram'),
                       ('jobd_queue_depth', 'gauge'), ('jobd_slots_busy', 'gauge'), ('jobd_slots_total', 'gauge'),
                       ('jobd_schedule_lag_seconds', 'histogram'), ('jobd_retries_total', 'counter'),
                       ('jobd_submits_total', 'counter'), ('jobd_submit_latency_seconds', 'histogram'),
                       ('jobd_commit_duration_seconds', 'histogram'), ('jobd_connections', 'gauge'),
                       ('jobd_process_resident_memory_bytes', 'gauge'), ('jobd_jobs', 'gauge')]:
        ctx.check(page.types.get(name) == kind and name in page.helps,
                  f'{name} should be declared a {kind} with HELP: {page.types.get(name)}')
    ctx.check(page.get('jobd_slots_total') == 3, f'slots_total should equal --slots 3: {page.get("jobd_slots_total")}')
    ctx.check(page.get('jobd_runs_total', job='ok', state='succeeded') == 0, 'no run yet')
    ctx.check(page.get('jobd_submits_total') == 0, 'no submit yet')
    ctx.check(page.get('jobd_process_resident_memory_bytes') > 1 << 20, 'RSS should be over 1 MiB')

    ok = j.submit('--name', 'ok', '--shell', 'true')
    j.wait_for_runs(ok, 1)
    page = wait_until(lambda: (lambda p: p if p.get('jobd_runs_total', job='ok', state='succeeded') == 1 else None)(
        scrape(j, addr)), 10, 'runs_total{job="ok",state="succeeded"} to reach 1')
    ctx.check(page.get('jobd_run_duration_seconds_count', job='ok') == 1,
              'the run\'s duration should be observed once')
    ctx.check(page.get('jobd_run_duration_seconds_bucket', job='ok', le='+Inf') == 1, 'and fall in +Inf')
    ctx.check(page.get('jobd_runs_total', job='ok', state='failed') == 0, 'a success is not a failure')
    ctx.check(page.get('jobd_submits_total') == 1, f'one submit: {page.get("jobd_submits_total")}')
    ctx.check(page.get('jobd_submit_latency_seconds_count') == 1, 'its latency observed once')
    ctx.check(page.get('jobd_commit_duration_seconds_count') >= 1, 'commits are timed')
    ctx.check(page.get('jobd_schedule_lag_seconds_count') >= 1, 'the start\'s lag is observed')
    ctx.check(page.get('jobd_jobs', state='completed') == 1, f'the one-time job is completed: {page.series("jobd_jobs")}')

    bad = j.submit('--name', 'bad', '--retries', '0', '--shell', 'exit 3')
    flaky = j.submit('--name', 'flaky', '--retries', '1', '--backoff', '1s', '--jitter', '0', '--shell', 'exit 1')
    j.wait_for_runs(bad, 1)
    j.wait_for_runs(flaky, 2)
    page = wait_until(lambda: (lambda p: p if p.get('jobd_runs_total', job='flaky', state='failed') == 2 else None)(
        scrape(j, addr)), 10, 'both attempts of flaky to be counted')
    ctx.check(page.get('jobd_runs_total', job='bad', state='failed') == 1,
              f'a failure counts under state="failed": {page.series("jobd_runs_total")}')
    ctx.check(page.get('jobd_retries_total', job='flaky') == 1 and page.get('jobd_retries_total', job='bad') == 0,
              f'one retry of flaky, none of bad: {page.series("jobd_retries_total")}')
    ctx.check(page.get('jobd_submits_total') == 3, 'three submits')
    ctx.check(page.get('jobd_slots_busy') == 0, 'nothing runs any more')
    # A jobctl session open while scraping counts among connections.
    client = h.RawClient(j.socket)
    ctx.on_cleanup(client.close)
    page = wait_until(lambda: (lambda p: p if p.get('jobd_connections') >= 1 else None)(scrape(j, addr)), 10,
                      'an open session to be counted in jobd_connections')


def test_queue_depth_and_slots_busy_with_blocked_jobs(ctx):
    j = jobd_with_flag(ctx, slots=1)
    addr = address(j)
    _, fifo = h.blocked_job(j, 'blocker')
    h.running_run(j, 'blocker')
    j.submit('--name', 'urgent', '--priority', '5', '--shell', 'true')
    j.submit('--name', 'later', '--shell', 'true')
    j.submit('--name', 'later2', '--shell', 'true')
    page = scrape(j, addr)
    ctx.check(page.get('jobd_slots_busy') == 1 and page.get('jobd_slots_total') == 1,
              f'the blocker takes the one slot: busy {page.get("jobd_slots_busy")}')
    ctx.check(page.get('jobd_queue_depth', priority='5') == 1 and page.get('jobd_queue_depth', priority='0') == 2,
              f'queued by priority: {page.series("jobd_queue_depth")}')
    h.release(fifo)
    page = wait_until(lambda: (lambda p: p if p.get('jobd_runs_total', job='later2', state='succeeded') == 1 else None)(
        scrape(j, addr)), 15, 'the queue to drain')
    ctx.check(page.get('jobd_queue_depth', priority='0') == 0 and ('jobd_queue_depth', (('priority', '5'),))
              not in page.samples, f'an empty queue: {page.series("jobd_queue_depth")}')
    ctx.check(page.get('jobd_runs_total', job='blocker', state='succeeded') == 1, 'the blocker is counted')


def test_garbage_gets_400_and_jobd_keeps_serving(ctx):
    j = jobd_with_flag(ctx)
    addr = address(j)
    for what, data, expected in [
            ('a garbage line', b'GARBAGE\r\n\r\n', '400'),
            ('a 9 KiB header', b'GET /metrics HTTP/1.1\r\nX-Big: ' + b'a' * 9216 + b'\r\n\r\n', '400'),
            ('9 KiB without a line end', b'x' * 9216, '400'),
            ('binary junk', bytes(range(256)) + b'\r\n\r\n', '400'),
            ('a header without a colon', b'GET /metrics HTTP/1.1\r\nnonsense\r\n\r\n', '400'),
            ('HTTP/2', b'GET /metrics HTTP/2.0\r\n\r\n', '400'),
            ('POST', b'POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc', '405'),
            ('another path', b'GET /other HTTP/1.1\r\n\r\n', '404'),
            ('a bare newline head', b'GET /metrics HTTP/1.0\n\n', '200')]:
        answer = raw(addr, data)
        ctx.check(status_line(answer).startswith(f'HTTP/1.1 {expected} '),
                  f'{what} should get {expected}: {status_line(answer)!r}')
        ctx.check('\r\nConnection: close\r\n' in answer, f'{what}: every answer says Connection: close')
    status, headers, body = http_get(addr, '/metrics', method='HEAD')
    ctx.check(status == 200 and body == '' and int(headers['Content-Length']) > 0, 'HEAD: the head alone')
    status, headers, body = http_get(addr, '/metrics?name[]=x')
    ctx.check(status == 200 and headers['Content-Type'] == 'text/plain; version=0.0.4; charset=utf-8',
              f'a query string is ignored; the content type is the text format\'s: {status} {headers}')
    # A client that hangs up half way through its head.
    host, port = addr.rsplit(':', 1)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b'GET /met')
    ctx.check(j.alive(), 'jobd should survive all that')
    scrape(j, addr)
    j.ok('status')
    job = j.submit('--shell', 'true')
    j.wait_for_runs(job, 1)


def test_silent_clients_block_nobody(ctx):
    j = ctx.jobd(config=LISTEN)
    addr = address(j)
    host, port = addr.rsplit(':', 1)
    silent = [socket.create_connection((host, int(port))) for _ in range(40)]
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b'GET /metrics HTTP/1.1\r\nHost: x')  # and never the end of its head
    for s in silent + [slow]:
        ctx.on_cleanup(s.close)
    started = time.monotonic()
    scrape(j, addr)
    ctx.check(time.monotonic() - started < h.scaled(2), 'a scrape should not wait for silent clients')
    # Many scrapers at once, with jobctl alongside.
    results, errors = [], []

    def scraper():
        try:
            for _ in range(5):
                results.append(http_get(addr)[0])
        except Exception as e:  # reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=scraper) for _ in range(16)]
    for t in threads:
        t.start()
    job = j.submit('--shell', 'true')
    j.wait_for_runs(job, 1)
    for t in threads:
        t.join(h.scaled(60))
    ctx.check(not errors and results == [200] * 80, f'80 concurrent scrapes should all get 200: {errors[:3]}, '
                                                     f'{len(results)} answers')
    # The silent ones are dropped at their deadline (10 s).
    for s in silent[:3] + [slow]:
        s.settimeout(h.scaled(20))
        ctx.check(s.recv(1) == b'', 'a client that never sends its head is closed after 10 s')


def test_cardinality_cap(ctx):
    j = ctx.jobd(slots=4, config=LISTEN + 'metrics_max_jobs = 2\n')
    addr = address(j)
    for name in ('first', 'second', 'third', 'fourth'):
        job = j.submit('--name', name, '--shell', 'true')
        j.wait_for_runs(job, 1)
    page = wait_until(lambda: (lambda p: p if p.get('jobd_runs_total', job='_other', state='succeeded') == 2 else None)(
        scrape(j, addr)), 10, 'the third and fourth jobs to be counted under job="_other"')
    jobs = {dict(labels)['job'] for labels in page.series('jobd_runs_total')}
    ctx.check(jobs == {'first', 'second', '_other'}, f'series for the first two jobs and _other only: {jobs}')
    ctx.check(page.get('jobd_runs_total', job='first', state='succeeded') == 1 and
              page.get('jobd_runs_total', job='second', state='succeeded') == 1, 'the first two have their own')
    ctx.check(page.get('jobd_run_duration_seconds_count', job='_other') == 2, 'durations aggregate too')


def test_sighup_keeps_the_listener_and_a_bad_address_is_refused(ctx):
    j = ctx.jobd(config=LISTEN + 'metrics_max_jobs = 2\n')
    addr = address(j)
    with open(os.path.join(j.root, 'jobd.toml'), 'w') as f:
        f.write('metrics_listen = "127.0.0.1:1"\nmetrics_max_jobs = 3\n')
    j.signal(signal.SIGHUP)
    wait_until(lambda: 'metrics_listen 127.0.0.1:1 takes effect when jobd restarts' in j.log(), 10,
               'a warning that a new metrics_listen needs a restart')
    wait_until(lambda: 'reloaded configuration (metrics_max_jobs 2 -> 3)' in j.log(), 10,
               'metrics_max_jobs to be reloaded')
    ctx.check(address(j) == addr, 'the endpoint stays where it was')
    scrape(j, addr)
    for value in ('"localhost:9465"', '"127.0.0.1"', '"127.0.0.1:70000"', '9465'):
        path = os.path.join(ctx.tempdir(), 'jobd.toml')
        with open(path, 'w') as f:
            f.write(f'metrics_listen = {value}\n')
        r = subprocess.run([ctx.jobd_path, '--config', path, '--check-config'], capture_output=True, text=True)
        ctx.check(r.returncode == 2 and f'{path}:1:1: metrics_listen' in r.stderr,
                  f'metrics_listen = {value} should be refused with its place: {r.returncode} {r.stderr}')
    r = subprocess.run([ctx.jobd_path, '--metrics-listen', 'nowhere', '--check-config'], capture_output=True, text=True)
    ctx.check(r.returncode == 2 and '--metrics-listen' in r.stderr, f'a bad flag is refused: {r.stderr}')
    # A port taken: jobd says so and does not start.
    other = h.Jobd(ctx, ctx.tempdir(), config=f'metrics_listen = "{addr}"\n').spawn()
    ctx.check(other.wait_exit(20) == 1 and 'metrics_listen: cannot listen on' in other.log(),
              f'a taken port should stop jobd with a message:\n{other.log_tail()}')


def test_stats_sums_up_known_runs(ctx):
    j = ctx.jobd(slots=2)
    good = j.submit('--name', 'good', '--schedule', '0 0 1 1 *', '--shell', 'true')  # fired by trigger only
    for n in range(1, 4):
        j.ok('trigger', good)
        j.wait_for_runs(good, n)
    bad = j.submit('--name', 'bad', '--retries', '1', '--backoff', '1s', '--jitter', '0', '--shell', 'exit 1')
    j.wait_for_runs(bad, 2)
    s = j.json('stats')
    ctx.check(s['runs'] == 5 and s['succeeded'] == 3, f'5 runs, 3 succeeded: {s}')
    ctx.check(abs(s['success_rate'] - 0.6) < 1e-9 and abs(s['retry_rate'] - 0.2) < 1e-9,
              f'success rate 3/5, retry rate 1/5: {s}')
    for key in ('duration_seconds', 'schedule_lag_seconds'):
        p = s[key]
        ctx.check(all(isinstance(p[q], float) and p[q] >= 0 for q in ('p50', 'p95', 'p99')) and
                  p['p50'] <= p['p95'] <= p['p99'], f'{key}: ordered percentiles: {p}')
    ctx.check([(b['job'], b['runs'], b['success_rate']) for b in s['busiest']] == [('good', 3, 1.0), ('bad', 2, 0.0)],
              f'the busiest jobs, most runs first: {s["busiest"]}')
    since = s['since_start']
    ctx.check(since['submits'] == 2 and since['runs'] == 5 and since['retries'] == 1 and
              since['runs_by_state']['failed'] == 2, f'since start: {since}')
    out = j.ok('stats').out
    lines = out.rstrip('\n').split('\n')
    ctx.check(re.match(r'runs +5 finished, 60\.0% succeeded, 20\.0% retried$', lines[0]) is not None,
              f'the first line sums up the runs:\n{out}')
    ctx.check(lines[1].startswith('run time ') and 'p50 ' in lines[1] and 'p99 ' in lines[1] and
              lines[2].startswith('schedule lag') and lines[3].startswith('since start'),
              f'aligned lines for run time, lag and since start:\n{out}')
    ctx.check(re.search(r'\n  good +j\d+ +3 runs +100\.0% succeeded\n  bad +j\d+ +2 runs +0\.0% succeeded', out),
              f'the busiest jobs, aligned:\n{out}')
    empty = ctx.jobd()
    s = empty.json('stats')
    ctx.check(s['runs'] == 0 and s['success_rate'] is None and s['duration_seconds']['p50'] is None and
              s['busiest'] == [], f'no runs: nothing to rate: {s}')
    ctx.check(empty.ok('stats').out.startswith('runs '), 'and the text says so without failing')


if __name__ == '__main__':
    h.main('the metrics endpoint and jobctl stats', [
        test_values_move_as_jobs_run,
        test_queue_depth_and_slots_busy_with_blocked_jobs,
        test_garbage_gets_400_and_jobd_keeps_serving,
        test_silent_clients_block_nobody,
        test_cardinality_cap,
        test_sighup_keeps_the_listener_and_a_bad_address_is_refused,
        test_stats_sums_up_known_runs,
    ])
