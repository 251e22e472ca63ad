#!/usr/bin/python3
"""TLS on jobd's TCP listener (tls_cert, tls_key, tls_client_ca in
jobd.toml), for jobctl --server --tls-ca and for workers (tls_ca), against a
real jobd and the real jobctl.

    test_tls.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

A CA, a server certificate for IP 127.0.0.1, a client certificate and a
second, unrelated CA are made with the openssl command in a temporary
directory. Over TLS, jobctl submits and lists as over plain TCP, the token
still asked for; a client speaking plain text to the TLS port is logged and
disconnected while jobd serves on; a server its CA did not sign, or a name
the certificate does not carry, is exit 4 with OpenSSL's reason. With
tls_client_ca, a worker with its certificate registers and runs a job, and a
jobctl without one is refused (exit 4). Certificate files that are missing or
do not match refuse to start, naming the file. A listener on a non-loopback
address without TLS refuses to start unless insecure_tcp = true, and then
`jobctl status` warns. Waiting is polling with a deadline.
"""

import json
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import RawClient, run_jobctl, wait_until

TOKEN = 'dGxzLXRlc3QtdG9rZW4tMTIzNDU2Nzg5MA=='


def openssl(*args, cwd):
    p = subprocess.run(['openssl'] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise h.Failure(f'openssl {" ".join(args)}: {p.stderr}')


def make_ca(d, name):
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
            '-keyout', f'{name}.key', '-out', f'{name}.pem', '-subj', f'/CN={name}',
            '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
            cwd=d)


def make_cert(d, ca, name, ext):
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f'{name}.key',
            '-out', f'{name}.csr', '-subj', f'/CN={name}', cwd=d)
    with open(os.path.join(d, f'{name}.ext'), 'w') as f:
        f.write(ext)
    openssl('x509', '-req', '-in', f'{name}.csr', '-CA', f'{ca}.pem', '-CAkey', f'{ca}.key', '-CAcreateserial',
            '-days', '2', '-out', f'{name}.pem', '-extfile', f'{name}.ext', cwd=d)


