#!/usr/bin/python3
"""Notifications against a real jobd and the real jobctl.

    test_notify.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

A job's `notify` (jobs.toml(5)): webhooks POSTed to an HTTP listener the
test runs on 127.0.0.1 (the JSON document checked; retried after a refused
connection and after a 500; a 404 given up at once); mail through a fake
`sendmail` first on jobd's PATH; an exec notifier given the JSON on stdin;
which events fire (`on`), counted in `jobctl status`; bad specs refused at
file:line:column; and deliveries still pending when jobd stops, dropped.
Waiting is polling with a deadline.
"""

import http.server
import json
import os
import socket
import sys
import threading
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import wait_until


def write(path, text, mode=None):
    with open(path, 'w') as f:
        f.write(text)
    if mode:
        os.chmod(path, mode)
    return path


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Listener:
    """An HTTP server on 127.0.0.1 that records each POST (path, headers,
    parsed JSON body) and answers with the statuses queued for its path,
    then 200."""

    def __init__(self, ctx, port=None, statuses=None):
        self.received = []
        self.statuses = {k: list(v) for k, v in (statuses or {}).items()}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                queued = owner.statuses.get(self.path, [])
                status = queued.pop(0) if queued else 200
                owner.received.append({'path': self.path, 'headers': dict(self.headers), 'body': json.loads(body),
                                       'status': status})
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', port or 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        ctx.on_cleanup(self.close)

    def url(self, path='/hook'):
        return f'http://127.0.0.1:{self.port}{path}'

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, what, timeout=15):
        return wait_until(lambda: self.received if len(self.received) >= count else None, timeout,
                          f'{count} webhook request(s): {what}')


def apply(j, text, name='jobs.toml'):
    path = write(os.path.join(j.root, name), text)
    j.ok('apply', path)
    return path


def counts(j):
    return j.status()['notifications']


def wait_for_counts(j, sent, failed, timeout=15):
    return wait_until(lambda: counts(j) if counts(j) == {'sent': sent, 'failed': failed, 'pending': 0} else None,
                      timeout, f'notifications sent={sent} failed={failed} pending=0 (now {counts(j)})')


def test_webhook_posts_the_run_as_json(ctx):
    listener = Listener(ctx)
    j = ctx.jobd()
    apply(j, f'''
[job.hello]
command = "echo out; echo err >&2; exit 3"
retries = 0
notify = [{{ webhook = "{listener.url()}" }}]
''')
    got = listener.wait_for(1, 'the failure of hello')[0]
    run = j.wait_for_runs('hello', 1)[0]
    doc = got['body']
    ctx.check(got['headers'].get('Content-Type') == 'application/json', f'Content-Type: {got["headers"]}')
    ctx.check(got['headers'].get('User-Agent', '').startswith('jobd/'), f'User-Agent: {got["headers"]}')
    expected = {'event': 'failure', 'job': 'hello', 'job_id': j.job('hello')['id'], 'run': run['id'], 'attempt': 1,
                'state': 'failed', 'exit_code': 3, 'signal': None, 'next_attempt': None, 'retry_at': None,
                'stdout': 'out\n', 'stderr': 'err\n', 'host': socket.gethostname(),
                'scheduled_at': run['scheduled_at'], 'started_at': run['started_at'],
                'finished_at': run['finished_at']}
    for key, value in expected.items():
        ctx.check(doc.get(key) == value, f'{key}: expected {value!r}, got {doc.get(key)!r} in {doc}')
    ctx.check('reason' in doc, f'the document has a reason (null or words): {doc}')
    ctx.check(h.parse_time(doc['started_at']) <= h.parse_time(doc['finished_at']), f'times in order: {doc}')
    wait_for_counts(j, sent=1, failed=0)
    ctx.check('notification of run ' + run['id'] in j.log() and 'sent by webhook' in j.log(),
              f'a sent notification is logged\n{j.log_tail()}')


def test_webhook_log_tail_is_the_last_4_kib(ctx):
    listener = Listener(ctx)
    j = ctx.jobd()
    apply(j, f'''
[job.chatty]
command = "seq 1 5000; printf 'last line'"
retries = 0
notify = [{{ on = ["success"], webhook = "{listener.url()}" }}]
''')
    doc = listener.wait_for(1, 'the success of chatty')[0]['body']
    ctx.check(doc['event'] == 'success' and doc['state'] == 'succeeded' and doc['exit_code'] == 0, f'{doc}')
    ctx.check(len(doc['stdout'].encode()) == 4096 and doc['stdout'].endswith('4999\n5000\nlast line'),
              f'stdout should be the last 4096 bytes: {len(doc["stdout"])} bytes ending {doc["stdout"][-30:]!r}')
    ctx.check(doc['stderr'] == '', f'stderr is empty: {doc["stderr"]!r}')


