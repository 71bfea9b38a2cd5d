# ext2/3/4 images (mke2fs -d). Owned by the ext2fs driver; see build-corpus.sh.
build_ext2_images() {
    local work=$1
    mke2fs -q -F -t ext4 -d "$work/fixture-posix" "$work/ext4-default.img" 64M
    add_image ext4-default ext2fs "$work/fixture-posix.manifest" "ext4 as Debian's mkfs.ext4 makes it"
}
