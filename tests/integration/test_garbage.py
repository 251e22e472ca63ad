#!/usr/bin/python3
"""The raw socket: jobd must answer garbage with errors, close only what it
must, and keep serving everyone else; never crash, never block.

    test_garbage.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

Random garbage, invalid JSON, JSON that is not an object, unknown ops, fields
of the wrong type, a frame over 64 MiB, clients that vanish mid-request, 200
connections at once, and a client that sends without ever reading. After
each, jobd must still be alive and answer `jobctl status`.

The random cases use a seeded generator: the seed is printed, and
$JOBD_TEST_SEED=N replays a run.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import Failure, RawClient, wait_until

SEED = int(os.environ.get('JOBD_TEST_SEED') or random.SystemRandom().randrange(2 ** 32))
MAX_FRAME = 64 << 20
ROUNDS = 150  # connections fed random garbage


def healthy(ctx, j, after):
    """jobd's process is alive and `jobctl status` is answered."""
    ctx.check(j.alive(), f'jobd died after {after}: exit status {j.proc.poll()}\n{j.log_tail()}')
    r = j.ctl('--json', 'status', timeout=30)
    ctx.check(r.rc == 0 and r.json().get('pid') == j.pid, f'jobd does not answer status after {after}: {r.describe()}')


def is_error(reply, code='bad_request'):
    return isinstance(reply, dict) and reply.get('ok') is False and reply.get('error', {}).get('code') == code


def garbage(rng):
    """Random bytes of one of three kinds: anything, printable with JSON's
    punctuation, or lines that look almost like requests."""
    n = rng.randrange(1, 8192)
    kind = rng.randrange(3)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(n))
    if kind == 1:
        alphabet = b'{}[]":,\\ \t\r\n0123456789abcdefnulltrue-+.eE\x00\x7f\xff'
        return bytes(rng.choice(alphabet) for _ in range(n))
    lines = []
    for _ in range(rng.randrange(1, 20)):
        good = '{"id":%d,"op":"status"}' % rng.randrange(1000)
        cut = rng.randrange(len(good))
        line = good[:cut] + rng.choice(['', '}', '{', '"', ',', 'x', '\x00', '\\']) + good[cut + 1:]
        try:  # some cuts leave valid JSON, which jobd may rightly serve: spoil it
            json.loads(line)
            line += '{'
        except ValueError:
            pass
        lines.append(line)
    return '\n'.join(lines).encode() + rng.choice([b'', b'\n', b'\r\n'])


def test_random_garbage(ctx):
    rng = random.Random(SEED)
    j = ctx.jobd()
    for n in range(ROUNDS):
        c = RawClient(j.socket)
        sent = b''
        for _ in range(rng.randrange(1, 6)):
            chunk = garbage(rng)
            c.send(chunk)
            sent += chunk
        if rng.random() < 0.25:  # hang up in the middle of it all
            c.close()
            ctx.check(j.alive(), f'jobd died after garbage round {n} (seed {SEED})\n{j.log_tail()}')
            continue
        sent += b'\n'
        c.send(b'\n')
        lines = [l[:-1] if l.endswith(b'\r') else l for l in sent.split(b'\n')[:-1]]
        expected = sum(1 for l in lines if l)
        probe = {'id': f'probe-{n}', 'op': 'status'}
        c.request(probe)
        replies = []
        while True:
            reply = c.read_json(timeout=20)
            if reply.get('id') == probe['id']:
                break
            replies.append(reply)
        ctx.check(reply.get('ok') is True, f'round {n} (seed {SEED}): status after garbage failed: {reply}')
        ctx.check(all(r.get('ok') is False and 'error' in r for r in replies),
                  f'round {n} (seed {SEED}): garbage should get error replies only: '
                  f'{[r for r in replies if r.get("ok") is not False][:3]}')
        ctx.check(len(replies) == expected,
                  f'round {n} (seed {SEED}): {expected} non-empty garbage lines got {len(replies)} replies')
        c.close()
    healthy(ctx, j, f'{ROUNDS} rounds of garbage (seed {SEED})')


def test_invalid_json_lines(ctx):
    j = ctx.jobd()
    c = RawClient(j.socket)
    ctx.check(c.hello.get('hello') == 'jobd' and c.hello.get('protocol') == 1, f'hello: {c.hello}')
    lines = [b'{"op":"status"', b'{op:"status"}', b'{"op":"status"}}', b'{"op":"status",}', b'nul',
             b"{'op':'status'}", b'{"op":"status"} trailing', b'{"op":"st\xffatus"}', b'\x00\x01\x02',
             b'{"op":"status","id":1e999999}', b'[' * 100000, b'{"a":' * 100000 + b'1' + b'}' * 99999]
    for i, line in enumerate(lines):
        c.send(line + b'\n')
        reply = c.read_json()
        ctx.check(is_error(reply) and reply.get('id') is None,
                  f'invalid JSON {line[:60]!r}: expected an error reply with code bad_request and id null, '
                  f'got {reply}')
        ok = c.call({'id': i, 'op': 'status'})
        ctx.check(ok.get('ok') is True, f'the connection should stay usable after {line[:60]!r}: {ok}')
    c.close()
    healthy(ctx, j, 'invalid JSON lines')


