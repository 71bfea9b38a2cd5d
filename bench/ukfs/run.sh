#!/usr/bin/env bash
# ukfs get/put throughput against the tools people use today, issue 8's Measure:
#   ukfs get  vs  debugfs -R dump (ext4), mcopy (FAT32), and dd of the image file (the disk's limit)
#   ukfs put  vs  debugfs -w -R write (ext4), mcopy (FAT32), and dd of the payload into the image file
# The image dd is also run into a host file: the same reading and writing a get does, in C.
# dd writes 128 KiB at a time: 1 MiB writes ask the host for 1 MiB page-cache folios and ran
# up to 3x slower here when memory was fragmented (ukfs get writes 128 KiB pieces for that reason).
# Every read starts cold for the image (the page cache dropped: drop_caches as root, else dd iflag=nocache);
# every write ends with the image fsync'ed, so all tools pay for reaching the disk.
#
#   bench/ukfs/run.sh [SIZE_MIB [ROUNDS]]     (defaults 512 and 5; prints a markdown table of medians)
set -euo pipefail
size=${1:-512}
rounds=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ukfs-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1

# The command as users install it (native, scripts/install), so start-up is what they see.
"$repo/scripts/install" --prefix "$work/inst" ukfs 2>/dev/null
ukfs="$work/inst/bin/ukfs"

head -c $((size << 20)) /dev/urandom > "$work/payload"
mkdir "$work/tree" && cp "$work/payload" "$work/tree/payload"
img_mib=$((size * 5 / 4 + 64))

