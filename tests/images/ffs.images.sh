# FFS images (makefs -t ffs). Owned by the FFS driver; see build-corpus.sh.
# UFS1 and UFS2 in both byte orders, block sizes 4096..65536 with fragment sizes of 1/8
# block (the FFS default), plus a 1/4 and a 1/1 ratio. Names: ffs<version>-<order>-<bsize>.
build_ffs_images() {
    local work=$1 spec version order bsize fsize name
    for spec in 1:le:4096:512 1:be:8192:1024 1:le:8192:1024 1:be:16384:2048 1:le:65536:8192 \
                2:le:8192:1024 2:be:8192:1024 2:le:4096:1024 2:be:32768:4096 2:le:65536:65536 \
                2:be:65536:8192; do
        IFS=: read -r version order bsize fsize <<< "$spec"
        name="ffs$version-$order-$((bsize / 1024))k-f$((fsize / 512))"
        makefs -t ffs -B "$order" -o "version=$version,bsize=$bsize,fsize=$fsize" \
            "$work/$name.img" "$work/fixture-posix" >/dev/null
        add_image "$name" ffs "$work/fixture-posix.manifest" "UFS$version $order-endian ${bsize}/${fsize}"
    done
    # An empty, roomy file system for write workloads (copied before use).
    mkdir -p "$work/empty-tree"
    makefs -t ffs -B le -o version=1,density=8192 -s 64m "$work/ffs1-empty-64m.img" "$work/empty-tree" >/dev/null
    makefs -t ffs -B be -o version=2,density=8192 -s 64m "$work/ffs2-empty-64m.img" "$work/empty-tree" >/dev/null
    # Roomy empty images at the edges of the geometry: 512-byte fragments, one fragment
    # per block at 64K, and 16K/2K big-endian UFS1.
    makefs -t ffs -B le -o version=1,bsize=4096,fsize=512,density=8192 -s 64m "$work/ffs1-empty-4k-f512.img" "$work/empty-tree" >/dev/null
    makefs -t ffs -B be -o version=2,bsize=65536,fsize=65536,density=16384 -s 96m "$work/ffs2-empty-64k-f64k.img" "$work/empty-tree" >/dev/null
    makefs -t ffs -B be -o version=1,bsize=16384,fsize=2048,density=8192 -s 64m "$work/ffs1-empty-16k-f2k.img" "$work/empty-tree" >/dev/null
    : > "$work/empty-tree.manifest"
    add_image ffs1-empty-4k-f512 ffs "$work/empty-tree.manifest" "UFS1 little-endian 4096/512, empty"
    add_image ffs2-empty-64k-f64k ffs "$work/empty-tree.manifest" "UFS2 big-endian 65536/65536, empty"
    add_image ffs1-empty-16k-f2k ffs "$work/empty-tree.manifest" "UFS1 big-endian 16384/2048, empty"
    add_image ffs1-empty-64m ffs "$work/empty-tree.manifest" "UFS1 little-endian, empty, 64 MiB"
    add_image ffs2-empty-64m ffs "$work/empty-tree.manifest" "UFS2 big-endian, empty, 64 MiB"
}
