#!/usr/bin/python3
"""Open a residue HTML report in headless Chromium and check it.

usage: check_html.py REPORT.html --rows N [--images M] [--dom-attr NAME=VALUE ...]
                     [--timeout SECONDS]

Checks, each reported on its own line when it fails:
  1. the file is self-contained: no element or CSS rule refers to anything but data: URIs and
     in-page #fragments (no http://, https://, //host, file or relative references; no <link>,
     <base>, <iframe>, <object>, <embed>, external <script>, @import, meta refresh), and no inline
     script mentions an http(s) URL;
  2. the page's inline script ran: <html data-residue-check="{...}"> is present in the DOM that
     Chromium dumps after the load event (the report writes it once every <img> has loaded or
     failed);
  3. rows == N: the status's rows, its expected_rows (what the generator wrote), and the number of
     data rows in the dumped DOM (<tr> with class "match" or "member") all equal N;
  4. every image decoded: decoded == images, broken == [], and images == M when --images is given;
  5. each --dom-attr: the dumped <html> element has attribute NAME with exactly VALUE (for tests
     that add a script of their own, e.g. one that clicks the sortable headers).

Exit status: 0 all checks pass; 1 a check failed, or Chromium failed; 2 bad usage; 77 (skip)
only when no Chromium is installed AND RESIDUE_ALLOW_NO_BROWSER=1 (otherwise a missing browser is
a failure: CI installs the chromium package, see scripts/setup.sh). Set CHROMIUM to choose the
browser binary. Standard library only; run it with /usr/bin/python3.
"""

import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Attributes whose value the browser may fetch or navigate to.
URL_ATTRS = {
    "src", "href", "srcset", "action", "formaction", "poster", "data", "background", "cite",
    "longdesc", "manifest", "ping", "xlink:href", "codebase", "archive", "profile", "usemap",
    "lowsrc", "dynsrc", "imagesrcset", "itemtype",
}
FORBIDDEN_TAGS = {"link", "base", "iframe", "frame", "object", "embed", "applet", "portal"}
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
HTTP_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)


def local_value(value):
    """True for a URL that stays inside the file: empty, a #fragment, or a data: URI."""
    v = value.strip().lower()
    return v == "" or v.startswith("#") or v.startswith("data:")


class SelfContainedCheck(html.parser.HTMLParser):
    """Collects every reference out of the file."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self._in = None  # "style" or "script" while inside one

    def _css(self, text, where):
        for m in CSS_URL.finditer(text):
            if not local_value(m.group(2)):
                self.problems.append(f"{where}: CSS url({m.group(2)[:80]})")
        if "@import" in text.lower():
            self.problems.append(f"{where}: CSS @import")

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        where = f"line {line} <{tag}>"
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"{where}: element that loads or embeds another resource")
        for name, value in attrs:
            value = value or ""
            if name in URL_ATTRS:
                # A srcset lists "url size" candidates; a data: URI holds commas itself.
                parts = [value]
                if name.endswith("srcset") and not local_value(value):
                    parts = [c.strip().split(" ")[0] for c in value.split(",")]
                for p in parts:
                    if not local_value(p):
                        self.problems.append(f"{where}: {name}={value[:80]!r}")
            elif name == "style":
                self._css(value, where)
            elif name == "http-equiv" and value.lower() == "refresh":
                self.problems.append(f"{where}: meta refresh")
        if tag == "script" and any(n == "src" for n, _ in attrs):
            self.problems.append(f"{where}: external script")
        if tag in ("style", "script"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        where = f"line {self.getpos()[0]} <{self._in}>"
        if self._in == "style":
            self._css(data, where)
        elif self._in == "script" and HTTP_URL.search(data):
            self.problems.append(f"{where}: inline script mentions {HTTP_URL.search(data).group(0)}")


class DomRead(html.parser.HTMLParser):
    """The status attribute and the data rows of the DOM that Chromium dumped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.status = None
        self.html_attrs = {}
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_attrs = a
            self.status = a.get("data-residue-check")
        if tag == "tr" and {"match", "member"} & set((a.get("class") or "").split()):
            self.rows += 1


