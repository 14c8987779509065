// read_item: a locator back to its bytes. The container path is the longest-standing ambiguity
// in locators ("a!/b" may be a plain path), so the split is decided by the file system: the
// first "!/" whose prefix is an existing regular file holding a container.
#include <sys/stat.h>

#include <charconv>
#include <string>

#include "archive.hpp"
#include "container.hpp"
#include "detect.hpp"
#include "file_io.hpp"
#include "recordio.hpp"
#include "residue/source.hpp"
#include "tsv.hpp"

namespace residue {
namespace {

/// Parses "<prefix><decimal>" strictly (no sign, no spaces, no leading '+'), else nullopt.
std::optional<std::uint64_t> number_after(std::string_view suffix, std::string_view prefix) {
  if (!suffix.starts_with(prefix)) return std::nullopt;
  const std::string_view digits = suffix.substr(prefix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::uint64_t n = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
  return n;
}

ItemError malformed(std::string_view suffix, ContainerKind kind, std::string_view expected) {
  return {ErrorCode::unsupported, "malformed locator suffix '" + std::string(suffix) + "' for a " +
                                      std::string(to_string(kind)) + " file (expected " +
                                      std::string(expected) + ")"};
}

std::string idx_path_for(const std::string& rec_path) {
  // MXNet's convention: train.rec beside train.idx.
  if (rec_path.ends_with(".rec")) return rec_path.substr(0, rec_path.size() - 4) + ".idx";
  return rec_path + ".idx";
}

Outcome<std::vector<std::uint8_t>> read_member(const detail::UniqueFd& fd,
                                               const detail::Detection& d,
                                               const std::string& container,
                                               std::string_view suffix,
                                               const SourceOptions& options) {
  switch (d.kind) {
    case ContainerKind::tar:
    case ContainerKind::zip:
      return detail::read_archive_member(fd.get(), d.kind, container, std::string(suffix),
                                         options.max_item_bytes);
    case ContainerKind::tsv: {
      const auto line = number_after(suffix, "line/");
      if (!line || *line == 0) return malformed(suffix, d.kind, "line/N, N >= 1");
      detail::TsvLayout layout = d.tsv;
      if (options.tsv_column) layout.column = *options.tsv_column;
      return detail::read_tsv_line(fd.get(), layout, *line, options.max_item_bytes);
    }
    case ContainerKind::recordio: {
      const auto record = number_after(suffix, "record/");
      if (!record) return malformed(suffix, d.kind, "record/N, N >= 0");
      return detail::read_recordio_record(fd.get(), idx_path_for(container), *record,
                                          options.max_item_bytes);
    }
    case ContainerKind::none:
      break;
  }
  return ItemError{ErrorCode::internal, "not a container"};
}

}  // namespace

Outcome<std::vector<std::uint8_t>> read_item(std::string_view locator,
                                             const SourceOptions& options) {
  std::optional<std::string> plain_prefix;  // a regular file that is not a container
  const auto sep = detail::kMemberSeparator;
  for (auto pos = locator.find(sep); pos != std::string_view::npos;
       pos = locator.find(sep, pos + 1)) {
    const std::string container(locator.substr(0, pos));
    struct stat st {};
    if (::stat(container.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    auto fd = detail::open_read(container);
    if (!fd) return fd.error();
    auto detected = detail::detect_container(fd->get());
    if (!detected) return detected.error();
    if (detected->kind == ContainerKind::none) {
      if (!plain_prefix) plain_prefix = container;
      continue;
    }
    return read_member(fd.value(), detected.value(), container, locator.substr(pos + sep.size()),
                       options);
  }
  const std::string path(locator);
  auto bytes = detail::read_whole_file(path, options.max_item_bytes, std::nullopt);
  if (!bytes && plain_prefix) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return ItemError{ErrorCode::io_error,
                       *plain_prefix + " is not a container (tar, zip, tsv or recordio)"};
    }
  }
  return bytes;
}

Outcome<std::vector<std::uint8_t>> read_item(std::string_view locator) {
  return read_item(locator, SourceOptions{});
}

}  // namespace residue
