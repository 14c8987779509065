#!/usr/bin/python3
"""Classify perf samples (perf record --call-graph dwarf; perf script > FILE) into pipeline stages.

Usage: /usr/bin/python3 profile_classify.py FILE.script
Each sample is attributed by walking its stack from the leaf up to the first frame that names a
stage (SHA-256, pHash, PDQ, decode, the benchmark's read_file); residue::detail::resample is
shared by PDQ and pHash, so its caller decides. Used for profile.md in this folder.
"""
import sys, re, collections

def frames_of(block):
    fr = []
    for line in block[1:]:
        line = line.strip()
        if not line:
            continue
        m = re.match(r'[0-9a-f]+\s+(.*)\s+\((.*)\)$', line)
        if m:
            fr.append((m.group(1), m.group(2)))
    return fr

def classify(fr):
    if not fr:
        return "other"
    leaf_sym, leaf_dso = fr[0]
    for sym, dso in fr:
        if 'sha256' in sym or 'EVP_' in sym or 'libcrypto' in dso:
            return "SHA-256"
        if any(k in sym for k in ('low_dct', 'bits_from_low', 'area_weights', 'residue::phash')):
            return "pHash (area downscale + 32x32 DCT)"
        if 'residue::detail::resample' in sym:
            continue
        if any(k in sym for k in ('pdq', 'bits_from_dct')):
            return "PDQ (separable downscale + DCT + quality)"
        if any(k in sym for k in ('decode_impl', 'decode_luma', 'imdecode', 'probe_image', 'sniff_format', 'jpeg_')) \
                or 'libjpeg' in dso or 'libopencv' in dso:
            # Who owns the time: the first frame (from the leaf) outside libc / the loader / libstdc++.
            owner_sym, owner_dso = next(((s_, d_) for s_, d_ in fr
                                         if not any(x in d_ for x in ('libc.so', 'ld-linux', 'libstdc++', 'kernel'))),
                                        (leaf_sym, leaf_dso))
            if 'libjpeg' in owner_dso or owner_sym.startswith('jpeg_'):
                return "decode: libjpeg-turbo"
            if 'decode_impl' in leaf_sym:
                return "decode: residue u8->float luma (oriented_luma)"
            if 'libopencv' in owner_dso:
                return "decode: OpenCV glue"
            return "decode: residue raster alloc / zero-fill / other"
        if 'read_file' in sym:
            return "I/O: open+read+close (kernel + libc)"
        if 'hash_bytes' in sym:
            return "hash_bytes other (record, strings)"
    if 'libjpeg' in leaf_dso:
        return "decode: libjpeg-turbo"
    if 'kernel' in leaf_dso:
        return "kernel other"
    return "other (startup, harness)"

def main(path):
    counts = collections.Counter()
    block = []
    total = 0
    with open(path, errors='replace') as f:
        for line in f:
            if line.strip() == '':
                if block:
                    c = classify(frames_of(block))
                    counts[c] += 1
                    total += 1
                block = []
            else:
                block.append(line)
    if block:
        counts[classify(frames_of(block))] += 1; total += 1
    for k, v in counts.most_common():
        print(f"{100.0*v/total:6.1f}%  {k}")
    print(f"  ({total} samples)")

main(sys.argv[1])
