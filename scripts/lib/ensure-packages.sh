# ensure_packages: install the Debian packages RumpFs and its tests use, when missing.
# A fresh Debian has empty package lists, so run apt-get update first.
ensure_packages() {
    local -A need=(
        [fusermount3]=fuse3 [mke2fs]=e2fsprogs [e2fsck]=e2fsprogs [mkfs.fat]=dosfstools
        [fsck.fat]=dosfstools [mcopy]=mtools [makefs]=makefs [fls]=sleuthkit [sfdisk]=fdisk
        [fuse2fs]=fuse2fs [fusefat]=fusefat [flock]=util-linux [clang]=clang [getfattr]=attr
        [setfacl]=acl [setcap]=libcap2-bin [tree]=tree
    )
    local missing=() tool
    for tool in "${!need[@]}"; do
        if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ] && [ ! -x "/sbin/$tool" ]; then
            missing+=("${need[$tool]}")
        fi
    done
    # The native `ukfs` (scripts/install) links with clang and zlib.
    [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    if [ "${#missing[@]}" -gt 0 ]; then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        echo "installing: ${missing[*]}" >&2
        $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2 || {
            echo "could not install ${missing[*]}" >&2
            return 1
        }
    fi
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "the .NET 10 SDK is required (dotnet on PATH); see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
        return 1
    fi
    if [ ! -e /dev/fuse ]; then
        echo "warning: /dev/fuse is missing; mounted FUSE tests will fail" >&2
    fi
    export PATH="$PATH:/usr/sbin:/sbin"
    return 0
}
