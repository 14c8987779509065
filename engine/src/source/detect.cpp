// Container detection by magic bytes (also as the public detect_kind), and the names of
// container kinds.
#include "detect.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "archive.hpp"
#include "file_io.hpp"
#include "recordio.hpp"

namespace residue::detail {
namespace {

constexpr std::size_t kHeadRead = 4096;
constexpr std::size_t kTarMagicOffset = 257;

bool has(std::span<const std::uint8_t> b, std::size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() &&
         std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

bool compressed_stream(std::span<const std::uint8_t> b) {
  constexpr char kXz[] = {'\xfd', '7', 'z', 'X', 'Z', '\0'};
  return has(b, 0, "\x1f\x8b") ||                         // gzip
         has(b, 0, "BZh") ||                              // bzip2
         has(b, 0, std::string_view(kXz, sizeof kXz)) ||  // xz
         has(b, 0, "\x28\xb5\x2f\xfd");                   // zstd
}

}  // namespace

Outcome<Detection> detect_container(int fd) {
  Detection d;
  std::vector<std::uint8_t> buf(kHeadRead);
  auto got = pread_full(fd, buf, 0);
  if (!got) return got.error();
  buf.resize(got.value());
  d.head_size = std::min(buf.size(), d.head.size());
  std::copy_n(buf.begin(), d.head_size, d.head.begin());

  const std::span<const std::uint8_t> b(buf);
  const std::uint8_t recordio[4] = {0x0a, 0x23, 0xd7, 0xce};  // kRecordIoMagic, little-endian
  static_assert(kRecordIoMagic == 0xced7230a);
  if (has(b, 0, "PK\x03\x04") || has(b, 0, "PK\x05\x06")) {
    d.kind = ContainerKind::zip;
  } else if (b.size() >= 4 && std::memcmp(b.data(), recordio, 4) == 0) {
    d.kind = ContainerKind::recordio;
  } else if (has(b, kTarMagicOffset, "ustar")) {
    d.kind = ContainerKind::tar;
  } else if (compressed_stream(b)) {
    if (probe_compressed_tar(fd)) d.kind = ContainerKind::tar;
  } else if (!buf.empty() && std::find(buf.begin(), buf.end(), 0) == buf.end()) {
    // Text (no NUL in the first 4 KiB; images almost always have one): look for base64 images.
    bool at_eof = buf.size() < kHeadRead;
    if (!at_eof) {
      buf.resize(kTsvDetectWindow);
      auto more = pread_full(fd, buf, 0);
      if (!more) return more.error();
      buf.resize(more.value());
      at_eof = buf.size() < kTsvDetectWindow;
    }
    if (auto layout = detect_tsv_layout(buf, at_eof)) {
      d.kind = ContainerKind::tsv;
      d.tsv = *layout;
    }
  }
  return d;
}

}  // namespace residue::detail

namespace residue {

Outcome<ContainerKind> detect_kind(const std::string& path) {
  auto fd = detail::open_read(path);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return detail::os_error("cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return ItemError{ErrorCode::unsupported, "not a regular file"};
  auto detected = detail::detect_container(fd->get());
  if (!detected) return detected.error();
  return detected->kind;
}

std::string_view to_string(ContainerKind k) noexcept {
  switch (k) {
    case ContainerKind::none:
      return "file";
    case ContainerKind::tar:
      return "tar";
    case ContainerKind::zip:
      return "zip";
    case ContainerKind::tsv:
      return "tsv";
    case ContainerKind::recordio:
      return "recordio";
  }
  return "file";
}

}  // namespace residue
