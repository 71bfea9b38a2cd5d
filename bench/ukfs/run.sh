#!/usr/bin/env bash
# ukfs get/put throughput against the tools people use today, issue 8's Measure:
#   ukfs get  vs  debugfs -R dump (ext4), mcopy (FAT32), and dd of the image file (the disk's limit)
#   ukfs put  vs  debugfs -w -R write (ext4), mcopy (FAT32)
# Every read starts cold for the image (the page cache dropped: drop_caches as root, else dd iflag=nocache);
# every write ends with the image fsync'ed, so all tools pay for reaching the disk.
#
#   bench/ukfs/run.sh [SIZE_MIB]     (default 512; prints a markdown table)
set -euo pipefail
size=${1:-512}
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

out="$work/out"
dd_ext4=$(measure "$work/ext4.img" dd if="$work/ext4.img" of=/dev/null bs=1M count="$size")
get_ext4=$(measure "$work/ext4.img" "$ukfs" "$work/ext4.img" get /payload "$out")
cmp -s "$out" "$work/payload" || get_ext4="$get_ext4 (WRONG DATA)"
rm -f "$out"
debugfs_get=$(measure "$work/ext4.img" debugfs -R "dump /payload $out" "$work/ext4.img"); rm -f "$out"

dd_fat=$(measure "$work/fat32.img" dd if="$work/fat32.img" of=/dev/null bs=1M count="$size")
# Any get or put reads one file and writes another: a host cp of the payload, cold and
# synced, is what this disk allows for that.
cp_host=$(measure "$out" cp "$work/payload" "$out"); rm -f "$out"
get_fat=$(measure "$work/fat32.img" "$ukfs" "$work/fat32.img" get /PAYLOAD "$out")
[ "$get_fat" = n/a ] || cmp -s "$out" "$work/payload" || get_fat="$get_fat (WRONG DATA)"
rm -f "$out"
mcopy_get=$(measure "$work/fat32.img" mcopy -i "$work/fat32.img" ::/PAYLOAD "$out"); rm -f "$out"

# Write side: fresh empty images.
mke2fs -q -F -t ext4 "$work/ext4-w.img" "${img_mib}M"
cp --sparse=always "$work/ext4-w.img" "$work/ext4-w2.img"
mkfs.fat -C -F 32 "$work/fat32-w.img" $((img_mib * 1024)) >/dev/null
cp --sparse=always "$work/fat32-w.img" "$work/fat32-w2.img"
put_ext4=$(measure "$work/ext4-w.img" "$ukfs" "$work/ext4-w.img" put "$work/payload" /)
[ "$put_ext4" = n/a ] || e2fsck -fn "$work/ext4-w.img" >/dev/null 2>&1 || put_ext4="$put_ext4 (e2fsck FAILED)"
debugfs_put=$(measure "$work/ext4-w2.img" debugfs -w -R "write $work/payload payload" "$work/ext4-w2.img")
put_fat=$(measure "$work/fat32-w.img" "$ukfs" "$work/fat32-w.img" put "$work/payload" /)
[ "$put_fat" = n/a ] || fsck.fat -n "$work/fat32-w.img" >/dev/null 2>&1 || put_fat="$put_fat (fsck.fat FAILED)"
mcopy_put=$(measure "$work/fat32-w2.img" mcopy -i "$work/fat32-w2.img" "$work/payload" ::/PAYLOAD)

cat <<TABLE
| ${size} MiB file, MiB/s | ukfs | reference | image dd to /dev/null (cold) | host cp (cold, synced) |
| --- | ---: | ---: | ---: | ---: |
| get, ext4 (vs debugfs dump) | $get_ext4 | $debugfs_get | $dd_ext4 | $cp_host |
| get, FAT32 (vs mcopy) | $get_fat | $mcopy_get | $dd_fat | $cp_host |
| put, ext4 (vs debugfs write) | $put_ext4 | $debugfs_put | | $cp_host |
| put, FAT32 (vs mcopy) | $put_fat | $mcopy_put | | $cp_host |
TABLE
