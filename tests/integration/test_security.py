#!/usr/bin/python3
"""Identities, namespaces, roles, tokens, limits and the audit table, with
real users: the test creates two (useradd), runs the real jobctl as each of
them against a real jobd (run as root), and removes them at its end.

    test_security.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

alice and bob each own their jobs like crontabs: the same name in both
namespaces, neither sees nor touches the other's (a job out of sight is "not
found", exit 3), root (an admin) sees both as NS/NAME. A viewer token cannot
submit, a revoked token is refused and its connections are cut. Every
mutation is in `jobctl audit`, which only admins may read. submit_rate,
max_request_bytes and idle_timeout turn clients away with a clear error
while jobd serves everyone else. Waiting is polling with a deadline.
"""

import os
import pwd
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import RawClient, run_jobctl, wait_until


def make_user(ctx, role):
    """A fresh Unix user (removed at the end of the test); its name."""
    name = f'jt{os.getpid() % 100000}{role}'
    subprocess.run(['userdel', '-r', name], capture_output=True)  # a leftover of a killed run
    subprocess.run(['useradd', '--create-home', '--shell', '/bin/sh', name], check=True, capture_output=True)
    ctx.on_cleanup(lambda: subprocess.run(['userdel', '-r', name], capture_output=True))
    return name


def shared_jobd(ctx, config=''):
    """A jobd whose socket other users can reach (the test's directories are 0700)."""
    j = ctx.jobd(config=config or None)
    os.chmod(j.root, 0o711)
    return j


def as_user(ctx, j, user, *args):
    """jobctl --socket SOCKET ARGS..., run as `user`."""
    env = {'PATH': '/usr/bin:/bin', 'HOME': pwd.getpwnam(user).pw_dir}
    argv = [ctx.jobctl_path, '--socket', j.socket] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=h.scaled(60), user=user, env=env)
    return h.Result([f'(as {user})'] + argv, p.returncode, p.stdout, p.stderr, 0)


def test_users_own_their_jobs_like_crontabs(ctx):
    alice, bob = make_user(ctx, 'a'), make_user(ctx, 'b')
    j = shared_jobd(ctx)
    who = as_user(ctx, j, alice, '--json', 'whoami')
    ctx.check(who.rc == 0 and who.json()['name'] == alice and who.json()['role'] == 'operator' and
              who.json()['namespace'] == alice, f'whoami as {alice}: {who.describe()}')
    ctx.check(j.json('whoami')['role'] == 'admin', 'root is an admin')
    r = as_user(ctx, j, alice, 'submit', '--name', 'backup', '--every', '1h', '--', 'true')
    ctx.check(r.rc == 0, f'{alice} submits: {r.describe()}')
    alices = r.out.strip()
    r = as_user(ctx, j, bob, 'submit', '--name', 'backup', '--every', '1h', '--', 'true')
    ctx.check(r.rc == 0, f'{bob} may use the same name in his namespace: {r.describe()}')
    bobs = r.out.strip()
    listed = as_user(ctx, j, bob, '--json', 'list')
    ctx.check([x['id'] for x in listed.json()] == [bobs], f'{bob} lists only his own: {listed.out}')
    for args in (['show', f'{alice}/backup'], ['show', alices], ['cancel', alices], ['pause', alices],
                 ['trigger', f'{alice}/backup'], ['delete', alices], ['runs', alices], ['wait', alices]):
        r = as_user(ctx, j, bob, *args)
        ctx.check(r.rc == 3 and 'no job' in r.err, f'{bob}: {" ".join(args)}: not found (exit 3): {r.describe()}')
    r = as_user(ctx, j, bob, 'delete', 'backup')
    ctx.check(r.rc == 0, f'{bob} deletes his own backup: {r.describe()}')
    state = {x['id']: x['state'] for x in j.json('list', '--all')}
    ctx.check(state.get(alices) == 'active' and state.get(bobs, 'deleted') == 'deleted', f'only bob\'s is gone: {state}')
    table = j.ok('list').out
    ctx.check(f'{alice}/backup' in table, f'root sees the others\' jobs as NS/NAME:\n{table}')
    r = j.ctl('pause', f'{alice}/backup')
    ctx.check(r.rc == 0, f'an admin acts in any namespace: {r.describe()}')
    r = as_user(ctx, j, alice, 'audit')
    ctx.check(r.rc == 5 and 'audit needs the admin role' in r.err, f'audit is for admins: {r.describe()}')
    r = as_user(ctx, j, alice, '--json', 'runs')
    ctx.check(r.rc == 0 and r.json() == [], f'{alice} sees no run of others: {r.describe()}')


