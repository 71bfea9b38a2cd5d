# FAT images (mkfs.fat + mcopy -s). Owned by the msdosfs driver; see build-corpus.sh.
#
# One fixture tree (long names, case-only differences across directories, NT lower-case
# 8.3 names, a deep tree, 1,000 files in one directory, files spanning many clusters, an
# empty file and directory, a 255-character name) copied into FAT12, FAT16 and FAT32 images
# of several cluster sizes and a 4096-byte-sector one, and a FAT16 image whose fixed root
# directory is full. Manifests come from the tree itself (modes are not compared: FAT has
# none).

make_fat_fixture() {
    local root=$1
    mkdir -p "$root"
    (
        cd "$root"
        printf 'hello, fat\n' > "Hello World.txt"
        mkdir -p "Long Directory Name"
        printf 'inner\n' > "Long Directory Name/A file with a long name.text"
        printf 'upper\n' > UPPER.TXT
        printf 'lower\n' > lower.txt
        printf 'mixed\n' > MiXeD.Txt
        printf 'dots\n' > "a.b.c d.tar.gz"
        mkdir case1 case2
        printf 'one\n' > case1/readme.TXT
        printf 'two\n' > case2/README.txt
        printf 'unicode\n' > "ümlaut-ñ-日本.txt"
        printf 'long\n' > "$(printf 'L%.0s' $(seq 1 251)).txt"
        mkdir -p deep/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12
        printf 'deep\n' > deep/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/deep.txt
        mkdir many
        for i in $(seq -w 0 999); do printf 'file %s\n' "$i" > "many/file number $i.txt"; done
        mkdir big
        head -c 300000 /dev/urandom > big/random.bin
        head -c 70001 /dev/urandom > big/odd-size.bin
        : > empty.txt
        mkdir emptydir
    )
}

# fat_image WORK FIXTURE NAME DESCRIPTION SIZE_KIB MKFS_ARGS...: an image filled from a fixture.
fat_image() {
    local work=$1 fixture=$2 name=$3 description=$4 kib=$5
    shift 5
    rm -f "$work/$name.img"
    mkfs.fat -C "$@" -n RUMPFS "$work/$name.img" "$kib" >/dev/null
    MTOOLS_SKIP_CHECK=1 mcopy -s -Q -i "$work/$name.img" "$work/$fixture"/* ::/
    add_image "$name" msdos "$work/$fixture.manifest" "$description"
}

build_msdos_images() {
    local work=$1
    make_fat_fixture "$work/fixture-fat"
    (cd "$work/fixture-fat" && write_manifest .) > "$work/fixture-fat.manifest"
    # The same tree without the 1,000-file directory (mcopy is slow at filling one), for
    # the other geometries.
    cp -r "$work/fixture-fat" "$work/fixture-fatsmall"
    rm -rf "$work/fixture-fatsmall/many"
    (cd "$work/fixture-fatsmall" && write_manifest .) > "$work/fixture-fatsmall.manifest"
    fat_image "$work" fixture-fat fat12-2k "FAT12, 2 KiB clusters" 7000 -F 12 -s 4
    fat_image "$work" fixture-fat fat32-512 "FAT32, 512-byte clusters" 66000 -F 32 -s 1
    fat_image "$work" fixture-fatsmall fat12-4kss "FAT12, 4096-byte sectors, 4 KiB clusters" 14000 -F 12 -S 4096 -s 1
    fat_image "$work" fixture-fatsmall fat16-512 "FAT16, 512-byte clusters" 20000 -F 16 -s 1
    fat_image "$work" fixture-fatsmall fat16-16k "FAT16, 16 KiB clusters, one FAT" 160000 -F 16 -s 32 -f 1
    fat_image "$work" fixture-fatsmall fat16-64k "FAT16, 64 KiB clusters" 300000 -F 16 -s 128
    fat_image "$work" fixture-fatsmall fat32-4k "FAT32, 4 KiB clusters" 300000 -F 32 -s 8
    fat_image "$work" fixture-fatsmall fat32-4kss "FAT32, 4096-byte sectors, 4 KiB clusters" 300000 -F 32 -S 4096 -s 1

    # A FAT16 root directory of 64 slots filled to the last one with 8.3 names.
    local full="$work/fixture-fatroot"
    mkdir -p "$full"
    for i in $(seq -w 1 64); do printf 'r%s\n' "$i" > "$full/ROOT$i.TXT"; done
    (cd "$full" && write_manifest .) > "$work/fixture-fatroot.manifest"
    rm -f "$work/fat16-fullroot.img"
    mkfs.fat -C -F 16 -r 64 "$work/fat16-fullroot.img" 20000 >/dev/null
    MTOOLS_SKIP_CHECK=1 mcopy -Q -i "$work/fat16-fullroot.img" "$full"/* ::/
    add_image fat16-fullroot msdos "$work/fixture-fatroot.manifest" "FAT16, 64-entry root directory, full"
}
