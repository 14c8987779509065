// The lazy directory walker, list_files and total_bytes. Names come from readdir as raw bytes
// (never through std::filesystem::path conversions), so non-UTF-8 names survive unchanged into
// locators.
#include "walk.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "file_io.hpp"

namespace residue::detail {
namespace {

FileInfo file_info(const std::string& path, const struct stat& st) {
  return FileInfo{.path = path,
                  .size = static_cast<std::uint64_t>(st.st_size),
                  .mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                              static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
}

WalkedFile error_at(const std::string& path, ItemError error) {
  return WalkedFile{FileInfo{.path = path}, std::move(error)};
}

}  // namespace

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Walker::Walker(std::vector<std::string> roots, WalkOptions options)
    : roots_(std::move(roots)), options_(std::move(options)) {}

std::optional<WalkedFile> Walker::next() {
  for (;;) {
    if (stack_.empty()) {
      if (next_root_ == roots_.size()) return std::nullopt;
      if (auto e = visit_root(roots_[next_root_++])) return e;
      continue;
    }
    Frame& top = stack_.back();
    if (top.next == top.names.size()) {
      on_path_.erase(top.id);
      stack_.pop_back();
      continue;
    }
    // Copy out before visiting: entering a directory pushes a frame and invalidates `top`.
    const std::string& name = top.names[top.next++];
    std::string child = join_path(top.path, name);
    if (excluded(child, name)) continue;
    if (auto e = visit_child(child)) return e;
  }
}

bool Walker::excluded(const std::string& path, const std::string& name) const {
  // No FNM_PATHNAME: "*" may match "/", so "*/cache/*" and "*.json" both work on full paths.
  return std::any_of(options_.excludes.begin(), options_.excludes.end(), [&](const auto& glob) {
    return ::fnmatch(glob.c_str(), path.c_str(), 0) == 0 ||
           ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
  });
}

std::optional<WalkedFile> Walker::visit_root(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    // A dangling symlink given as a root: say so rather than "no such file".
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      return error_at(path, ItemError{ErrorCode::io_error, "broken symbolic link"});
    }
    return error_at(path, os_error("cannot access", err));
  }
  if (S_ISDIR(st.st_mode)) return enter_directory(path, {st.st_dev, st.st_ino});
  if (S_ISREG(st.st_mode)) return WalkedFile{file_info(path, st), std::nullopt};
  return error_at(path, ItemError{ErrorCode::unsupported, "not a regular file or directory"});
}

std::optional<WalkedFile> Walker::visit_child(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    // Listed a moment ago: it vanished (or its directory lost search permission) since.
    return error_at(path, os_error("cannot access", errno));
  }
  if (S_ISLNK(st.st_mode)) {
    if (!options_.follow_symlinks) return std::nullopt;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ELOOP)
        return error_at(path, ItemError{ErrorCode::io_error, "symbolic link loop"});
      return error_at(path, ItemError{ErrorCode::io_error, "broken symbolic link"});
    }
  }
  if (S_ISDIR(st.st_mode)) return enter_directory(path, {st.st_dev, st.st_ino});
  if (S_ISREG(st.st_mode)) return WalkedFile{file_info(path, st), std::nullopt};
  return std::nullopt;  // sockets, fifos, devices found inside a tree are not images
}

std::optional<WalkedFile> Walker::enter_directory(const std::string& path, DirId id) {
  if (on_path_.contains(id)) {
    return error_at(path, ItemError{ErrorCode::io_error,
                                    "symbolic link loop: leads back to a directory being walked"});
  }
  const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return error_at(path, os_error("cannot open directory", errno));
  Frame frame{.path = path, .names = {}, .next = 0, .id = id};
  std::optional<WalkedFile> error;
  for (;;) {
    errno = 0;
    const dirent* ent = ::readdir(dir.get());
    if (ent == nullptr) {
      // Keep what was listed: a partial directory is better than none, and the error says so.
      if (errno != 0) error = error_at(path, os_error("error while listing directory", errno));
      break;
    }
    const std::string_view name(ent->d_name);
    if (name == "." || name == "..") continue;
    frame.names.emplace_back(name);
  }
  // std::string compares through char_traits<char>, which orders as unsigned bytes (memcmp).
  std::sort(frame.names.begin(), frame.names.end());
  on_path_.insert(id);
  stack_.push_back(std::move(frame));
  return error;
}

}  // namespace residue::detail

namespace residue {

std::uint64_t total_bytes(std::span<const std::string> roots, const WalkOptions& options) {
  detail::Walker walker(std::vector<std::string>(roots.begin(), roots.end()), options);
  std::uint64_t total = 0;
  while (auto e = walker.next()) {
    if (!e->error) total += e->file.size;
  }
  return total;
}

std::vector<WalkedFile> list_files(std::span<const std::string> roots, const WalkOptions& options) {
  detail::Walker walker(std::vector<std::string>(roots.begin(), roots.end()), options);
  std::vector<WalkedFile> files;
  while (auto e = walker.next()) files.push_back(std::move(*e));
  return files;
}

}  // namespace residue
