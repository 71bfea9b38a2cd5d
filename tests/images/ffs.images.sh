# FFS images (makefs -t ffs). Owned by the FFS driver; see build-corpus.sh.
build_ffs_images() {
    local work=$1
    makefs -t ffs -o version=2 -B le -b 8192 -f 1024 "$work/ffs2-le-8k.img" "$work/fixture-posix" >/dev/null
    add_image ffs2-le-8k ffs "$work/fixture-posix.manifest" "UFS2 little-endian 8K/1K"
}
