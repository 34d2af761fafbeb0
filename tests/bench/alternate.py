#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Times commands run in turn, one run each in a shuffled order per round,
# so that the drift of a shared machine's load reaches all of them alike
# (hyperfine times one command's runs, then the next's: on a VM whose
# load changes within seconds, that alone moves a ratio by 0.2).
#   alternate.py [--runs N] [--warmup N] [--json FILE] NAME=COMMAND...
# Each COMMAND is split on blanks and spawned directly (no shell), its
# output to /dev/null. Prints one line per command: median, p10 and p90 in
# ms; --json writes {NAME: {"median": s, "runs": [s...]}} in seconds.
import argparse, json, os, random, shlex, statistics, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=300)
ap.add_argument("--warmup", type=int, default=20)
ap.add_argument("--json")
ap.add_argument("commands", nargs="+")
a = ap.parse_args()
cmds = []
for c in a.commands:
    name, sep, line = c.partition("=")
    if not sep or not line:
        sys.exit("alternate.py: want NAME=COMMAND, got %r" % c)
    cmds.append((name, shlex.split(line)))
null = os.open(os.devnull, os.O_RDWR)


def once(argv):
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
    _, status = os.waitpid(pid, 0)
    took = time.perf_counter() - start
    if status != 0:
        sys.exit("alternate.py: %s exited with wait status %d" %
                 (" ".join(argv), status))
    return took


for _ in range(a.warmup):
    for _, argv in cmds:
        once(argv)
times = {name: [] for name, _ in cmds}
order = list(range(len(cmds)))
for _ in range(a.runs):
    random.shuffle(order)
    for i in order:
        times[cmds[i][0]].append(once(cmds[i][1]))
for name, t in times.items():
    s = sorted(t)
    print("%-10s median %.3f ms  p10 %.3f  p90 %.3f" %
          (name, statistics.median(s) * 1e3, s[len(s) // 10] * 1e3,
           s[len(s) * 9 // 10] * 1e3))
if a.json:
    with open(a.json, "w") as f:
        json.dump({n: {"median": statistics.median(t), "runs": t}
                   for n, t in times.items()}, f)
