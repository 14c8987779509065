#!/usr/bin/python3
"""Builds a small mirror with every container kind from the bundled sample images (stdlib only).

    make_test_mirror.py SAMPLES_DIR OUT_DIR [--bad] [--big]

Layout: folders/ (plain files, nested, plus a non-image metadata file), shard-000000.tar
(WebDataset: NNNNNN.jpg beside NNNNNN.json), shard-000001.tar.gz, part.zip, faces.tsv (MS-Celeb
columns, base64 image in column 6), train.rec + train.idx (InsightFace: header record 0 without an
image). With --bad, also every kind of bad input: empty, truncated and non-image files named like
images, a truncated tar, a TSV line with bad base64, a RecordIO file whose second record has a bad
magic. With --big, also cut/: a RecordIO, a TSV (with a bad line) and a RecordIO with bad framing
in the middle, each 0.5-1.3 MB (every sample 4 times), for distributed scans that cut files into
byte ranges. Prints the expected item counts as JSON.
"""
import base64, io, json, os, struct, sys, tarfile, zipfile

samples_dir, out = sys.argv[1], sys.argv[2]
bad = "--bad" in sys.argv
big = "--big" in sys.argv
samples = sorted(f for f in os.listdir(samples_dir) if not f.startswith("."))
data = {f: open(os.path.join(samples_dir, f), "rb").read() for f in samples}
jpegs = [f for f in samples if f.endswith(".jpg")]
os.makedirs(out, exist_ok=True)
expect = {"file": 0, "tar": 0, "zip": 0, "tsv": 0, "recordio": 0, "errors": 0}

# Plain folders.
for i, f in enumerate(samples):
    d = os.path.join(out, "folders", "a" if i % 2 else "b", "deep" if i % 3 == 0 else "")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f), "wb").write(data[f])
    expect["file"] += 1
open(os.path.join(out, "folders", "README.txt"), "w").write("metadata, not an image\n")

def add_member(t, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 1700000000
    t.addfile(info, io.BytesIO(payload))

# WebDataset shards.
for shard, mode, ext in ((0, "w", ".tar"), (1, "w:gz", ".tar.gz")):
    with tarfile.open(os.path.join(out, f"shard-{shard:06d}{ext}"), mode, format=tarfile.USTAR_FORMAT) as t:
        for i, f in enumerate(jpegs):
            key = f"{shard * 1000 + i:06d}"
            add_member(t, key + ".jpg", data[f])
            add_member(t, key + ".json", json.dumps({"label": i}).encode())
            expect["tar"] += 1

# Zip (stored).
with zipfile.ZipFile(os.path.join(out, "part.zip"), "w", zipfile.ZIP_STORED) as z:
    for f in samples:
        z.writestr("imgs/" + f, data[f])
        expect["zip"] += 1

# MS-Celeb TSV: MID, rank, image URL, page URL, face id, rectangle, base64 image.
with open(os.path.join(out, "faces.tsv"), "w") as t:
    for i, f in enumerate(jpegs):
        rect = base64.b64encode(struct.pack("<4f", 0.1, 0.1, 0.5, 0.5)).decode()
        cols = [f"m.0{i:04x}", str(i), f"http://example.invalid/{i}.jpg", "http://example.invalid/page",
                base64.b64encode(f"face{i}".encode()).decode(), rect, base64.b64encode(data[f]).decode()]
        t.write("\t".join(cols) + "\n")
        expect["tsv"] += 1

# InsightFace RecordIO.
MAGIC = 0xCED7230A
def record(payload):
    pad = (-len(payload)) % 4
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\0" * pad
with open(os.path.join(out, "train.rec"), "wb") as r, open(os.path.join(out, "train.idx"), "w") as idx:
    header = struct.pack("<IfQQ", 2, 0.0, 0, 0) + struct.pack("<2f", 1.0, len(jpegs) + 1)
    idx.write(f"0\t{r.tell()}\n")
    r.write(record(header))
    for i, f in enumerate(jpegs):
        idx.write(f"{i + 1}\t{r.tell()}\n")
        r.write(record(struct.pack("<IfQQ", 0, float(i), i + 1, 0) + data[f]))
        expect["recordio"] += 1

if bad:
    b = os.path.join(out, "bad")
    os.makedirs(b, exist_ok=True)
    good = data[jpegs[0]]
    open(os.path.join(b, "empty.jpg"), "wb").close()
    open(os.path.join(b, "truncated.jpg"), "wb").write(good[: len(good) // 3])
    open(os.path.join(b, "text.png"), "wb").write(b"this is not an image\n")
    expect["file"] += 3
    expect["errors"] += 3
    # A tar cut in the middle of its second member.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        add_member(t, "000001.jpg", good)
        add_member(t, "000002.jpg", good)
    raw = buf.getvalue()
    open(os.path.join(b, "cut.tar"), "wb").write(raw[: 512 + len(good) + 512 + 512 + 100])
    # A TSV whose second line is not base64.
    with open(os.path.join(b, "broken.tsv"), "w") as t:
        enc = base64.b64encode(good).decode()
        t.write("\t".join(["m.1", "0", "u", "p", "f", "r", enc]) + "\n")
        t.write("\t".join(["m.2", "1", "u", "p", "f", "r", "!!!not-base64!!!" + enc[:100]]) + "\n")
        t.write("\t".join(["m.3", "2", "u", "p", "f", "r", enc]) + "\n")
    # A RecordIO whose second image record has a bad magic.
    with open(os.path.join(b, "broken.rec"), "wb") as r:
        r.write(record(struct.pack("<IfQQ", 0, 0.0, 1, 0) + good))
        r.write(struct.pack("<II", 0xDEADBEEF, 8) + b"\0" * 8)

if big:
    c = os.path.join(out, "cut")
    os.makedirs(c, exist_ok=True)
    with open(os.path.join(c, "big.rec"), "wb") as r:
        r.write(record(struct.pack("<IfQQ", 2, 0.0, 0, 0) + struct.pack("<2f", 1.0, 4 * len(jpegs) + 1)))
        for k in range(4):
            for i, f in enumerate(jpegs):
                r.write(record(struct.pack("<IfQQ", 0, float(i), k * 100 + i + 1, 0) + data[f]))
                expect["recordio"] += 1
    with open(os.path.join(c, "big.tsv"), "w") as t:
        t.write("MID\trank\turl\tpage\tface\trect\timage\n")
        n = 0
        for k in range(4):
            for f in samples:
                enc = base64.b64encode(data[f]).decode()
                if n == 13:
                    enc = "!!!not-base64!!!" + enc[:100]
                    expect["errors"] += 1
                t.write("\t".join([f"m.{n}", str(k), "u", "p", "f", "r", enc]) + "\n")
                expect["tsv"] += 1
                n += 1
    with open(os.path.join(c, "broken_big.rec"), "wb") as r:
        for k in range(4):
            for i, f in enumerate(jpegs):
                if k == 2 and i == 0:
                    r.write(struct.pack("<II", 0xDEADBEEF, 8) + b"\0" * 8)
                r.write(record(struct.pack("<IfQQ", 0, float(i), i + 1, 0) + data[f]))

print(json.dumps(expect))
