#!/usr/bin/python3
"""Prints a catalog's items, sorted, without times or run ids (for comparing catalogs)."""
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
db.text_factory = bytes
rows = db.execute(
    "SELECT locator, container, kind, size, hex(sha256), format, width, height, hex(pdq), quality, phash, "
    "status, error, gone FROM items ORDER BY locator").fetchall()
for r in rows:
    print("|".join(x.decode("utf-8", "backslashreplace") if isinstance(x, bytes) else str(x) for x in r))
