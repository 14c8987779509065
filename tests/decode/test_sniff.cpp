// sniff_format: magic bytes only.
#include <doctest/doctest.h>

#include <string_view>
#include <vector>

#include "residue/decode.hpp"

namespace {

using residue::ImageFormat;
using residue::sniff_format;

ImageFormat sniff(std::string_view s) {
  const std::vector<std::uint8_t> b(s.begin(), s.end());
  return sniff_format(b);
}

}  // namespace

TEST_CASE("sniff_format recognises each format by its magic bytes") {
  using namespace std::string_view_literals;
  CHECK(sniff("\xFF\xD8\xFF\xE0"sv) == ImageFormat::jpeg);
  CHECK(sniff("\xFF\xD8\xFF"sv) == ImageFormat::jpeg);
  CHECK(sniff("\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR"sv) == ImageFormat::png);
  CHECK(sniff("GIF87a"sv) == ImageFormat::gif);
  CHECK(sniff("GIF89a\x01\0"sv) == ImageFormat::gif);
  CHECK(sniff("BM"sv) == ImageFormat::bmp);
  CHECK(sniff("II*\0\x08\0\0\0"sv) == ImageFormat::tiff);
  CHECK(sniff("MM\0*\0\0\0\x08"sv) == ImageFormat::tiff);
  CHECK(sniff("RIFF\x24\0\0\0WEBPVP8 "sv) == ImageFormat::webp);
  for (char k = '1'; k <= '6'; ++k) {
    CHECK(sniff(std::string{'P', k, '\n'}) == ImageFormat::pnm);
    CHECK(sniff(std::string{'P', k, ' '}) == ImageFormat::pnm);
    CHECK(sniff(std::string{'P', k, '\t'}) == ImageFormat::pnm);
  }
}

TEST_CASE("sniff_format gives unknown for near misses, short data and text") {
  using namespace std::string_view_literals;
  CHECK(sniff(""sv) == ImageFormat::unknown);
  CHECK(sniff("\xFF\xD8"sv) == ImageFormat::unknown);
  CHECK(sniff("\xFF\xD8\x00"sv) == ImageFormat::unknown);
  CHECK(sniff("\x89PNG\r\n\x1A"sv) == ImageFormat::unknown);  // 7 of 8 signature bytes
  CHECK(sniff("\x89PNG\r\n\n\n"sv) == ImageFormat::unknown);  // line-ending damage
  CHECK(sniff("GIF88a"sv) == ImageFormat::unknown);
  CHECK(sniff("GIF8"sv) == ImageFormat::unknown);
  CHECK(sniff("B"sv) == ImageFormat::unknown);
  CHECK(sniff("II+\0"sv) == ImageFormat::unknown);  // BigTIFF is not supported
  CHECK(sniff("II*\1"sv) == ImageFormat::unknown);
  CHECK(sniff("RIFF\x24\0\0\0WAVE"sv) == ImageFormat::unknown);
  CHECK(sniff("RIFF\x24\0\0\0WEB"sv) == ImageFormat::unknown);  // 11 bytes
  CHECK(sniff("P7\n"sv) == ImageFormat::unknown);               // PAM
  CHECK(sniff("P0\n"sv) == ImageFormat::unknown);
  CHECK(sniff("P5x"sv) == ImageFormat::unknown);
  CHECK(sniff("P5"sv) == ImageFormat::unknown);
  CHECK(sniff("hello"sv) == ImageFormat::unknown);
  CHECK(sniff("<html><body>not an image</body></html>"sv) == ImageFormat::unknown);
}

TEST_CASE("sniff_format looks only at the first 12 bytes") {
  using namespace std::string_view_literals;
  CHECK(sniff("\xFF\xD8\xFF garbage that follows does not matter \x89PNG"sv) == ImageFormat::jpeg);
  CHECK(sniff("xx\xFF\xD8\xFF"sv) == ImageFormat::unknown);  // magic must be at offset 0
}
