# write_manifest DIR: one line per entry below DIR (sorted, tab-separated):
#   path  type(f d l c b p s)  mode(octal, 4 digits)  size  nlink  sha256(- unless f)  target(- unless l)
# Directory sizes depend on the format, so tests compare them only where meaningful.
write_manifest() {
    local root=$1
    (
        cd "$root"
        find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
            local rel=${p#./} type mode size nlink sum target
            type=$(stat -c '%F' "$p")
            case "$type" in
                "regular file"|"regular empty file") type=f ;;
                directory) type=d ;;
                "symbolic link") type=l ;;
                "character special file") type=c ;;
                "block special file") type=b ;;
                fifo) type=p ;;
                socket) type=s ;;
            esac
            mode=$(stat -c '%a' "$p")
            size=$(stat -c '%s' "$p")
            nlink=$(stat -c '%h' "$p")
            sum=-
            target=-
            if [ "$type" = f ]; then sum=$(sha256sum < "$p" | cut -d' ' -f1); fi
            if [ "$type" = l ]; then target=$(readlink "$p"); fi
            printf '%s\t%s\t%04o\t%s\t%s\t%s\t%s\n' "$rel" "$type" "0$mode" "$size" "$nlink" "$sum" "$target"
        done
    )
}