# As root drop the whole page cache (dd's nocache advice is not honoured on every file
# system, e.g. overlayfs); otherwise advise the kernel to drop the image's pages.
drop() {
    if [ "$(id -u)" = 0 ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then return 0; fi
    dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || true
}
now() { date +%s%N; }
# run NAME IMAGE CMD...: time CMD (cold image before, image fsync'ed after), print MiB/s.
rate() { awk -v b=$((size << 20)) -v ns="$1" 'BEGIN { printf "%.0f", b / 1048576 / (ns / 1e9) }'; }
measure() {
    local image=$1; shift
    drop "$image"
    sync
    local t0 t1
    t0=$(now)
    if ! "$@" >/dev/null 2>&1; then
        echo "n/a"
        return 0
    fi
    sync "$image"
    t1=$(now)
    rate $((t1 - t0))
}

# Read side.
mke2fs -q -F -t ext4 -d "$work/tree" "$work/ext4.img" "${img_mib}M"
mkfs.fat -C -F 32 "$work/fat32.img" $((img_mib * 1024)) >/dev/null
mcopy -i "$work/fat32.img" "$work/payload" ::/PAYLOAD
# Write side: empty images, copied fresh for every put.
mke2fs -q -F -t ext4 "$work/ext4-empty.img" "${img_mib}M"
mkfs.fat -C -F 32 "$work/fat32-empty.img" $((img_mib * 1024)) >/dev/null
fresh() { cp --sparse=always "$work/$1-empty.img" "$work/$1-w.img"; }

# One cell per function; each measures once and records its sample.
get_cell() { # CELL FS IMAGE PATH
    local r
    r=$(measure "$3" "$ukfs" "$3" get "$4" "$out")
    cmp -s "$out" "$work/payload" || { echo "ukfs get ($2) wrote wrong data" >&2; exit 1; }
    add "$1" "$r"; rm -f "$out"
}
cell_dd_ext4() { add dd_ext4 "$(measure "$work/ext4.img" dd if="$work/ext4.img" of=/dev/null bs=1M count="$size")"; }
cell_ddf_ext4() { add ddf_ext4 "$(measure "$work/ext4.img" dd if="$work/ext4.img" of="$out" ibs=1M obs=128k count="$size")"; rm -f "$out"; }
cell_get_ext4() { get_cell get_ext4 ext4 "$work/ext4.img" /payload; }
cell_debugfs_get() { add debugfs_get "$(measure "$work/ext4.img" debugfs -R "dump /payload $out" "$work/ext4.img")"; rm -f "$out"; }
cell_dd_fat() { add dd_fat "$(measure "$work/fat32.img" dd if="$work/fat32.img" of=/dev/null bs=1M count="$size")"; }
cell_ddf_fat() { add ddf_fat "$(measure "$work/fat32.img" dd if="$work/fat32.img" of="$out" ibs=1M obs=128k count="$size")"; rm -f "$out"; }
cell_get_fat() { get_cell get_fat FAT32 "$work/fat32.img" /PAYLOAD; }
cell_mcopy_get() { add mcopy_get "$(measure "$work/fat32.img" mcopy -i "$work/fat32.img" ::/PAYLOAD "$out")"; rm -f "$out"; }
# Any get or put reads one file and writes another: a host cp of the payload, cold and
# synced, is what this disk allows for that.
cell_cp_host() { add cp_host "$(measure "$out" cp "$work/payload" "$out")"; rm -f "$out"; }
# The disk's limit for a put: the payload written over the image file, cold, synced.
cell_ddw_ext4() { fresh ext4; add ddw_ext4 "$(measure "$work/ext4-w.img" dd if="$work/payload" of="$work/ext4-w.img" bs=128k conv=notrunc)"; }
cell_put_ext4() {
    fresh ext4
    add put_ext4 "$(measure "$work/ext4-w.img" "$ukfs" "$work/ext4-w.img" put "$work/payload" /)"
    e2fsck -fn "$work/ext4-w.img" >/dev/null 2>&1 || { echo "e2fsck failed after ukfs put" >&2; exit 1; }
}
cell_debugfs_put() { fresh ext4; add debugfs_put "$(measure "$work/ext4-w.img" debugfs -w -R "write $work/payload payload" "$work/ext4-w.img")"; }
cell_ddw_fat() { fresh fat32; add ddw_fat "$(measure "$work/fat32-w.img" dd if="$work/payload" of="$work/fat32-w.img" bs=128k conv=notrunc)"; }
cell_put_fat() {
    fresh fat32
    add put_fat "$(measure "$work/fat32-w.img" "$ukfs" "$work/fat32-w.img" put "$work/payload" /)"
    fsck.fat -n "$work/fat32-w.img" >/dev/null 2>&1 || { echo "fsck.fat failed after ukfs put" >&2; exit 1; }
}
cell_mcopy_put() { fresh fat32; add mcopy_put "$(measure "$work/fat32-w.img" mcopy -i "$work/fat32-w.img" "$work/payload" ::/PAYLOAD)"; }

# run_group ROUND CELL...: every cell once, starting at a different one each round, so no
# tool always follows the same neighbour (a cell right after a synced write can find the
# virtual disk still busy).
run_group() {
    local round=$1; shift
    local order=("$@") n=$# i
    for ((i = 0; i < n; i++)); do "cell_${order[(i + round) % n]}"; done
}

# One round measures every cell once; the table shows each cell's median over the rounds,
# since a single cold read on a virtual disk can swing by 2x.
source "$repo/bench/lib/samples.sh"
out="$work/out"
for round in $(seq 1 "$rounds"); do
    run_group "$round" dd_ext4 ddf_ext4 get_ext4 debugfs_get
    run_group "$round" dd_fat ddf_fat get_fat mcopy_get
    run_group "$round" ddw_ext4 put_ext4 debugfs_put ddw_fat put_fat mcopy_put cp_host
done

cp_host=$(median cp_host)
cat <<TABLE
| ${size} MiB file, MiB/s, median of $rounds | ukfs | reference | image dd (cold) | image dd into a file | host cp (cold, synced) |
| --- | ---: | ---: | ---: | ---: | ---: |
| get, ext4 (vs debugfs dump) | $(median get_ext4) | $(median debugfs_get) | $(median dd_ext4) | $(median ddf_ext4) | $cp_host |
| get, FAT32 (vs mcopy) | $(median get_fat) | $(median mcopy_get) | $(median dd_fat) | $(median ddf_fat) | $cp_host |
| put, ext4 (vs debugfs write) | $(median put_ext4) | $(median debugfs_put) | $(median ddw_ext4) | | $cp_host |
| put, FAT32 (vs mcopy) | $(median put_fat) | $(median mcopy_put) | $(median ddw_fat) | | $cp_host |
TABLE
# Every sample, for the record.
for k in get_ext4 debugfs_get dd_ext4 ddf_ext4 get_fat mcopy_get dd_fat ddf_fat put_ext4 debugfs_put ddw_ext4 put_fat mcopy_put ddw_fat cp_host; do
    echo "$k:$(samples "$k")"
done
