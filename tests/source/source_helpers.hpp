// Helpers for the source layer's tests: build containers at test time (tar/zip through
// libarchive's writer, TSV and RecordIO by hand), fake image bytes, and stream collectors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "residue/source.hpp"

namespace residue::test {

using Bytes = std::vector<std::uint8_t>;

/// `size` bytes that start like a JPEG (FF D8 FF E0), the rest pseudo-random from `seed`.
Bytes fake_jpeg(std::size_t size, std::uint32_t seed);
/// Bytes of a string.
Bytes bytes_of(std::string_view s);
/// Writes text to a file (creating parent directories).
void write_text(const std::filesystem::path& p, std::string_view text);

struct Member {
  std::string name;  // raw bytes
  Bytes bytes;
};
/// Writes an archive with libarchive. format: "gnutar", "pax", "ustar" or "zip"; filter: "",
/// "gzip", "zstd", "bzip2", "xz". utf8_locale: write under C.UTF-8 (zip then sets the UTF-8 flag).
void write_archive(const std::filesystem::path& p, const std::vector<Member>& members,
                   const std::string& format = "gnutar", const std::string& filter = "",
                   bool utf8_locale = false);

/// Standard base64 with padding.
std::string base64(const Bytes& b);

/// RecordIO data for one record: IRHeader{flag = labels.size(), label, id, 0}, labels, image.
Bytes recordio_data(float label, std::uint64_t id, const std::vector<float>& labels,
                    const Bytes& image);
/// Appends a record to a .rec image the way dmlc-core's writer does: split into parts where the
/// data holds the magic at a 4-byte-aligned offset, each part framed, the last part padded.
/// Returns the record's start offset.
std::uint64_t append_record(Bytes& rec, const Bytes& data);

/// Everything a stream produced.
struct Collected {
  std::vector<SourceItem> items;  // including markers and error items
  StreamCounts counts;
  /// One line per item: "begin PATH", "end PATH", "item LOCATOR", "error LOCATOR code: message".
  [[nodiscard]] std::vector<std::string> summary() const;
  /// The non-marker items without errors.
  [[nodiscard]] std::vector<const SourceItem*> good() const;
  /// Error items.
  [[nodiscard]] std::vector<const SourceItem*> errors() const;
};
Collected collect(std::vector<std::string> roots, SourceOptions options = {});

/// is_item that accepts JPEG and PNG magic bytes only (what the scan layer will pass).
bool sniff_image(std::string_view name, std::span<const std::uint8_t> head);

}  // namespace residue::test