def test_webhook_retried_after_a_refused_connection(ctx):
    port = free_port()
    j = ctx.jobd(config='notify_backoff = "1s"\n')
    apply(j, f'''
[job.flaky]
command = "exit 1"
retries = 0
notify = [{{ webhook = "http://127.0.0.1:{port}/late" }}]
''')
    wait_until(lambda: 'attempt 1 of 5 failed' in j.log(), 15, 'the first attempt to fail (nobody listens yet)')
    ctx.check(counts(j)['pending'] == 1, f'a delivery being retried is pending: {counts(j)}')
    listener = Listener(ctx, port=port)
    got = listener.wait_for(1, 'the retried delivery')[0]
    ctx.check(got['path'] == '/late' and got['body']['job'] == 'flaky' and got['body']['event'] == 'failure',
              f'the retried delivery: {got}')
    wait_for_counts(j, sent=1, failed=0)
    ctx.check(j.wait_for_runs('flaky', 1)[0]['state'] == 'failed', 'delivery never changes the run')


def test_webhook_500_then_200_and_404_given_up(ctx):
    listener = Listener(ctx, statuses={'/busy': [500], '/gone': [404, 404]})
    j = ctx.jobd(config='notify_backoff = "1s"\nmetrics_listen = "127.0.0.1:0"\n')
    apply(j, f'''
[job.busy]
command = "true"
notify = [{{ on = ["success"], webhook = "{listener.url('/busy')}" }}]

[job.gone]
command = "true"
notify = [{{ on = ["success"], webhook = "{listener.url('/gone')}" }}]
''')
    wait_for_counts(j, sent=1, failed=1)
    busy = [r['status'] for r in listener.received if r['path'] == '/busy']
    gone = [r['status'] for r in listener.received if r['path'] == '/gone']
    ctx.check(busy == [500, 200], f'a 500 is retried until a 200: {busy}')
    ctx.check(gone == [404], f'a 404 is not retried: {gone}')
    log = j.log()
    ctx.check('HTTP status 500' in log and 'next in 1000ms' in log, f'the retry is logged\n{j.log_tail()}')
    ctx.check('by webhook ' + listener.url('/gone') + ' failed: HTTP status 404' in log,
              f'the failure is logged on one line naming job, run and channel\n{j.log_tail()}')
    states = {r['state'] for r in j.runs()}
    ctx.check(states == {'succeeded'}, f'a failed delivery never changes the runs: {states}')
    with urllib.request.urlopen(f'http://{j.status()["metrics"]}/metrics', timeout=10) as r:
        page = r.read().decode()
    for line in ('jobd_notifications_total{outcome="sent"} 1', 'jobd_notifications_total{outcome="failed"} 1',
                 'jobd_notifications_pending 0'):
        ctx.check(line in page.split('\n'), f'the metrics count deliveries: {line!r} in\n{page}')


def test_mail_through_sendmail_on_jobds_path(ctx):
    d = ctx.tempdir()
    bindir = os.path.join(d, 'bin')
    os.mkdir(bindir)
    write(os.path.join(bindir, 'sendmail'),
          f'#!/bin/sh\necho "$@" > {d}/args\ncat > {d}/mail.part && mv {d}/mail.part {d}/mail\n', 0o755)
    env = dict(os.environ, PATH=bindir + ':' + os.environ.get('PATH', '/usr/bin:/bin'))
    j = ctx.jobd(env=env)
    apply(j, '''
[job.report]
command = "echo counted 42 rows; echo disk full >&2; exit 2"
retries = 0
notify = [{ mail = "ops@example.com" }]
''')
    mail = os.path.join(d, 'mail')
    wait_until(lambda: os.path.exists(mail), 15, 'the fake sendmail to be given the mail')
    text = open(mail).read()
    head, _, body = text.partition('\n\n')
    headers = head.split('\n')
    ctx.check('To: ops@example.com' in headers, f'To: header:\n{text}')
    ctx.check('Subject: [jobd] report: failed' in headers, f'Subject: header:\n{text}')
    ctx.check('counted 42 rows' in body and 'disk full' in body and 'exit code 2' in body,
              f'the body has the run and its log tails:\n{text}')
    ctx.check(open(os.path.join(d, 'args')).read().split() == ['-t', '-oi'], 'sendmail is run as sendmail -t -oi')
    wait_for_counts(j, sent=1, failed=0)


