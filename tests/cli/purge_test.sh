#!/usr/bin/env bash
# End-to-end tests of `residue purge` and `residue restore` on a mirror with every container kind
# (make_test_mirror.py) and a bank of one sample: dry-run plans, quarantine and delete, the proof
# that nothing else was touched (a before/after hash of every file and of every kept container
# member), rescan + match, restore byte for byte, crash injection (RESIDUE_TEST_CRASH_AT, and
# real kill -9) followed by --resume, and faults (changed items, read-only folder, full disk,
# another mirror's journal, bad flags).
# Usage: purge_test.sh RESIDUE_BIN TESTS_DATA_DIR [CRASH_RUNS] [KILL_RUNS]
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$(cd "$2" && pwd)
crash_runs=${3:-50}
kill_runs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$work"

# snapshot.py MIRROR > snap.json: SHA-256 of every file, and of every member of every container in
# order (tar/zip by name, TSV lines and RecordIO records by position).
cat >snapshot.py <<'EOF'
import hashlib, json, os, struct, sys, tarfile, zipfile
root = sys.argv[1]
h = lambda b: hashlib.sha256(b).hexdigest()
files, members = {}, {}
for d, _, fs in os.walk(root):
    for f in fs:
        p = os.path.join(d, f); rel = os.path.relpath(p, root)
        if os.path.islink(p): files[rel] = "link"; continue
        b = open(p, "rb").read(); files[rel] = h(b)
        if rel.endswith((".tar", ".tar.gz")):
            with tarfile.open(p) as t:
                members[rel] = [[m.name, h(t.extractfile(m).read())] for m in t.getmembers() if m.isfile()]
        elif rel.endswith(".zip"):
            with zipfile.ZipFile(p) as z:
                members[rel] = [[n, h(z.read(n))] for n in z.namelist()]
        elif rel.endswith(".tsv"):
            members[rel] = [["line/%d" % (i + 1), h(l)] for i, l in enumerate(b.splitlines(True))]
        elif rel.endswith(".rec"):
            out, off, i = [], 0, 0
            while off + 8 <= len(b):
                magic, lr = struct.unpack_from("<II", b, off); n = lr & ((1 << 29) - 1)
                out.append(["record/%d" % i, h(b[off + 8: off + 8 + n])]); off += 8 + n + (-n % 4); i += 1
            members[rel] = out
json.dump({"files": files, "members": members}, sys.stdout, sort_keys=True)
EOF

# verify.py BEFORE.json AFTER.json PLAN.jsonl [QUARANTINE]: the purge removed exactly the plan's
# items (gone from the mirror, in quarantine with their SHA-256 when QUARANTINE is given) and left
# every other file and every kept member byte-identical.
cat >verify.py <<'EOF'
import hashlib, json, os, sys
before, after = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
plan = [json.loads(l) for l in open(sys.argv[3]) if '"remove"' in l]
q = sys.argv[4] if len(sys.argv) > 4 else ""
strip = lambda loc: loc.split("/", 1)[1]  # "m/x" -> "x"
gone_files, gone_members = set(), {}
for r in plan:
    if "!/" in r["locator"]:
        c, n = r["locator"].split("!/", 1); gone_members.setdefault(strip(c), set()).add(n)
    else:
        gone_files.add(strip(r["locator"]))
errs = []
idx_of = lambda c: c[:-4] + ".idx"
rewritten = set(gone_members) | {idx_of(c) for c in gone_members if c.endswith(".rec")}
want_files = set(before["files"]) - gone_files
if set(after["files"]) != want_files:
    errs.append("files differ: extra %s missing %s" % (sorted(set(after["files"]) - want_files), sorted(want_files - set(after["files"]))))
for f in want_files & set(after["files"]):
    if f not in rewritten and before["files"][f] != after["files"][f]: errs.append("changed: " + f)