def test_json_that_is_not_an_object(ctx):
    j = ctx.jobd()
    for line in (b'[1,2]', b'"status"', b'42', b'null', b'true', b'[]', b'[{"op":"status"}]'):
        c = RawClient(j.socket)
        c.send(line + b'\n')
        reply = c.read_json()
        ctx.check(is_error(reply), f'{line!r} is not a request: expected an error reply (bad_request), got {reply}')
        c.close()
        ctx.check(j.alive(), f'jobd died after {line!r}\n{j.log_tail()}')
    healthy(ctx, j, 'JSON lines that are not objects')


def test_unknown_op(ctx):
    j = ctx.jobd()
    c = RawClient(j.socket)
    reply = c.call({'id': 7, 'op': 'frobnicate'})
    ctx.check(is_error(reply) and 'frobnicate' in reply['error'].get('message', ''),
              f'an unknown op should get error code bad_request naming it, id echoed: {reply}')
    for request in ({'id': 8}, {'id': 9, 'op': ''}, {'id': [1, {'x': None}], 'op': 'nope'}):
        reply = c.call(request)
        ctx.check(is_error(reply), f'{request}: expected error code bad_request: {reply}')
    ok = c.call({'id': 10, 'op': 'status'})
    ctx.check(ok.get('ok') is True, f'the connection should stay usable: {ok}')
    c.close()
    healthy(ctx, j, 'unknown ops')


def test_fields_of_the_wrong_type(ctx):
    # Each request is valid JSON with a known op, but a field has the wrong
    # type: it deserves an error reply, like any other bad request.
    j = ctx.jobd()
    requests = [
        {'id': 1, 'op': 5},
        {'id': 2, 'op': 'list', 'all': 'yes'},
        {'id': 3, 'op': 'runs', 'limit': 'ten'},
        {'id': 4, 'op': 'runs', 'limit': None},
        {'id': 5, 'op': 'show', 'job': 7},
        {'id': 6, 'op': 'wait', 'run': ['r1']},
        {'id': 7, 'op': 'submit', 'job': {'argv': 'true'}},
        {'id': 8, 'op': 'submit', 'job': {'argv': ['true'], 'priority': '9'}},
        {'id': 9, 'op': 'submit', 'job': {'argv': ['true'], 'env': {'A': 1}}},
        {'id': 10, 'op': 'submit', 'job': 'true'},
    ]
    crashed = []
    for request in requests:
        c = RawClient(j.socket)
        c.request(request)
        line = c.read_line(timeout=20)
        c.close()
        if line is None or not j.alive():
            try:
                j.proc.wait(timeout=h.scaled(10))
            except subprocess.TimeoutExpired:
                raise Failure(f'{json.dumps(request)}: jobd closed the connection without a reply')
            j.exit_expected = True
            crashed.append(request)
            j.start()  # on the same state, for the next request
            continue
        reply = json.loads(line)
        ctx.check(reply.get('ok') is False and reply.get('id') == request['id'],
                  f'{json.dumps(request)}: expected an error reply with its id, got {reply}')
    ctx.check(not crashed, f'jobd crashed (uncaught exception, see its log) on {len(crashed)} requests:\n  ' +
              '\n  '.join(json.dumps(r) for r in crashed) + '\n' + '\n'.join(
                  j.log_tail(4, path=p) for p in j.log_paths[:-1]),
              bug='BUG-1 (a field of the wrong type crashes jobd)')
    healthy(ctx, j, 'fields of the wrong type')


