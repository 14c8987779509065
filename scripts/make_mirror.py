#!/usr/bin/python3
"""Generate a test dataset mirror that spreads N images over every container kind residue scans.

    make_mirror.py OUT_DIR --count N [--corpus DIR] [--seed S] [--size 250] [--jobs J]

Every item is a SIZExSIZE baseline JPEG (quality 90, 4:2:0) of a random crop of a random corpus
photo (a few are PNGs), laid out as:

  folders/LL/MM/000123.jpg      ~40%  plain files, ~1000 per leaf folder, plus a few .png
  shards/shard-000000.tar       ~30%  WebDataset shards of 1000 samples: 000123.jpg + 000123.json
                                      ({"label": ...}, not an image); the last shard is .tar.gz
  zips/part-0.zip                ~5%  one zip, members stored (JPEGs do not compress)
  tsv/FaceImageCroppedWithOffset.tsv
                                ~15%  MS-Celeb-1M style: MID, rank, image URL, page URL, face id
                                      (base64), face rectangle (base64 of 16 bytes), base64 JPEG
                                      (column 6, standard alphabet, no line breaks)
  rec/train.rec + train.idx     ~10%  MXNet RecordIO, InsightFace style: record 0 is a header
                                      (IRHeader flag=2 + float labels [1, N+1], no image), then
                                      one record per image (IRHeader flag=0, label=identity)
  MANIFEST.json                       parameters, item counts per container kind, bytes

The counts per kind are exact and recorded in MANIFEST.json under "items" with the keys that
`residue catalog stats --json` uses ("file", "tar", "zip", "tsv", "recordio").

Deterministic: the plan (sources, crop boxes, identities) comes from --seed; with the same Pillow
and libjpeg (Debian bookworm's python3-pil 9.4) the bytes are the same. Archive timestamps are
fixed. Idempotent: when OUT_DIR/MANIFEST.json records the same parameters, nothing is done.
MANIFEST.json is written last, so an interrupted run is redone. JPEG encoding runs in a process
pool; containers are written as a stream (memory does not grow with N).

Needs Debian's python3-pil: run with /usr/bin/python3, not a pyenv python without Pillow.
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import random
import shutil
import struct
import sys
import tarfile
import time
import zipfile

try:
    from PIL import Image
except ImportError:  # pragma: no cover - environment problem, say how to fix it
    sys.exit("make_mirror: Pillow not found; run with /usr/bin/python3 "
             "(Debian package python3-pil)")

GENERATOR_VERSION = 1
QUALITY = 90
MIN_CROP_FRACTION = 0.35      # crop side, as a fraction of the largest square crop of the source
SOURCE_MIN_SIDE_CAP = 720     # sources are pre-shrunk so their shorter side is at most this
FILES_PER_LEAF = 1000
LEAVES_PER_BRANCH = 8
SAMPLES_PER_SHARD = 1000
PNG_EVERY = 500               # one plain file in this many is a PNG (at least one)
FIXED_MTIME = 1767225600      # 2026-01-01T00:00:00Z, for archive members
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
OUR_ENTRIES = ("folders", "shards", "zips", "tsv", "rec", "MANIFEST.json")

# Share of each kind; "rec" takes the remainder so the shares add up to N exactly.
SHARES = (("file", 0.40), ("tar", 0.30), ("zip", 0.05), ("tsv", 0.15))

RECORDIO_MAGIC = 0xCED7230A
IRHEADER = struct.Struct("<IfQQ")  # flag, label, id, id2 (MXNet IRHeader, 24 bytes)


# ------------------------------------------------------------------------------------ planning

def corpus_files(corpus):
    """Image files of the corpus, sorted by name (every file: near-duplicate families included)."""
    names = [n for n in os.listdir(corpus)
             if n.lower().endswith(EXTENSIONS) and os.path.isfile(os.path.join(corpus, n))]
    return sorted(names)


def corpus_digest(corpus, names):
    """Names and sizes of the corpus files: changes when the corpus does (cheap, no reading)."""
    h = hashlib.sha256()
    for n in names:
        h.update(f"{n}\t{os.path.getsize(os.path.join(corpus, n))}\n".encode())
    return h.hexdigest()[:16]


def split_counts(n):
    counts = {}
    used = 0
    for kind, share in SHARES:
        counts[kind] = int(round(n * share))
        used += counts[kind]
    if used > n:  # only for tiny N: take the excess back from the largest kinds
        for kind in ("file", "tar", "tsv", "zip"):
            take = min(counts[kind], used - n)
            counts[kind] -= take
            used -= take
    counts["recordio"] = n - used
    return counts


def shard_sizes(n_items):
    """Samples per shard: 1000, but at least two shards when there are two items (so that both a
    plain .tar and the .tar.gz exist even in a small mirror)."""
    if n_items == 0:
        return []
    per = SAMPLES_PER_SHARD
    if n_items <= per and n_items >= 2:
        per = (n_items + 1) // 2
    sizes = [per] * (n_items // per)
    if n_items % per:
        sizes.append(n_items % per)
    return sizes


def identity_runs(rng, n, max_run):
    """Identity labels for n consecutive items: runs of 1..max_run items per identity."""
    labels = []
    ident = 0
    while len(labels) < n:
        labels.extend([ident] * rng.randint(1, max_run))
        ident += 1
    return labels[:n]


def mid_for(ident):
    """A Freebase-style MID such as m.0abc12, distinct per identity."""
    digits = "0123456789bcdfghjklmnpqrstvwxyz_"
    s = ""
    v = ident * 7919 + 1234567  # spread consecutive identities
    for _ in range(5):
        s = digits[v % 32] + s
        v //= 32
    return "m.0" + s


def make_tasks(rng, n, size, sources, src_sizes, counts):
    """One task per item, in item order: (index, kind, fmt, source, box, extra). The kinds take
    consecutive index ranges: file, tar, zip, tsv, recordio."""
    kinds = []
    for kind in ("file", "tar", "zip", "tsv", "recordio"):
        kinds.extend([kind] * counts[kind])
    n_file = counts["file"]
    n_png = 0 if n_file == 0 else max(1, n_file // PNG_EVERY)
    png_at = {(k * n_file) // n_png + (n_file // n_png) // 2 for k in range(n_png)} if n_png else set()
    tsv_ids = identity_runs(rng, counts["tsv"], 40)
    rec_ids = identity_runs(rng, counts["recordio"], 60)
    tsv_first = counts["file"] + counts["tar"] + counts["zip"]
    rec_first = tsv_first + counts["tsv"]
    for i in range(n):
        src = rng.choice(sources)
        sw, sh = src_sizes[src]
        side = min(sw, sh)
        frac = rng.uniform(MIN_CROP_FRACTION, 1.0)
        c = max(1, round(side * frac))
        x = rng.randint(0, sw - c)
        y = rng.randint(0, sh - c)
        box = (x, y, x + c, y + c)
        kind = kinds[i]
        fmt = "png" if (kind == "file" and i in png_at) else "jpg"
        extra = None
        if kind == "tar":
            extra = rng.randint(0, 9999)  # the json label
        elif kind == "tsv":
            extra = (tsv_ids[i - tsv_first], [rng.random() for _ in range(4)])
        elif kind == "recordio":
            extra = rec_ids[i - rec_first]
        yield (i, kind, fmt, src, box, size, extra)


# ------------------------------------------------------------------------------------ workers

_SOURCES = {}  # name -> RGB image, loaded in the parent before the pool forks (shared pages)


def load_sources(corpus, names):
    """Decodes every corpus image once, flattened to RGB and shrunk so that its shorter side is at
    most SOURCE_MIN_SIDE_CAP (a 35% crop still has >= 250 px). Returns name -> size."""
    sizes = {}
    for n in names:
        with Image.open(os.path.join(corpus, n)) as im:
            if im.format == "JPEG":
                im.draft("RGB", (SOURCE_MIN_SIDE_CAP, SOURCE_MIN_SIDE_CAP))
            im.load()
            if im.mode in ("RGBA", "LA", "P", "PA"):
                rgba = im.convert("RGBA")
                base = Image.new("RGB", rgba.size, (255, 255, 255))
                base.paste(rgba, mask=rgba.split()[3])
                rgb = base
            else:
                rgb = im.convert("RGB")
        w, h = rgb.size
        if min(w, h) > SOURCE_MIN_SIDE_CAP:
            s = SOURCE_MIN_SIDE_CAP / min(w, h)
            rgb = rgb.resize((max(1, round(w * s)), max(1, round(h * s))),
                             Image.Resampling.LANCZOS)
        _SOURCES[n] = rgb
        sizes[n] = rgb.size
    return sizes


def aligned_magic_at(payload):
    """Offset of the RecordIO magic at a 4-byte-aligned position of payload, or -1."""
    magic = struct.pack("<I", RECORDIO_MAGIC)
    pos = payload.find(magic)
    while pos >= 0:
        if pos % 4 == 0:
            return pos
        pos = payload.find(magic, pos + 1)
    return -1


def encode(task):
    """Renders one item. Returns (index, kind, fmt, data, extra) where data is the file bytes,
    the base64 text (tsv) or the record payload (recordio)."""
    i, kind, fmt, src, box, size, extra = task
    img = _SOURCES[src].resize((size, size), Image.Resampling.LANCZOS, box=box)
    if fmt == "png":
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return (i, kind, fmt, buf.getvalue(), extra)
    quality = QUALITY
    while True:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, subsampling=2, optimize=False, progressive=False)
        data = buf.getvalue()
        if kind != "recordio":
            break
        payload = IRHEADER.pack(0, float(extra), i, 0) + data
        if aligned_magic_at(payload) < 0:
            data = payload
            break
        quality -= 1  # MXNet would split this record; a different encoding avoids the magic
    if kind == "tsv":
        data = base64.b64encode(data)
    return (i, kind, fmt, data, extra)


# ------------------------------------------------------------------------------------ writers

class Writer:
    """Streams items, in index order, into their containers; tracks counts and bytes."""

    def __init__(self, out, counts, n):
        self.out = out
        self.n = n
        self.items = {k: 0 for k in ("file", "tar", "zip", "tsv", "recordio")}
        self.bytes = {k: 0 for k in self.items}
        self.png = 0
        self.json_members = 0
        self.shards = []
        self.leaves = set()
        self.shard_sizes = shard_sizes(counts["tar"])
        self.shard_index = -1
        self.shard_left = 0
        self.tar = None
        self.tar_raw = None
        self.gz = None
        self.zip = None
        self.tsv = None
        self.rec = None
        self.idx = None
        self.rec_offset = 0
        self.rec_index = 0
        self.tsv_rank = {}

    # plain folders
    def put_file(self, i, fmt, data):
        k = self.items["file"]
        leaf = k // FILES_PER_LEAF
        rel = os.path.join("folders", f"{leaf // LEAVES_PER_BRANCH:02d}",
                           f"{leaf % LEAVES_PER_BRANCH:02d}")
        folder = os.path.join(self.out, rel)
        if rel not in self.leaves:
            os.makedirs(folder, exist_ok=True)
            self.leaves.add(rel)
        with open(os.path.join(folder, f"{i:06d}.{fmt}"), "wb") as f:
            f.write(data)
        self.items["file"] += 1
        self.bytes["file"] += len(data)
        self.png += fmt == "png"

    # WebDataset shards
    def _close_shard(self):
        if self.tar is not None:
            self.tar.close()
            if self.gz is not None:
                self.gz.close()
            self.tar_raw.close()
            self.bytes["tar"] += os.path.getsize(self.shards[-1])
            self.tar = self.gz = self.tar_raw = None

    def _open_shard(self):
        self._close_shard()
        self.shard_index += 1
        self.shard_left = self.shard_sizes[self.shard_index]
        last = self.shard_index == len(self.shard_sizes) - 1
        name = f"shard-{self.shard_index:06d}.tar" + (".gz" if last else "")
        path = os.path.join(self.out, "shards", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.tar_raw = open(path, "wb")
        fileobj = self.tar_raw
        if last:
            # A fixed gzip mtime and no file name keep the bytes deterministic.
            self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.tar_raw, mtime=0,
                                    compresslevel=6)
            fileobj = self.gz
        self.tar = tarfile.open(fileobj=fileobj, mode="w", format=tarfile.GNU_FORMAT)
        self.shards.append(path)

    def _tar_add(self, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = FIXED_MTIME
        info.mode = 0o644
        info.uname = info.gname = "residue"
        self.tar.addfile(info, io.BytesIO(data))

    def put_tar(self, i, data, label, ext="jpg"):
        if self.shard_left == 0:
            self._open_shard()
        self._tar_add(f"{i:06d}.{ext}", data)
        self._tar_add(f"{i:06d}.json", json.dumps({"label": label}).encode())
        self.shard_left -= 1
        self.items["tar"] += 1
        self.json_members += 1

    # zip
    def put_zip(self, i, data, ext="jpg"):
        if self.zip is None:
            path = os.path.join(self.out, "zips", "part-0.zip")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)
        info = zipfile.ZipInfo(f"{i:06d}.{ext}", date_time=FIXED_ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, data)
        self.items["zip"] += 1

    # MS-Celeb TSV
    def put_tsv(self, i, b64, extra):
        if self.tsv is None:
            path = os.path.join(self.out, "tsv", "FaceImageCroppedWithOffset.tsv")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.tsv = open(path, "wb")
        ident, rect = extra
        mid = mid_for(ident)
        rank = self.tsv_rank.get(ident, 0) + 1
        self.tsv_rank[ident] = rank
        search_url = f"http://images.example.org/search?q={mid}&n={rank}"
        page_url = f"http://www.example.org/people/{mid[2:]}/photo-{i:06d}.html"
        face_id = base64.b64encode(f"{mid}_{rank}_{i}".encode()).decode()
        r = sorted(rect[:2]) + sorted(rect[2:])
        face_rect = base64.b64encode(struct.pack("<4f", r[0], r[2], r[1], r[3])).decode()
        head = "\t".join((mid, str(rank), search_url, page_url, face_id, face_rect))
        self.tsv.write(head.encode() + b"\t" + b64 + b"\n")
        self.items["tsv"] += 1

    # MXNet RecordIO
    def _rec_write(self, payload):
        if len(payload) >= (1 << 29):
            raise ValueError("record too large for RecordIO")
        pad = (-len(payload)) % 4
        self.idx.write(f"{self.rec_index}\t{self.rec_offset}\n")
        self.rec.write(struct.pack("<II", RECORDIO_MAGIC, len(payload)))  # cflag 0
        self.rec.write(payload)
        self.rec.write(b"\0" * pad)
        self.rec_offset += 8 + len(payload) + pad
        self.rec_index += 1

    def put_rec(self, payload, n_rec):
        if self.rec is None:
            folder = os.path.join(self.out, "rec")
            os.makedirs(folder, exist_ok=True)
            self.rec = open(os.path.join(folder, "train.rec"), "wb")
            self.idx = open(os.path.join(folder, "train.idx"), "w", encoding="ascii")
            header = IRHEADER.pack(2, 0.0, 0, 0) + struct.pack("<2f", 1.0, float(n_rec + 1))
            self._rec_write(header)
        self._rec_write(payload)
        self.items["recordio"] += 1

    def close(self):
        self._close_shard()
        if self.zip is not None:
            self.zip.close()
            self.bytes["zip"] = os.path.getsize(os.path.join(self.out, "zips", "part-0.zip"))
        if self.tsv is not None:
            self.tsv.close()
            self.bytes["tsv"] = os.path.getsize(
                os.path.join(self.out, "tsv", "FaceImageCroppedWithOffset.tsv"))
        if self.rec is not None:
            self.rec.close()
            self.idx.close()
            self.bytes["recordio"] = os.path.getsize(os.path.join(self.out, "rec", "train.rec"))


# ------------------------------------------------------------------------------------ main

def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return str(n)


def print_summary(manifest, verb):
    items = manifest["items"]
    by = manifest["bytes"]
    print(f"{verb} {manifest['count']} items, {human(sum(by.values()))} in {manifest['out_dir']}")
    print(f"  {'kind':<9} {'items':>8} {'bytes':>12}  where")
    where = {
        "file": f"folders/ ({manifest['leaf_folders']} leaf folders, {manifest['png']} PNG)",
        "tar": f"shards/ ({manifest['shards']} shards, last one .tar.gz, "
               f"{manifest['json_members']} .json members)",
        "zip": "zips/part-0.zip (stored)",
        "tsv": "tsv/FaceImageCroppedWithOffset.tsv (image column 6)",
        "recordio": f"rec/train.rec + train.idx ({manifest['recordio_records']} records "
                    "incl. header)",
    }
    for k in ("file", "tar", "zip", "tsv", "recordio"):
        print(f"  {k:<9} {items[k]:>8} {human(by[k]):>12}  {where[k]}")


def windowed_imap(pool, tasks, window=4096, chunksize=32):
    """pool.imap over windows of tasks: results come in order, and at most one window of encoded
    items waits in memory however slow the writer is (plain imap buffers without bound)."""
    batch = []
    for t in tasks:
        batch.append(t)
        if len(batch) == window:
            yield from pool.imap(encode, batch, chunksize=chunksize)
            batch = []
    if batch:
        yield from pool.imap(encode, batch, chunksize=chunksize)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, required=True, help="number of images")
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--corpus", default=os.path.join(repo_root, "..", "shared", "corpus"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", type=int, default=250, help="side of the square images (px)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="encoder processes (default: all cores)")
    args = ap.parse_args()
    if args.count < 1 or args.size < 8 or args.jobs < 1:
        sys.exit("make_mirror: --count >= 1, --size >= 8 and --jobs >= 1 required")
    corpus = os.path.realpath(args.corpus)
    if not os.path.isdir(corpus):
        sys.exit(f"make_mirror: corpus folder not found: {corpus} (pass --corpus)")
    names = corpus_files(corpus)
    if not names:
        sys.exit(f"make_mirror: no images in {corpus}")
    out = os.path.abspath(args.out_dir)
    params = {"generator_version": GENERATOR_VERSION, "count": args.count, "seed": args.seed,
              "size": args.size, "quality": QUALITY,
              "corpus_files": len(names), "corpus_digest": corpus_digest(corpus, names)}
    manifest_path = os.path.join(out, "MANIFEST.json")
    if os.path.isfile(manifest_path):
        try:
            with open(manifest_path, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        if old.get("params") == params:
            print_summary(old, "exists:")
            return
        print("make_mirror: MANIFEST.json has other parameters - regenerating")
    os.makedirs(out, exist_ok=True)
    for entry in OUR_ENTRIES:  # only what this script writes; anything else is left alone
        p = os.path.join(out, entry)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)

    start = time.monotonic()
    src_sizes = load_sources(corpus, names)
    counts = split_counts(args.count)
    rng = random.Random(f"residue-mirror-{args.seed}-{args.size}")
    tasks = make_tasks(rng, args.count, args.size, names, src_sizes, counts)
    writer = Writer(out, counts, args.count)
    ctx = multiprocessing.get_context("fork")  # workers share the decoded sources
    done = 0
    report_every = max(1000, args.count // 10)
    with ctx.Pool(args.jobs) as pool:
        for i, kind, fmt, data, extra in windowed_imap(pool, tasks):
            if kind == "file":
                writer.put_file(i, fmt, data)
            elif kind == "tar":
                writer.put_tar(i, data, extra)
            elif kind == "zip":
                writer.put_zip(i, data)
            elif kind == "tsv":
                writer.put_tsv(i, data, extra)
            else:
                writer.put_rec(data, counts["recordio"])
            done += 1
            if done % report_every == 0 and done < args.count:
                print(f"  {done}/{args.count} items, {time.monotonic() - start:.0f} s",
                      flush=True)
    writer.close()
    if writer.items != counts:
        sys.exit(f"make_mirror: internal error: wrote {writer.items}, planned {counts}")
    manifest = {
        "params": params,
        "out_dir": out,
        "corpus": corpus,
        "count": args.count,
        "items": writer.items,          # images per container kind (catalog stats keys)
        "bytes": writer.bytes,          # bytes on disk per kind (files: sum of file sizes)
        "png": writer.png,
        "leaf_folders": len(writer.leaves),
        "shards": len(writer.shards),
        "shard_files": [os.path.relpath(p, out) for p in writer.shards],
        "json_members": writer.json_members,  # non-image members of the shards
        "recordio_records": writer.rec_index,  # includes the header record 0
        "containers": {"tar": len(writer.shards), "zip": int(counts["zip"] > 0),
                       "tsv": int(counts["tsv"] > 0), "recordio": int(counts["recordio"] > 0)},
        "seconds": round(time.monotonic() - start, 1),
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, manifest_path)
    print_summary(manifest, f"made ({manifest['seconds']} s):")


if __name__ == "__main__":
    main()
