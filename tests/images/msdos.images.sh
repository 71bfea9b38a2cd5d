# FAT images (mkfs.fat + mcopy). Owned by the msdosfs driver; see build-corpus.sh.
build_msdos_images() {
    local work=$1
    mkdir -p "$work/fixture-fat/Long Directory Name"
    printf 'hello, fat\n' > "$work/fixture-fat/Hello World.txt"
    printf 'inner\n' > "$work/fixture-fat/Long Directory Name/A file with a long name.text"
    (cd "$work/fixture-fat" && write_manifest .) > "$work/fixture-fat.manifest"
    mkfs.fat -C -F 32 -n RUMPFS "$work/fat32.img" $((64 * 1024)) >/dev/null
    MTOOLS_SKIP_CHECK=1 mcopy -s -i "$work/fat32.img" "$work/fixture-fat"/* ::/
    add_image fat32 msdos "$work/fixture-fat.manifest" "FAT32 from mkfs.fat, filled by mcopy -s"
}
