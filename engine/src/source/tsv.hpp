// Private to source/: TSV files whose lines carry base64 images (MS-Celeb-1M's
// FaceImageCroppedWithOffset.tsv and the like). Read line by line; a line is held in memory only
// up to a bound derived from max_item_bytes, longer lines are skipped unread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "container.hpp"

namespace residue::detail {

/// Bytes of the file head that TSV detection looks at.
inline constexpr std::size_t kTsvDetectWindow = std::size_t{1} << 16;

/// Where the images are in a TSV file.
struct TsvLayout {
  int column = 0;                // 0-based tab-separated column holding the base64 image
  std::uint64_t first_line = 1;  // 1-based; earlier lines are a header row, not items
};

/// Detects a TSV of base64 images from the first bytes of a file (`at_eof`: the window is the
/// whole file). Line 1 must be text with tab-separated fields; the image column is the first
/// field of at least 64 base64 characters that decodes to an image signature (JPEG, PNG, GIF,
/// BMP, WebP), found in line 1, or in line 2 when line 1 is a short header row.
[[nodiscard]] std::optional<TsvLayout> detect_tsv_layout(std::span<const std::uint8_t> window,
                                                         bool at_eof);

/// The longest line held in memory for a given item limit: base64 of max_bytes plus 1 MiB for
/// the other columns.
[[nodiscard]] std::uint64_t tsv_max_line(std::uint64_t max_item_bytes) noexcept;

/// ItemStream's producer for one TSV container: the lines starting in context.range (the whole
/// file by default), numbered from range.items_before + 1. I/O errors end it with one error
/// item at the file's path.
[[nodiscard]] std::unique_ptr<ContainerItems> make_tsv_items(ContainerContext context,
                                                             TsvLayout layout);

/// Lines starting in [begin, end) (see FileSlice): reads [begin - 1, end) only. Errors: io_error.
[[nodiscard]] Outcome<std::uint64_t> count_tsv_lines(int fd, std::uint64_t begin,
                                                     std::uint64_t end);

/// read_item for "line/N" (1-based): the decoded image of that line.
/// Errors: io_error (no such line, read failure), corrupt (too few columns, bad base64), empty,
/// too_large.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_tsv_line(int fd, TsvLayout layout,
                                                               std::uint64_t line,
                                                               std::uint64_t max_bytes);

}  // namespace residue::detail
