#!/usr/bin/env bash
# 4 KiB overwrite / O_APPEND / extend through rump_ext2fs, rump_msdos, rump_ffs and fuse2fs
# (see append.py). Run as root: bench/p2k/append.sh [--mib 64] [--rounds 5] [--image sparse|full] [--count]
set -euo pipefail
cd "$(dirname "$0")/../.."
for t in rump_ext2fs rump_msdos rump_ffs; do
    dotnet build "tools/$t" -c Release -nologo -v quiet >/dev/null
done
exec python3 bench/p2k/append.py "$@"
