// Folder walking and whole-file reads. Directory entries are sorted by the bytes of their names so
// every run (and every thread count) sees the same order. Symlinks are not followed unless asked;
// when they are, the (device, inode) of every directory on the current path is remembered, and a
// link back into it is reported as a loop instead of being entered.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "residue/source.hpp"

namespace residue {
namespace {

namespace fs = std::filesystem;

std::string join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

ItemError os_error(const std::string& what, int err) {
  return {ErrorCode::io_error, what + ": " + std::strerror(err)};
}

class Walker {
 public:
  Walker(const WalkOptions& options, const std::function<void(WalkEntry)>& emit)
      : options_(options), emit_(emit) {}

  void root(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      // A dangling symlink given as a root: say so rather than "no such file".
      struct stat lst {};
      if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
        emit_({path, ItemError{ErrorCode::io_error, "broken symbolic link"}});
      } else {
        emit_({path, os_error("cannot access", err)});
      }
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      directory(path, st);
    } else {
      file(path, st);
    }
  }

 private:
  void file(const std::string& path, const struct stat& st) {
    if (S_ISREG(st.st_mode)) {
      emit_({path, std::nullopt});
    } else {
      emit_({path, ItemError{ErrorCode::unsupported, "not a regular file"}});
    }
  }

  void directory(const std::string& path, const struct stat& st) {
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (!active_.insert(id).second) {
      emit_({path, ItemError{ErrorCode::io_error, "symbolic link loop: directory already being walked"}});
      return;
    }
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(path, ec);
    if (ec) {
      emit_({path, ItemError{ErrorCode::io_error, "cannot open directory: " + ec.message()}});
      active_.erase(id);
      return;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      names.push_back(it->path().filename().string());
    }
    if (ec) emit_({path, ItemError{ErrorCode::io_error, "error while listing directory: " + ec.message()}});
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      const std::string child = join(path, name);
      struct stat lst {};
      if (::lstat(child.c_str(), &lst) != 0) {
        emit_({child, os_error("cannot access", errno)});  // vanished while walking
        continue;
      }
      if (S_ISLNK(lst.st_mode)) {
        if (!options_.follow_symlinks) continue;
        struct stat target {};
        if (::stat(child.c_str(), &target) != 0) {
          emit_({child, ItemError{ErrorCode::io_error, "broken symbolic link"}});
          continue;
        }
        if (S_ISDIR(target.st_mode)) directory(child, target);
        else file(child, target);
      } else if (S_ISDIR(lst.st_mode)) {
        directory(child, lst);
      } else {
        file(child, lst);
      }
    }
    active_.erase(id);
  }

  const WalkOptions& options_;
  const std::function<void(WalkEntry)>& emit_;
  std::set<std::pair<dev_t, ino_t>> active_;
};

}  // namespace

void walk_roots(std::span<const std::string> roots, const WalkOptions& options,
                const std::function<void(WalkEntry)>& emit) {
  Walker walker(options, emit);
  for (const auto& r : roots) walker.root(r);
}

Outcome<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error("cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return os_error("cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return ItemError{ErrorCode::unsupported, "not a regular file"};
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return ItemError{ErrorCode::too_large, "file is " + std::to_string(size) + " bytes, above the " +
                                               std::to_string(max_bytes) + "-byte limit"};
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes.resize(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return ItemError{ErrorCode::out_of_memory, "cannot allocate " + std::to_string(size) + " bytes"};
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return os_error("read failed", err);
    }
    if (n == 0) break;  // shrank while reading
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != bytes.size()) {
    return ItemError{ErrorCode::io_error, "file changed size while being read (" + std::to_string(done) +
                                              " of " + std::to_string(bytes.size()) + " bytes)"};
  }
  if (bytes.empty()) return ItemError{ErrorCode::empty, "file is empty (0 bytes)"};
  return bytes;
}

}  // namespace residue
