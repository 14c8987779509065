#!/usr/bin/python3
"""Generate the accuracy benchmark's mirror: withdrawn images, their edited copies and distractors.

    make_accuracy_mirror.py OUT_DIR [--corpus DIR] [--withdrawn 50] [--seed 1] [--jobs J]

From the developer corpus (default ../shared/corpus beside the repository; MANIFEST.tsv gives each
file's near-duplicate `family`), this picks a withdrawn subset (seeded, at most one file per
family) and writes:

  OUT/withdrawn/NAME         the withdrawn originals, byte copies (`residue bank add` hashes these)
  OUT/mirror/                what `residue scan` reads, in make_mirror.py's layout and containers:
    folders/00/00/000123.jpg   plain files (also .png / .webp)
    shards/shard-*.tar[.gz]    WebDataset shards (000123.jpg + 000123.json; the last one .tar.gz)
    zips/part-0.zip            one zip, members stored
    tsv/FaceImageCroppedWithOffset.tsv   MS-Celeb-1M style, base64 JPEG in column 6
    rec/train.rec + train.idx  InsightFace-style MXNet RecordIO
  OUT/truth.tsv              one row per mirror item (see TRUTH_COLUMNS): its locator exactly as
                             `residue scan OUT/mirror` spells it (OUT made absolute), the corpus
                             file it derives from, that file's family, the edit and its target group
  OUT/MANIFEST.json          parameters, counts per container kind, edit and group (written last)

Items go to the container kinds round-robin (file, tar, zip, tsv, recordio). TSV and RecordIO
carry only JPEG, so a PNG or WebP item that would land there goes to the next of file/tar/zip.

Every withdrawn image gets every edit of EDITS (groups: "t99" = recall target 99%, "t90" = 90%,
"report" = no target, reported as measured); the unedited original itself (byte copy) is one of
them. Every other corpus file is a distractor: its byte copy plus DISTRACTOR_EDITS. Edited images
are saved as baseline JPEG q90 4:2:0 unless the edit says otherwise. Parameters that need an
image size are relative to it (see the edit functions). Alpha is dropped (as residue's decoder
does), grey images become RGB.

Deterministic: every choice comes from --seed (noise from a per-item seed); with Debian bookworm's
python3-pil 9.4, libjpeg62-turbo, libwebp and fonts-dejavu-core the bytes are the same. Idempotent:
when OUT/MANIFEST.json records the same parameters, nothing is done; otherwise only what this
script writes (withdrawn/, mirror/, truth.tsv, MANIFEST.json) is replaced. The container writers
are make_mirror.py's (imported). Needs Debian's python3-pil and python3-numpy: run with
/usr/bin/python3.
"""

import argparse
import base64
import io
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import time

