#!/usr/bin/python3
"""Prints a catalog's items, sorted, without times or run ids (for comparing catalogs).

    dump_catalog.py CATALOG [--all]

--all: every item column except times and run ids (file, mtime, the border-trimmed and strip
hashes too), then the files table (path, kind, size, mtime, complete), for checking that two
scans left the same catalog.
"""
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
db.text_factory = bytes
full = "--all" in sys.argv[2:]
cols = ("locator, container, kind, size, hex(sha256), format, width, height, hex(pdq), quality, "
        "phash, status, error, gone")
if full:
    cols += ", file, mtime_ns, hex(pdq_trim), quality_trim, phash_trim, hex(strips)"
def show(rows):
    for r in rows:
        print("|".join(x.decode("utf-8", "backslashreplace") if isinstance(x, bytes) else str(x) for x in r))
show(db.execute(f"SELECT {cols} FROM items ORDER BY locator").fetchall())
if full:
    print("-- files")
    show(db.execute("SELECT path, kind, size, mtime_ns, complete FROM files ORDER BY path").fetchall())