def test_exec_notifier_gets_the_json_on_stdin(ctx):
    d = ctx.tempdir()
    out = os.path.join(d, 'got.json')
    page = write(os.path.join(d, 'page'), f'#!/bin/sh\necho "$1" > {d}/arg\ncat > {out}.part && mv {out}.part {out}\n',
                 0o755)
    fails = write(os.path.join(d, 'fails'), '#!/bin/sh\ncat >/dev/null\nexit 7\n', 0o755)
    j = ctx.jobd()
    apply(j, f'''
[job.nightly]
command = "echo done"
notify = [
  {{ on = ["success"], exec = ["{page}", "urgent"] }},
  {{ on = ["success"], exec = ["{fails}"] }},
]
''')
    wait_until(lambda: os.path.exists(out), 15, 'the exec notifier to write what it read')
    doc = json.load(open(out))
    ctx.check(doc['event'] == 'success' and doc['job'] == 'nightly' and doc['state'] == 'succeeded'
              and doc['stdout'] == 'done\n', f'the exec notifier read the document: {doc}')
    ctx.check(open(os.path.join(d, 'arg')).read() == 'urgent\n', 'the exec notifier gets its arguments')
    wait_for_counts(j, sent=1, failed=1)
    ctx.check(f'exec {fails} failed: {fails} exited with status 7' in j.log(), f'the failure is logged\n{j.log_tail()}')


def test_on_selects_the_events(ctx):
    listener = Listener(ctx)
    j = ctx.jobd()
    apply(j, f'''
[job.quiet]
command = "true"
notify = [{{ webhook = "{listener.url('/quiet')}" }}]

[job.retried]
command = "exit 1"
retries = 1
backoff = "1s"
notify = [{{ on = ["retry", "failure"], webhook = "{listener.url('/retried')}" }}]

[job.failing-success-only]
command = "exit 1"
retries = 0
notify = [{{ on = ["success"], webhook = "{listener.url('/nothing')}" }}]
''')
    j.wait_for_runs('quiet', 1)
    j.wait_for_runs('failing-success-only', 1)
    runs = j.wait_for_runs('retried', 2)
    got = listener.wait_for(2, 'the retry and the failure of job retried')
    wait_for_counts(j, sent=2, failed=0)
    ctx.check([r['path'] for r in listener.received] == ['/retried', '/retried'],
              f'a success with on = ["failure"] (the default) and a failure with on = ["success"] send nothing: '
              f'{[r["path"] for r in listener.received]}')
    first, last = sorted(runs, key=lambda r: r['attempt'])
    retry, failure = got[0]['body'], got[1]['body']
    ctx.check(retry['event'] == 'retry' and retry['run'] == first['id'] and retry['attempt'] == 1
              and retry['next_attempt'] == last['id'] and retry['retry_at'] is not None,
              f'a failed attempt that is retried is a "retry": {retry}')
    ctx.check(failure['event'] == 'failure' and failure['run'] == last['id'] and failure['attempt'] == 2
              and failure['next_attempt'] is None, f'the last attempt\'s failure is a "failure": {failure}')


def test_skipped_fire_notifies(ctx):
    listener = Listener(ctx)
    j = ctx.jobd()
    apply(j, f'''
[job.overlap]
every = "1s"
command = ["sleep", "{ctx.marker()}"]
concurrency = "forbid"
notify = [{{ on = ["skipped"], webhook = "{listener.url()}" }}]
''')
    doc = listener.wait_for(1, 'a fire skipped while the first run still runs')[0]['body']
    j.ok('pause', 'overlap')
    ctx.check(doc['event'] == 'skipped' and doc['state'] == 'skipped' and doc['job'] == 'overlap'
              and doc['started_at'] is None and doc['stdout'] == '', f'a skipped fire: {doc}')


def test_defaults_notify_reaches_the_jobs(ctx):
    listener = Listener(ctx)
    j = ctx.jobd(config=f'[defaults]\nnotify = [{{ on = ["success"], webhook = "{listener.url("/jobd-toml")}" }}]\n')
    apply(j, f'''
[defaults]
notify = [{{ on = ["success"], webhook = "{listener.url("/file")}" }}]

[job.a]
command = "true"
''')
    apply(j, '[job.b]\ncommand = "true"\n', name='other.toml')
    listener.wait_for(2, 'one notification per job')
    wait_for_counts(j, sent=2, failed=0)
    ctx.check(sorted((r['path'], r['body']['job']) for r in listener.received) == [('/file', 'a'), ('/jobd-toml', 'b')],
              f'the file\'s [defaults] wins over jobd.toml\'s: {[(r["path"], r["body"]["job"]) for r in listener.received]}')
    exported = j.ok('export', 'a').out  # one-time jobs that ran are exported when named
    ctx.check('notify = [' in exported and listener.url('/file') in exported, f'export writes notify:\n{exported}')


