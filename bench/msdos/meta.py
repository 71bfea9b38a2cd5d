#!/usr/bin/env python3
"""create / stat / unlink of N files in one directory, in one process.

Usage: meta.py DIR N
Prints one line per operation: name, files/s, and the seconds each tenth took, so a
directory that gets slower as it grows shows in the laps. One process for all files keeps
process start-up out of the figures (a shell loop of `stat` and `rm` measures fork+exec).
"""
import os
import sys
import time


def run(label, op, names):
    tenth = max(1, len(names) // 10)
    laps = []
    start = lap = time.perf_counter()
    for i, name in enumerate(names, 1):
        op(name)
        if i % tenth == 0:
            now = time.perf_counter()
            laps.append(f"{now - lap:.2f}")
            lap = now
    total = time.perf_counter() - start
    print(f"{label} {len(names)}: {len(names) / total:.1f}/s (per tenth, s: {' '.join(laps)})", flush=True)


def create(path):
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


def main():
    folder, count = sys.argv[1], int(sys.argv[2])
    names = [os.path.join(folder, f"file with a long name {i}.txt") for i in range(1, count + 1)]
    run("create", create, names)
    run("stat", os.stat, names)
    run("unlink", os.unlink, names)


if __name__ == "__main__":
    main()
