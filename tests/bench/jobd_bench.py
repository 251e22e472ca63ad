#!/usr/bin/python3
"""jobd's benchmarks, side by side with task-spooler and xargs on this machine.

    jobd_bench.py BUILD_DIR [--quick]

BUILD_DIR holds daemon/jobd, cmd/jobctl and tests/bench/submit_load. Each
benchmark starts a fresh jobd on a temporary state directory. Figures are
printed as they come, then once more as a summary table. These are whole-system
measurements on a shared machine: run it twice and quote medians.

  submit      durable submits/s with 1, 8 and 64 concurrent clients
  latency     submit latency p50/p99 at 5,000 submits/s (open loop)
  due         due -> process started, on an idle node (p50/p99)
  tsp         sequential CLI submits and end to end, jobctl vs task-spooler
  e2e         5,000 trivial jobs end to end vs xargs -P spawning them
  dag         a 10,000-task DAG of /bin/true: jobd's CPU per task run
  rss         jobd's RSS with 100,000 jobs defined
  concurrent  as many concurrent `sleep` runs as the pid and fd limits allow,
              with jobd's memory per running job and its descriptor count
  metrics     durable submits/s with 8 clients, metrics_listen off vs on with
              a scraper fetching /metrics every 100 ms: the endpoint's overhead
  workers     a coordinator with 10,000 simulated workers beating every second
              (CPU, RSS); due -> assigned on a remote worker (p50/p99); slot
              utilisation under a saturating load of short runs
  keeper      /bin/true spawned bare (the executor's spawn) and through a
              worker's keeper (tests/bench/keeper_bench): the keeper's cost
              (target: within 10% of bare)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
QUICK = "--quick" in sys.argv
JOBD = os.path.join(BUILD, "daemon/jobd")
JOBCTL = os.path.join(BUILD, "cmd/jobctl")
LOAD = os.path.join(BUILD, "tests/bench/submit_load")
results = []


def report(name, value, unit, note=""):
    results.append((name, value, unit, note))
    print(f"{name:<48} {value:>12} {unit:<10} {note}", flush=True)


# State directories are removed when the benchmarks are over, not between
# them: on an ext4 without a journal (this machine's root) a new inode skips
# those deleted in the last 60-360 s, reading each one's inode table block
# (fs/ext4/ialloc.c, recently_deleted), so a round that follows the removal
# of the previous round's 10,000 log files pays for that removal when it
# creates its own. Runs that create files are the ones measured here.
LEFT_BEHIND = []


def remove_left_behind():
    for d in LEFT_BEHIND:
        shutil.rmtree(d, ignore_errors=True)


class Jobd:
    running = []

    def __init__(self, slots, extra=()):
        self.dir = tempfile.mkdtemp(prefix="jobd-bench-")
        self.sock = os.path.join(self.dir, "sock")
        Jobd.running.append(self)
        self.proc = subprocess.Popen([JOBD, "--state-dir", os.path.join(self.dir, "state"), "--socket", self.sock,
                                      "--slots", str(slots), *extra], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("jobd did not start")
            time.sleep(0.01)

    def ctl(self, *args):
        return subprocess.run([JOBCTL, "--socket", self.sock, *args], capture_output=True, text=True)

    def status(self):
        return json.loads(self.ctl("--json", "status").stdout)

    def load(self, *args):
        out = subprocess.run([LOAD, self.sock, *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"submit_load failed: {out.stderr}")
        return json.loads(out.stdout)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def wait_idle(self, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status()
            if s["running"] == 0 and s["queued"] == 0:
                return
            time.sleep(0.005)
        raise SystemExit("jobd did not become idle")

    def stop(self):
        Jobd.running.remove(self)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        LEFT_BEHIND.append(self.dir)


FUTURE = '{"at":"2099-01-01T00:00:00Z","argv":["true"]}'


def bench_submit():
    for clients in (1, 8, 64):
        d = Jobd(2)
        r = d.load("--clients", str(clients), "--count", str(5000 if QUICK else 30000), "--job", FUTURE)
        d.stop()
        report(f"submit, {clients} client(s), durable", round(r["submits_per_s"]), "submits/s",
               f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")


def bench_latency():
    d = Jobd(2)
    r = d.load("--clients", "16", "--count", str(10000 if QUICK else 50000), "--rate", "5000", "--job", FUTURE)
    d.stop()
    report("submit latency at 5,000/s, p50", round(r["p50_ms"], 3), "ms")
    report("submit latency at 5,000/s, p99", round(r["p99_ms"], 3), "ms", "target < 5 ms")


def bench_due():
    d = Jobd(2)
    n = 50 if QUICK else 200
    start = time.time() + 1.0
    names = []
    for i in range(n):
        at = start + i * 0.025
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"
        names.append((f"due{i}", at))
        # date prints the time it runs: due -> exec of the job, and date's own start.
        d.ctl("submit", "--name", f"due{i}", "--at", stamp, "--", "date", "+%s.%N")
    lat = []
    for name, at in names:
        d.ctl("wait", name)  # its run, once it has ended
        runs = json.loads(d.ctl("--json", "runs", name).stdout)
        with open(runs[0]["stdout"]) as f:
            lat.append((float(f.read()) - at) * 1000)
    d.stop()
    lat.sort()
    report("due -> process started (idle node), p50", round(lat[len(lat) // 2], 3), "ms")
    report("due -> process started (idle node), p99", round(lat[int(len(lat) * 0.99)], 3), "ms", "target < 5 ms")


def timed(cmd, env=None):
    t = time.monotonic()
    subprocess.run(cmd, shell=True, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def bench_tsp():
    n = 300 if QUICK else 1000
    ts = tempfile.mkdtemp(prefix="tsp-bench-")
    env = dict(os.environ, TS_SOCKET=os.path.join(ts, "sock"), TMPDIR=ts, TS_MAXFINISHED="100000")
    subprocess.run("tsp -S 2", shell=True, env=env, check=True, stdout=subprocess.DEVNULL)
    tsp_submit = timed(f"for i in $(seq {n}); do tsp true; done", env)
    tsp_e2e = tsp_submit + timed("tsp -w", env)  # after the last submit: until all ran
    subprocess.run("tsp -K", shell=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    LEFT_BEHIND.append(ts)  # tsp's output files too: see LEFT_BEHIND

    d = Jobd(2)
    t = time.monotonic()
    subprocess.run(f"for i in $(seq {n}); do {JOBCTL} --socket {d.sock} submit -- true; done", shell=True,
                   check=True, stdout=subprocess.DEVNULL)
    jobd_submit = time.monotonic() - t
    d.wait_idle()
    jobd_e2e = time.monotonic() - t
    d.stop()
    report("sequential CLI submits: jobctl", round(n / jobd_submit), "submits/s", "durable ack")
    report("sequential CLI submits: tsp", round(n / tsp_submit), "submits/s",
           f"jobctl/tsp = {tsp_submit / jobd_submit:.2f} (target >= 0.8)")
    report("CLI submit + run, end to end: jobd", round(n / jobd_e2e), "jobs/s")
    report("CLI submit + run, end to end: tsp", round(n / tsp_e2e), "jobs/s",
           f"jobd/tsp = {tsp_e2e / jobd_e2e:.2f} (target >= 1)")


def bench_e2e():
    n, p = 5000, 8
    xargs = min(timed(f"seq {n} | xargs -P {p} -n 1 /bin/true") for _ in range(3))
    best = 0
    for _ in range(1 if QUICK else 3):
        d = Jobd(p)
        r = d.load("--clients", str(p), "--count", str(n), "--job", '{"argv":["/bin/true"]}', "--wait-idle")
        d.stop()
        best = max(best, r["end_to_end_per_s"])
    report(f"{n} x /bin/true end to end: jobd, {p} slots", round(best), "jobs/s", "best of 3")
    report(f"{n} x /bin/true: xargs -P {p}", round(n / xargs), "spawns/s",
           f"jobd/xargs = {best * xargs / n:.2f} (target >= 0.9)")


def bench_rss():
    d = Jobd(2)
    before = d.rss_kib()
    n = 20000 if QUICK else 100000
    d.load("--clients", "64", "--count", str(n), "--job", FUTURE)
    after = d.rss_kib()
    d.stop()
    report(f"jobd RSS with {n} jobs defined", round(after / 1024, 1), "MiB",
           f"{(after - before) * 1024 / n:.0f} bytes per job")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def call(sock_path, request):
    """One request on a fresh connection: the reply as a dict."""
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        f = s.makefile("rw")
        f.readline()  # hello
        f.write(json.dumps(request) + "\n")
        f.flush()
        return json.loads(f.readline())


def bench_dag():
    # 10,000 tasks of /bin/true in 100 layers of 100, each after two of the
    # layer before: jobd's CPU per task run, against the same 10,000 runs as
    # independent jobs.
    width, depth = (50, 20) if QUICK else (100, 100)
    n = width * depth
    tasks = []
    for layer in range(depth):
        for w in range(width):
            t = {"name": f"t{layer}-{w}", "argv": ["/bin/true"]}
            if layer:
                t["after"] = [f"t{layer - 1}-{w}", f"t{layer - 1}-{(w + 1) % width}"]
            tasks.append(t)
    d = Jobd(2)
    before, t = cpu_seconds(d.proc.pid), time.monotonic()
    reply = call(d.sock, {"id": 1, "op": "submit", "job": {"name": "dag", "retries": 0, "tasks": tasks}})
    if not reply.get("ok"):
        raise SystemExit(f"dag submit failed: {reply}")
    done = call(d.sock, {"id": 2, "op": "wait", "job": "dag"})
    wall, cpu = time.monotonic() - t, cpu_seconds(d.proc.pid) - before
    d.stop()
    if done["run"]["state"] != "succeeded":
        raise SystemExit(f"the dag run ended {done['run']['state']}")
    d = Jobd(2)
    flat_before = cpu_seconds(d.proc.pid)
    r = d.load("--clients", "8", "--count", str(n), "--job", '{"argv":["/bin/true"],"retries":0}', "--wait-idle")
    flat_cpu = cpu_seconds(d.proc.pid) - flat_before
    d.stop()
    report(f"{n}-task DAG of /bin/true ({depth} layers of {width})", round(n / wall), "tasks/s",
           f"{wall:.1f} s end to end, 2 slots")
    report("  jobd CPU per task run", round(cpu / n * 1e6), "us", "submit, readiness, spawn, exit, commits")
    report(f"  jobd CPU per run, {n} independent jobs", round(flat_cpu / n * 1e6), "us",
           f"{r['end_to_end_per_s']:.0f} jobs/s; the difference is the graph's overhead")


def bench_concurrent():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    in_use = len([p for p in os.listdir("/proc") if p.isdigit()])
    n = 2000 if QUICK else min(25000, pid_max - in_use - 2000)
    d = Jobd(n)
    before_rss, before_fds = d.rss_kib(), d.fds()
    d.load("--clients", "16", "--count", str(n), "--job", '{"argv":["sleep","300"]}')
    deadline = time.monotonic() + 300
    while d.status()["running"] < n and time.monotonic() < deadline:
        time.sleep(0.1)
    s = d.status()
    rss, fds = d.rss_kib(), d.fds()
    t = time.monotonic()
    d.stop()  # SIGTERM: every run's process group gets SIGTERM
    report(f"concurrent sleep runs (pid_max {pid_max})", s["running"], "running")
    report("  jobd memory per running job", round((rss - before_rss) * 1024 / max(1, s["running"])), "bytes",
           "target < 2 KiB; includes the job and run records")
    report("  jobd descriptors, idle -> all running", f"{before_fds}->{fds}", "fds", "none held per running job")
    report("  stopping jobd with all of them running", round(time.monotonic() - t, 1), "s")


def bench_metrics():
    # Off and on alternate, each on a fresh jobd, so that drift on a shared
    # machine hits both alike; the medians are compared.
    import statistics
    import threading
    import urllib.request
    count = str(5000 if QUICK else 30000)
    rounds = 3 if QUICK else 5
    rates = {False: [], True: []}
    scrapes, page_bytes = [], 0
    for _ in range(rounds):
        for on in (False, True):
            d = Jobd(2, ["--metrics-listen", "127.0.0.1:0"] if on else [])
            stop = threading.Event()
            scraper = None
            if on:
                url = f"http://{d.status()['metrics']}/metrics"

                def scrape():
                    nonlocal page_bytes
                    while not stop.is_set():
                        t = time.monotonic()
                        with urllib.request.urlopen(url, timeout=10) as r:
                            page_bytes = len(r.read())
                        scrapes.append(time.monotonic() - t)
                        stop.wait(max(0.0, 0.1 - (time.monotonic() - t)))
                scraper = threading.Thread(target=scrape)
                scraper.start()
            r = d.load("--clients", "8", "--count", count, "--job", FUTURE)
            stop.set()
            if scraper:
                scraper.join()
            d.stop()
            rates[on].append(r["submits_per_s"])
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    scrapes.sort()
    report("submit, 8 clients, durable, metrics off", round(off), "submits/s",
           f"median of {rounds}: {', '.join(str(round(x)) for x in rates[False])}")
    report("submit, 8 clients, durable, metrics on", round(on), "submits/s",
           f"median of {rounds}, scraped every 100 ms: {', '.join(str(round(x)) for x in rates[True])}")
    report("  metrics endpoint overhead on submits", round((off - on) / off * 100, 2), "%", "target < 2%")
    report("  scrape time, p50 / max", f"{scrapes[len(scrapes) // 2] * 1000:.2f}/{scrapes[-1] * 1000:.2f}", "ms",
           f"{len(scrapes)} scrapes, page {page_bytes} bytes")
    # Throughput on a shared machine is noisy; jobd's own CPU per scrape is not.
    d = Jobd(2, ["--metrics-listen", "127.0.0.1:0"])
    url = f"http://{d.status()['metrics']}/metrics"
    d.load("--clients", "8", "--count", count, "--job", FUTURE)
    n = 200
    before = cpu_seconds(d.proc.pid)
    for _ in range(n):
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
    per_scrape = (cpu_seconds(d.proc.pid) - before) / n
    d.stop()
    report(f"  jobd CPU per scrape, {count} jobs", round(per_scrape * 1e6), "us",
           f"{per_scrape * 10 * 100:.2f}% of a core at 10 scrapes/s")


SIM = os.path.join(BUILD, "tests/bench/worker_sim")


def coordinator(extra_config=""):
    """A jobd that runs nothing itself and listens for workers on a free port;
    its address and token file."""
    d0 = tempfile.mkdtemp(prefix="jobd-bench-token-")
    token = os.path.join(d0, "token")
    with open(token, "w") as f:
        f.write("YmVuY2htYXJrLXRva2VuLWZvci13b3JrZXJz\n")
    config = os.path.join(d0, "jobd.toml")
    with open(config, "w") as f:
        # Simulated workers all come from 127.0.0.1: one peer to the limit.
        f.write(f'listen = "127.0.0.1:0"\ntoken_file = "{token}"\nname = "coord"\nlog_level = "warning"\n'
                'max_connections_per_peer = 0\n' + extra_config)
    d = Jobd(0, ["--config", config])
    return d, d.status()["listen"], token


def simulate(address, token, *args):
    out = subprocess.run([SIM, address, token, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"worker_sim failed: {out.stderr}")
    return json.loads(out.stdout)


def bench_workers():
    # 10,000 workers heartbeating every second: the coordinator's CPU and RSS
    # once they are all registered (the simulator's first 5 s register them).
    n = 2000 if QUICK else 10000
    seconds = 10 if QUICK else 20
    d, address, token = coordinator()
    sim = subprocess.Popen([SIM, address, token, "--workers", str(n), "--seconds", str(seconds)],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(5)  # registration and the first heartbeats; then a steady state is measured
    before, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    time.sleep(seconds - 7)
    cpu = (cpu_seconds(d.proc.pid) - before) / (time.monotonic() - t0)
    rss = d.rss_kib()
    r = json.loads(sim.communicate()[0])
    d.stop()
    report(f"coordinator with {n} workers beating at 1/s: CPU", round(cpu * 100, 1), "% core",
           f"{r['registered']} registered, {r['heartbeat_replies']} heartbeats answered")
    report(f"  coordinator RSS with {n} workers", rss // 1024, "MiB")
    # Due -> assignment received by a (simulated) remote worker, at 200 runs/s.
    d, address, token = coordinator()
    sim = subprocess.Popen([SIM, address, token, "--workers", "20", "--slots", "4", "--run-ms", "5",
                            "--seconds", "14" if not QUICK else "8"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    d.load("--clients", "4", "--count", "2000" if not QUICK else "1000", "--rate", "200",
           "--job", '{"argv":["true"],"retries":0}')
    r = json.loads(sim.communicate()[0])
    d.stop()
    report("due -> assigned on a remote worker, p50", round(r["latency_ms_p50"], 2), "ms", f"{r['runs']} runs")
    report("due -> assigned on a remote worker, p99", round(r["latency_ms_p99"], 2), "ms", "target p99 < 10 ms")
    # Saturating load of short runs (20 ms) on 10 workers x 4 slots: how busy the slots are.
    d, address, token = coordinator()
    sim = subprocess.Popen([SIM, address, token, "--workers", "10", "--slots", "4", "--run-ms", "20",
                            "--seconds", "12"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    d.load("--clients", "8", "--count", "8000", "--job", '{"argv":["true"],"retries":0}')
    r = json.loads(sim.communicate()[0])
    d.stop()
    report("worker slot utilisation, saturating 20 ms runs", round(r["utilisation"] * 100, 1), "%",
           f"{r['runs']} runs on 40 slots; target >= 80%")
def bench_keeper():
    # Bare and through the keeper alternate, round by round, and medians are
    # compared: drift on a shared machine hits both alike.
    import statistics
    bench = os.path.join(BUILD, "tests/bench/keeper_bench")
    # Short rounds, many of them: a burst of load elsewhere then spoils a
    # round or two of each kind, not the median.
    rounds = 5 if QUICK else 15
    out = subprocess.run([bench, JOBD, "--json", "--count", "300", "--rounds",
                          str(rounds), "--parallel", "1", "--parallel", "2", "--parallel", "8"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"keeper_bench failed: {out.stderr}")
    for line in out.stdout.splitlines():
        r = json.loads(line)
        bare, kept = statistics.median(r["bare_per_s"]), statistics.median(r["keeper_per_s"])
        report(f"/bin/true spawned and reaped, {r['parallel']} alive: bare", round(bare), "spawns/s",
               f"median of {rounds}: {', '.join(str(x) for x in r['bare_per_s'])}")
        report("  with a worker's keeper", round(kept), "spawns/s",
               f"median of {rounds}: {', '.join(str(x) for x in r['keeper_per_s'])}")
        report("  keeper / bare", round(kept / bare, 3), "", "target >= 0.9")
        bare_cpu, kept_cpu = statistics.median(r["bare_cpu_us"]), statistics.median(r["keeper_cpu_us"])
        report("  CPU per run, bare -> keeper", f"{bare_cpu:.0f}->{kept_cpu:.0f}", "us",
               f"ours, the keeper's and the children's; bare/keeper = {bare_cpu / kept_cpu:.3f}")


def main():
    # A benchmark that fails must not leave its jobd behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for f in (JOBD, JOBCTL, LOAD, SIM):
        if not os.access(f, os.X_OK):
            raise SystemExit(f"missing {f}: build first (meson compile -C {BUILD})")
    only = [a for a in sys.argv[2:] if not a.startswith("--")]
    for name, fn in [("submit", bench_submit), ("latency", bench_latency), ("due", bench_due), ("tsp", bench_tsp),
                     ("e2e", bench_e2e), ("dag", bench_dag), ("rss", bench_rss), ("concurrent", bench_concurrent),
                     ("metrics", bench_metrics), ("workers", bench_workers), ("keeper", bench_keeper)]:
        if not only or name in only:
            fn()
    print("\nsummary")
    for name, value, unit, note in results:
        print(f"  {name:<48} {value:>12} {unit:<10} {note}")


if __name__ == "__main__":
    try:
        main()
    finally:
        for d in list(Jobd.running):
            d.stop()
        remove_left_behind()
