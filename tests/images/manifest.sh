# write_manifest DIR: one line per entry below DIR (sorted, tab-separated):
#   path  type(f d l c b p s)  mode(octal, 4 digits)  size  nlink  sha256(- unless f)  target(- unless l)
# Directory sizes depend on the format, so tests compare them only where meaningful.
# Paths hold neither tabs nor newlines. One find(1) for the attributes and one sha256sum batch
# for the contents: a process per entry costs minutes on a tree of a thousand files.
write_manifest() {
    local root=$1
    (
        cd "$root" || exit 1
        declare -A sums=()
        local record rel type mode size nlink target sum
        while IFS= read -r -d '' record; do
            sums[${record#*  }]=${record%%  *}
        done < <(find . -mindepth 1 -type f -print0 | xargs -0r sha256sum -z --)
        # The tab after the path sorts before any character a name holds, so the order is
        # that of the paths alone (LC_ALL=C: bytes).
        while IFS= read -r -d '' record; do
            rel=${record%%$'\t'*}; record=${record#*$'\t'}
            type=${record%%$'\t'*}; record=${record#*$'\t'}
            mode=${record%%$'\t'*}; record=${record#*$'\t'}
            size=${record%%$'\t'*}; record=${record#*$'\t'}
            nlink=${record%%$'\t'*}; target=${record#*$'\t'}
            sum=-
            if [ "$type" = f ]; then sum=${sums[./$rel]}; fi
            if [ "$type" != l ]; then target=-; fi
            printf '%s\t%s\t%04o\t%s\t%s\t%s\t%s\n' "$rel" "$type" "0$mode" "$size" "$nlink" "$sum" "$target"
        done < <(find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%n\t%l\0' | LC_ALL=C sort -z)
    )
}
