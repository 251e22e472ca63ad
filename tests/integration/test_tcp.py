#!/usr/bin/python3
"""jobd over TCP (--listen, listen in jobd.toml) with its token, against a
real jobd and the real jobctl.

    test_tcp.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

jobctl --server HOST:PORT --token-file F, with a named token (jobctl token
create), does what it does on the Unix socket; the cluster token is good for
workers only; a wrong token gets exit 5 and a disconnect; a TCP client that
sends anything but its token first, or nothing for 10 s, is disconnected
while jobd serves everyone else. jobd listens on port 0 and `jobctl status`
says where. Waiting is polling with a deadline.
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import RawClient, run_jobctl, wait_until

TOKEN = 'c2VjcmV0LXRva2VuLWZvci10ZXN0cw=='


def token_file(ctx, token=TOKEN):
    path = os.path.join(ctx.tempdir(), 'token')
    with open(path, 'w') as f:
        f.write(token + '\n')
    os.chmod(path, 0o600)
    return path


def tcp_jobd(ctx):
    """A jobd listening on 127.0.0.1 (a port of its choice) with TOKEN; and
    the HOST:PORT it bound."""
    j = ctx.jobd(config=f'listen = "127.0.0.1:0"\ntoken_file = "{token_file(ctx)}"\n')
    return j, j.status()['listen']


def remote(ctx, address, token_path, *args, env=None):
    """jobctl --server ADDRESS --token-file TOKEN_PATH ARGS..."""
    return run_jobctl(ctx.jobctl_path, ['--server', address, '--token-file', token_path] + list(args), env=env)


def test_jobctl_over_tcp(ctx):
    j, address = tcp_jobd(ctx)
    host, port = address.rsplit(':', 1)
    ctx.check(host == '127.0.0.1' and int(port) > 0, f'status names the address bound: {address}')
    r = remote(ctx, address, token_file(ctx), 'list')
    ctx.check(r.rc == 5 and 'list is for' not in r.err and 'needs the viewer role; you are worker' in r.err,
              f'the cluster token is for workers only: exit 5: {r.describe()}')
    path = j.api_token('ops')
    r = remote(ctx, address, path, 'submit', '--name', 'far', '--wait', '--', 'sh', '-c', 'exit 0')
    ctx.check(r.rc == 0, f'submit --wait over tcp: {r.describe()}')
    listed = remote(ctx, address, path, '--json', 'list')
    ctx.check(listed.rc == 0 and '"far"' in listed.out, f'list over tcp: {listed.describe()}')
    ctx.check(any(job['name'] == 'far' for job in j.json('list')), 'the same jobd answers on its Unix socket')
    runs = remote(ctx, address, path, '--json', 'runs', 'far')
    run_id = __import__('json').loads(runs.out)[0]['id']
    logs = remote(ctx, address, path, 'logs', run_id)
    ctx.check(logs.rc == 0 and logs.out == '', f'logs over tcp come through jobd: {logs.describe()}')
    j.submit('--name', 'talks', '--wait', '--', 'sh', '-c', 'echo hello over tcp')
    logs = remote(ctx, address, path, 'logs', 'talks')
    ctx.check(logs.rc == 0 and logs.out == 'hello over tcp\n', f'logs over tcp: {logs.describe()}')
    env = dict(os.environ, JOBCTL_SERVER=address, JOBCTL_TOKEN_FILE=path)
    r = run_jobctl(ctx.jobctl_path, ['runs', 'far'], env=env)
    ctx.check(r.rc == 0 and 'succeeded' in r.out, f'$JOBCTL_SERVER and $JOBCTL_TOKEN_FILE: {r.describe()}')


def test_wrong_token_exits_5(ctx):
    j, address = tcp_jobd(ctx)
    r = remote(ctx, address, token_file(ctx, 'not-the-token-of-this-jobd'), 'list')
    ctx.check(r.rc == 5 and 'refused the token: wrong token' in r.err, f'a wrong token: exit 5: {r.describe()}')
    wait_until(lambda: 'wrong token: disconnected' in j.log(), 10, 'jobd to log the wrong token')
    ctx.check(TOKEN not in j.log() and 'not-the-token' not in j.log(), 'no token is ever logged')
    r = run_jobctl(ctx.jobctl_path, ['--server', address, 'list'])
    ctx.check(r.rc == 2 and '--token-file' in r.err, f'--server without a token file: exit 2: {r.describe()}')
    r = run_jobctl(ctx.jobctl_path, ['--server', '127.0.0.1:1', '--token-file', token_file(ctx), 'list'])
    ctx.check(r.rc == 4, f'nobody listening: exit 4: {r.describe()}')
    j.ok('status')


def test_strangers_are_disconnected(ctx):
    j, address = tcp_jobd(ctx)
    host, port = address.rsplit(':', 1)
    for first in ('{"id":1,"op":"list"}\n', 'GET / HTTP/1.1\r\n\r\n', '{"id":1,"op":"auth","token":5}\n'):
        c = RawClient((host, int(port)))
        ctx.check(c.hello.get('hello') == 'jobd', f'a hello first: {c.hello}')
        c.send(first)
        reply = c.read_json()
        code = reply.get('error', {}).get('code')
        ctx.check(code in ('permission_denied', 'bad_request'), f'{first!r} is refused: {reply}')
        ctx.check(c.at_eof(), f'and the connection closed after {first!r}')
    # A token, then anything it may do.
    secret = open(j.api_token('watcher', role='viewer')).read().strip()
    c = RawClient((host, int(port)))
    c.request({'id': 1, 'op': 'auth', 'token': secret})
    ctx.check(c.read_json().get('ok') is True, 'the right token is accepted')
    c.request({'id': 2, 'op': 'status'})
    ctx.check(c.read_json().get('listen') == address, 'then requests are answered')
    j.ok('status')


def test_silent_client_is_dropped(ctx):
    j, address = tcp_jobd(ctx)
    host, port = address.rsplit(':', 1)
    c = RawClient((host, int(port)))
    ctx.check(c.at_eof(timeout=20), 'a client that sends no token is disconnected (after 10 s)')
    ctx.check('sent no token within 10s' in j.log(), f'and it is logged\n{j.log_tail()}')
    j.ok('status')


def test_listen_checks_its_settings(ctx):
    root = ctx.tempdir()
    base = [ctx.jobd_path, '--state-dir', os.path.join(root, 'state'), '--socket', os.path.join(root, 's.sock'),
            '--listen', '127.0.0.1:0']
    short = token_file(ctx, 'short')
    p = subprocess.run(base + ['--token-file', short], capture_output=True, text=True, timeout=h.scaled(30))
    ctx.check(p.returncode == 2 and 'at least 16' in p.stderr, f'a short token: {p.returncode} {p.stderr}')
    p = subprocess.run(base[:-2] + ['--listen', 'localhost:80', '--token-file', token_file(ctx)],
                       capture_output=True, text=True, timeout=h.scaled(30))
    ctx.check(p.returncode == 2 and '--listen' in p.stderr, f'a host name to listen on: {p.returncode} {p.stderr}')


def test_listen_without_a_cluster_token(ctx):
    """Named tokens need no token_file: that is for workers only."""
    j = ctx.jobd(config='listen = "127.0.0.1:0"\n')
    address = j.status()['listen']
    path = j.api_token('reader', role='viewer')
    r = remote(ctx, address, path, '--json', 'whoami')
    ctx.check(r.rc == 0 and r.json()['role'] == 'viewer' and r.json()['name'] == 'token reader',
              f'whoami over tcp: {r.describe()}')
    r = remote(ctx, address, token_file(ctx), 'list')
    ctx.check(r.rc == 5 and 'wrong token' in r.err, f'no cluster token: any other is wrong: {r.describe()}')


if __name__ == '__main__':
    h.main('jobd over tcp', [
        test_jobctl_over_tcp,
        test_wrong_token_exits_5,
        test_strangers_are_disconnected,
        test_silent_client_is_dropped,
        test_listen_checks_its_settings,
        test_listen_without_a_cluster_token,
    ])
