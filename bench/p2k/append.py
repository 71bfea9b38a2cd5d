#!/usr/bin/env python3
"""4 KiB writes through FUSE: overwrite in place, O_APPEND, plain writes past EOF, and O_APPEND
with an fstat after each write, on rump_ext2fs (ext4, ext2), rump_msdos (FAT32), rump_ffs (UFS2)
and fuse2fs (ext4, ext2). Needs root. Run through bench/p2k/append.sh, which builds the daemons.

Targets named NAME+wb mount with -o writeback_cache.

Usage: bench/p2k/append.sh [--mib 64] [--rounds 5] [--image sparse|full] [--targets LIST]
                           [--count] [--baseline ROOT] [--out DIR]
       bench/p2k/append.py --report bench/results/append-DATE.tsv

Per write(2), each workload reports the wall time and the daemon's CPU time (the sum over its
threads of /proc/PID/task/*/schedstat), median and range over the rounds. Each round makes a
fresh image per target and starts at a different target. "cold append" is the first thing a
freshly started daemon serves, so it includes the daemon's JIT compiling its write path;
then the mount writes a scratch file with every pattern and the file the overwrite rewrites,
so the other workloads run warm (in an order that turns from round to round).
--image full fills the image file with zeros before mkfs, so the host has no holes to fill
when the file system allocates (the default image is sparse, as mkfs makes it).

--count instead mounts each target with its debug log (-d) and counts the FUSE requests by
opcode that 1,024 writes of each workload cost: what the kernel sends per write(2).

--baseline ROOT runs every rump target a second time (named NAME@base) with the daemons built
in ROOT (ROOT/tools/NAME/bin/Release/net10.0/NAME, e.g. a worktree of an earlier commit), so a
change is measured against the code before it in the same session.
"""
import argparse, glob, os, re, statistics, subprocess, tempfile, time
from collections import Counter

BLOCK = 4096
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORKLOADS = ["overwrite", "append", "extend", "append+fstat", "cold append"]


# target: (file-system kind, daemon). A rump target named "NAME@base" runs the daemon built
# under --baseline ROOT instead of this repository (an earlier commit's build, for a before/after).
TARGETS = {
    "ext4/rump_ext2fs": ("ext4", "rump_ext2fs"),
    "ext4/fuse2fs": ("ext4", "fuse2fs"),
    "ext2/rump_ext2fs": ("ext2", "rump_ext2fs"),
    "ext2/fuse2fs": ("ext2", "fuse2fs"),
    "fat32/rump_msdos": ("fat32", "rump_msdos"),
    "ufs2/rump_ffs": ("ufs2", "rump_ffs"),
    # The same daemons with the kernel's writeback cache (-o writeback_cache).
    "ext4/rump_ext2fs+wb": ("ext4", "rump_ext2fs"),
    "fat32/rump_msdos+wb": ("fat32", "rump_msdos"),
    "ufs2/rump_ffs+wb": ("ufs2", "rump_ffs"),
}
WRITEBACK_SUFFIX = "+wb"
BASELINE = None


def kind_of(target):
    return TARGETS[target.removesuffix("@base")][0]


def command(target, debug):
    daemon = TARGETS[target.removesuffix("@base")][1]
    flags = ["-f"] + (["-d"] if debug else [])
    if daemon == "fuse2fs":
        return ["fuse2fs", *flags, "-o", "fakeroot"]
    root = BASELINE if target.endswith("@base") else REPO
    if target.removesuffix("@base").endswith(WRITEBACK_SUFFIX):
        flags += ["-o", "writeback_cache"]
    return [os.path.join(root, "tools", daemon, "bin", "Release", "net10.0", daemon), *flags]


def make_image(kind, path, mib, full, work):
    if full:
        with open(path, "wb") as f:
            zeros = bytes(1 << 20)
            for _ in range(mib):
                f.write(zeros)
    elif os.path.exists(path):
        os.unlink(path)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if kind in ("ext4", "ext2"):
        subprocess.run(["mke2fs", "-q", "-F", "-t", kind, path, f"{mib}M"], check=True, **quiet)
    elif kind == "fat32":
        create = [] if full else ["-C"]
        subprocess.run(["mkfs.fat", "-F", "32", *create, path, str(mib * 1024)], check=True, **quiet)
    elif kind == "ufs2":
        # makefs writes every block of the image, so a UFS2 image is never sparse.
        empty = os.path.join(work, "empty")
        os.makedirs(empty, exist_ok=True)
        os.unlink(path) if os.path.exists(path) else None
        subprocess.run(["makefs", "-t", "ffs", "-B", "le", "-o", "version=2", "-s", f"{mib}m", path, empty],
                       check=True, **quiet)


