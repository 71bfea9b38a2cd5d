# ext2/3/4 images (mke2fs -d). Owned by the ext2fs driver; see build-corpus.sh.
# Every image is made from the same fixture tree, so each is compared with the fixture manifest.
build_ext2_images() {
    local work=$1 fix="$work/fixture-posix" m="$work/fixture-posix.manifest"
    local mk="mke2fs -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d $fix"
    $mk -t ext2 -r 0 -b 1024 "$work/ext2-rev0-1k.img" 48M
    add_image ext2-rev0-1k ext2fs "$m" "ext2 revision 0, 1 KiB blocks"
    for bs in 1024 2048 4096; do
        $mk -t ext2 -b $bs "$work/ext2-rev1-$((bs / 1024))k.img" 48M
        add_image "ext2-rev1-$((bs / 1024))k" ext2fs "$m" "ext2 revision 1, $((bs / 1024)) KiB blocks"
    done
    $mk -t ext3 "$work/ext3.img" 48M
    # mke2fs -d writes plain directories; e2fsck -D rebuilds them as hash trees.
    e2fsck -fyD "$work/ext3.img" >/dev/null 2>&1 || [ $? -le 1 ]
    add_image ext3 ext2fs "$m" "ext3 (journal, indirect blocks, htree)"
    $mk -t ext4 "$work/ext4-default.img" 64M
    e2fsck -fyD "$work/ext4-default.img" >/dev/null 2>&1 || [ $? -le 1 ]
    add_image ext4-default ext2fs "$m" "ext4 as Debian's mkfs.ext4 makes it"
    $mk -t ext4 -b 4096 "$work/ext4-4k.img" 64M
    add_image ext4-4k ext2fs "$m" "ext4 default features, 4 KiB blocks"
    $mk -t ext4 -O ^metadata_csum,^64bit "$work/ext4-nocsum.img" 64M
    add_image ext4-nocsum ext2fs "$m" "ext4 without metadata_csum and 64bit (uninit_bg, 32-byte descriptors)"
    # Upstream mke2fs makes orphan_file and metadata_csum_seed by default since 1.47.0 (Debian's since 1.47.1).
    $mk -t ext4 -O orphan_file,metadata_csum_seed "$work/ext4-orphan-file.img" 64M
    add_image ext4-orphan-file ext2fs "$m" "ext4 with orphan_file, metadata_csum and metadata_csum_seed (upstream mke2fs 1.47 defaults)"
    $mk -t ext4 -b 4096 -O orphan_file,^metadata_csum,^64bit "$work/ext4-orphan-file-nocsum.img" 64M
    add_image ext4-orphan-file-nocsum ext2fs "$m" "ext4 with orphan_file, without metadata_csum and 64bit, 4 KiB blocks"
    # mke2fs 1.47.0 -d with inline_data gets the size of a file ending in a hole wrong,
    # so this image is made from the fixture without its sparse file.
    cp -a "$fix" "$work/fixture-inline"
    rm "$work/fixture-inline/big/sparse.bin"
    write_manifest "$work/fixture-inline" > "$work/fixture-inline.manifest"
    mke2fs -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$work/fixture-inline" -t ext4 -O inline_data \
        "$work/ext4-inline.img" 64M
    add_image ext4-inline ext2fs "$work/fixture-inline.manifest" "ext4 with inline_data (read-only support)"
    rm -rf "$work/fixture-inline"
}