try:
    import numpy as np
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps
except ImportError:  # pragma: no cover - environment problem, say how to fix it
    sys.exit("make_accuracy_mirror: Pillow or numpy not found; run with /usr/bin/python3 "
             "(Debian packages python3-pil python3-numpy)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_mirror as mm  # noqa: E402  (the container writers)

GENERATOR_VERSION = 1
QUALITY = 90
KINDS = ("file", "tar", "zip", "tsv", "recordio")
ANY_FORMAT_KINDS = ("file", "tar", "zip")  # TSV and RecordIO carry JPEG only
OUR_ENTRIES = ("withdrawn", "mirror", "truth.tsv", "MANIFEST.json")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"  # fonts-dejavu-core
TRUTH_COLUMNS = ("locator", "container", "source", "family", "edit", "group", "positive",
                 "format", "width", "height", "bytes")

# Colours for borders and logos (picked per image with the seeded generator).
PALETTE = ((200, 30, 45), (20, 110, 190), (30, 150, 70), (240, 180, 20), (120, 50, 160))


# ------------------------------------------------------------------------------------ edits
# Each edit takes (RGB image, params dict) and returns (PIL image, format, save options) or, for
# encoders that need more control, (bytes, format). "params" holds the per-image seeded choices.

def _fit(im, w, h):
    w, h = max(1, round(w)), max(1, round(h))
    resample = Image.Resampling.LANCZOS if w * h <= im.width * im.height else Image.Resampling.BICUBIC
    return im.resize((w, h), resample)


def resize(f):
    return lambda im, p: _fit(im, im.width * f, im.height * f)


def thumbnail(side):
    def edit(im, p):
        s = side / max(im.width, im.height)
        return _fit(im, im.width * s, im.height * s)
    return edit


def enhance(cls, factor):
    return lambda im, p: cls(im).enhance(factor)


def gamma(g):
    lut = [round(255 * (v / 255) ** g) for v in range(256)]
    return lambda im, p: im.point(lut * 3)


def blur(im, p):
    # Radius relative to the size: 1 px on a 150 px face crop, ~7 px on a 1920x1080 wallpaper.
    return im.filter(ImageFilter.GaussianBlur(max(1.0, min(im.size) / 150)))


def noise(im, p):
    rng = np.random.default_rng(p["noise_seed"])
    a = np.asarray(im, dtype=np.float32)
    a = a + rng.normal(0.0, 12.0, a.shape)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


def sharpen(im, p):
    return im.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))


def transpose(method):
    return lambda im, p: im.transpose(method)


def crop_box(keep, where):
    """Keeps `keep` of each side; where = centre, or a corner: tl, tr, bl, br."""
    def edit(im, p):
        w, h = im.size
        cw, ch = round(w * keep), round(h * keep)
        x = 0 if "l" in where else w - cw if "r" in where else (w - cw) // 2
        y = 0 if "t" in where else h - ch if "b" in where else (h - ch) // 2
        return im.crop((x, y, x + cw, y + ch))
    return edit


def border(frac, colour):
    """Adds frac of the picture's width (height) on the left and right (top and bottom)."""
    def edit(im, p):
        c = {"black": (0, 0, 0), "white": (255, 255, 255)}.get(colour, p["colour"])
        dx, dy = round(im.width * frac), round(im.height * frac)
        out = Image.new("RGB", (im.width + 2 * dx, im.height + 2 * dy), c)
        out.paste(im, (dx, dy))
        return out
    return edit


def rotate_small(deg):
    # Counter-clockwise, same canvas, black corners (content is neither scaled nor cropped away).
    return lambda im, p: im.rotate(deg, resample=Image.Resampling.BICUBIC, expand=False,
                                   fillcolor=(0, 0, 0))


def aspect(fx):
    # fx = 4/3 turns a 4:3 picture into 16:9 (stretched wide); 3/4 squeezes 16:9 into 4:3.
    return lambda im, p: _fit(im, im.width * fx, im.height)


def _font(size):
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:  # no fonts-dejavu-core: still an overlay, but not the recorded bytes
        return ImageFont.load_default()


