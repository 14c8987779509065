// Private to source/: the lazy directory walker behind ItemStream, list_files and total_bytes.
//
// Memory is one sorted listing per directory on the current path (an explicit stack), never the
// whole tree: a directory is listed only when the walk enters it, and its entries are lstat'ed
// one at a time as next() reaches them. Paths are byte strings built from the roots as given.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "residue/source.hpp"

namespace residue::detail {

/// Walks the roots in the order given; within a directory, entries in byte order of names.
/// Symlinks inside directories are skipped unless options.follow_symlinks; a root that is a
/// symlink is always followed. Excludes apply to entries found by the walk (full path or base
/// name), never to the roots themselves; a matching directory is not entered. Single-threaded.
class Walker {
 public:
  Walker(std::vector<std::string> roots, WalkOptions options);

  /// The next regular file or error; nullopt when every root is done.
  [[nodiscard]] std::optional<WalkedFile> next();

 private:
  using DirId = std::pair<dev_t, ino_t>;
  struct Frame {
    std::string path;
    std::vector<std::string> names;  // sorted by bytes
    std::size_t next = 0;
    DirId id;
  };

  std::optional<WalkedFile> visit_root(const std::string& path);
  std::optional<WalkedFile> visit_child(const std::string& path);
  std::optional<WalkedFile> enter_directory(const std::string& path, DirId id);
  [[nodiscard]] bool excluded(const std::string& path, const std::string& name) const;

  std::vector<std::string> roots_;
  std::size_t next_root_ = 0;
  WalkOptions options_;
  std::vector<Frame> stack_;
  std::set<DirId> on_path_;  // directories on the current path: a link back into one is a loop
};

/// path + "/" + name, without doubling a trailing slash.
[[nodiscard]] std::string join_path(const std::string& dir, const std::string& name);

}  // namespace residue::detail