def test_submit_notify_flags(ctx):
    listener = Listener(ctx)
    j = ctx.jobd()
    job = j.submit('--name', 'flagged', '--notify-webhook', listener.url('/a'), '--notify-webhook', listener.url('/b'),
                   '--notify-on', 'success,failure', '--', 'true')
    listener.wait_for(2, 'both webhooks of --notify-webhook')
    ctx.check(sorted(r['path'] for r in listener.received) == ['/a', '/b']
              and {r['body']['job_id'] for r in listener.received} == {job}, f'{listener.received}')
    shown = j.job('flagged')['notify']
    ctx.check(shown == [{'on': ['success', 'failure'], 'webhook': listener.url('/a')},
                        {'on': ['success', 'failure'], 'webhook': listener.url('/b')}], f'show --json: {shown}')
    r = j.ctl('submit', '--notify-mail', 'ops@example.com', '--notify-on', 'sometimes', '--', 'true')
    ctx.check(r.rc == 2 and '--notify-on: "sometimes" is not one of failure, success, retry, skipped' in r.err,
              r.describe())
    r = j.ctl('submit', '--notify-webhook', 'ftp://example.com/', '--', 'true')
    ctx.check(r.rc == 2 and 'notify[0].webhook: "ftp://example.com/" is not an http:// or https:// URL' in r.err,
              r.describe())


def test_bad_specs_are_refused_at_line_and_column(ctx):
    j = ctx.jobd()
    cases = [
        ('[job.a]\ncommand = "true"\nnotify = [{ on = ["sometimes"], mail = "a@example.com" }]\n',
         ':3:18: job "a": notify[0].on: "sometimes" is not one of failure, success, retry, skipped'),
        ('[job.a]\ncommand = "true"\nnotify = [{ webhook = "ftp://example.com/" }]\n',
         ':3:23: job "a": notify[0].webhook: "ftp://example.com/" is not an http:// or https:// URL'),
        ('[job.a]\ncommand = "true"\nnotify = [{ mail = "not an address" }]\n',
         ':3:20: job "a": notify[0].mail: "not an address" is not a mail address'),
        ('[job.a]\ncommand = "true"\nnotify = [{ exec = ["page"] }]\n',
         ':3:20: job "a": notify[0].exec: "page" is not an absolute path to a program'),
        ('[job.a]\ncommand = "true"\nnotify = [{ mail = "a@example.com", exec = ["/bin/true"] }]\n',
         ':3:11: job "a": notify[0]: give exactly one of webhook, mail and exec'),
    ]
    for i, (text, message) in enumerate(cases):
        path = write(os.path.join(j.root, f'bad{i}.toml'), text)
        r = j.ctl('apply', path)
        ctx.check(r.rc == 2 and path + message in r.err, f'expected exit 2 and {path}{message}: {r.describe()}')
    ctx.check(j.json('list') == [], 'nothing was applied')
    # jobd refuses a bad notify in jobd.toml's [defaults] at start-up.
    state = os.path.join(j.root, 'other')
    config = write(os.path.join(j.root, 'bad-jobd.toml'), '[defaults]\nnotify = [{ on = ["never"], mail = "a@b" }]\n')
    r = h.subprocess.run([ctx.jobd_path, '--check-config', '--config', config, '--state-dir', state,
                          '--socket', os.path.join(state, 's')], capture_output=True, text=True, timeout=30)
    ctx.check(r.returncode == 2 and 'notify[0].on: "never" is not one of' in r.stderr,
              f'--check-config refuses it: {r.returncode} {r.stderr}')


def test_pending_deliveries_are_dropped_at_shutdown(ctx):
    port = free_port()
    j = ctx.jobd(config='notify_backoff = "1m"\n')
    apply(j, f'''
[job.unheard]
command = "exit 1"
retries = 0
notify = [{{ webhook = "http://127.0.0.1:{port}/" }}]
''')
    wait_until(lambda: 'attempt 1 of 5 failed' in j.log(), 15, 'the first attempt to fail')
    j.stop(timeout=10)
    ctx.check('dropped: jobd is stopping' in j.log(), f'the dropped delivery is logged\n{j.log_tail()}')


if __name__ == '__main__':
    h.main('notifications', [
        test_webhook_posts_the_run_as_json,
        test_webhook_log_tail_is_the_last_4_kib,
        test_webhook_retried_after_a_refused_connection,
        test_webhook_500_then_200_and_404_given_up,
        test_mail_through_sendmail_on_jobds_path,
        test_exec_notifier_gets_the_json_on_stdin,
        test_on_selects_the_events,
        test_skipped_fire_notifies,
        test_defaults_notify_reaches_the_jobs,
        test_submit_notify_flags,
        test_bad_specs_are_refused_at_line_and_column,
        test_pending_deliveries_are_dropped_at_shutdown,
    ])
