#!/usr/bin/env bash
# FAT through FUSE: rump_msdos against fusefat (the peer to leave behind) and rump_ext2fs
# (the bar: within 1.5x), with the same workloads on each: sequential write and cold read,
# create/stat/unlink of N files in one directory (timed per tenth, to show growth), untar;
# the kernel's ext4 on a loop mount runs the same workloads as the ceiling (no FAT in this kernel).
# Then the driver alone, in process (MsdosBench). Needs root (mounts, drop_caches).
# With ROUNDS above 1 the FUSE targets run that many times, each round starting at a
# different target, so that no target always follows the same neighbour.
#
#   bench/msdos/bench.sh [FILES] [MEGABYTES] [ROUNDS]   results in bench/results/msdos-*.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
files=${1:-10000}
mb=${2:-256}
rounds=${3:-1}
work=$(mktemp -d /tmp/rumpfs-bench-msdos.XXXXXX)
out="$repo/bench/results/msdos-$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p "$repo/bench/results"
pids=()
cleanup() {
    for m in "$work"/mnt-*; do
        mountpoint -q "$m" 2>/dev/null && { fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# A tarball of a mixed tree (small and large files, nested directories).
mkdir -p "$work/tree"
(cd "$work/tree" && for d in $(seq 1 20); do mkdir -p "dir $d/sub"; for f in $(seq 1 50); do head -c $((RANDOM * 3)) /dev/urandom > "dir $d/sub/file $f.dat"; done; done)
tar -C "$work/tree" -cf "$work/tree.tar" .
# The payload comes from a file in the page cache: /dev/urandom itself delivers only a few
# hundred MB/s, which would cap every target's write at its speed.
head -c $((mb << 20)) /dev/urandom > "$work/random.bin"

workloads() {
    local name=$1 mnt=$2
    local t
    echo "== $name"
    cat "$work/random.bin" > /dev/null
    t=$(now); dd if="$work/random.bin" of="$mnt/big.bin" bs=1M count="$mb" conv=fsync status=none; printf 'seq write %d MB: %.2f MB/s\n' "$mb" "$(echo "$mb / $(elapsed "$t")" | bc -l)"
    drop
    t=$(now); dd if="$mnt/big.bin" of=/dev/null bs=1M status=none; printf 'seq read (cold): %.2f MB/s\n' "$(echo "$mb / $(elapsed "$t")" | bc -l)"
    mkdir "$mnt/many"
    python3 "$here/meta.py" "$mnt/many" "$files"
    mkdir "$mnt/untar"
    t=$(now); tar -C "$mnt/untar" --no-same-owner --no-same-permissions -xf "$work/tree.tar" 2>/dev/null || true; sync; printf 'untar: %.2f s\n' "$(elapsed "$t")"
}

run_fat() {
    local name=$1; shift
    local img="$work/$name.img" mnt="$work/mnt-$name"
    rm -f "$img"
    mkfs.fat -C -F 32 "$img" $(( (mb + 200) * 1024 )) >/dev/null
    mkdir -p "$mnt"
    "$@" "$img" "$mnt" >/dev/null 2>&1 &
    local daemon=$!
    pids+=("$daemon")
    for _ in $(seq 1 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
    if ! mountpoint -q "$mnt"; then echo "== $name: did not mount, skipped"; return; fi
    workloads "$name" "$mnt"
    # fusermount3 -u returns before the daemon has written everything back: wait for it.
    fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt"
    wait "$daemon" || true
}

target_fusefat() {
    if command -v fusefat >/dev/null; then run_fat fusefat fusefat -f -o rw+; else echo "== fusefat: not installed"; fi
}

target_rump_msdos() {
    local rump_msdos="$repo/tools/rump_msdos/bin/Release/net10.0/rump_msdos"
    if [ -x "$rump_msdos" ]; then run_fat rump_msdos "$rump_msdos" -f; else echo "== rump_msdos: not built (dotnet build -c Release tools/rump_msdos)"; fi
}

target_rump_ext2fs() {
    local rump_ext2fs="$repo/tools/rump_ext2fs/bin/Release/net10.0/rump_ext2fs" img="$work/ext2.img" mnt="$work/mnt-ext2"
    if [ ! -x "$rump_ext2fs" ]; then echo "== rump_ext2fs: not built"; return; fi
    mke2fs -q -F -t ext4 "$img" $(( (mb + 200) * 1024 ))k && mkdir -p "$mnt"
    "$rump_ext2fs" -f "$img" "$mnt" & pids+=($!)
    local daemon=$!
    for _ in $(seq 1 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
    if mountpoint -q "$mnt"; then workloads rump_ext2fs "$mnt"; fusermount3 -u "$mnt" || true; wait "$daemon" || true; else echo "== rump_ext2fs: did not mount"; fi
}

# No FAT in this kernel to compare with; its ext4 on a loop mount shows what a kernel
# driver does with the same workloads (the ceiling any FUSE daemon works under).
target_kernel_ext4() {
    local img="$work/kernel-ext4.img" mnt="$work/mnt-kernel-ext4"
    mke2fs -q -F -t ext4 "$img" $(( (mb + 200) * 1024 ))k && mkdir -p "$mnt"
    if mount -o loop -t ext4 "$img" "$mnt" 2>/dev/null; then workloads kernel_ext4 "$mnt"; umount "$mnt"; else echo "== kernel_ext4: loop mount failed"; fi
}
targets=(target_fusefat target_rump_msdos target_rump_ext2fs target_kernel_ext4)

{
    echo "msdosfs bench, $(date -u), files=$files, MB=$mb, $(nproc) cpus"
    for round in $(seq 1 "$rounds"); do
        if [ "$rounds" -gt 1 ]; then echo "=== round $round"; fi
        for ((i = 0; i < ${#targets[@]}; i++)); do "${targets[(i + round - 1) % ${#targets[@]}]}"; done
    done
    echo "== driver in process (no FUSE)"
    mkfs.fat -C -F 32 "$work/inproc.img" $(( (mb + 200) * 1024 )) >/dev/null
    dotnet run -c Release --project "$here/MsdosBench" -- "$work/inproc.img" "$files" "$mb"
} 2>&1 | tee "$out"
