#!/usr/bin/env bash
# Measure the ext2fs driver against fuse2fs and the kernel's ext4 on a loop mount, in one run:
#   sequential write + fsync of SIZE (default 512M), cold sequential read of it,
#   create / stat / unlink of N (default 10000) empty files, and untar of a source tree.
# Usage: bench/ext2fs/run.sh [--size 512M] [--files 10000] [--tar tree.tar] [--rounds 3] [--out DIR]
# Needs root (loop mounts, drop_caches), fuse2fs, and rump_ext2fs built (dotnet build tools/rump_ext2fs -c Release).
# Each round runs every workload on every target, starting at a different target each round,
# so no target always follows the same neighbour; the table at the end gives each cell's
# median over the rounds (a cold read on a virtual disk can swing by 2x).
# Every sample goes to bench/results/ext2fs-<date>.tsv (round, target, workload, value, unit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
size=512M files=10000 tarball="" out="$repo/bench/results" rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        --tar) tarball=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (loop mounts, drop_caches)" >&2; exit 1; }
mkdir -p "$out"
result="$out/ext2fs-$(date -u +%Y%m%dT%H%M%SZ).tsv"
work=$(mktemp -d /var/tmp/rumpfs-bench.XXXXXX)
mnt="$work/mnt"
mkdir -p "$mnt"
pids=()
cleanup() {
    mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt"; }
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

bytes=$(numfmt --from=iec "$size")
if [ -z "$tarball" ]; then
    tarball="$work/tree.tar"
    tar -C "$repo" -cf "$tarball" --exclude=bin --exclude=obj --exclude=.git --exclude=cache src tests tools
fi
rump="$repo/tools/rump_ext2fs/bin/Release/net10.0/rump_ext2fs"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
source "$repo/bench/lib/samples.sh"
# record TARGET WORKLOAD VALUE UNIT: one sample, in the TSV and in the cell for the medians.
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$1" "$2" "$3" "$4" | tee -a "$result"; add "$1/$2" "$3"; }

# FUSE daemons run in the foreground as children of this script, so an unmount can wait for
# the daemon to exit: fusermount3 -u returns before the daemon has written everything back,
# and the next mount, mke2fs or e2fsck of the image must not start before that.
daemon=
wait_mounted() { for _ in $(seq 1 100); do mountpoint -q "$mnt" && return 0; sleep 0.05; done; echo "run.sh: $1 did not mount" >&2; exit 1; }
mount_target() {
    case "$1" in
        kernel) mount -o loop "$img" "$mnt" ;;
        fuse2fs) fuse2fs -f -o fakeroot "$img" "$mnt" & daemon=$!; pids+=("$daemon"); wait_mounted "$1" ;;
        rump_ext2fs) "$rump" -f "$img" "$mnt" 2>/dev/null & daemon=$!; pids+=("$daemon"); wait_mounted "$1" ;;
    esac
}

unmount_target() {
    case "$1" in
        kernel) umount "$mnt" ;;
        *) fusermount3 -u "$mnt" || umount "$mnt"; wait "$daemon" || true ;;
    esac
}

run_target() {
    local target=$1
    img="$work/$target.img"
    mke2fs -q -F -t ext4 "$img" $((bytes * 2 / 1048576 + 512))M
    mount_target "$target"
    t0=$(now); dd if=/dev/zero of="$mnt/seq" bs=1M count=$((bytes / 1048576)) conv=fsync status=none; t1=$(now)
    record "$target" "seq-write+fsync" "$(rate $((bytes / 1048576)) "$t0" "$t1")" "MiB/s"
    unmount_target "$target"; sync; echo 3 > /proc/sys/vm/drop_caches; mount_target "$target"
    t0=$(now); dd if="$mnt/seq" of=/dev/null bs=1M status=none; t1=$(now)
    record "$target" "cold-seq-read" "$(rate $((bytes / 1048576)) "$t0" "$t1")" "MiB/s"
    rm "$mnt/seq"
    mkdir "$mnt/many"
    t0=$(now); (cd "$mnt/many" && seq 1 "$files" | xargs touch); t1=$(now)
    record "$target" "create" "$(rate "$files" "$t0" "$t1")" "files/s"
    t0=$(now); find "$mnt/many" -type f -newer /dev/null -printf '' ; t1=$(now)
    record "$target" "stat" "$(rate "$files" "$t0" "$t1")" "files/s"
    t0=$(now); find "$mnt/many" -type f -delete; t1=$(now)
    record "$target" "unlink" "$(rate "$files" "$t0" "$t1")" "files/s"
    t0=$(now); tar -C "$mnt" -xf "$tarball"; sync -f "$mnt"; t1=$(now)
    record "$target" "untar" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "s"
    unmount_target "$target"
    e2fsck -fn "$img" >/dev/null || echo "run.sh: e2fsck found problems after $target" >&2
}

targets=(kernel fuse2fs)
if [ -x "$rump" ]; then targets+=(rump_ext2fs); else echo "run.sh: $rump not built, skipping it" >&2; fi
n=${#targets[@]}
for round in $(seq 1 "$rounds"); do
    for ((i = 0; i < n; i++)); do run_target "${targets[(i + round) % n]}"; done
done

workloads=(seq-write+fsync cold-seq-read create stat unlink untar)
units=("MiB/s" "MiB/s" "files/s" "files/s" "files/s" "s")
printf '\n| workload (median of %s) |' "$rounds"; printf ' %s |' "${targets[@]}"; printf '\n| --- |'
for _ in "${targets[@]}"; do printf ' ---: |'; done; printf '\n'
for ((w = 0; w < ${#workloads[@]}; w++)); do
    printf '| %s (%s) |' "${workloads[w]}" "${units[w]}"
    for t in "${targets[@]}"; do printf ' %s |' "$(median "$t/${workloads[w]}")"; done
    printf '\n'
done
echo "results: $result" >&2