for c, gone in gone_members.items():
    kept = [m for m in before["members"][c] if m[0] not in gone]
    got = after["members"].get(c, [])
    positional = c.endswith((".tsv", ".rec"))
    if [m[1] for m in kept] != [m[1] for m in got] or (not positional and [m[0] for m in kept] != [m[0] for m in got]):
        errs.append("kept members of %s differ" % c)
if q:
    man = [json.loads(l) for l in open(os.path.join(q, "MANIFEST.jsonl"))]
    by = {m["locator"]: m for m in man}
    for r in plan:
        m = by.get(r["locator"])
        if not m: errs.append("not in the manifest: " + r["locator"]); continue
        if m["sha256"] != r["sha256"]: errs.append("manifest sha differs: " + r["locator"])
        p = m["quarantined"]
        if not os.path.isfile(p) or hashlib.sha256(open(p, "rb").read()).hexdigest() != r["sha256"]:
            errs.append("not in quarantine: " + r["locator"])
for e in errs[:10]: print("  " + e)
sys.exit(1 if errs else 0)
EOF
snap() { "$py" "$work/snapshot.py" "$1"; }
same_as() { cmp -s "$1" <(snap "$2"); }

# The mirror, its catalog and a bank of one withdrawn sample.
"$py" "$here/make_test_mirror.py" "$data/samples" pristine/m >/dev/null
mkdir withdrawn && cp "$data/samples/gnome-control-center-data__cat.jpg" withdrawn/
(cd pristine && "$bin" scan m --catalog c.db -q 2>/dev/null)
"$bin" bank add --bank b.db withdrawn 2>/dev/null
(cd pristine && "$bin" match --catalog c.db --bank ../b.db --out ../r.jsonl -q)
snap pristine/m >before.json
fresh() {  # a fresh copy of the pristine mirror and catalog in $1
  rm -rf "$1"; chmod -R u+w "$1" 2>/dev/null; rm -rf "$1"; cp -a pristine "$1"
}
residual() {  # exact+near rows after a rescan (run inside the mirror's folder)
  "$bin" scan m --catalog c.db -q 2>/dev/null
  "$bin" match --catalog c.db --bank ../b.db --tiers exact,near -q | tail -n +2 | wc -l | tr -d ' '
}

# 1. Dry run: the plan, nothing changed.
fresh t1 && cd t1
"$bin" purge --report ../r.jsonl --catalog c.db --to ../q1 >plan.txt 2>err; st=$?
check "dry run -> exit 0" test $st -eq 0
check "dry run changes nothing" same_as ../before.json m
check "dry run creates no quarantine" test ! -e ../q1
check "plan groups plain files and containers" \
  bash -c "grep -q '^plain files: 1 to move' plan.txt && grep -c '^container ' plan.txt | grep -qx 5"
check "plan lists the WebDataset sample-mate" grep -q 'shard-000000.tar!/000000.json .*sample-mate of' plan.txt
check "plan total" grep -q '^total: 8 items .* in 1 plain files and 5 containers; 0 refused' plan.txt
"$bin" purge --report ../r.jsonl --catalog c.db --json >plan.jsonl
check "--json plan: 8 removals, one per kind at least" "$py" -c "
import json; r=[json.loads(l) for l in open('plan.jsonl')]
assert len(r) == 8 and {x['kind'] for x in r} == {'file','tar','zip','tsv','recordio'}, r"
"$bin" purge --catalog c.db --bank ../b.db --json >plan_bank.jsonl
check "--catalog --bank plans the same items as --report" cmp -s plan.jsonl plan_bank.jsonl
"$bin" purge --help >help.txt
check "--help explains the safety rules" bash -c "grep -q 'SHA-256' help.txt && grep -q -- '--resume' help.txt && grep -q 'symbolic link' help.txt"
check "--help does not advertise the crash hook" bash -c "! grep -q CRASH help.txt"

