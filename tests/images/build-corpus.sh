#!/usr/bin/env bash
# Build the image corpus from the fixture trees, with public tools only (makefs, mke2fs -d,
# mkfs.fat + mcopy, sfdisk), into a cache folder that is rebuilt only when a script in this
# folder changes. Prints the cache folder on stdout.
#
#   tests/images/build-corpus.sh [CACHE_DIR]      (default: $RUMPFS_CORPUS or tests/images/cache)
#
# Layout of the cache:
#   fixture-posix/            the tree ffs and ext2 images are made from (fixture.sh)
#   fixture-posix.manifest    path, type, mode, size, nlink, sha256, link target (manifest.sh)
#   images.tsv                name, fstype, image file, manifest file, description
#   <name>.img, <name>.manifest
# Each file-system family adds its images in its own <fs>.images.sh (see ffs.images.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${RUMPFS_CORPUS:-$here/cache}}
mkdir -p "$(dirname "$cache")"
stamp=$(cat "$here"/*.sh | sha256sum | cut -c1-16)

exec 9>"$cache.lock"
flock 9
if [ -f "$cache/.stamp" ] && [ "$(cat "$cache/.stamp")" = "$stamp" ]; then
    echo "$cache"
    exit 0
fi

for tool in mke2fs makefs mkfs.fat mcopy sha256sum; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-corpus: missing $tool (apt-get install e2fsprogs makefs dosfstools mtools)" >&2
        exit 1
    fi
done

work="$cache.tmp"
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=fixture.sh
source "$here/fixture.sh"
# shellcheck source=manifest.sh
source "$here/manifest.sh"

make_posix_fixture "$work/fixture-posix"
write_manifest "$work/fixture-posix" > "$work/fixture-posix.manifest"
: > "$work/images.tsv"

# add_image NAME FSTYPE MANIFEST DESCRIPTION: record an image built as $work/NAME.img.
add_image() {
    local name=$1 fstype=$2 manifest=$3 description=$4
    cp "$manifest" "$work/$name.manifest"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$fstype" "$name.img" "$name.manifest" "$description" >> "$work/images.tsv"
}

for builder in "$here"/*.images.sh; do
    [ -e "$builder" ] || continue
    # shellcheck disable=SC1090
    source "$builder"
done
for fn in $(declare -F | awk '{print $3}' | grep '^build_.*_images$' | sort); do
    "$fn" "$work" >&2
done

echo "$stamp" > "$work/.stamp"
rm -rf "$cache"
mv "$work" "$cache"
echo "$cache"