def find_chromium():
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(chromium, report, timeout):
    """The DOM after load, as Chromium serialises it. Raises RuntimeError on failure."""
    with tempfile.TemporaryDirectory(prefix="residue-chromium-") as profile:
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--dump-dom", "--virtual-time-budget=10000",
            "file://" + os.path.abspath(report),
        ]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium did not finish within {timeout} s")
    if p.returncode != 0 or not p.stdout.strip():
        tail = p.stderr.decode("utf-8", "replace").strip().splitlines()[-15:]
        raise RuntimeError(f"Chromium exited with status {p.returncode} and "
                           f"{len(p.stdout)} bytes of DOM; stderr ends:\n  " + "\n  ".join(tail))
    return p.stdout.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    ap.add_argument("--rows", type=int, required=True, help="expected number of data rows")
    ap.add_argument("--images", type=int, help="expected number of <img> elements")
    ap.add_argument("--dom-attr", action="append", default=[], metavar="NAME=VALUE",
                    help="attribute the dumped <html> element must carry (repeatable)")
    ap.add_argument("--timeout", type=float, default=180, help="seconds for Chromium (180)")
    args = ap.parse_args()
    name = os.path.basename(args.report)

    try:
        with open(args.report, "rb") as f:
            raw = f.read()
    except OSError as e:
        print(f"check_html: {name}: FAIL: cannot read: {e}")
        return 1
    failures = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        failures.append(f"the file is not valid UTF-8 ({e})")
        text = raw.decode("utf-8", "replace")
    sc = SelfContainedCheck()
    sc.feed(text)
    sc.close()
    failures += [f"not self-contained: {p}" for p in sc.problems]

    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("RESIDUE_ALLOW_NO_BROWSER") == "1":
            print(f"check_html: {name}: SKIP: no chromium installed (RESIDUE_ALLOW_NO_BROWSER=1)")
            return 77
        print(f"check_html: {name}: FAIL: no chromium found (install the chromium package, or set "
              "RESIDUE_ALLOW_NO_BROWSER=1 to skip)")
        return 1
    try:
        dom = DomRead()
        dom.feed(dump_dom(chromium, args.report, args.timeout))
        dom.close()
    except RuntimeError as e:
        failures.append(str(e))
        dom = None

    if dom is not None:
        if dom.status is None:
            failures.append("no data-residue-check on <html>: the page's script did not run or "
                            "did not finish")
        else:
            try:
                st = json.loads(dom.status)
            except ValueError:
                st = None
                failures.append(f"data-residue-check is not JSON: {dom.status[:200]!r}")
            if st is not None:
                for key in ("rows", "expected_rows", "images", "decoded", "broken"):
                    if key not in st:
                        failures.append(f"status has no {key!r}: {st}")
                if st.get("rows") != args.rows:
                    failures.append(f"the script counted {st.get('rows')} rows, expected {args.rows}")
                if st.get("expected_rows") != args.rows:
                    failures.append(f"the page says it holds {st.get('expected_rows')} rows, "
                                    f"expected {args.rows}")
                if dom.rows != args.rows:
                    failures.append(f"the DOM has {dom.rows} data rows, expected {args.rows}")
                if args.images is not None and st.get("images") != args.images:
                    failures.append(f"{st.get('images')} images, expected {args.images}")
                if st.get("decoded") != st.get("images") or st.get("broken"):
                    broken = st.get("broken") or []
                    failures.append(f"{st.get('decoded')} of {st.get('images')} images decoded; "
                                    f"broken: {broken[:10]}")

    if dom is not None:
        for spec in args.dom_attr:
            attr, _, want = spec.partition("=")
            got = dom.html_attrs.get(attr)
            if got != want:
                failures.append(f"<html {attr}> is {got!r}, expected {want!r}")

    if failures:
        print(f"check_html: {name}: FAIL")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(f"check_html: {name}: ok ({args.rows} rows, {st['decoded']} of {st['images']} images "
          f"decoded, self-contained; loaded in {st.get('load_ms', '?')} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