class Mounted:
    """A daemon in the foreground, a child of this script; leaving unmounts and waits for it."""

    def __init__(self, target, image, mnt, log=None):
        argv = command(target, debug=log is not None) + [image, mnt]
        self.mnt = mnt
        self.err = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.err)
        for _ in range(200):
            if os.path.ismount(mnt):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise SystemExit(f"append.py: {target} did not mount")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if os.path.ismount(self.mnt):
            if subprocess.run(["fusermount3", "-u", self.mnt], stderr=subprocess.DEVNULL).returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt], stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.err is not subprocess.DEVNULL:
            self.err.close()

    def cpu_ns(self):
        total = 0
        for stat in glob.glob(f"/proc/{self.proc.pid}/task/*/schedstat"):
            try:
                with open(stat) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # a thread that ended between the listing and the read
        return total


def run_workload(name, path, writes, buf):
    """Issue `writes` 4 KiB writes in pattern `name`; returns the seconds the loop took."""
    if name == "overwrite":
        fd = os.open(path, os.O_WRONLY)
        t = time.perf_counter()
        for i in range(writes):
            os.pwrite(fd, buf, i * BLOCK)
    elif name == "append":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        t = time.perf_counter()
        for _ in range(writes):
            os.write(fd, buf)
    elif name == "extend":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        t = time.perf_counter()
        for _ in range(writes):
            os.write(fd, buf)
    elif name == "append+fstat":
        # An appender that looks at the size after each write (a log rotator, a tail, Python's
        # tell() on an append-mode file does an lseek that reads it).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        t = time.perf_counter()
        for _ in range(writes):
            os.write(fd, buf)
            os.fstat(fd)
    else:
        raise ValueError(name)
    elapsed = time.perf_counter() - t
    size = os.fstat(fd).st_size
    os.close(fd)
    assert size >= writes * BLOCK, (name, size)
    return elapsed


def file_for(name, mnt):
    # The overwrite rewrites a file written beforehand (its blocks exist already).
    return os.path.join(mnt, "rewrite" if name == "overwrite" else name.replace("+", "-").replace(" ", "-"))


def make_rewrite_file(mnt, writes, buf):
    """The file the overwrite rewrites, written untimed (it also warms the daemon further)."""
    run_workload("extend", file_for("overwrite", mnt), writes, buf)
    os.sync()


def warm_up(mnt, buf):
    # The overwrite rewrites what the extend wrote.
    for name, f in [("extend", "warm-1"), ("overwrite", "warm-1"), ("append", "warm-2"), ("append+fstat", "warm-3")]:
        run_workload(name, os.path.join(mnt, f), 2048, buf)
    for f in ["warm-1", "warm-2", "warm-3"]:
        os.unlink(os.path.join(mnt, f))
    os.sync()


def measure(args, work, targets, buf):
    writes = args.mib * 1024 * 1024 // BLOCK
    image_mib = args.mib * 6 + 256
    wall, cpu = {}, {}
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    os.makedirs(args.out, exist_ok=True)
    tsv = open(os.path.join(args.out, f"append-{stamp}.tsv"), "w")
    title = f"{args.mib} MiB of 4 KiB writes per workload, {args.rounds} rounds, {args.image} image"
    tsv.write(f"# {title}\n")
    tsv.write("round\ttarget\tworkload\tus_per_write\tdaemon_cpu_us_per_write\n")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    for r in range(args.rounds):
        for i in range(len(targets)):
            target = targets[(i + r) % len(targets)]
            image = os.path.join(work, "img")
            make_image(kind_of(target), image, image_mib, args.image == "full", work)
            os.sync()
            with Mounted(target, image, mnt) as m:
                # The warm workloads take turns at going first, so that whatever the daemon
                # still has to settle after the warm-up (tiered JIT) is spread over them.
                warm = ["overwrite", "append", "extend", "append+fstat"]
                for name in ["cold append"] + warm[r % 4:] + warm[:r % 4]:
                    if name == warm[r % 4]:
                        warm_up(mnt, buf)
                        make_rewrite_file(mnt, writes, buf)
                    c0 = m.cpu_ns()
                    s = run_workload(name.removeprefix("cold "), file_for(name, mnt), writes, buf)
                    c = (m.cpu_ns() - c0) / 1000 / writes
                    os.sync()
                    w = s * 1e6 / writes
                    wall.setdefault((target, name), []).append(w)
                    cpu.setdefault((target, name), []).append(c)
                    tsv.write(f"{r + 1}\t{target}\t{name}\t{w:.2f}\t{c:.2f}\n")
                    tsv.flush()
                    print(f"round {r + 1} {target:18} {name:13} {w:7.1f} us/write  daemon CPU {c:6.1f} us/write",
                          flush=True)
    tsv.close()
    report(f"{title}; samples in {tsv.name}", targets, wall, cpu)


def cell(samples, digits=1):
    return f"{statistics.median(samples):.{digits}f} ({min(samples):.{digits}f}–{max(samples):.{digits}f})"


