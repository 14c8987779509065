// The filesystem primitives purge is built from: durable (fsync'd) copies and renames that never
// replace an existing file, SHA-256 of a file without reading it into the heap, the symbolic-link
// check, and the crash-injection hook. Every function that changes the filesystem calls
// crash_point() first, so a test can stop the process before any single change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "residue/core.hpp"

namespace residue::detail {

/// Test hook: counts step boundaries; SIGKILLs the process at the N-th when the environment has
/// RESIDUE_TEST_CRASH_AT=N (read once). No-op otherwise.
void crash_point();

/// Thrown by the helpers below on an OS error; caught per action (the action is rolled back or
/// left to resume), never escapes the purge layer.
struct FsError {
  std::string message;  // "rename a -> b: Permission denied"
  int err = 0;          // errno
};

/// Whether something (any type, symlinks not followed) exists at `path`.
[[nodiscard]] bool exists_nofollow(const std::string& path);
/// Whether `path` is a regular file (not followed).
[[nodiscard]] bool is_regular_nofollow(const std::string& path);
/// SHA-256 of a regular file (mmap'd, so a multi-GB container is not copied into the heap);
/// nullopt when it cannot be opened (absent, permission) or is not a regular file. Opened with
/// O_NOFOLLOW.
[[nodiscard]] std::optional<Sha256> sha256_of_file(const std::string& path);
/// Hex SHA-256 of a file, or "" (see sha256_of_file).
[[nodiscard]] std::string sha256_hex_of_file(const std::string& path);

/// fsync of a directory (durability of the names created, renamed or removed in it).
void fsync_dir(const std::string& dir);
/// The directory part of a path ("." for a bare name).
[[nodiscard]] std::string parent_of(const std::string& path);
/// mkdir -p, fsyncing each parent of a directory it creates.
void make_dirs(const std::string& dir);
/// Copies a regular file to `dst` (must not exist: O_EXCL), with its permission bits and
/// modification time, fsyncs it and its directory. On failure removes `dst` and throws.
void copy_file_durable(const std::string& src, const std::string& dst);
/// rename(2) that fails with EEXIST instead of replacing `to`; fsyncs both directories.
/// Throws FsError (err = EXDEV across filesystems).
void rename_noreplace(const std::string& from, const std::string& to);
/// rename(2) over an existing file (atomic replacement); fsyncs the directory.
void rename_replace(const std::string& from, const std::string& to);
/// unlink(2) and fsync of the directory. Absent already is not an error.
void unlink_durable(const std::string& path);
/// Writes `bytes` to a new file (O_EXCL) and fsyncs it and its directory.
void write_file_durable(const std::string& path, std::string_view bytes);

/// Whether any component of `path` strictly below `root` (both absolute, lexically normal) is a
/// symbolic link, the last component included.
[[nodiscard]] bool symlink_below(const std::string& root, const std::string& path);
/// Whether `path` is `root` or inside it (lexically; both absolute and normal).
[[nodiscard]] bool inside(const std::string& path, const std::string& root);
/// Absolute, lexically normal form of a path (relative to the current directory).
[[nodiscard]] std::string absolute_normal(const std::string& path);

}  // namespace residue::detail