class Pki:
    """ca.pem signs server.pem (IP 127.0.0.1) and client.pem; other.pem is a
    CA that signed nothing of ours."""

    def __init__(self, ctx):
        self.dir = ctx.tempdir()
        make_ca(self.dir, 'ca')
        make_ca(self.dir, 'other')
        make_cert(self.dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
        make_cert(self.dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n')

    def __getattr__(self, name):  # pki.ca -> .../ca.pem, pki.client_key -> .../client.key
        if name.endswith('_key'):
            return os.path.join(self.dir, name[:-4] + '.key')
        return os.path.join(self.dir, name + '.pem')


def token_file(ctx):
    path = os.path.join(ctx.tempdir(), 'token')
    with open(path, 'w') as f:
        f.write(TOKEN + '\n')
    os.chmod(path, 0o600)
    return path


def tls_jobd(ctx, pki, extra='', slots=2):
    """A jobd speaking TLS on 127.0.0.1 (a port of its choice); and its HOST:PORT."""
    config = (f'listen = "127.0.0.1:0"\ntoken_file = "{token_file(ctx)}"\n'
              f'tls_cert = "{pki.server}"\ntls_key = "{pki.server_key}"\n' + extra)
    j = ctx.jobd(slots=slots, config=config)
    address = j.status()['listen']
    ADMIN_TOKENS[address] = j.api_token('admin')
    return j, address


# jobd's address -> the file of an admin token made on its Unix socket.
ADMIN_TOKENS = {}


def remote(ctx, address, *args, tls=(), env=None):
    """jobctl --server ADDRESS --token-file T [TLS options] ARGS..., T an
    admin token of the jobd at ADDRESS (the cluster token is for workers)."""
    path = ADMIN_TOKENS.get(address) or ADMIN_TOKENS.get('127.0.0.1:' + address.rsplit(':', 1)[1])
    return run_jobctl(ctx.jobctl_path, ['--server', address, '--token-file', path] + list(tls) + list(args), env=env)


def refused_start(ctx, config, *flags):
    """jobd with `config` as jobd.toml, expected to refuse to start: (exit status, what it said)."""
    root = ctx.tempdir()
    path = os.path.join(root, 'jobd.toml')
    with open(path, 'w') as f:
        f.write(config)
    p = subprocess.run([ctx.jobd_path, '--state-dir', os.path.join(root, 'state'), '--socket',
                        os.path.join(root, 's.sock'), '--jobs-dir', os.path.join(root, 'jobs.d'), '--config', path]
                       + list(flags), capture_output=True, text=True, timeout=h.scaled(30))
    return p.returncode, p.stdout + p.stderr


def test_jobctl_over_tls(ctx):
    pki = Pki(ctx)
    j, address = tls_jobd(ctx, pki)
    ctx.check(j.status()['tls'] is True and j.status()['warnings'] == [], f'status says TLS: {j.status()}')
    tls = ['--tls-ca', pki.ca]
    r = remote(ctx, address, 'submit', '--name', 'secret', '--wait', '--', 'sh', '-c', 'echo over tls', tls=tls)
    ctx.check(r.rc == 0, f'submit --wait over TLS: {r.describe()}')
    listed = remote(ctx, address, '--json', 'list', tls=tls)
    ctx.check(listed.rc == 0 and any(job['name'] == 'secret' for job in json.loads(listed.out)),
              f'list over TLS: {listed.describe()}')
    logs = remote(ctx, address, 'logs', 'secret', tls=tls)
    ctx.check(logs.rc == 0 and logs.out == 'over tls\n', f'logs over TLS: {logs.describe()}')
    env = dict(os.environ, JOBCTL_TLS_CA=pki.ca)
    r = remote(ctx, address, 'runs', 'secret', env=env)
    ctx.check(r.rc == 0 and 'succeeded' in r.out, f'$JOBCTL_TLS_CA: {r.describe()}')
    # It waits for a hello that TLS holds back until jobd drops it (no token within 10 s).
    r = remote(ctx, address, 'list')
    ctx.check(r.rc == 4 and '--tls-ca' in r.err, f'plain jobctl on the TLS port: exit 4: {r.describe()}')
    ctx.check(TOKEN not in j.log(), 'no token is ever logged')


def test_plain_text_client_is_disconnected(ctx):
    pki = Pki(ctx)
    j, address = tls_jobd(ctx, pki)
    host, port = address.rsplit(':', 1)
    c = RawClient((host, int(port)), read_hello=False)
    c.send(json.dumps({'id': 1, 'op': 'auth', 'token': TOKEN}) + '\n')
    ctx.check(c.at_eof(), 'a client speaking plain text is disconnected')
    wait_until(lambda: j.log().count('TLS handshake failed') == 1, 10, 'one line in the log')
    ctx.check(f'tcp client {host}:' in j.log(), f'naming the client\n{j.log_tail()}')
    r = remote(ctx, address, 'status', tls=['--tls-ca', pki.ca])
    ctx.check(r.rc == 0, f'jobd serves on over TLS: {r.describe()}')
    j.ok('status')


def test_unverified_server_exits_4(ctx):
    pki = Pki(ctx)
    j, address = tls_jobd(ctx, pki)
    r = remote(ctx, address, 'list', tls=['--tls-ca', pki.other])
    ctx.check(r.rc == 4 and 'certificate verify failed' in r.err, f'a server the CA did not sign: {r.describe()}')
    port = address.rsplit(':', 1)[1]
    r = remote(ctx, f'localhost:{port}', 'list', tls=['--tls-ca', pki.ca])
    ctx.check(r.rc == 4 and 'certificate verify failed' in r.err,
              f'a name the certificate does not carry (it has IP 127.0.0.1 only): {r.describe()}')
    r = remote(ctx, address, 'list', tls=['--tls-ca', os.path.join(pki.dir, 'absent.pem')])
    ctx.check(r.rc == 2 and 'absent.pem' in r.err, f'a CA file that is not there: {r.describe()}')
    j.ok('status')


class Worker(h.Jobd):
    """jobd --join ADDRESS with `config` (its TLS settings) as jobd.toml."""

    def __init__(self, ctx, address, name, config):
        super().__init__(ctx, ctx.tempdir(), slots=2, config=config, label=name)
        self.address = address
        self.name = name

    def command(self):
        return super().command() + ['--join', self.address, '--name', self.name]


def test_mutual_tls(ctx):
    pki = Pki(ctx)
    coord, address = tls_jobd(ctx, pki, extra=f'tls_client_ca = "{pki.ca}"\nname = "coord"\n', slots=0)
    worker = Worker(ctx, address, 'w1', f'token_file = "{token_file(ctx)}"\ntls_ca = "{pki.ca}"\n'
                                        f'tls_cert = "{pki.client}"\ntls_key = "{pki.client_key}"\n').spawn()
    wait_until(lambda: not worker.alive() or any(w['name'] == 'w1' and w['connected'] and w['state'] == 'ready'
                                                 for w in coord.json('workers')), 15, 'the worker to register')
    ctx.check(worker.alive(), f'the worker runs\n{worker.log_tail()}')
    ctx.check('over TLS' in worker.log(), f'it says it joins over TLS\n{worker.log_tail()}')
    coord.submit('--name', 'remote', '--', 'true')
    wait_until(lambda: coord.runs('remote') and coord.runs('remote')[0]['state'] == 'succeeded', 15,
               'a run on the worker')
    r = remote(ctx, address, 'list', tls=['--tls-ca', pki.ca])
    ctx.check(r.rc == 4 and 'certificate' in r.err, f'jobctl without a certificate is refused: {r.describe()}')
    wait_until(lambda: 'TLS' in coord.log() and 'peer did not return a certificate' in coord.log(), 10,
               'the coordinator to log it')
    r = remote(ctx, address, 'list', tls=['--tls-ca', pki.ca, '--tls-cert', pki.client, '--tls-key', pki.client_key])
    ctx.check(r.rc == 0 and 'remote' in r.out, f'with its certificate it is served: {r.describe()}')
    env = dict(os.environ, JOBCTL_TLS_CA=pki.ca, JOBCTL_TLS_CERT=pki.client, JOBCTL_TLS_KEY=pki.client_key)
    r = remote(ctx, address, 'status', env=env)
    ctx.check(r.rc == 0, f'$JOBCTL_TLS_CERT and $JOBCTL_TLS_KEY: {r.describe()}')
    # A worker whose certificate another CA signed is refused, and says why.
    other = Worker(ctx, address, 'w2', f'token_file = "{token_file(ctx)}"\ntls_ca = "{pki.ca}"\n'
                                       f'tls_cert = "{pki.other}"\ntls_key = "{pki.other_key}"\n').spawn()
    wait_until(lambda: 'TLS with' in other.log(), 15, 'the second worker to be refused')
    ctx.check(all(w['name'] != 'w2' for w in coord.json('workers')), 'it is not registered')


def test_sighup_keeps_tls_until_a_restart(ctx):
    pki = Pki(ctx)
    j, address = tls_jobd(ctx, pki)
    with open(os.path.join(j.root, f'{j.label}.toml'), 'w') as f:
        f.write(f'listen = "127.0.0.1:0"\ntoken_file = "{token_file(ctx)}"\n')
    j.signal(signal.SIGHUP)
    wait_until(lambda: 'tls_cert, tls_key, tls_client_ca and insecure_tcp take effect when jobd restarts' in j.log(),
               10, 'jobd to say TLS changes at its restart')
    r = remote(ctx, address, 'status', tls=['--tls-ca', pki.ca])
    ctx.check(r.rc == 0, f'still TLS: {r.describe()}')


def test_bad_certificate_files_refuse_to_start(ctx):
    pki = Pki(ctx)
    base = f'listen = "127.0.0.1:0"\ntoken_file = "{token_file(ctx)}"\n'
    missing = os.path.join(pki.dir, 'missing.pem')
    rc, said = refused_start(ctx, base + f'tls_cert = "{missing}"\ntls_key = "{pki.server_key}"\n')
    ctx.check(rc != 0 and missing in said and 'No such file' in said, f'a missing tls_cert: {rc} {said}')
    rc, said = refused_start(ctx, base + f'tls_cert = "{pki.server}"\ntls_key = "{pki.client_key}"\n')
    ctx.check(rc != 0 and 'does not match' in said and pki.client_key in said, f'a key of another: {rc} {said}')
    rc, said = refused_start(ctx, base + f'tls_cert = "{pki.server}"\n')
    ctx.check(rc == 2 and 'tls_key' in said, f'tls_cert without tls_key: {rc} {said}')


def test_non_loopback_needs_tls_or_insecure_tcp(ctx):
    base = f'listen = "0.0.0.0:0"\ntoken_file = "{token_file(ctx)}"\n'
    rc, said = refused_start(ctx, base)
    ctx.check(rc == 2 and 'set tls_cert and tls_key' in said and 'insecure_tcp = true' in said,
              f'0.0.0.0 in clear refuses to start: {rc} {said}')
    j = ctx.jobd(config=base + 'insecure_tcp = true\n')
    ctx.check('not encrypted' in j.log(), f'jobd warns in its log\n{j.log_tail()}')
    r = j.ctl('status')
    ctx.check(r.rc == 0 and 'warning: tcp' in r.out and 'not encrypted' in r.out, f'and in status: {r.describe()}')
    ctx.check(len(j.status()['warnings']) == 1, f'status --json has it: {j.status()}')
    pki = Pki(ctx)
    j = ctx.jobd(config=base + f'tls_cert = "{pki.server}"\ntls_key = "{pki.server_key}"\n')
    ctx.check(j.status()['warnings'] == [] and 'not encrypted' not in j.log(), '0.0.0.0 with TLS: no warning')


if __name__ == '__main__':
    h.main('jobd over TLS', [
        test_jobctl_over_tls,
        test_plain_text_client_is_disconnected,
        test_unverified_server_exits_4,
        test_mutual_tls,
        test_sighup_keeps_tls_until_a_restart,
        test_bad_certificate_files_refuse_to_start,
        test_non_loopback_needs_tls_or_insecure_tcp,
    ])
