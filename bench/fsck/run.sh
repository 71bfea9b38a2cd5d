#!/usr/bin/env bash
# ukfs fsck against the checkers people use today, on the same images, warm cache:
#   ext4:  ukfs fsck -n      vs  e2fsck -fn
#          ukfs fsck -y -D   vs  e2fsck -fyD      (every directory rewritten; fresh copy each round)
#   FAT32: ukfs fsck -n      vs  fsck.fat -n
# The images are clean (mke2fs -d, mkfs.fat + mcopy) and hold DIRS folders of FILES small
# files each, plus (ext4 only) one folder of BIG names, so the checkers' per-inode and
# per-name work dominates. Each command runs once to warm the cache, then ROUNDS times; the table gives
# the median wall time and ours over theirs (below 1.00 means ukfs is faster).
#
#   bench/fsck/run.sh [DIRS [FILES [BIG [ROUNDS]]]]     (defaults 100 100 5000 5)
set -euo pipefail
dirs=${1:-100}
files=${2:-100}
big=${3:-5000}
rounds=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fsck-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1

# The command as users install it (native, scripts/install), so start-up is what they see.
"$repo/scripts/install" --prefix "$work/inst" ukfs 2>/dev/null
ukfs="$work/inst/bin/ukfs"

tree="$work/tree"
for d in $(seq 1 "$dirs"); do
    mkdir -p "$tree/dir$d"
    for f in $(seq 1 "$files"); do printf 'file %d of folder %d\n' "$f" "$d" > "$tree/dir$d/f$f.txt"; done
done
mkdir -p "$tree/big"
for f in $(seq 1 "$big"); do : > "$tree/big/a-longer-name-for-the-big-folder-$f"; done

mke2fs -q -F -t ext4 -d "$tree" "$work/ext4.img" 256M
mkfs.fat -C -F 32 "$work/fat32.img" $((256 * 1024)) >/dev/null
# mcopy looks every new name up in the whole folder (long names): the big folder would take
# it most of an hour, so the FAT image holds the small folders only.
mcopy -s -i "$work/fat32.img" "$tree"/dir* ::/

now() { date +%s%N; }
# median_ms CMD...: run once to warm up, then ROUNDS times; print the median in ms.
median_ms() {
    "$@" >/dev/null 2>&1 || true
    local t=()
    for _ in $(seq 1 "$rounds"); do
        local t0 t1
        t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now)
        t+=($(((t1 - t0) / 1000000)))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
# fresh_then CMD...: the same on a fresh copy of the ext4 image each time (CMD names it as IMG).
fresh_then() {
    cp --sparse=always "$work/ext4.img" "$work/w.img"
    "${@/IMG/$work/w.img}"
}

row() { awk -v a="$2" -v b="$3" -v n="$1" 'BEGIN { printf "| %s | %d | %d | %.2f |\n", n, a, b, a / b }'; }
echo "images: $dirs folders x $files files, one folder of $big names; median of $rounds warm runs (ms)"
echo
echo "| check | ukfs | peer | ukfs / peer |"
echo "|---|---|---|---|"
row "ext4, -n vs e2fsck -fn" "$(median_ms "$ukfs" "$work/ext4.img" fsck -n)" "$(median_ms e2fsck -fn "$work/ext4.img")"
row "ext4, -y -D vs e2fsck -fyD" "$(median_ms fresh_then "$ukfs" IMG fsck -y -D)" "$(median_ms fresh_then e2fsck -fyD IMG)"
row "FAT32, -n vs fsck.fat -n" "$(median_ms "$ukfs" "$work/fat32.img" fsck -n)" "$(median_ms fsck.fat -n "$work/fat32.img")"
