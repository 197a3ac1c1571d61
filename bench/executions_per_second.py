#!/usr/bin/python3
"""Executions per second: graphene against a naive one-process-per-call harness.

Run it through bench/executions_per_second.sh (see bench/README.md). It uses
Debian's /usr/bin/python3 and the standard library only.

What it runs, from the repository root:
  1. a campaign of clean targets, with `graphene analyze ... --format json`;
  2. a campaign of escaping targets, the same way;
  3. for each campaign, the naive baseline: per execution a fresh
     /usr/bin/python3 that imports the target module, snapshots
     threading.enumerate(), calls the function, sleeps the grace period,
     snapshots again and leaves with os._exit; run serially.

Every graphene run gets its own temporary --db, removed afterwards. The
script makes itself a child subreaper, so whatever a run leaves behind is
re-parented to it; after each run it kills and reaps every such leftover and
reports how many there were (the answer should always be 0 for graphene).
"""

import argparse
import ctypes
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLEAN_TARGETS = [
    "bench/targets/clean.py:noop",
    "bench/targets/clean.py:start_and_join_thread",
    "fixtures/python/no_escape.py:join_thread",
]
ESCAPE_TARGETS = [
    "fixtures/python/escape_threads.py:spawn_daemon_thread",
    "fixtures/python/escape_threads.py:spawn_non_daemon_thread",
    "fixtures/python/escape_process.py:spawn_process",
    "fixtures/python/escape_executor.py:leak_new_executor",
]
BASELINE_INPUTS = ["hello", "", "0", "A" * 256, "../../etc/passwd"]

# The naive harness: what one execution of it does in a fresh interpreter.
BASELINE_CODE = r"""
import importlib.util, os, sys, threading, time
path, function, data, grace_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, os.getcwd())
spec = importlib.util.spec_from_file_location("bench_target", path)
module = importlib.util.module_from_spec(spec)
sys.modules["bench_target"] = module
spec.loader.exec_module(module)
before = set(threading.enumerate())
status = "ok"
try:
    getattr(module, function)(data)
except BaseException:
    status = "exception"
time.sleep(grace_ms / 1000.0)
left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
# Child processes too, but only when the target itself used multiprocessing
# (importing it here would make every execution slower).
mp = sys.modules.get("multiprocessing")
children = mp.active_children() if mp is not None else []
sys.stdout.write("%s %d\n" % (status, len(left) + len(children)))
sys.stdout.flush()
os._exit(0)  # leaked non-daemon threads must not keep the process alive
"""

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("warning: could not become a child subreaper; leftovers may go unseen",
              file=sys.stderr)


def children_of(pid):
    """Direct children of pid, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        # Field 4 (ppid) follows the ')' that closes the command name.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def group_members(pgid):
    """Live (not zombie) processes of process group pgid, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def kill_leftovers():
    """Kills and reaps every process re-parented to us. Returns how many were alive."""
    alive = 0
    for _ in range(50):
        kids = children_of(os.getpid())
        if not kids:
            break
        for pid in kids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    state = f.read().decode("utf-8", "replace")
                state = state[state.rfind(")") + 2:].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive += 1
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return alive


def machine_description():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "unknown"
    return {
        "nproc": os.cpu_count(),
        "usable": len(os.sched_getaffinity(0)),
        "cpu": model,
        "kernel": platform.release(),
        "python": subprocess.run(["/usr/bin/python3", "--version"], capture_output=True,
                                 text=True).stdout.strip(),
        "load": load,
    }


