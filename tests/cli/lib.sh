# Shared helpers of the CLI test scripts (sourced): counters, checks and a JSON field reader.
# Each check prints "ok: NAME" or "FAILED: NAME"; finish() prints the totals and sets the status.
py=/usr/bin/python3
passed=0
failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAILED: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# field EXPR: evaluates d<EXPR> on the JSON document on stdin, e.g. field "['items']"
field() { "$py" -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
finish() { echo "$passed passed, $failed failed"; test "$failed" -eq 0; }