def test_jobs_run_as_their_owner(ctx):
    alice, bob = make_user(ctx, 'e'), make_user(ctx, 'f')
    j = shared_jobd(ctx)
    a = pwd.getpwnam(alice)
    r = as_user(ctx, j, alice, 'submit', '--name', 'who', '--wait', '--', 'sh', '-c', 'id -u; echo $HOME; pwd')
    ctx.check(r.rc == 0, f'{alice}\'s job runs: {r.describe()}')
    out = as_user(ctx, j, alice, 'logs', 'who').out.split('\n')
    ctx.check(out[:3] == [str(a.pw_uid), a.pw_dir, a.pw_dir],
              f'it runs as {alice}, in her home (id -u, $HOME, pwd): {out}')
    r = as_user(ctx, j, alice, 'submit', '--user', bob, '--', 'true')
    ctx.check(r.rc == 5 and 'only an admin may choose the user' in r.err, f'{alice} cannot run as {bob}: {r.describe()}')
    r = as_user(ctx, j, alice, 'submit', '--user', 'root', '--', 'true')
    ctx.check(r.rc == 5, f'nor as root: {r.describe()}')
    r = j.ctl('submit', '--name', 'for-bob', '--user', bob, '--wait', '--', 'id', '-un')
    ctx.check(r.rc == 0 and j.ok('logs', 'for-bob').out.strip() == bob, f'an admin may: {r.describe()}')
    shown = j.json('show', f'{alice}/who')
    ctx.check(shown.get('user') == alice, f'show names the user: {shown}')


def test_tokens_and_roles(ctx):
    j = shared_jobd(ctx, config='listen = "127.0.0.1:0"\n')
    address = j.status()['listen']

    def remote(path, *args):
        return run_jobctl(ctx.jobctl_path, ['--server', address, '--token-file', path] + list(args))

    viewer = j.api_token('dash', role='viewer', namespace='team')
    operator = j.api_token('ci', role='operator', namespace='team')
    r = remote(viewer, 'submit', '--', 'true')
    ctx.check(r.rc == 5 and 'submit needs the operator role; you are token dash (viewer)' in r.err,
              f'a viewer token cannot submit: {r.describe()}')
    r = remote(operator, 'submit', '--name', 'build', '--at', '2099-01-01T00:00:00Z', '--', 'true')
    ctx.check(r.rc == 0, f'an operator token submits into its namespace: {r.describe()}')
    listed = remote(viewer, '--json', 'list')
    ctx.check(listed.rc == 0 and [x['name'] for x in listed.json()] == ['build'] and
              listed.json()[0]['namespace'] == 'team', f'the viewer reads its namespace: {listed.describe()}')
    ctx.check(all(x['namespace'] == 'root' for x in j.json('list') if x['name'] != 'build'), 'root\'s own jobs')
    r = remote(operator, 'token', 'list')
    ctx.check(r.rc == 5, f'tokens are for admins: {r.describe()}')
    tokens = j.json('token', 'list')
    ctx.check(sorted(t['name'] for t in tokens) == ['ci', 'dash'] and all('secret' not in t for t in tokens),
              f'token list shows no secret: {tokens}')
    secret = open(operator).read().strip()
    db = os.path.join(j.state_dir, 'jobd.db')
    ctx.check(secret.encode() not in open(db, 'rb').read(), 'the database keeps only a hash of the secret')
    # A connection open with the token is cut when it is revoked.
    host, port = address.rsplit(':', 1)
    c = RawClient((host, int(port)))
    c.request({'id': 1, 'op': 'auth', 'token': secret})
    ctx.check(c.read_json().get('ok') is True, 'the operator token authenticates')
    j.ok('token', 'revoke', 'ci')
    ctx.check(c.at_eof(timeout=10), 'its open connection is closed on revoke')
    r = remote(operator, 'list')
    ctx.check(r.rc == 5 and 'wrong token' in r.err, f'a revoked token is refused: {r.describe()}')
    r = j.ctl('token', 'revoke', 'ci')
    ctx.check(r.rc == 3, f'revoking it again: not found: {r.describe()}')
    r = j.ctl('token', 'create', 'x/y', '--role', 'viewer')
    ctx.check(r.rc == 2, f'a bad token name: exit 2: {r.describe()}')


