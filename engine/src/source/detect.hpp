// Private to source/: what kind of container a file is, from its content only (names lie:
// mirrors rename shards, and a ".tar" may be gzip-compressed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "residue/source.hpp"
#include "tsv.hpp"

namespace residue::detail {

struct Detection {
  ContainerKind kind = ContainerKind::none;
  TsvLayout tsv{};                      // meaningful when kind == tsv
  std::array<std::uint8_t, 16> head{};  // the file's first bytes, for SourceOptions::is_item
  std::size_t head_size = 0;
};

/// Reads the head of an open file and classifies it:
///   zip       "PK\3\4" (a member) or "PK\5\6" (an empty zip)
///   recordio  first u32 (little-endian) is 0xced7230a
///   tar       "ustar" at offset 257, or a gzip/bzip2/xz/zstd stream libarchive reads as tar
///   tsv       text whose first line has a base64 image field (see detect_tsv_layout)
///   none      anything else: a plain file
/// Cost: one 4 KiB read; 64 KiB more only for text files; a compressed stream is probed by
/// decompressing up to its first tar header. Errors: io_error from the reads.
[[nodiscard]] Outcome<Detection> detect_container(int fd);

}  // namespace residue::detail