# 2. Execute in quarantine mode: exactly the plan's items go; everything else byte-identical.
"$bin" purge --report ../r.jsonl --catalog c.db --to ../q1 --journal ../j1.jsonl --execute 2>err; st=$?
check "execute -> exit 0" test $st -eq 0
check "summary per kind" grep -q 'purge: 8 items .*tar: 4 items in 2 containers' err
snap m >after.json
check "purged items gone, in quarantine; every other file and kept member identical" \
  "$py" ../verify.py ../before.json after.json plan.jsonl ../q1
check "no temporary files left in the mirror" bash -c "! find m -name '*.residue-*' | grep -q ."
check "the catalog no longer shows the copies (match without rescan)" \
  test "$("$bin" match --catalog c.db --bank ../b.db --tiers exact,near -q | tail -n +2 | wc -l)" -eq 0
"$bin" purge --resume ../j1.jsonl 2>err; st=$?
check "resume of a finished purge -> exit 0, nothing changed" \
  bash -c "test $st -eq 0 && cmp -s after.json <('$py' ../snapshot.py m)"
check "rescan + match: zero residual exact/near copies" test "$(residual)" -eq 0
"$bin" restore --journal ../j1.jsonl 2>err; st=$?
check "restore -> exit 0" test $st -eq 0
check "restore gives back the mirror byte for byte" same_as ../before.json m
"$bin" restore --journal ../j1.jsonl 2>err; st=$?
check "restore twice changes nothing" bash -c "test $st -eq 0 && cmp -s ../before.json <('$py' ../snapshot.py m)"
check "after restore and rescan the copies are found again (6 images; the 2 sample-mates are not images)" test "$(residual)" -eq 6
cd ..

# 3. Delete mode.
fresh t3 && cd t3
"$bin" purge --report ../r.jsonl --catalog c.db --mode delete --execute 2>err; st=$?
check "delete without --journal -> exit 2" test $st -eq 2
"$bin" purge --report ../r.jsonl --catalog c.db --mode delete --journal ../j3.jsonl --execute 2>err; st=$?
check "delete -> exit 0, journal written" test $st -eq 0 -a -s ../j3.jsonl
snap m >after.json
check "delete: purged items gone, the rest identical" "$py" ../verify.py ../before.json after.json ../t1/plan.jsonl
check "delete: rescan + match finds no copies" test "$(residual)" -eq 0
"$bin" restore --journal ../j3.jsonl 2>err; st=$?
check "restore of a delete journal -> exit 2" test $st -eq 2
cd ..

# 4. Crash injection: kill the purge at a random step, resume, check every invariant, resume
# again (nothing changes), restore (the original mirror). One run in three also crashes the
# first resume.
RANDOM=${PURGE_TEST_SEED:-4242}
crash_fail=0
for ((i = 1; i <= crash_runs; i++)); do
  k=$((RANDOM % 75 + 1))
  fresh c && cd c
  ( (RESIDUE_TEST_CRASH_AT=$k exec "$bin" purge --report ../r.jsonl --catalog c.db --to ../cq --journal ../cj.jsonl --execute -q) ) 2>/dev/null
  if ((RANDOM % 3 == 0)); then
    ( (RESIDUE_TEST_CRASH_AT=$((RANDOM % 20 + 1)) exec "$bin" purge --resume ../cj.jsonl -q) ) 2>/dev/null
  fi
  why=""
  if [ -e ../cj.jsonl ]; then
    "$bin" purge --resume ../cj.jsonl -q 2>/dev/null
    st=$?
    # A crash before the plan was whole is rolled back (exit 1 the first time); else exit 0.
    if grep -q '"rec":"planned"' ../cj.jsonl && [ $st -ne 0 ]; then why="resume exit $st"; fi
  fi
  snap m >after.json
  if [ -z "$why" ] && [ -e ../cj.jsonl ] && ! grep -q '"rec":"planned"' ../cj.jsonl; then
    same_as ../before.json m || why="crashed before the plan was journaled, yet the mirror changed"
  elif [ -z "$why" ] && [ -e ../cj.jsonl ]; then
    "$py" ../verify.py ../before.json after.json ../t1/plan.jsonl ../cq >v.txt || why="invariants: $(head -3 v.txt)"
    [ -z "$why" ] && { "$bin" purge --resume ../cj.jsonl -q 2>/dev/null; same_as after.json m || why="second resume changed the mirror"; }
    [ -z "$why" ] && { "$bin" restore --journal ../cj.jsonl -q 2>/dev/null; same_as ../before.json m || why="restore not byte-identical"; }
  elif [ -z "$why" ]; then
    same_as ../before.json m || why="crashed before the journal existed, yet the mirror changed"
  fi
  if [ -n "$why" ]; then bad "crash run $i (step $k): $why"; crash_fail=1; fi
  cd .. && rm -rf c cq cj.jsonl
