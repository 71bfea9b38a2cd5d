#!/usr/bin/env bash
# Measure rump_ffs against rump_ext2fs and the kernel's ext2 on same-size images, in one run:
# sequential write and read of one file, then create/stat/unlink of many small files.
#   bench/ffs/run.sh [SIZE_MB] [NFILES] [ROUNDS]     (defaults 256, 5000, 5; needs root for the loop mount)
# Prints one table of medians (seconds, lower is better), then every sample. Installs the daemons first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
size_mb=${1:-256}
nfiles=${2:-5000}
rounds=${3:-5}
work=$(mktemp -d /tmp/rumpfs-bench.XXXXXX)
img_mb=$((size_mb * 2 + 64))
cleanup() {
    for m in "$work"/mnt-*; do mountpoint -q "$m" 2>/dev/null && { umount "$m" || fusermount3 -u -z "$m"; }; done
    rm -rf "$work"
}
trap cleanup EXIT

# The daemons as scripts/install installs them (ReadyToRun): a fresh daemon then runs
# compiled code from the first request instead of spending a third of its CPU in the JIT.
"$repo/scripts/install" --prefix "$work/inst" rump_ffs rump_ext2fs 2>/dev/null
ffs_bin="$work/inst/bin/rump_ffs"
ext2_bin="$work/inst/bin/rump_ext2fs"

mkdir -p "$work/empty" "$work/mnt-ffs" "$work/mnt-ext2" "$work/mnt-kernel"
makefs -t ffs -B le -o version=2,density=16384 -s "${img_mb}m" "$work/ffs.img" "$work/empty" >/dev/null
mke2fs -q -F -t ext2 "$work/ext2.img" "${img_mb}M"
mke2fs -q -F -t ext2 "$work/kernel.img" "${img_mb}M"

"$ffs_bin" "$work/ffs.img" "$work/mnt-ffs"
"$ext2_bin" "$work/ext2.img" "$work/mnt-ext2"
mount -o loop -t ext2 "$work/kernel.img" "$work/mnt-kernel"

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

seqw() { dd if=/dev/zero of="$1/big" bs=1M count="$size_mb" conv=fsync status=none; }
seqr() { dd if="$1/big" of=/dev/null bs=1M status=none; }
files() {
    mkdir "$1/many"
    for i in $(seq 1 "$nfiles"); do : > "$1/many/f$i"; done
    stat "$1"/many/* >/dev/null
    find "$1/many" -type f -delete
}

# Each round runs every workload once on every target, the targets one after another, so
# that all three see the same moment of the disk; each round starts at a different target,
# so none always runs right after the same neighbour. The table shows each cell's median
# over the rounds (a single cold read on this virtual disk can swing by 2x), then every sample.
source "$repo/bench/lib/samples.sh"
targets=(ffs ext2 kernel)
for round in $(seq 1 "$rounds"); do
    for i in 0 1 2; do
        target=${targets[(i + round) % 3]}
        m="$work/mnt-$target"
        rm -f "$m/big"
        add "$target-w" "$(t seqw "$m")"; drop
        add "$target-r" "$(t seqr "$m")"
        add "$target-f" "$(t files "$m")"
        rmdir "$m/many"
    done
done

printf '%-10s %12s %12s %14s\n' target "seq-write" "seq-read" "create/stat/rm"
for target in ffs ext2 kernel; do
    printf '%-10s %12.2f %12.2f %14.2f\n' "$target" "$(median "$target-w")" "$(median "$target-r")" "$(median "$target-f")"
done
echo "(medians of $rounds rounds; $size_mb MiB file, $nfiles files, ${img_mb} MiB images, $(nproc) cores)"
for k in ffs-w ext2-w kernel-w ffs-r ext2-r kernel-r ffs-f ext2-f kernel-f; do
    echo "$k:$(samples "$k")"
done
