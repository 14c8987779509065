#!/usr/bin/env bash
# CLI transcripts for `residue hash`. Usage: cli_test.sh RESIDUE_BIN TESTS_DATA_DIR [--update]
# Prints one line per check and "N passed, M failed" at the end; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$2
update=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
expected=$here/expected
work=$(mktemp -d)
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
passed=0
failed=0

ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAILED: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# Golden transcript: run in $work so paths are relative and stable.
golden() {
  local name=$1; shift
  (cd "$work" && "$@") >"$work/$name.out" 2>"$work/$name.err"
  echo "exit=$?" >>"$work/$name.out"
  if [ "$update" = "--update" ]; then
    mkdir -p "$expected"
    cp "$work/$name.out" "$expected/$name.out"
    cp "$work/$name.err" "$expected/$name.err"
    ok "$name (updated)"
  elif diff -u "$expected/$name.out" "$work/$name.out" && diff -u "$expected/$name.err" "$work/$name.err"; then
    ok "$name"
  else
    bad "$name"
  fi
}

mkdir -p "$work/samples" "$work/bad"
cp "$data"/samples/* "$work/samples/"
jpeg="$data/samples/python3-skimage__rocket.jpg"
: >"$work/bad/empty.jpg"
head -c 4000 "$jpeg" >"$work/bad/truncated.jpg"
printf 'not an image at all\n' >"$work/bad/text.jpg"
yes 'Zq9#' | head -c 2000 >"$work/bad/random.png"  # arbitrary bytes, no known magic
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\x02\0\0\0' >"$work/bad/bomb.png"  # 100000x100000
ln -s "$work/nowhere.jpg" "$work/bad/dangling.jpg"

# 1. Transcripts.
golden hash_samples "$bin" hash samples
golden hash_samples_json "$bin" hash --json samples
golden hash_bad "$bin" hash bad/empty.jpg bad/truncated.jpg bad/text.jpg bad/bomb.png bad/dangling.jpg samples/python3-skimage__coins.png
golden hash_dihedral "$bin" hash --dihedral samples/python3-skimage__rocket.jpg

# 2. Exact mode prints the reference's hash and quality (independent values from
#    tests/data/pdq/expected.csv, computed by the PDQ reference implementation).
n_exact=0
while IFS=, read -r set file w h pdq q rest; do
  [ "$set" = "jpeg" ] || [ "$set" = "lossless" ] || continue
  got=$("$bin" hash --exact "$data/pdq/$file")
  if [ "$got" = "$pdq,$q,$data/pdq/$file" ]; then n_exact=$((n_exact + 1)); else echo "  $file: got $got want $pdq,$q"; fi
  [ $n_exact -ge 12 ] && break
done < <(tail -n +2 "$data/pdq/expected.csv")
check "--exact output equals the PDQ reference on 12 vectors" test "$n_exact" -eq 12

# 3. Exit codes and error reporting.
"$bin" hash "$work/samples" >/dev/null 2>"$work/err"; check "all good -> exit 0" test $? -eq 0
check "all good -> nothing on stderr" test ! -s "$work/err"
"$bin" hash "$work/bad" "$work/samples" >"$work/out" 2>"$work/err"; st=$?
check "some items failed -> exit 1" test $st -eq 1
check "the run goes on: every good sample is hashed" test "$(wc -l <"$work/out")" -eq "$(ls "$work/samples" | wc -l)"
check "one stderr line per bad file plus a summary (symlinks in walked folders are skipped)" test "$(grep -c '' "$work/err")" -eq 6
check "stderr names the path and the code" grep -q "bad/truncated.jpg: truncated:" "$work/err"
check "pixel bomb refused as too_large" grep -q "bad/bomb.png: too_large:" "$work/err"
check "summary counts errors by code" grep -q "5 of 12 items failed" "$work/err"
"$bin" hash --no-such-flag x >/dev/null 2>&1; check "bad flag -> exit 2" test $? -eq 2
"$bin" hash >/dev/null 2>&1; check "no path -> exit 2" test $? -eq 2
"$bin" hash --threads -3 "$work/samples" >/dev/null 2>&1; check "bad thread count -> exit 2" test $? -eq 2
"$bin" hash "$work/missing.jpg" >/dev/null 2>"$work/err"; st=$?
check "missing path -> exit 1 with the reason" bash -c "[ $st -eq 1 ] && grep -q 'No such file' '$work/err'"

# 4. Help documents every flag and the exit codes.
help=$("$bin" hash --help)
for flag in --json --exact --dihedral --threads --max-megapixels --follow-symlinks "Exit status"; do
  check "--help mentions $flag" grep -q -- "$flag" <<<"$help"
done

# 5. Determinism across thread counts; a closed pipe ends quietly with status 0.
"$bin" hash -j1 "$work/samples" >"$work/j1"; "$bin" hash -j2 "$work/samples" >"$work/j2"
check "-j1 and -j2 print identical output" cmp -s "$work/j1" "$work/j2"
mkdir -p "$work/many"; for i in $(seq 1 40); do cp "$jpeg" "$work/many/$i.jpg"; done
"$bin" hash "$work/many" 2>"$work/err" | head -n 1 >/dev/null; st=${PIPESTATUS[0]}
check "broken pipe -> exit 0" test "$st" -eq 0
check "broken pipe -> nothing on stderr" test ! -s "$work/err"

# 6. JSON lines are valid JSON, including a non-UTF-8 file name.
cp "$jpeg" "$work/many/$(printf 'caf\xe9.jpg')"
if command -v /usr/bin/python3 >/dev/null; then
  "$bin" hash --json "$work/many" "$work/bad" 2>/dev/null >"$work/json"
  check "every --json line parses as JSON" /usr/bin/python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]" "$work/json"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
