#!/usr/bin/env bash
# html_browser_test.sh MAKE_SAMPLE_HTML SAMPLES_DIR CHECK_HTML_PY OUT_DIR
# Writes the sample reports (make_sample_html.cpp says what each holds) and opens each in headless
# Chromium through check_html.py, and clicks the sortable headers in a copy. The expected counts are
# written here, from the construction in make_sample_html.cpp, not read from its output. Then
# proves the checker can fail: a report with a
# thumbnail that is not an image, and copies of a good report with an external image and an
# external stylesheet, must each be rejected. Exit 77 (skip) comes only from check_html.py, when
# Chromium is missing and RESIDUE_ALLOW_NO_BROWSER=1.
set -uo pipefail
make_sample=$1 samples=$2 check=$3 out=$4
python=${PYTHON:-/usr/bin/python3}

rm -rf "$out" && mkdir -p "$out"
"$make_sample" "$samples" "$out" || { echo "FAIL: make_sample_html"; exit 1; }

check() {  # check FILE ARGS...: must pass (77 passes through as a skip)
  "$python" "$check" "$@"
  local rc=$?
  [ $rc -eq 77 ] && exit 77
  [ $rc -eq 0 ] || { echo "FAIL: check_html.py rejected $1"; exit 1; }
}
reject() {  # reject FILE ARGS...: must fail with status 1
  local rc=0
  "$python" "$check" "$@" >"$out/reject.log" 2>&1 || rc=$?
  [ $rc -eq 77 ] && exit 77
  if [ $rc -ne 1 ]; then
    echo "FAIL: check_html.py should have rejected $1 (status $rc):"
    cat "$out/reject.log"
    exit 1
  fi
  echo "rejected as expected: $(basename "$1"): $(sed -n 2p "$out/reject.log")"
}

check "$out/match.html" --rows 18 --images 34
check "$out/dedup.html" --rows 7 --images 6
check "$out/match_large.html" --rows 3000 --images 6000

# Sorting: a script added to a copy clicks the PDQ header twice and the tier header once, and
# records the row order. PDQ values by construction: 7 exact rows not compared, 7 near rows at 6,
# then 10, 30, 2, 0; rows without a distance stay last in both directions.
sort_js='var q=function(k){return [].map.call(document.querySelectorAll("tr.match"),function(t){return t.dataset[k].slice(0,1)||"-";}).join("");};'
sort_js+='var h=document.querySelector("th[data-sort=pdq]");h.click();var up=q("pdq");h.click();var down=q("pdq");'
sort_js+='document.querySelector("th[data-sort=tier]").click();'
sort_js+='document.documentElement.dataset.sorted=up+" "+down+" "+q("tier");'
sed "s#</body>#<script>${sort_js}</script></body>#" "$out/match.html" >"$out/sorted.html"
check "$out/sorted.html" --rows 18 --images 34 \
  --dom-attr "data-sorted=02666666613------- 31666666620------- eeeeeeeennnnnnnnnr"

reject "$out/broken.html" --rows 2 --images 4
reject "$out/match.html" --rows 17
sed 's|<h1>|<img alt="x" src="https://example.org/x.png"><h1>|' "$out/match.html" >"$out/external_img.html"
reject "$out/external_img.html" --rows 18
sed 's|</head>|<link rel="stylesheet" href="http://example.org/a.css"></head>|' "$out/match.html" \
  >"$out/external_css.html"
reject "$out/external_css.html" --rows 18 --images 34
echo "report_html_browser: ok"
