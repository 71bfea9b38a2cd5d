#!/usr/bin/env python3
"""rump_tmpfs against the kernel's tmpfs: sequential 1 MiB write/read MB/s, create/stat/unlink
ops/s, and the daemon's resident memory idle and under load. Needs root (mount -t tmpfs).

Usage: bench/p2k/run.sh [size_mib] [files]
"""
import os, subprocess, sys, tempfile, threading, time

SIZE_MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 256
FILES = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
TOOL = sys.argv[1]
BLOCK = 1 << 20


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def seq_write(path):
    buf = os.urandom(BLOCK)
    t = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(SIZE_MIB):
        os.write(fd, buf)
    os.fsync(fd)
    os.close(fd)
    return SIZE_MIB / (time.perf_counter() - t)


def seq_read(path):
    fd = os.open(path, os.O_RDONLY)
    # Drop this file's cached pages so the read reaches the file system (the daemon).
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    t = time.perf_counter()
    n = 0
    while True:
        b = os.read(fd, BLOCK)
        if not b:
            break
        n += len(b)
    os.close(fd)
    assert n == SIZE_MIB * BLOCK, n
    return SIZE_MIB / (time.perf_counter() - t)


def meta_ops(d):
    os.mkdir(d)
    names = [os.path.join(d, f"f{i}") for i in range(FILES)]
    t = time.perf_counter()
    for n in names:
        os.close(os.open(n, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    create = FILES / (time.perf_counter() - t)
    t = time.perf_counter()
    for n in names:
        os.stat(n)
    stat = FILES / (time.perf_counter() - t)
    t = time.perf_counter()
    for n in names:
        os.unlink(n)
    unlink = FILES / (time.perf_counter() - t)
    os.rmdir(d)
    return create, stat, unlink


def run(mnt):
    f = os.path.join(mnt, "seq")
    w = seq_write(f)
    r = seq_read(f)
    os.unlink(f)
    c, s, u = meta_ops(os.path.join(mnt, "meta"))
    return w, r, c, s, u


def main():
    base = tempfile.mkdtemp(prefix="p2k-bench-")
    ktmp, rump = os.path.join(base, "ktmpfs"), os.path.join(base, "rump")
    os.mkdir(ktmp)
    os.mkdir(rump)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2G", "tmpfs", ktmp], check=True)
    daemon = subprocess.Popen(["dotnet", TOOL, "-f", "-o", "size=2G", rump], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if any(l.split()[4] == rump for l in open("/proc/self/mountinfo")):
                break
            time.sleep(0.05)
        time.sleep(1)
        idle = rss_kib(daemon.pid)
        peak = [idle]
        stop = False

        def sample():
            while not stop:
                try:
                    peak[0] = max(peak[0], rss_kib(daemon.pid))
                except OSError:
                    return
                time.sleep(0.05)

        th = threading.Thread(target=sample)
        th.start()
        rr = run(rump)
        stop = True
        th.join()
        kk = run(ktmp)
        hwm = rss_kib(daemon.pid, "VmHWM")
        print(f"{'':24}{'kernel tmpfs':>14}{'rump_tmpfs':>14}{'ratio':>8}")
        labels = ["seq write 1 MiB (MB/s)", "seq read 1 MiB (MB/s)", "create (ops/s)", "stat (ops/s)", "unlink (ops/s)"]
        for label, k, r in zip(labels, kk, rr):
            print(f"{label:24}{k:14.0f}{r:14.0f}{r / k:8.0%}")
        print(f"daemon RSS idle: {idle / 1024:.0f} MiB; under load: {peak[0] / 1024:.0f} MiB (VmHWM {hwm / 1024:.0f} MiB)")
        print(f"file {SIZE_MIB} MiB, {FILES} files, {os.cpu_count()} CPUs")
    finally:
        subprocess.run(["umount", rump])
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        subprocess.run(["umount", ktmp])
        os.rmdir(ktmp)
        os.rmdir(rump)
        os.rmdir(base)


main()