def build_type(binary):
    cache = os.path.join(os.path.dirname(os.path.abspath(binary)), "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    value = line.split("=", 1)[1].strip()
                    return value or "RelWithDebInfo (CMAKE_BUILD_TYPE unset: project default)"
    except OSError:
        return "unknown (no CMakeCache.txt beside the binary)"
    return "unknown"


def run_graphene(binary, targets, generate, repeat, slots, grace_ms):
    """One graphene campaign. Returns timings, CPU and the JSON totals."""
    workdir = tempfile.mkdtemp(prefix="graphene-bench-")
    db = os.path.join(workdir, "bench.db")
    cmd = [binary, "analyze", *targets, "--generate", str(generate), "--repeat", str(repeat),
           "--grace", str(grace_ms), "-q", "--format", "json", "--db", db]
    if slots:
        cmd += ["--slots", str(slots)]
    chunks = []
    last_output = [None]
    stat_before = cpu_times()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def read_stdout():
        while True:
            data = proc.stdout.read1(65536)
            if not data:
                return
            chunks.append(data)
            last_output[0] = time.monotonic()

    reader = threading.Thread(target=read_stdout)
    reader.start()
    stderr_text = []
    err_reader = threading.Thread(target=lambda: stderr_text.append(proc.stderr.read()))
    err_reader.start()
    # wait4 gives the CPU time of graphene and of every descendant it reaped.
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.monotonic()
    busy = machine_busy(stat_before, cpu_times())
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    err_reader.join()
    leftovers = kill_leftovers()
    shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "cmd": cmd,
        "exit": proc.returncode,
        "wall": end - start,
        "to_report": (last_output[0] or end) - start,
        "cpu": usage.ru_utime + usage.ru_stime,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "leftovers": leftovers,
        "busy": busy,
        "stderr": b"".join(stderr_text).decode("utf-8", "replace"),
    }
    try:
        report = json.loads(b"".join(chunks))
        totals = report["totals"]
        result["executions"] = totals["executions"]
        result["escapes"] = totals["escapes"]
        result["errors"] = totals.get("errors", 0)
        result["mismatches"] = totals["mismatches"]
        statuses = {}
        durations = []
        for target in report["targets"]:
            for r in target["results"]:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
                if isinstance(r.get("duration_ms"), (int, float)):
                    durations.append(r["duration_ms"])
        result["statuses"] = statuses
        durations.sort()
        if durations:
            result["duration_p50"] = durations[len(durations) // 2]
            result["duration_p90"] = durations[int(len(durations) * 0.9)]
    except (ValueError, KeyError) as e:
        result["executions"] = 0
        result["parse_error"] = f"{type(e).__name__}: {e}"
    return result


def run_baseline(targets, count, grace_ms):
    """count executions of the naive harness, serially, round-robin over targets."""
    detected = 0
    leftovers = 0
    statuses = {}
    cpu = 0.0
    stat_before = cpu_times()
    start = time.monotonic()
    for i in range(count):
        spec = targets[i % len(targets)]
        path, function = spec.rsplit(":", 1)
        data = BASELINE_INPUTS[(i // len(targets)) % len(BASELINE_INPUTS)]
        # Its own session (and process group), so everything it leaks can be killed.
        # Output goes to a file, not a pipe: a leaked child process would hold a
        # pipe open, and reading to its end would wait for the leak to finish.
        with tempfile.TemporaryFile() as out_file:
            proc = subprocess.Popen(["/usr/bin/python3", "-c", BASELINE_CODE, path, function,
                                     data, str(grace_ms)],
                                    cwd=REPO, stdout=out_file, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            _, status, usage = os.wait4(proc.pid, 0)
            out_file.seek(0)
            out = out_file.read()
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        leaked = group_members(proc.pid)  # bookkeeping only: what the kill will end
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        leftovers += max(len(leaked), kill_leftovers())  # orphans are re-parented to us
        words = out.decode().split()
        st = words[0] if len(words) == 2 else "crash"
        statuses[st] = statuses.get(st, 0) + 1
        if len(words) == 2 and int(words[1]) > 0:
            detected += 1
    wall = time.monotonic() - start
    busy = machine_busy(stat_before, cpu_times())
    return {"executions": count, "wall": wall, "to_report": wall, "cpu": cpu, "busy": busy,
            "escapes": detected, "statuses": statuses, "killed_after": leftovers}


def cpu_times():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def machine_busy(before, after):
    busy, total = after[0] - before[0], after[1] - before[1]
    return 100.0 * busy / total if total > 0 else float("nan")


def rate(n, seconds):
    return n / seconds if seconds > 0 else float("nan")


def main():
    env = os.environ.get
    p = argparse.ArgumentParser(
        prog="bench/executions_per_second.sh",
        description="Executions per second of graphene, side by side with a naive "
                    "fresh-python-per-execution baseline.")
    p.add_argument("--graphene", default=env("GRAPHENE_BIN", os.path.join(REPO, "build/graphene")),
                   help="graphene binary (env GRAPHENE_BIN; default build/graphene)")
    p.add_argument("--generate", type=int, default=int(env("BENCH_GENERATE", "50")),
                   help="inputs per target, --generate N (env BENCH_GENERATE; default 50)")
    p.add_argument("--clean-repeat", type=int, default=int(env("BENCH_CLEAN_REPEAT", "4")),
                   help="--repeat for the clean campaign (env BENCH_CLEAN_REPEAT; default 4)")
    p.add_argument("--escape-repeat", type=int, default=int(env("BENCH_ESCAPE_REPEAT", "2")),
                   help="--repeat for the escaping campaign (env BENCH_ESCAPE_REPEAT; default 2)")
    p.add_argument("--slots", default=env("BENCH_SLOTS", ""),
                   help="graphene --slots; a comma list (8,16,32) runs each graphene campaign "
                        "once per value (env BENCH_SLOTS; default: graphene's own default)")
    p.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "1")),
                   help="runs of each graphene campaign per slots value; the median is "
                        "reported (env BENCH_RUNS; default 1)")
    p.add_argument("--baseline", type=int, default=int(env("BENCH_BASELINE", "30")),
                   help="baseline executions per campaign, 0 to skip (env BENCH_BASELINE; "
                        "default 30)")
    p.add_argument("--grace", type=int, default=int(env("BENCH_GRACE_MS", "100")),
                   help="grace period in ms, for graphene and the baseline (default 100)")
    p.add_argument("--campaigns", default=env("BENCH_CAMPAIGNS", "clean,escaping"),
                   help="which campaigns: clean, escaping or both (default clean,escaping)")
    args = p.parse_args()

    binary = os.path.abspath(args.graphene)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no graphene binary at {binary}: build it (cmake -S . -B build && "
                 f"make -C build graphene) or pass --graphene / GRAPHENE_BIN")
    slots_values = [int(s) for s in args.slots.split(",") if s.strip()] or [None]
    campaigns = {"clean": (CLEAN_TARGETS, args.clean_repeat),
                 "escaping": (ESCAPE_TARGETS, args.escape_repeat)}
    wanted = [c.strip() for c in args.campaigns.split(",") if c.strip()]
    for c in wanted:
        if c not in campaigns:
            sys.exit(f"unknown campaign {c!r}: use clean and/or escaping")

    become_subreaper()
    m = machine_description()
    nproc = m["usable"]
    print("== graphene executions per second ==")
    print(f"machine     : {m['nproc']} CPUs ({nproc} usable), {m['cpu']}, Linux {m['kernel']}, "
          f"load average before start {m['load']}")
    print(f"graphene    : {os.path.relpath(binary, REPO)}  build type: {build_type(binary)}")
    print(f"baseline    : {m['python']}, a fresh /usr/bin/python3 per execution, serial, "
          f"always sleeps the {args.grace} ms grace period")
    print(f"grace       : {args.grace} ms; slots: "
          + ", ".join("graphene default (16 per core)" if s is None else str(s)
                      for s in slots_values))
    print()

    rows = []
    problems = []
    t0 = time.monotonic()
    for name in wanted:
        targets, repeat = campaigns[name]
        print(f"-- {name} campaign: {len(targets)} targets x --generate {args.generate} "
              f"x --repeat {repeat}")
        for t in targets:
            print(f"     {t}")
        # Runs go round-robin over the slots values, so that a change in the
        # machine's other load does not favour one value.
        runs_by_slots = {slots: [] for slots in slots_values}
        for _ in range(args.runs):
            for slots in slots_values:
                r = run_graphene(binary, targets, args.generate, repeat, slots, args.grace)
                runs_by_slots[slots].append(r)
                label = f"slots={slots or 'default'}"
                print(f"   graphene {label}: {r['executions']} executions, "
                      f"{r['wall']:.2f} s wall ({r['to_report']:.2f} s to report), "
                      f"cpu {r['user']:.2f} user + {r['sys']:.2f} sys, machine busy "
                      f"{r['busy']:.0f}%, duration_ms p50 "
                      f"{r.get('duration_p50', float('nan')):.1f} "
                      f"p90 {r.get('duration_p90', float('nan')):.1f}, exit {r['exit']}, "
                      f"statuses {r.get('statuses')}, leftover processes {r['leftovers']}")
                if r["exit"] != 0 or r.get("parse_error") or r["leftovers"] \
                        or r.get("errors"):
                    problems.append(f"{name} {label}: exit {r['exit']}, "
                                    f"{r.get('parse_error', '')} errors {r.get('errors')}, "
                                    f"leftovers {r['leftovers']}; stderr: "
                                    f"{r['stderr'].strip()[-400:]}")
                want_escapes = 0 if name == "clean" else r["executions"]
                if r.get("escapes") != want_escapes:
                    problems.append(f"{name} {label}: {r.get('escapes')} escapes, "
                                    f"expected {want_escapes}")
        for slots in slots_values:
            runs = sorted(runs_by_slots[slots], key=lambda r: rate(r["executions"], r["wall"]))
            med = runs[len(runs) // 2]
            rows.append({"campaign": name, "runner": "graphene", "slots": slots or "default",
                         **med,
                         "spread": [round(rate(r["executions"], r["wall"]), 1) for r in runs]
                         if len(runs) > 1 else None})
        if args.baseline > 0:
            b = run_baseline(targets, args.baseline, args.grace)
            print(f"   baseline: {b['executions']} executions (a smaller sample), "
                  f"{b['wall']:.2f} s wall, detected escapes in {b['escapes']}, "
                  f"statuses {b['statuses']}, leaked processes killed afterwards "
                  f"{b['killed_after']}")
            rows.append({"campaign": name, "runner": "baseline", "slots": 1, **b})
        print()

    # Leftovers anywhere? (We are a subreaper: anything left would be our child.)
    final_leftovers = kill_leftovers()

    print("== results ==")
    header = (f"{'campaign':9} {'runner':9} {'slots':>7} {'execs':>6} {'wall s':>7} "
              f"{'report s':>8} {'exec/s':>8} {'exec/s*':>8} {'cpu%':>6} {'busy%':>6} "
              f"{'cpu ms/exec':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        cpu_pct = 100.0 * r["cpu"] / (r["wall"] * nproc) if r["wall"] else 0.0
        per_exec = 1000.0 * r["cpu"] / r["executions"] if r["executions"] else 0.0
        print(f"{r['campaign']:9} {r['runner']:9} {str(r['slots']):>7} {r['executions']:>6} "
              f"{r['wall']:>7.2f} {r['to_report']:>8.2f} "
              f"{rate(r['executions'], r['wall']):>8.1f} "
              f"{rate(r['executions'], r['to_report']):>8.1f} {cpu_pct:>5.0f}% "
              f"{r['busy']:>5.0f}% {per_exec:>11.2f}"
              + (f"   (runs: {r['spread']} exec/s)" if r.get("spread") else ""))
    print()
    print("exec/s  = executions / wall time of the whole command (start-up and exit included)")
    print("exec/s* = executions / time until the report was printed (exit excluded)")
    print(f"cpu%    = user+sys CPU of the command and all it reaped / (wall x {nproc} CPUs)")
    print("busy%   = the whole machine's CPU use meanwhile (/proc/stat), other work included")
    print()
    for name in wanted:
        base = [r for r in rows if r["campaign"] == name and r["runner"] == "baseline"]
        if not base:
            continue
        b_rate = rate(base[0]["executions"], base[0]["wall"])
        for r in rows:
            if r["campaign"] == name and r["runner"] == "graphene":
                print(f"ratio graphene/baseline, {name}, slots={r['slots']}: "
                      f"{rate(r['executions'], r['wall']) / b_rate:.1f}x end to end, "
                      f"{rate(r['executions'], r['to_report']) / b_rate:.1f}x to report "
                      f"(baseline {b_rate:.2f} exec/s on {base[0]['executions']} executions)")
    total_execs = sum(r["executions"] for r in rows)
    print()
    print(f"total executions: {total_execs} "
          f"(graphene {sum(r['executions'] for r in rows if r['runner'] == 'graphene')}, "
          f"baseline {sum(r['executions'] for r in rows if r['runner'] == 'baseline')}); "
          f"benchmark wall time {time.monotonic() - t0:.1f} s")
    print(f"processes left running after the benchmark: {final_leftovers}")
    if problems:
        print()
        print("PROBLEMS:")
        for problem in problems:
            print("  " + problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
