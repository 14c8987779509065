// Writes the decode fuzzer's seed corpus: one tiny valid file per format and variant (each well
// under 2 KB) into the directory given as argv[1]. Run through tests/fuzz/make_seeds.sh.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "builders.hpp"
#include "samples.hpp"

namespace {

using namespace residue::test;

void write(const std::filesystem::path& dir, const std::string& name, const Bytes& b) {
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// Wraps a VP8L bitstream chunk in a VP8X container with an EXIF chunk (orientation 6).
Bytes webp_extended(const Bytes& simple, int w, int h) {
  Bytes chunks{'V', 'P', '8', 'X', 10, 0, 0, 0, 0x08, 0, 0, 0};
  for (int v : {w - 1, h - 1}) append(chunks, {static_cast<std::uint8_t>(v), 0, 0});
  chunks.insert(chunks.end(), simple.begin() + 12, simple.end());  // the VP8L chunk
  const Bytes exif = exif_tiff(6);
  put_str(chunks, "EXIF");
  put_le32(chunks, static_cast<std::uint32_t>(exif.size()));
  append(chunks, exif);
  Bytes out{'R', 'I', 'F', 'F'};
  put_le32(out, static_cast<std::uint32_t>(chunks.size() + 4));
  put_str(out, "WEBP");
  append(out, chunks);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUTPUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const cv::Mat colour = smooth_bgr(16, 12), grey = gradient_grey(12, 10);
  write(dir, "baseline.jpg", encode(".jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 70}));
  write(dir, "progressive.jpg",
        encode(".jpg", colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 70}));
  write(dir, "grey.jpg", encode(".jpg", grey, {cv::IMWRITE_JPEG_QUALITY, 70}));
  write(dir, "orientation6.jpg",
        jpeg_with_orientation(encode(".jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 50}), 6, true));
  write(dir, "rgb.png", encode(".png", colour));
  write(dir, "grey16.png", encode(".png", cv::Mat(6, 5, CV_16UC1, cv::Scalar(4660))));
  write(dir, "palette_trns.png",
        make_png(4, 2, 8, 3, {0, 1, 2, 1, 2, 0, 1, 1}, 4,
                 {.plte = {200, 10, 20, 30, 220, 40, 5, 6, 250}, .trns = {0, 128}}));
  write(dir, "grey_alpha_exif.png",
        make_png(3, 2, 8, 4, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 6,
                 {.before_idat = {png_chunk("eXIf", exif_tiff(8))}}));
  write(dir, "grey4.png", make_png(4, 3, 4, 0, {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC}, 2));
  const Bytes pal{0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255};
  Bytes idx;
  for (int i = 0; i < 8 * 6; ++i) idx.push_back(static_cast<std::uint8_t>((i * 5 / 3) % 4));
  write(dir, "simple.gif", make_gif(8, 6, pal, {{0, 0, 8, 6, idx}}));
  write(dir, "interlaced_two_frames.gif",
        make_gif(10, 9, pal, {{1, 2, 8, 6, idx, true}, {0, 0, 2, 2, {1, 2, 3, 0}}}, 2, true));
  write(dir, "rgb.bmp", encode(".bmp", smooth_bgr(8, 6)));
  write(dir, "grey.bmp", encode(".bmp", gradient_grey(8, 6)));
  write(dir, "rgb_le.tif", make_tiff(6, 4, 3, Bytes(72, 90), 3));
  write(dir, "grey_be_orientation5.tif", make_tiff(5, 4, 1, Bytes(20, 40), 5, true));
  write(dir, "opencv.tif", encode(".tiff", smooth_bgr(8, 6)));
  write(dir, "lossy.webp", encode(".webp", colour, {cv::IMWRITE_WEBP_QUALITY, 60}));
  const Bytes lossless = encode(".webp", smooth_bgr(8, 6), {cv::IMWRITE_WEBP_QUALITY, 101});
  write(dir, "lossless.webp", lossless);
  write(dir, "extended_exif.webp", webp_extended(lossless, 8, 6));
  write(dir, "rgb.ppm", encode(".ppm", smooth_bgr(6, 5)));
  write(dir, "grey16.pgm", encode(".pgm", cv::Mat(4, 3, CV_16UC1, cv::Scalar(1000))));
  const std::string ascii[] = {"P1\n# bitmap\n4 2\n0101\n1 0 1 0\n", "P2 3 2 15\n0 5 10\n15 7 3\n",
                               "P3\n2 1\n255\n255 0 0 0 0 255\n"};
  const char* ascii_names[] = {"ascii.pbm", "ascii.pgm", "ascii.ppm"};
  for (int i = 0; i < 3; ++i) write(dir, ascii_names[i], Bytes(ascii[i].begin(), ascii[i].end()));
  return 0;
}