def text_overlay(im, p):
    """A caption in the lower part, white with a black outline: an eighth of the height tall,
    or narrower when that would not fit 90% of the width."""
    out = im.copy()
    d = ImageDraw.Draw(out)
    text = "(c) example.org 2026"
    size = max(8, round(im.height / 8))
    for _ in range(40):  # shrink until it fits 90% of the width
        f = _font(size)
        x0, y0, x1, y1 = d.textbbox((0, 0), text, font=f, stroke_width=max(1, size // 12))
        if x1 - x0 <= 0.9 * im.width or size <= 8:
            break
        size = max(8, int(size * 0.9))
    x = (im.width - (x1 - x0)) // 2 - x0
    y = round(im.height * 0.8) - (y1 - y0) // 2 - y0
    d.text((x, y), text, font=f, fill=(255, 255, 255), stroke_width=max(1, size // 12),
           stroke_fill=(0, 0, 0))
    return out


def logo_overlay(im, p):
    """An opaque square logo of about 15% of the area in the bottom-right corner: a coloured
    rounded square, a white ring and a letter."""
    out = im.copy()
    s = min(round(math.sqrt(0.15 * im.width * im.height)), round(0.9 * min(im.size)))
    m = round(0.03 * min(im.size))
    x0, y0 = im.width - s - m, im.height - s - m
    d = ImageDraw.Draw(out)
    d.rounded_rectangle((x0, y0, x0 + s, y0 + s), radius=max(1, s // 6), fill=p["colour"])
    r = s * 0.36
    cx, cy = x0 + s / 2, y0 + s / 2
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=max(1, s // 14))
    f = _font(max(8, round(s * 0.42)))
    d.text((cx, cy), "R", font=f, fill=(255, 255, 255), anchor="mm")
    return out


# EXIF orientation t: the pixels are stored so that a viewer applying tag t shows the original.
# ImageOps.exif_transpose applies these transposes; each stored image is the inverse transform.
_EXIF_STORE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_orientation(tag):
    def edit(im, p):
        stored = im.transpose(_EXIF_STORE[tag])
        exif = Image.Exif()
        exif[0x0112] = tag
        buf = io.BytesIO()
        stored.save(buf, "JPEG", quality=QUALITY, subsampling=2, exif=exif.tobytes())
        return buf.getvalue(), "jpg"
    return edit


def jpeg(q):
    def edit(im, p):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=q, subsampling=2)
        return buf.getvalue(), "jpg"
    return edit


def png(im, p):
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue(), "png"


def webp(im, p):
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=80, method=4)
    return buf.getvalue(), "webp"


T = Image.Transpose
# (name, group, edit). "copy" = the original file's bytes.
EDITS = [
    ("byte_copy", "t99", "copy"),
    ("jpeg_q90", "t99", jpeg(90)),
    ("jpeg_q50", "t99", jpeg(50)),
    ("jpeg_q20", "t99", jpeg(20)),
    ("png", "t99", png),
    ("webp_q80", "t99", webp),
    ("resize_25", "t99", resize(0.25)),
    ("resize_50", "t99", resize(0.50)),
    ("resize_75", "t99", resize(0.75)),
    ("resize_150", "t99", resize(1.50)),
    ("resize_200", "t99", resize(2.00)),
    ("thumb_112", "t99", thumbnail(112)),
    ("grayscale", "t99", lambda im, p: im.convert("L").convert("RGB")),
    ("brightness_130", "t99", enhance(ImageEnhance.Brightness, 1.3)),
    ("brightness_70", "t99", enhance(ImageEnhance.Brightness, 0.7)),
    ("contrast_140", "t99", enhance(ImageEnhance.Contrast, 1.4)),
    ("contrast_60", "t99", enhance(ImageEnhance.Contrast, 0.6)),
    ("gamma_0.6", "t99", gamma(0.6)),
    ("gamma_1.6", "t99", gamma(1.6)),
    ("blur", "t99", blur),
    ("noise_12", "t99", noise),
    ("sharpen", "t99", sharpen),
    ("flip_h", "t99", transpose(T.FLIP_LEFT_RIGHT)),
    ("flip_v", "t99", transpose(T.FLIP_TOP_BOTTOM)),
    ("rot_90", "t99", transpose(T.ROTATE_90)),
    ("rot_180", "t99", transpose(T.ROTATE_180)),
    ("rot_270", "t99", transpose(T.ROTATE_270)),
] + [(f"exif_{t}", "t99", exif_orientation(t)) for t in range(2, 9)] + [
    ("crop_c95", "t90", crop_box(0.95, "c")),
    ("crop_c90", "t90", crop_box(0.90, "c")),
    ("border5_black", "t90", border(0.05, "black")),
    ("border5_white", "t90", border(0.05, "white")),
    ("border10_black", "t90", border(0.10, "black")),
    ("border10_white", "t90", border(0.10, "white")),
    ("border10_colour", "t90", border(0.10, "colour")),
    ("text_overlay", "t90", text_overlay),
    ("logo_overlay", "t90", logo_overlay),
    ("aspect_4:3_to_16:9", "t90", aspect(4 / 3)),
    ("aspect_16:9_to_4:3", "t90", aspect(3 / 4)),
    ("crop_c80", "report", crop_box(0.80, "c")),
    ("crop_c70", "report", crop_box(0.70, "c")),
    ("crop_tl90", "report", crop_box(0.90, "tl")),
    ("crop_br90", "report", crop_box(0.90, "br")),
    ("crop_tr80", "report", crop_box(0.80, "tr")),
    ("crop_bl80", "report", crop_box(0.80, "bl")),
    ("rotate_2", "report", rotate_small(2)),
    ("rotate_5", "report", rotate_small(5)),
    ("rotate_10", "report", rotate_small(10)),
    ("border20_black", "report", border(0.20, "black")),
    ("border20_colour", "report", border(0.20, "colour")),
]
DISTRACTOR_EDITS = [
    ("byte_copy", "distractor", "copy"),
    ("jpeg_q75", "distractor", jpeg(75)),
    ("resize_50", "distractor", resize(0.50)),
    ("crop_c80", "distractor", crop_box(0.80, "c")),
    ("border10_white", "distractor", border(0.10, "white")),
]
EDIT_FN = {("w", n): f for n, g, f in EDITS}
EDIT_FN.update({("d", n): f for n, g, f in DISTRACTOR_EDITS})


# ------------------------------------------------------------------------------------ planning

def read_manifest(corpus):
    """file -> family ('' when none), from the corpus MANIFEST.tsv."""
    path = os.path.join(corpus, "MANIFEST.tsv")
    if not os.path.isfile(path):
        sys.exit(f"make_accuracy_mirror: no MANIFEST.tsv in {corpus}")
    families = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_file, col_family = header.index("file"), header.index("family")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) > col_family:
                families[cols[col_file]] = cols[col_family]
    return families


def choose_withdrawn(rng, names, families, n):
    """n files, at most one per family: families (and lone files) are units, shuffled."""
    units = {}
    for name in names:
        units.setdefault(families.get(name) or "file:" + name, []).append(name)
    keys = sorted(units)
    rng.shuffle(keys)
    if n > len(keys):
        sys.exit(f"make_accuracy_mirror: --withdrawn {n} > {len(keys)} distinct families/files")
    return sorted(rng.choice(sorted(units[k])) for k in keys[:n])


def plan(rng, names, withdrawn):
    """Tasks in item order: (index, source, role, edit, group, params)."""
    tasks = []
    wset = set(withdrawn)
    order = list(withdrawn) + [n for n in names if n not in wset]
    for src in order:
        role = "w" if src in wset else "d"
        edits = EDITS if role == "w" else DISTRACTOR_EDITS
        colour = rng.choice(PALETTE)
        for name, group, _ in edits:
            params = {"colour": colour, "noise_seed": rng.getrandbits(32)}
            tasks.append([len(tasks), src, role, name, group, params])
    return tasks


def assign_kinds(tasks, corpus):
    """Round-robin over KINDS; items that are not JPEG go round-robin over ANY_FORMAT_KINDS when
    their turn would put them in a TSV or RecordIO file. The format is known before encoding
    (only byte copies keep the source's format)."""
    k5 = k3 = 0
    for t in tasks:
        fmt = output_format(t, corpus)
        kind = KINDS[k5 % len(KINDS)]
        k5 += 1
        if fmt != "jpg" and kind not in ANY_FORMAT_KINDS:
            kind = ANY_FORMAT_KINDS[k3 % len(ANY_FORMAT_KINDS)]
            k3 += 1
        t.append(kind)


def output_format(task, corpus):
    _, src, role, edit, _, _ = task[:6]
    if edit == "byte_copy":
        with open(os.path.join(corpus, src), "rb") as f:
            head = f.read(12)
        if head.startswith(b"\xff\xd8"):
            return "jpg"
        if head.startswith(b"\x89PNG"):
            return "png"
        return os.path.splitext(src)[1].lstrip(".").lower()
    return {"png": "png", "webp_q80": "webp"}.get(edit, "jpg")


# ------------------------------------------------------------------------------------ workers

_CORPUS = None
_CACHE = {}  # one decoded source per worker: tasks come grouped by source


def load_rgb(name):
    if name not in _CACHE:
        _CACHE.clear()
        with Image.open(os.path.join(_CORPUS, name)) as im:
            im.load()
            # Drops alpha without compositing (residue's decoder ignores alpha the same way).
            _CACHE[name] = im.convert("RGB")
    return _CACHE[name]


def init_worker(corpus):
    global _CORPUS
    _CORPUS = corpus


def encode(task):
    """Returns (index, data bytes, format, width, height) for one item."""
    i, src, role, edit, group, params, kind = task
    fn = EDIT_FN[(role, edit)]
    if fn == "copy":
        with open(os.path.join(_CORPUS, src), "rb") as f:
            data = f.read()
        im = load_rgb(src)
        return i, data, output_format(task, _CORPUS), im.width, im.height
    out = fn(load_rgb(src), params)
    if isinstance(out, tuple):
        data, fmt = out
        with Image.open(io.BytesIO(data)) as probe:
            w, h = ImageOps.exif_transpose(probe).size if fmt == "jpg" else probe.size
        return i, data, fmt, w, h
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=QUALITY, subsampling=2)
    return i, buf.getvalue(), "jpg", out.width, out.height


# ------------------------------------------------------------------------------------ writing

class MirrorWriter:
    """make_mirror's Writer plus the locator of every item it writes."""

    def __init__(self, root, counts, n):
        self.root = root
        self.w = mm.Writer(root, counts, n)
        self.moved_from_rec = 0

    def put(self, i, kind, fmt, data, rng):
        w = self.w
        if kind == "file":
            w.put_file(i, fmt, data)
            leaf = (w.items["file"] - 1) // mm.FILES_PER_LEAF
            return "file", os.path.join(self.root, "folders", f"{leaf // mm.LEAVES_PER_BRANCH:02d}",
                                        f"{leaf % mm.LEAVES_PER_BRANCH:02d}", f"{i:06d}.{fmt}")
        if kind == "tar":
            w.put_tar(i, data, rng.randint(0, 9999), ext=fmt)
            return "tar", f"{w.shards[-1]}!/{i:06d}.{fmt}"
        if kind == "zip":
            w.put_zip(i, data, ext=fmt)
            return "zip", os.path.join(self.root, "zips", "part-0.zip") + f"!/{i:06d}.{fmt}"
        if kind == "tsv":
            w.put_tsv(i, base64.b64encode(data), (i // 7, [rng.random() for _ in range(4)]))
            return "tsv", (os.path.join(self.root, "tsv", "FaceImageCroppedWithOffset.tsv")
                           + f"!/line/{w.items['tsv']}")
        payload = mm.IRHEADER.pack(0, float(i // 11), i, 0) + data
        if mm.aligned_magic_at(payload) >= 0:
            # MXNet would split this record; byte copies cannot be re-encoded, so the item becomes
            # a plain file (the header's record count is then one too high; readers ignore it).
            self.moved_from_rec += 1
            return self.put(i, "file", fmt, data, rng)
        w.put_rec(payload, self.n_rec)
        return "recordio", (os.path.join(self.root, "rec", "train.rec")
                            + f"!/record/{w.rec_index - 1}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--corpus", default=os.path.join(repo_root, "..", "shared", "corpus"))
    ap.add_argument("--withdrawn", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if args.withdrawn < 1 or args.jobs < 1:
        sys.exit("make_accuracy_mirror: --withdrawn >= 1 and --jobs >= 1 required")
    corpus = os.path.realpath(args.corpus)
    if not os.path.isdir(corpus):
        sys.exit(f"make_accuracy_mirror: corpus folder not found: {corpus} (pass --corpus)")
    names = mm.corpus_files(corpus)
    families = read_manifest(corpus)
    out = os.path.abspath(args.out_dir)
    params = {"generator_version": GENERATOR_VERSION, "withdrawn": args.withdrawn,
              "seed": args.seed, "corpus_files": len(names),
              "corpus_digest": mm.corpus_digest(corpus, names), "out_dir": out,
              "edits": [e[0] for e in EDITS], "distractor_edits": [e[0] for e in DISTRACTOR_EDITS]}
    manifest_path = os.path.join(out, "MANIFEST.json")
    if os.path.isfile(manifest_path):
        try:
            with open(manifest_path, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        if old.get("params") == params:
            print(f"exists: {old['count']} items ({old['positives']} positives) in {out}")
            return
        print("make_accuracy_mirror: MANIFEST.json has other parameters - regenerating")
    os.makedirs(out, exist_ok=True)
    for entry in OUR_ENTRIES:  # only what this script writes; OUT/work and the rest stay
        p = os.path.join(out, entry)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)

    start = time.monotonic()
    rng = random.Random(f"residue-accuracy-{args.seed}")
    withdrawn = choose_withdrawn(rng, names, families, args.withdrawn)
    os.makedirs(os.path.join(out, "withdrawn"))
    for name in withdrawn:
        shutil.copyfile(os.path.join(corpus, name), os.path.join(out, "withdrawn", name))
    tasks = plan(rng, names, withdrawn)
    assign_kinds(tasks, corpus)
    counts = {k: sum(1 for t in tasks if t[6] == k) for k in KINDS}

    root = os.path.join(out, "mirror")
    writer = MirrorWriter(root, counts, len(tasks))
    writer.n_rec = counts["recordio"]
    label_rng = random.Random(f"residue-accuracy-labels-{args.seed}")
    rows = []
    by_edit, by_group = {}, {}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs, initializer=init_worker, initargs=(corpus,)) as pool:
        for i, data, fmt, w, h in pool.imap(encode, [tuple(t) for t in tasks], chunksize=4):
            _, src, role, edit, group, _, kind = tasks[i]
            container, locator = writer.put(i, kind, fmt, data, label_rng)
            rows.append((locator, container, src, families.get(src, ""), edit, group,
                         "1" if role == "w" else "0", fmt, str(w), str(h), str(len(data))))
            by_edit[edit] = by_edit.get(edit, 0) + 1
            by_group[group] = by_group.get(group, 0) + 1
            if (i + 1) % 500 == 0:
                print(f"  {i + 1}/{len(tasks)} items, {time.monotonic() - start:.0f} s", flush=True)
    writer.w.close()
    with open(os.path.join(out, "truth.tsv"), "w", encoding="utf-8") as f:
        f.write("\t".join(TRUTH_COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    manifest = {
        "params": params,
        "corpus": corpus,
        "mirror_root": root,
        "count": len(rows),
        "positives": sum(1 for r in rows if r[6] == "1"),
        "withdrawn_files": withdrawn,
        "items": writer.w.items,  # per container kind, `residue catalog stats --json` keys
        "moved_from_recordio": writer.moved_from_rec,
        "by_group": by_group,
        "by_edit": by_edit,
        "shard_files": [os.path.relpath(p, root) for p in writer.w.shards],
        "seconds": round(time.monotonic() - start, 1),
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, manifest_path)
    print(f"made ({manifest['seconds']} s): {manifest['count']} items, {manifest['positives']} "
          f"positives from {len(withdrawn)} withdrawn images, in {out}")
    print("  " + ", ".join(f"{k} {v}" for k, v in writer.w.items.items()))


if __name__ == "__main__":
    main()
