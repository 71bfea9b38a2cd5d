#!/usr/bin/env bash
# rump_tmpfs vs the kernel's tmpfs (see bench.py). Run as root: bench/p2k/run.sh [size_mib] [files]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build tools/rump_tmpfs -c Release -nologo -v quiet >/dev/null
exec python3 bench/p2k/bench.py tools/rump_tmpfs/bin/Release/net10.0/rump_tmpfs.dll "$@"
