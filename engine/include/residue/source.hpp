// residue/source.hpp: where images live. Turns the roots a user names into items and reads an
// item's bytes back. The only layer that touches the user's directory trees and (later) parses
// containers. Thread-safe: functions keep no state between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "residue/core.hpp"

namespace residue {

struct WalkOptions {
  bool follow_symlinks = false;  // when true, directory loops are detected and skipped
};

/// One entry found under a root: a regular file to process, or an error found while walking
/// (unreadable directory, symlink loop, root that does not exist), which becomes an error record.
struct WalkEntry {
  std::string path;  // built from the root as given: root "." gives "./a/b.jpg"
  std::optional<ItemError> error;
};

/// Expands each root: a file is itself; a directory is walked recursively, entries in byte order
/// of their names, so the output order is deterministic. Symlinks are not followed unless asked
/// (a symlink to a file given directly as a root is followed). `emit` is called on this thread.
void walk_roots(std::span<const std::string> roots, const WalkOptions& options,
                const std::function<void(WalkEntry)>& emit);

/// Reads a whole regular file. Errors: io_error (with the OS reason), empty (zero bytes), and
/// too_large when it exceeds max_bytes.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_file_bytes(
    const std::string& path, std::uint64_t max_bytes = std::uint64_t{1} << 32);

}  // namespace residue