done 2>/dev/null  # bash's "Killed" notices
check "$crash_runs crash-injected purges resumed: invariants held in every run" test $crash_fail -eq 0

# Real kill -9 at random times.
kill_fail=0
for ((i = 1; i <= kill_runs; i++)); do
  fresh c && cd c
  "$bin" purge --report ../r.jsonl --catalog c.db --to ../cq --journal ../cj.jsonl --execute -q 2>/dev/null &
  pid=$!
  sleep "0.0$((RANDOM % 6))"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  why=""
  if [ -e ../cj.jsonl ] && ! grep -q '"rec":"planned"' ../cj.jsonl; then
    "$bin" purge --resume ../cj.jsonl -q 2>/dev/null
    same_as ../before.json m || why="killed before the plan was journaled, yet the mirror changed"
  elif [ -e ../cj.jsonl ]; then
    "$bin" purge --resume ../cj.jsonl -q 2>/dev/null || why="resume exit $?"
    snap m >after.json
    [ -z "$why" ] && { "$py" ../verify.py ../before.json after.json ../t1/plan.jsonl ../cq >v.txt || why="invariants: $(head -3 v.txt)"; }
    [ -z "$why" ] && { "$bin" restore --journal ../cj.jsonl -q 2>/dev/null; same_as ../before.json m || why="restore not byte-identical"; }
  else
    same_as ../before.json m || why="mirror changed without a journal"
  fi
  if [ -n "$why" ]; then bad "kill -9 run $i: $why"; kill_fail=1; fi
  cd .. && rm -rf c cq cj.jsonl
done 2>/dev/null
check "$kill_runs purges killed with kill -9 at random times, resumed: invariants held" test $kill_fail -eq 0

