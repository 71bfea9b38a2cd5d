# Samples per table cell, for benchmarks that repeat each measurement and report the median
# (a single cold read on a virtual disk can swing by 2x). Source it from bash:
#   add CELL VALUE      record one sample
#   median CELL         the cell's median ("n/a" without samples)
#   samples CELL        every sample, space separated, in the order taken
declare -A cells
add() { cells[$1]="${cells[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${cells[$1]:-}" | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR + 1) / 2)] : "n/a")}'; }
samples() { echo "${cells[$1]:-}"; }
