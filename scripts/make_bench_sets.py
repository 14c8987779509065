#!/usr/bin/python3
"""Generate residue's benchmark image sets from the developer photo corpus.

Writes three sets of baseline JPEGs (quality 90, 4:2:0) under OUT_DIR:
  250/   2000 images of 250x250   (the size of an aligned face crop)
  640/   1000 images of 640x480
  1920/   200 images of 1920x1080
Each image is a crop of a random corpus picture, at a random position and scale, resized to the
target size (upscaled when the source is smaller). The crop sequence is seeded per set, so a rerun
gives the same crops; with the same Pillow/libjpeg (Debian bookworm's python3-pil 9.4), the same
bytes. Every set also gets a MANIFEST.tsv naming the source and crop box of each file.

A set whose folder already holds the right number of JPEGs is skipped (idempotent). A set is
written to a temporary folder and renamed into place, so an interrupted run leaves no half set.

Needs Debian's python3-pil: run with /usr/bin/python3, not a pyenv python without Pillow.
"""

import argparse
import os
import random
import shutil
import sys
import time

try:
    from PIL import Image
except ImportError:  # pragma: no cover - environment problem, say how to fix it
    sys.exit("make_bench_sets: Pillow not found; run with /usr/bin/python3 "
             "(Debian package python3-pil)")

# name, width, height, count
SETS = [("250", 250, 250, 2000), ("640", 640, 480, 1000), ("1920", 1920, 1080, 200)]
QUALITY = 90
# Side of the crop, as a fraction of the largest crop of the target aspect ratio that fits.
MIN_CROP_FRACTION = 0.35
EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def corpus_files(corpus):
    """Image files of the corpus, sorted by name (MANIFEST.tsv order when present)."""
    manifest = os.path.join(corpus, "MANIFEST.tsv")
    names = []
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as f:
            next(f, None)  # header
            for line in f:
                name = line.split("\t", 1)[0].strip()
                if name and os.path.isfile(os.path.join(corpus, name)):
                    names.append(name)
    if not names:
        names = [n for n in os.listdir(corpus)
                 if n.lower().endswith(EXTENSIONS) and os.path.isfile(os.path.join(corpus, n))]
    return sorted(set(names))


def count_jpegs(folder):
    if not os.path.isdir(folder):
        return -1
    return sum(1 for n in os.listdir(folder) if n.endswith(".jpg"))


def plan_set(name, width, height, count, sources, sizes):
    """Deterministic crop plan: one (index, source, box) per output image."""
    rng = random.Random("residue-bench-" + name)  # str seeds are stable across runs/processes
    aspect = width / height
    plan = []
    for i in range(count):
        src = rng.choice(sources)
        sw, sh = sizes[src]
        # Largest crop of the target aspect ratio inside the source.
        if sw / sh >= aspect:
            max_h = sh
            max_w = sh * aspect
        else:
            max_w = sw
            max_h = sw / aspect
        frac = rng.uniform(MIN_CROP_FRACTION, 1.0)
        cw = max(1, min(sw, round(max_w * frac)))
        ch = max(1, min(sh, round(max_h * frac)))
        x = rng.randint(0, sw - cw)
        y = rng.randint(0, sh - ch)
        plan.append((i, src, (x, y, x + cw, y + ch)))
    return plan


def make_set(out_dir, corpus, name, width, height, count, sources, sizes):
    final = os.path.join(out_dir, name)
    have = count_jpegs(final)
    if have == count:
        total = sum(os.path.getsize(os.path.join(final, n))
                    for n in os.listdir(final) if n.endswith(".jpg"))
        print(f"{name}/: exists, {count} images {width}x{height}, "
              f"mean {total / count / 1024:.1f} KiB - skipped")
        return
    if have >= 0:
        print(f"{name}/: has {have} images, expected {count} - regenerating")
    start = time.monotonic()
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    plan = plan_set(name, width, height, count, sources, sizes)
    # Open each source once: group the plan by source.
    by_source = {}
    for item in plan:
        by_source.setdefault(item[1], []).append(item)
    rows = []
    total = 0
    for src in sorted(by_source):
        with Image.open(os.path.join(corpus, src)) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                # Flatten transparency on white, as a browser would show it.
                rgba = im.convert("RGBA")
                base = Image.new("RGB", rgba.size, (255, 255, 255))
                base.paste(rgba, mask=rgba.split()[3])
                rgb = base
            else:
                rgb = im.convert("RGB")
        for i, _, box in by_source[src]:
            crop = rgb.resize((width, height), Image.Resampling.LANCZOS, box=box)
            fname = f"{name}_{i:05d}.jpg"
            path = os.path.join(tmp, fname)
            crop.save(path, "JPEG", quality=QUALITY, subsampling=2, optimize=False,
                      progressive=False)
            size = os.path.getsize(path)
            total += size
            rows.append((fname, src, box, size))
    rows.sort()
    with open(os.path.join(tmp, "MANIFEST.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tsource\tcrop_x0\tcrop_y0\tcrop_x1\tcrop_y1\tbytes\n")
        for fname, src, box, size in rows:
            f.write(f"{fname}\t{src}\t{box[0]}\t{box[1]}\t{box[2]}\t{box[3]}\t{size}\n")
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    upscaled = sum(1 for _, _, b, _ in rows if (b[2] - b[0]) < width)
    print(f"{name}/: made {count} images {width}x{height} q{QUALITY} 4:2:0 from "
          f"{len(by_source)} sources, mean {total / count / 1024:.1f} KiB, "
          f"{upscaled} upscaled, {time.monotonic() - start:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("corpus_dir")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus_dir)
    if not os.path.isdir(corpus):
        sys.exit(f"make_bench_sets: corpus folder not found: {corpus}")
    names = corpus_files(corpus)
    if not names:
        sys.exit(f"make_bench_sets: no images in {corpus}")
    sizes = {}
    for n in names:
        with Image.open(os.path.join(corpus, n)) as im:
            sizes[n] = im.size
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"corpus: {corpus} ({len(names)} images)")
    print(f"output: {os.path.abspath(args.out_dir)}")
    for name, w, h, count in SETS:
        make_set(args.out_dir, corpus, name, w, h, count, names, sizes)


if __name__ == "__main__":
    main()
