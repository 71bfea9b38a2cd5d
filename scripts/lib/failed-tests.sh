# Prints the name and the first lines of the message of every failed test in the given
# .trx files, so the tail of a CI log says which test failed and why.
print_failed_tests() {
    awk '
        function unescape(s) {
            gsub(/&quot;/, "\"", s); gsub(/&apos;/, "\047", s)
            gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&amp;/, "\\&", s)
            return s
        }
        /<UnitTestResult / && /outcome="Failed"/ {
            match($0, /testName="[^"]*"/)
            print "FAILED " unescape(substr($0, RSTART + 10, RLENGTH - 11))
            inResult = 1; lines = 0; next
        }
        inResult && /<\/UnitTestResult>/ { inResult = 0; inMessage = 0; next }
        inResult && /<Message>/ { inMessage = 1; sub(/.*<Message>/, "") }
        inMessage {
            done = sub(/<\/Message>.*/, "")
            if (lines < 8) print "    " unescape(substr($0, 1, 300))
            lines++
            if (done) { inMessage = 0; inResult = 0 }
        }
    ' "$@"
}
