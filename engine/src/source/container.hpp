// Private to source/: what every container reader (tar/zip, TSV, RecordIO) shares while it turns
// one container into items for ItemStream: the options, the counters, the container's FileInfo,
// and how member locators and error items are spelled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "residue/source.hpp"

namespace residue::detail {

/// The separator between a container path and a member name in locators.
inline constexpr std::string_view kMemberSeparator = "!/";

/// The part of a container a stream reads: the items whose first byte lies in [begin, end),
/// numbered from items_before (see FileSlice). The default is the whole file. Only the TSV and
/// RecordIO readers take ranges; tar and zip are always read whole.
struct ItemRange {
  std::uint64_t begin = 0;
  std::uint64_t end = UINT64_MAX;
  std::uint64_t items_before = 0;
};

/// One open container during a stream. The descriptor belongs to ItemStream; readers borrow it.
struct ContainerContext {
  const SourceOptions* options = nullptr;
  StreamCounts* counts = nullptr;
  FileInfo file;
  ContainerKind kind = ContainerKind::none;
  int fd = -1;
  ItemRange range{};

  [[nodiscard]] std::string locator(std::string_view member) const {
    std::string out = file.path;
    out += kMemberSeparator;
    out += member;
    return out;
  }
  /// An item (no error, no bytes yet) at `locator` inside this container.
  [[nodiscard]] SourceItem item(std::string locator) const {
    SourceItem it;
    it.locator = std::move(locator);
    it.container = file.path;
    it.container_kind = kind;
    it.file = file;
    return it;
  }
  [[nodiscard]] SourceItem error(std::string locator, ErrorCode code, std::string message) const {
    SourceItem it = item(std::move(locator));
    it.error = ItemError{code, std::move(message)};
    return it;
  }
  /// Asks options.member_done and counts a skip.
  [[nodiscard]] bool member_done(const std::string& locator) const {
    if (!options->member_done || !options->member_done(locator)) return false;
    ++counts->skipped_done;
    return true;
  }
};

/// Produces one container's items (and error items) in file order. After an error that makes
/// the rest unreadable (truncation, bad framing) it returns that error once, then nullopt.
class ContainerItems {
 public:
  virtual ~ContainerItems() = default;
  [[nodiscard]] virtual std::optional<SourceItem> next() = 0;
};

}  // namespace residue::detail