def test_frame_over_1mib(ctx):
    j = ctx.jobd()
    # Just under the limit: a long but valid request is served.
    c = RawClient(j.socket)
    head = b'{"id":1,"op":"status","pad":"'
    big = head + b'a' * (MAX_FRAME - len(head) - 2) + b'"}'
    ctx.check(len(big) == MAX_FRAME, 'test bug: frame size')
    c.send(big + b'\n')
    reply = c.read_json(timeout=20)
    ctx.check(reply.get('ok') is True and reply.get('id') == 1, f'a request of exactly 64 MiB should be served: '
                                                                f'{str(reply)[:300]}')
    c.close()

    for ending in (b'', b'\n'):
        c = RawClient(j.socket)
        payload = b'x' * (MAX_FRAME + 65536) + ending

        def send():
            try:
                c.sock.sendall(payload)
            except OSError:
                pass  # jobd closed the connection: expected
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        reply = c.read_json(timeout=20)
        ctx.check(is_error(reply) and 'max_request_bytes' in reply['error'].get('message', ''),
                  f'a frame over 64 MiB should get an error reply (bad_request): {str(reply)[:300]}')
        ctx.check(c.at_eof(timeout=20), 'jobd should close the connection after a frame over 64 MiB')
        sender.join(timeout=h.scaled(20))
        c.close()
        healthy(ctx, j, f'a frame over 64 MiB{" ending in a newline" if ending else ""}')


def test_clients_that_vanish(ctx):
    rng = random.Random(SEED + 1)
    j = ctx.jobd()
    for i in range(100):
        kind = i % 4
        if kind == 0:  # connect, leave before the hello
            c = RawClient(j.socket, read_hello=False)
        elif kind == 1:  # half a request, then gone
            c = RawClient(j.socket)
            c.send('{"id":1,"op":"sta'[:rng.randrange(1, 18)])
        elif kind == 2:  # a whole request, gone before the reply
            c = RawClient(j.socket, read_hello=False)
            c.request({'id': 1, 'op': rng.choice(['status', 'list', 'runs'])})
        else:  # half a request, then half-closed: jobd should close its side too
            c = RawClient(j.socket)
            c.send('{"id":1,"op":')
            c.sock.shutdown(socket.SHUT_WR)
            ctx.check(c.at_eof(timeout=10), 'jobd should close a half-closed connection with nothing to answer')
        c.close()
    ctx.check(j.alive(), f'jobd died\n{j.log_tail()}')
    wait_until(lambda: h.client_sockets(j.pid) == 0, 10,
               f'jobd to close the connections of clients that left (holds {h.client_sockets(j.pid)})')

    # Half-closed after a whole request (as `echo ... | socat` does): the
    # reply still comes, then the end of the stream.
    c = RawClient(j.socket)
    c.request({'id': 'half', 'op': 'status'})
    c.sock.shutdown(socket.SHUT_WR)
    reply = c.read_json()
    ctx.check(reply.get('id') == 'half' and reply.get('ok') is True, f'a half-closed client gets its reply: {reply}')
    ctx.check(c.at_eof(timeout=10), 'then jobd closes the connection')
    c.close()
    healthy(ctx, j, 'clients that vanished mid-request')


def test_clients_that_vanish_while_waiting(ctx):
    j = ctx.jobd()
    j.submit('--name', 'later', '--at', h.rfc3339(time.time() + 3600), '--', 'true')
    for i in range(20):
        c = RawClient(j.socket)
        c.request({'id': i, 'op': 'wait', 'job': 'later'})
        c.close()
    healthy(ctx, j, 'clients that left while waiting')
    held = []

    def released():
        held.append(h.client_sockets(j.pid))
        return held[-1] == 0
    try:
        wait_until(released, 2, 'jobd to close the connections of 20 clients that left while waiting',
                   scale=False)
    except Failure as e:
        raise Failure(f'{e}: jobd still holds {held[-1]} connections, until the run they waited for ends '
                      f'(in an hour)', bug='BUG-3 (abandoned waits leak a connection each)')


def test_200_connections_at_once(ctx):
    j = ctx.jobd()
    clients = [RawClient(j.socket) for _ in range(200)]
    ctx.check(all(c.hello.get('hello') == 'jobd' for c in clients), 'every connection should get the hello')
    for c in clients[::2]:
        c.send('{"id":1,"op":"sta')  # half a request, pending
    started = time.monotonic()
    healthy(ctx, j, '200 connections opened')
    ctx.check(time.monotonic() - started < h.scaled(5), 'status took over 5s with 200 connections open')
    for i, c in enumerate(clients):
        if i % 2 == 0:
            c.send('tus"}\n')
        else:
            c.request({'id': 1, 'op': 'status'})
    for c in clients:
        reply = c.read_json(timeout=20)
        ctx.check(reply.get('id') == 1 and reply.get('ok') is True, f'a connection of the 200 got {reply}')
    ctx.check(h.client_sockets(j.pid) >= 200, 'jobd should hold the 200 connections')
    # Idle connections must not hold up a stop.
    j.stop()
    for c in clients:
        c.close()


