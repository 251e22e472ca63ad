#!/usr/bin/python3
"""`jobd --keeper` on its own, told by hand what a worker tells it
(daemon/keeper_wire.hpp), then left as a dead worker leaves it: the end of
its socket.

    test_keeper.py PATH/TO/jobd PATH/TO/jobctl [-k SUBSTRING]...

The groups it was told of are killed, grandchildren included; a run held
but whose group it was never told is found by its JOBD_RUN_ID and killed;
an ended run's group and a stranger carrying another run's id are left
alone; a frame that does not parse ends it as the end of file does; SIGTERM
and SIGINT do not (it must outlive a worker stopped by them). Waiting is
polling with a deadline.
"""

import os
import signal
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import jobd_harness as h
from jobd_harness import wait_until

HOLD, STARTED, ENDED = 1, 2, 3


def frame(kind, payload):
    return struct.pack('=I', len(payload) + 1) + bytes([kind]) + payload


def hold(run):
    return frame(HOLD, struct.pack('=q', run) + f'JOBD_RUN_ID=r{run}'.encode() + b'\0')


def started(run, pid):
    return frame(STARTED, struct.pack('=qi', run, pid))


def ended(run):
    return frame(ENDED, struct.pack('=q', run))


class Keeper:
    def __init__(self, ctx):
        ours, theirs = socket.socketpair()
        self.sock = ours
        # Its socket on descriptor 3, as a worker gives it.
        n = theirs.fileno()
        self.proc = subprocess.Popen(['/bin/sh', '-c', f'exec "$0" --keeper 3<&{n} {n}<&-', ctx.jobd_path],
                                     pass_fds=[n])
        theirs.close()
        ctx.on_cleanup(self.proc.kill)

    def tell(self, data):
        self.sock.sendall(data)

    def wait(self):
        return wait_until(lambda: self.proc.poll() is not None, 10, 'the keeper to exit')


def run(ctx, run_id, m):
    """A run as a worker starts it: its own session, its JOBD_RUN_ID, and a
    grandchild (`sleep M & sleep M`)."""
    env = dict(os.environ, JOBD_RUN_ID=f'r{run_id}')
    p = subprocess.Popen(['/bin/sh', '-c', f'sleep {m} & sleep {m}'], env=env, start_new_session=True)
    ctx.on_cleanup(lambda: os.killpg(p.pid, signal.SIGKILL) if p.poll() is None else None)
    wait_until(lambda: len(h.sleeps_with(m)) == 2, 10, 'the run and its grandchild to start')
    return p


def test_end_of_file_kills_told_and_held_runs_only(ctx):
    k = Keeper(ctx)
    told, untold, over, stranger = (ctx.marker() for _ in range(4))
    p_told = run(ctx, 1, told)
    k.tell(hold(1) + started(1, p_told.pid))
    run(ctx, 2, untold)
    k.tell(hold(2))  # the worker died before it could say the group
    p_over = run(ctx, 3, over)
    k.tell(hold(3) + started(3, p_over.pid) + ended(3))
    run(ctx, 4, stranger)  # a run the keeper never heard of
    k.sock.close()
    k.wait()
    ctx.check(k.proc.returncode == 0, f'it exits 0 (status {k.proc.returncode})')
    wait_until(lambda: not h.sleeps_with(told), 10, 'the told run\'s group to die')
    wait_until(lambda: not h.sleeps_with(untold), 10, 'the held run to be found by its JOBD_RUN_ID and killed')
    ctx.check(len(h.sleeps_with(over)) == 2, 'an ended run\'s group is left alone')
    ctx.check(len(h.sleeps_with(stranger)) == 2, 'a run it was not told of is left alone')


def test_signals_do_not_end_it(ctx):
    k = Keeper(ctx)
    m = ctx.marker()
    p = run(ctx, 5, m)
    k.tell(hold(5) + started(5, p.pid))
    ignored = 1 << (signal.SIGTERM - 1) | 1 << (signal.SIGINT - 1) | 1 << (signal.SIGHUP - 1)

    def sig_ign():
        with open(f'/proc/{k.proc.pid}/status') as f:
            return int(next(line for line in f if line.startswith('SigIgn:')).split()[1], 16)
    wait_until(lambda: sig_ign() & ignored == ignored, 10, 'the keeper to ignore SIGTERM, SIGINT and SIGHUP')
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        k.proc.send_signal(sig)
    k.tell(hold(6))
    ctx.check(len(h.sleeps_with(m)) == 2, 'the run lives on')
    k.sock.close()
    k.wait()
    ctx.check(k.proc.returncode == 0, f'it ended at the end of file, not by a signal (status {k.proc.returncode})')
    wait_until(lambda: not h.sleeps_with(m), 10, 'the run to die at the end of file')


def test_garbage_ends_it_like_the_end_of_file(ctx):
    k = Keeper(ctx)
    m = ctx.marker()
    p = run(ctx, 7, m)
    k.tell(hold(7) + started(7, p.pid))
    k.tell(frame(99, b'what is this'))
    k.wait()
    wait_until(lambda: not h.sleeps_with(m), 10, 'the run it held to die')
    k2 = Keeper(ctx)
    k2.tell(struct.pack('=I', 0xFFFFFFF0) + b'\1')  # a frame too large to be a worker's
    k2.wait()
    ctx.check(k2.proc.returncode == 0, 'an oversized frame ends it too')


if __name__ == '__main__':
    h.main('jobd --keeper', [
        test_end_of_file_kills_told_and_held_runs_only,
        test_signals_do_not_end_it,
        test_garbage_ends_it_like_the_end_of_file,
    ])
