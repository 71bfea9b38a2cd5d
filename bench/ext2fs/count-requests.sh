#!/usr/bin/env bash
# Count the FUSE requests and device writes an untar costs on rump_ext2fs, per opcode:
#   bench/ext2fs/count-requests.sh TREE.tar [SIZE]     (SIZE of the fresh ext4 image, default 1G)
# Runs the daemon in debug mode (one log line per request) under strace -c, extracts the
# tarball, unmounts, and prints the opcode counts, the pwrite64/fsync counts and the files
# in the tarball. Needs root, strace, and rump_ext2fs built in Release.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${1:?usage: count-requests.sh TREE.tar [SIZE]}
size=${2:-1G}
rump="$repo/tools/rump_ext2fs/bin/Release/net10.0/rump_ext2fs"
[ -x "$rump" ] || { echo "count-requests.sh: build rump_ext2fs in Release first" >&2; exit 1; }
work=$(mktemp -d /var/tmp/rumpfs-count.XXXXXX)
mnt="$work/mnt"
mkdir -p "$mnt"
pid=""
cleanup() {
    mountpoint -q "$mnt" && { fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mke2fs -q -F -t ext4 "$work/img" "$size"
# -d keeps the daemon in the foreground and logs each request with its opcode.
strace -c -f -o "$work/syscalls" "$rump" -d "$work/img" "$mnt" 2> "$work/requests" &
pid=$!
for _ in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.2; done
tar -C "$mnt" -xf "$tarball"
fusermount3 -u "$mnt"
wait "$pid" || true
pid=""

echo "entries in the tarball: $(tar -tf "$tarball" | wc -l) (regular files: $(tar -tvf "$tarball" | grep -c '^-'))"
echo "FUSE requests by opcode:"
grep -o 'unique=[0-9]* [A-Za-z]*' "$work/requests" | awk '{print $2}' | sort | uniq -c | sort -rn
echo "total: $(grep -c 'unique=' "$work/requests")"
echo "device calls of the daemon (strace -c):"
grep -E ' (pwrite64|pread64|fsync|fdatasync)$' "$work/syscalls" | awk '{print "  " $NF ": " $(NF-1)}'
