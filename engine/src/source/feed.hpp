// Private to source/: where ItemStream's files come from, behind one "next file" interface: the
// lazy walk of some roots (each file a whole slice, each walk error an error slice), or an
// explicit list of slices (a distributed scan's share of a mirror). Single-threaded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "residue/source.hpp"

namespace residue::detail {

class FileFeed {
 public:
  virtual ~FileFeed() = default;
  /// The next file or slice, in order; nullopt at the end.
  [[nodiscard]] virtual std::optional<FileSlice> next() = 0;
};

/// The walk of `roots` (see Walker): whole slices and error slices. Memory: the walker's.
[[nodiscard]] std::unique_ptr<FileFeed> make_walk_feed(std::vector<std::string> roots,
                                                       WalkOptions options);

/// The slices as given. Memory: the list.
[[nodiscard]] std::unique_ptr<FileFeed> make_slice_feed(std::vector<FileSlice> slices);

/// unsupported: a byte range of a file of `kind` (only TSV and RecordIO files are split).
[[nodiscard]] ItemError range_unsupported(ContainerKind kind);

}  // namespace residue::detail