# 5. Faults.
fresh t5 && cd t5
printf 'x' >>m/faces.tsv                          # a container changed after the scan
cat ../withdrawn/*.jpg >m/folders/b/deep/gnome-control-center-data__cat.jpg.tmp
printf 'y' >>m/folders/b/deep/gnome-control-center-data__cat.jpg   # a plain file changed
snap m >changed.json
"$bin" purge --report ../r.jsonl --catalog c.db --to ../q5 --journal ../j5.jsonl --execute 2>err; st=$?
check "changed container and file -> exit 1" test $st -eq 1
check "changed container refused with its reason" grep -q 'skipped m/faces.tsv!/line/1: container changed since the scan' err
check "changed file refused with its reason" grep -q 'skipped m/folders/b/deep/gnome-control-center-data__cat.jpg: changed since the scan' err
check "changed container and file untouched" bash -c "'$py' -c \"
import json,sys; a=json.load(open('../t5/changed.json')); b=json.load(open(sys.argv[1]))
f='faces.tsv'; g='folders/b/deep/gnome-control-center-data__cat.jpg'
assert a['files'][f]==b['files'][f] and a['files'][g]==b['files'][g]\" <('$py' ../snapshot.py m)"
rm -f m/folders/b/deep/gnome-control-center-data__cat.jpg.tmp
printf '{"locator":"/etc/hostname","tier":"exact","bank_locator":"x"}\n{"locator":"m/../outside.jpg","tier":"near","bank_locator":"x"}\n' >outside.jsonl
"$bin" purge --report outside.jsonl --catalog c.db --to ../q5b --execute 2>err; st=$?
check "report naming items outside the roots -> refused, exit 1" \
  bash -c "test $st -eq 1 && grep -q 'skipped /etc/hostname: not in the catalog' err && test -s /etc/hostname"
printf 'not json\n' >junk.jsonl
"$bin" purge --report junk.jsonl --catalog c.db 2>err; st=$?
check "a report that is not a match report -> exit 2" test $st -eq 2
"$bin" purge --report ../r.jsonl --catalog c.db --to m/q --execute 2>err; st=$?
check "quarantine inside the mirror -> exit 2, nothing moved" bash -c "test $st -eq 2 && test ! -e m/q"
"$bin" purge --report ../r.jsonl --catalog c.db --to ../q5 --journal ../j5.jsonl --execute 2>err; st=$?
check "an existing journal is never overwritten -> exit 2" bash -c "test $st -eq 2 && grep -q -- '--resume' err"
cd ..
# Another mirror's journal.
fresh t6 && cd t6 && rm -f c.db* && "$bin" scan m --catalog c.db -q 2>/dev/null && cd ..
"$bin" purge --resume j1.jsonl --catalog t6/c.db 2>err; st=$?
check "resume with another mirror's catalog -> exit 2" bash -c "test $st -eq 2 && grep -q 'another mirror' err"
"$bin" restore --journal j1.jsonl --catalog t6/c.db 2>err; st=$?
check "restore with another mirror's catalog -> exit 2" test $st -eq 2
printf '{"rec":"intent"}\n' >notajournal.jsonl
"$bin" purge --resume notajournal.jsonl 2>err; st=$?
check "a file that is not a journal -> exit 2" test $st -eq 2

# Full disk while writing the rewritten containers: ulimit -f (1 KiB blocks) below their size.
fresh t7 && cd t7
(ulimit -f 150; "$bin" purge --report ../r.jsonl --catalog c.db --to ../q7 --journal ../j7.jsonl --execute 2>../err7); st=$?
check "full disk -> exit 1, each container refused with the OS reason" \
  bash -c "test $st -eq 1 && grep -q 'File too large' ../err7"
snap m >after.json
check "full disk: every container byte-identical, no temporary file left" "$py" -c "
import json; a=json.load(open('../before.json')); b=json.load(open('after.json'))
for f in a['files']:
    if f.endswith(('.tar','.gz','.zip','.tsv','.rec','.idx')): assert a['files'][f]==b['files'][f], f
assert not [f for f in b['files'] if 'residue-' in f]"
"$bin" restore --journal ../j7.jsonl -q 2>/dev/null
check "full disk: restore gives back the mirror" same_as ../before.json m
cd ..

# Read-only folder. Permissions do not bind root, so as root the purge runs as user nobody
# (setpriv) on a copy nobody owns, with one folder made read-only.
as_user=()
if [ "$(id -u)" -eq 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
if [ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null; then
  fresh t8 && cd t8
  if [ "$(id -u)" -eq 0 ]; then chmod 755 "$work"; chown -R 65534:65534 .; fi
  chmod a-w m/folders/b/deep
  "${as_user[@]}" "$bin" purge --report ../r.jsonl --catalog c.db --to q8 --journal j8.jsonl \
    --execute 2>err; st=$?
  chmod u+w m/folders/b/deep
  check "read-only folder -> exit 1, Permission denied reported" bash -c "test $st -eq 1 && grep -q 'Permission denied' err"
  check "read-only folder: the file stays" test -f m/folders/b/deep/gnome-control-center-data__cat.jpg
  check "read-only folder: the other items were purged" test -s q8/MANIFEST.jsonl
  cd ..
else
  echo "skip: read-only folder test (root without setpriv: permission checks do not apply)"
fi

finish
