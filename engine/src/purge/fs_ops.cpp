// Durable filesystem primitives for purge (see fs_ops.hpp).
#include "fs_ops.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "residue/hash.hpp"

namespace residue::detail {
namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw FsError{what + ": " + std::strerror(err), err};
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

void crash_point() {
  static const long target = [] {
    const char* v = std::getenv("RESIDUE_TEST_CRASH_AT");
    return v ? std::atol(v) : 0L;
  }();
  static long steps = 0;
  if (target > 0 && ++steps == target) ::kill(::getpid(), SIGKILL);
}

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_regular_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<Sha256> sha256_of_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) return sha256(std::span<const std::uint8_t>{});
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) return std::nullopt;
  const Sha256 h = sha256({static_cast<const std::uint8_t*>(map), size});
  ::munmap(map, size);
  return h;
}

std::string sha256_hex_of_file(const std::string& path) {
  const auto h = sha256_of_file(path);
  return h ? to_hex(*h) : std::string();
}

void fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail("open directory " + dir, errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) fail("fsync " + dir, errno);
}

std::string parent_of(const std::string& path) {
  const auto p = std::filesystem::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

void make_dirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail("mkdir " + dir, ENOTDIR);
    return;
  }
  make_dirs(parent_of(dir));
  crash_point();
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) fail("mkdir " + dir, errno);
  fsync_dir(parent_of(dir));
}

void copy_file_durable(const std::string& src, const std::string& dst) {
  Fd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) fail("open " + src, errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) fail("stat " + src, errno);
  crash_point();
  Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
  if (out.get() < 0) fail("create " + dst, errno);
  const auto cleanup_fail = [&](const std::string& what, int err) {
    ::unlink(dst.c_str());
    fail(what, err);
  };
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      cleanup_fail("read " + src, errno);
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = ::write(out.get(), buf.data() + off, static_cast<std::size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        cleanup_fail("write " + dst, errno);
      }
      off += w;
    }
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(out.get(), times);
  if (::fsync(out.get()) != 0) cleanup_fail("fsync " + dst, errno);
  if (::close(out.release()) != 0) cleanup_fail("close " + dst, errno);
  fsync_dir(parent_of(dst));
}

void rename_noreplace(const std::string& from, const std::string& to) {
  crash_point();
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    // Filesystems without RENAME_NOREPLACE: link + unlink gives the same no-replace guarantee.
    if (errno != EINVAL) fail("rename " + from + " -> " + to, errno);
    if (::link(from.c_str(), to.c_str()) != 0) fail("link " + from + " -> " + to, errno);
    if (::unlink(from.c_str()) != 0) fail("unlink " + from, errno);
  }
  fsync_dir(parent_of(to));
  if (parent_of(to) != parent_of(from)) fsync_dir(parent_of(from));
}

void rename_replace(const std::string& from, const std::string& to) {
  crash_point();
  if (::rename(from.c_str(), to.c_str()) != 0) fail("rename " + from + " -> " + to, errno);
  fsync_dir(parent_of(to));
}

void unlink_durable(const std::string& path) {
  if (!exists_nofollow(path)) return;
  crash_point();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink " + path, errno);
  fsync_dir(parent_of(path));
}

void write_file_durable(const std::string& path, std::string_view bytes) {
  crash_point();
  Fd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) fail("create " + path, errno);
  for (std::size_t off = 0; off < bytes.size();) {
    const ssize_t w = ::write(out.get(), bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::unlink(path.c_str());
      fail("write " + path, e);
    }
    off += static_cast<std::size_t>(w);
  }
  if (::fsync(out.get()) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    fail("fsync " + path, e);
  }
  fsync_dir(parent_of(path));
}

bool inside(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root == "/") return !path.empty() && path[0] == '/';
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

bool symlink_below(const std::string& root, const std::string& path) {
  if (!inside(path, root)) return true;
  std::string cur = root;
  const std::string rest = path.substr(root.size());
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == '/') ++i;
    const std::size_t j = rest.find('/', i);
    const std::string part = rest.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (part.empty()) break;
    cur += (cur.back() == '/' ? "" : "/") + part;
    struct stat st {};
    if (::lstat(cur.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return true;
    if (j == std::string::npos) break;
    i = j;
  }
  return false;
}

std::string absolute_normal(const std::string& path) {
  std::string s = std::filesystem::absolute(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace residue::detail