def test_every_mutation_is_audited(ctx):
    alice = make_user(ctx, 'c')
    j = shared_jobd(ctx)
    r = as_user(ctx, j, alice, 'submit', '--name', 'nightly', '--schedule', '0 3 * * *', '--', 'true')
    ctx.check(r.rc == 0, r.describe())
    as_user(ctx, j, alice, 'pause', 'nightly')
    r = as_user(ctx, j, alice, 'submit', '--schedule', 'not cron', '--', 'true')
    ctx.check(r.rc == 2, f'an invalid cron: exit 2: {r.describe()}')
    j.ok('token', 'create', 'robot', '--role', 'viewer')
    j.ok('delete', f'{alice}/nightly')
    j.ok('list')  # not a mutation: not audited
    entries = j.json('audit')
    seen = [(e['who'], e['op'], e['target'], e['ok']) for e in entries]
    expected = [(alice, 'submit', f'{alice}/nightly', True), (alice, 'pause', f'{alice}/nightly', True),
                (alice, 'submit', '', False), ('root', 'token_create', 'robot', True),
                ('root', 'delete', f'{alice}/nightly', True)]
    ctx.check(seen == expected, f'the audit table:\n{seen}\nexpected\n{expected}')
    failed = entries[2]
    ctx.check(failed['result'].startswith('invalid_cron') and failed['from'] == f'uid {pwd.getpwnam(alice).pw_uid}',
              f'a failure is recorded with its reason and where from: {failed}')
    c = RawClient(j.socket)
    c.request({'id': 1, 'op': 'cancel', 'job': 5})  # a field of the wrong type
    ctx.check(c.read_json().get('error', {}).get('code') == 'bad_request', 'a wrongly typed field: bad_request')
    last = j.json('audit')[-1]
    ctx.check(last['op'] == 'cancel' and last['ok'] is False and last['result'].startswith('bad_request'),
              f'and it is audited as refused: {last}')
    expected.append(('root', 'cancel', '', False))
    r = j.ctl('audit', '--since', '2099-01-01T00:00:00Z', '--json')
    ctx.check(r.rc == 0 and r.json() == [], f'--since: {r.describe()}')
    # It is durable: it survives kill -9.
    j.kill9()
    j.start()
    ctx.check(len(j.json('audit')) == len(expected), 'the audit table survives a kill -9')


def test_limits_turn_abusers_away(ctx):
    alice = make_user(ctx, 'd')
    j = shared_jobd(ctx, config='submit_rate = 1\nsubmit_burst = 2\nmax_request_bytes = 4096\nidle_timeout = "1s"\n')
    codes = [as_user(ctx, j, alice, 'submit', '--at', '2099-01-01T00:00:00Z', '--', 'true').rc for _ in range(3)]
    ctx.check(codes[:2] == [0, 0] and codes[2] == 7, f'2 submits in a burst, then exit 7: {codes}')
    r = as_user(ctx, j, alice, 'submit', '--at', '2099-01-01T00:00:00Z', '--', 'true')
    ctx.check('over its submit rate' in r.err or r.rc == 0, f'the reason: {r.describe()}')
    r = j.ctl('submit', '--at', '2099-01-01T00:00:00Z', '--', 'true')
    ctx.check(r.rc == 0, f'another identity is not limited by alice\'s rate: {r.describe()}')
    c = RawClient(j.socket)
    c.send('{"id":1,"op":"status","pad":"' + 'x' * 8000 + '"}\n')
    reply = c.read_json()
    ctx.check(reply.get('error', {}).get('code') == 'bad_request' and 'max_request_bytes' in
              reply['error']['message'], f'a request over max_request_bytes: {reply}')
    ctx.check(c.at_eof(), 'and the connection is closed')
    idle = RawClient(j.socket)
    waiting = RawClient(j.socket)
    job = j.submit('--at', '2099-01-01T00:00:00Z', '--', 'true')
    waiting.request({'id': 1, 'op': 'wait', 'job': job})
    reply = idle.read_json(timeout=10)
    ctx.check(reply is not None and 'idle_timeout' in reply.get('error', {}).get('message', ''),
              f'an idle connection is told and closed: {reply}')
    ctx.check(idle.at_eof(), 'the idle connection is closed')
    j.ok('trigger', job)
    reply = waiting.read_json(timeout=10)
    ctx.check(reply.get('ok') is True, f'a client waiting for a run is not idle: {reply}')
    j.ok('status')


if __name__ == '__main__':
    h.main('security', [
        test_users_own_their_jobs_like_crontabs,
        test_jobs_run_as_their_owner,
        test_tokens_and_roles,
        test_every_mutation_is_audited,
        test_limits_turn_abusers_away,
    ])
