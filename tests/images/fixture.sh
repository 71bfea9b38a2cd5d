# The POSIX fixture tree: everything FFS and ext2 images are made from. Covers nested
# directories, a directory of many files, a file needing double indirect blocks, a sparse
# file, hard links, short and long symlinks, empty files and directories, odd modes,
# non-ASCII names, fixed timestamps, and (as root) device nodes and a fifo.
make_posix_fixture() {
    local root=$1
    mkdir -p "$root"
    (
        cd "$root"
        umask 022
        printf 'hello, rump\n' > hello.txt
        : > empty
        mkdir -p emptydir nested/a/b/c/d/e
        printf 'deep\n' > nested/a/b/c/d/e/deep.txt
        for i in 1 2 3; do printf 'level %s\n' "$i" > "nested/a/file$i"; done
        mkdir many
        for i in $(seq -w 0 999); do printf 'file %s\n' "$i" > "many/f$i"; done
        mkdir big
        # 9 MiB of pseudo-random data: beyond the single indirect range of 8 KiB-block UFS2.
        head -c $((9 * 1024 * 1024)) /dev/urandom > big/double-indirect.bin
        head -c 70000 /dev/urandom > big/frag-tail.bin
        # Sparse: data at 0 and at 16 MiB, a hole between.
        printf 'start' > big/sparse.bin
        printf 'middle' | dd of=big/sparse.bin bs=1 seek=$((16 * 1024 * 1024)) conv=notrunc status=none
        truncate -s $((20 * 1024 * 1024)) big/sparse.bin
        mkdir links
        printf 'linked\n' > links/original
        ln links/original links/hardlink
        ln links/original hardlink-at-root
        ln -s hello.txt short-symlink
        ln -s "nested/a/b/c/d/e/$(printf 'x%.0s' $(seq 1 200))" long-symlink
        ln -s ../hello.txt links/relative-symlink
        ln -s /does/not/exist dangling-symlink
        printf 'secret\n' > mode600 && chmod 600 mode600
        printf '#!/bin/sh\necho hi\n' > script.sh && chmod 755 script.sh
        printf 'suid\n' > setuid && chmod 4755 setuid
        mkdir sticky && chmod 1777 sticky
        printf 'unicode\n' > "ümlaut-ñ-日本.txt"
        printf 'old\n' > old-file
        touch -h -d '2001-02-03 04:05:06.123456789 UTC' old-file
        if [ "$(id -u)" = 0 ]; then
            mkdir dev
            mknod dev/null c 1 3
            mknod dev/loop0 b 7 0
            mkfifo dev/fifo
        fi
    )
}