def report(title, targets, wall, cpu):
    """Tables in Markdown; wall and cpu map (target, workload) to samples in round order."""
    print(f"\n{title}\n")
    print("Time per write(2), µs: median (range) over the rounds\n")
    print("| target | " + " | ".join(WORKLOADS) + " |")
    print("|---|" + "---:|" * len(WORKLOADS))
    for t in targets:
        print(f"| {t} | " + " | ".join(cell(wall[(t, w)]) for w in WORKLOADS) + " |")
    # A ratio is taken within each round's mount, where both workloads met the same moment of
    # a shared machine, and then its median over the rounds.
    ratios = ["append", "extend", "append+fstat", "cold append"]
    print("\nTime against the overwrite on the same mount: median (range) of the rounds' ratios\n")
    print("| target | " + " | ".join(f"{w} / overwrite" for w in ratios) + " |")
    print("|---|" + "---:|" * len(ratios))
    for t in targets:
        print(f"| {t} | " + " | ".join(
            cell([a / b for a, b in zip(wall[(t, w)], wall[(t, "overwrite")])], 2) for w in ratios) + " |")
    print("\nDaemon CPU per write(2), µs: median over the rounds\n")
    print("| target | " + " | ".join(WORKLOADS) + " |")
    print("|---|" + "---:|" * len(WORKLOADS))
    for t in targets:
        print(f"| {t} | " + " | ".join(f"{statistics.median(cpu[(t, w)]):.1f}" for w in WORKLOADS) + " |")
    pairs = [(t, t.split("/")[0] + "/fuse2fs") for t in targets if t.endswith("rump_ext2fs")]
    pairs = [(a, b) for a, b in pairs if b in targets]
    if pairs:
        print("\nfuse2fs time / rump_ext2fs time, same image kind and round: median (range); above 1 rump_ext2fs is faster\n")
        print("| image | " + " | ".join(WORKLOADS) + " |")
        print("|---|" + "---:|" * len(WORKLOADS))
        for a, b in pairs:
            print(f"| {a.split('/')[0]} | " + " | ".join(
                cell([y / x for x, y in zip(wall[(a, w)], wall[(b, w)])], 2) for w in WORKLOADS) + " |")


def report_file(path):
    """Print the tables again from a TSV a run wrote."""
    wall, cpu, targets, title = {}, {}, [], path
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                title = line[1:].strip() + f"; samples in {path}"
                continue
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "round":
                continue
            _, target, workload, w, c = fields
            if target not in targets:
                targets.append(target)
            wall.setdefault((target, workload), []).append(float(w))
            cpu.setdefault((target, workload), []).append(float(c))
    report(title, targets, wall, cpu)


# Opcode names as the two logs spell them: ours "unique=12 GetXattr", libfuse's "opcode: GETXATTR".
RUMP_LINE = re.compile(r"unique=\d+ ([A-Za-z0-9]+) ")
LIBFUSE_LINE = re.compile(r"opcode: ([A-Z_0-9]+)")


def count(args, work, targets, buf):
    writes = 1024
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    for target in targets:
        print(f"\n{target}: FUSE requests per write(2), {writes} writes per workload (debug log)")
        image = os.path.join(work, "img")
        make_image(kind_of(target), image, 256, False, work)
        with Mounted(target, image, mnt):
            make_rewrite_file(mnt, writes, buf)
        for name in ["overwrite", "append", "extend", "append+fstat"]:
            log = os.path.join(work, "requests.log")
            with Mounted(target, image, mnt, log=log):
                run_workload(name, file_for(name, mnt), writes, buf)
            with open(log, errors="replace") as f:
                text = f.read()
            pattern = LIBFUSE_LINE if "fuse2fs" in target else RUMP_LINE
            ops = Counter(m.upper() for m in pattern.findall(text))
            per = {op: n / writes for op, n in ops.items() if n >= writes // 2}
            rest = sum(n for op, n in ops.items() if n < writes // 2)
            shown = ", ".join(f"{op} {v:.2f}" for op, v in sorted(per.items(), key=lambda kv: -kv[1]))
            print(f"  {name:13} {sum(per.values()):.2f} per write: {shown}  (+{rest} once per mount/open)")


def main():
    p = argparse.ArgumentParser(description="4 KiB overwrite / append / extend through FUSE daemons")
    p.add_argument("--mib", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--image", choices=["sparse", "full"], default="sparse")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--count", action="store_true")
    p.add_argument("--baseline", help="also run each rump target from this checkout's build (as NAME@base)")
    p.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    p.add_argument("--report", metavar="TSV", help="print the tables of an earlier run again, from its TSV")
    args = p.parse_args()
    if args.report:
        report_file(args.report)
        return
    if os.geteuid() != 0:
        raise SystemExit("append.py: needs root (FUSE mounts of images, fuse2fs -o fakeroot)")
    targets = args.targets.split(",")
    for t in targets:
        if t not in TARGETS:
            raise SystemExit(f"append.py: unknown target {t} (known: {', '.join(TARGETS)})")
    if args.baseline:
        global BASELINE
        BASELINE = os.path.abspath(args.baseline)
        targets = [n for t in targets for n in ([t, t + "@base"] if "rump_" in t else [t])]
    buf = os.urandom(BLOCK)
    with tempfile.TemporaryDirectory(prefix="p2k-append-", dir="/var/tmp") as work:
        (count if args.count else measure)(args, work, targets, buf)


if __name__ == "__main__":
    main()