def test_connections_per_peer_are_capped(ctx):
    j = ctx.jobd(config='max_connections_per_peer = 5\n')
    me = f'uid {os.getuid()}'
    clients = [h.RawClient(j.socket) for _ in range(5)]
    ctx.check(all(c.hello.get('hello') == 'jobd' for c in clients), 'five connections get the hello')
    extra = h.RawClient(j.socket)
    ctx.check(extra.hello.get('ok') is False and extra.hello['error']['code'] == 'unavailable' and
              f'too many connections from {me} (5 open' in extra.hello['error']['message'],
              f'the sixth gets why, in place of the hello: {extra.hello}')
    ctx.check(extra.read_line(timeout=10) is None, 'and is closed')
    r = j.ctl('status')
    ctx.check(r.rc == 4 and 'too many connections' in r.err, f'jobctl says so, exit 4: {r.rc} {r.err!r}')
    ctx.check(j.log().count('refusing more') == 1, 'the log says it once, however many are refused')
    clients.pop().close()
    wait_until(lambda: j.ctl('status').rc == 0, 10, 'a connection to be free again')
    for c in clients:
        c.request({'id': 2, 'op': 'status'})
        ctx.check(c.read_json().get('ok') is True, 'the others keep being served')


def test_client_that_never_reads(ctx):
    j = ctx.jobd()
    c = RawClient(j.socket)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before = h.rss_kib(j.pid)
    count = 300000
    requests = b''.join(b'{"id":%d,"op":"status"}\n' % i for i in range(count))
    outcome = []

    def send():
        c.sock.settimeout(h.scaled(30))
        try:
            c.sock.sendall(requests)
            outcome.append('sent')
        except socket.timeout:
            outcome.append('jobd stopped reading')
        except OSError as e:
            outcome.append(f'jobd closed: {e}')
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    healthy(ctx, j, 'a client started sending without reading')
    sender.join(timeout=h.scaled(60))
    ctx.check(outcome, 'sending the requests did not finish')
    peak = h.rss_kib(j.pid)
    healthy(ctx, j, f'{count} requests from a client that does not read ({outcome[0]})')
    wait_until(lambda: 'does not read' in j.log(), 10, 'jobd to log that it drops the client that does not read')
    if not h.ASAN:  # AddressSanitizer keeps freed memory in quarantine: RSS says little
        ctx.check(peak - before < 150 * 1024,
                  f'jobd grew from {before} KiB to {peak} KiB for one client that does not read')
    # Now read: what jobd queued, then the end of the stream.
    replies = 0
    c.sock.settimeout(h.scaled(20))
    buffered = b''
    while True:
        try:
            chunk = c.sock.recv(1 << 20)
        except ConnectionResetError:
            break
        except socket.timeout:
            raise Failure(f'jobd neither sent more nor closed the connection of a client that does not read '
                          f'({replies} replies so far)')
        if not chunk:
            break
        buffered += chunk
        replies += buffered.count(b'\n')
        buffered = buffered[buffered.rfind(b'\n') + 1:]
    ctx.check(0 < replies < count, f'jobd should drop a client that does not read: it sent {replies} replies to '
                                   f'{count} requests')
    print(f'   the client that never read got {replies} of {count} replies, then the end of the stream; '
          f'jobd RSS {before} -> {peak} KiB', flush=True)
    c.close()
    healthy(ctx, j, 'dropping a client that does not read')


def test_stop_while_a_client_never_reads(ctx):
    # Replies pile up unsent for a client that does not read; SIGTERM must
    # still stop jobd (with no run running, at once).
    j = ctx.jobd()
    c = RawClient(j.socket)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.send(b''.join(b'{"id":%d,"op":"status"}\n' % i for i in range(20000)))
    healthy(ctx, j, 'a client sent 20000 requests and read nothing')
    j.signal(signal.SIGTERM)
    j.exit_expected = True
    try:
        rc = j.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        c.close()
        rc = j.wait_exit(10)
        raise Failure(f'jobd did not exit within 5s of SIGTERM while a client that does not read '
                      f'its replies was connected; it exited (status {rc}) only when that client closed the '
                      f'connection\n{j.log_tail()}', bug='BUG-4 (a client that does not read blocks the stop)')
    c.close()
    ctx.check(rc == 0, f'jobd should exit 0 after SIGTERM, exited {rc}\n{j.log_tail()}')


if __name__ == '__main__':
    print(f'seed {SEED} (replay with JOBD_TEST_SEED={SEED})', flush=True)
    h.main('the socket, abused', [
        test_random_garbage,
        test_invalid_json_lines,
        test_json_that_is_not_an_object,
        test_unknown_op,
        test_fields_of_the_wrong_type,
        test_frame_over_1mib,
        test_clients_that_vanish,
        test_clients_that_vanish_while_waiting,
        test_200_connections_at_once,
        test_connections_per_peer_are_capped,
        test_client_that_never_reads,
        test_stop_while_a_client_never_reads,
    ])
