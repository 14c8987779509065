// TSV rewrites: the file is a sequence of lines ('\n'-terminated, the last one possibly not);
// a removed line goes with its terminator, every other byte is copied. Lines are streamed in
// 64 KiB chunks, never held whole (a line carries a base64 image of any size).
#include <algorithm>
#include <cstring>
#include <functional>

#include "rewrite.hpp"

namespace residue::detail {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 16;

/// Streams `fd` line by line: `keep(n)` decides for line n (1-based, called at its first byte)
/// and the kept lines' bytes go to `sink`. Returns the number of lines.
Outcome<std::uint64_t> filter_lines(int fd, ByteSink& sink,
                                    const std::function<Outcome<bool>(std::uint64_t)>& keep) {
  FdReader reader(fd);
  std::vector<std::uint8_t> buf(kChunk);
  std::uint64_t line = 0;
  bool in_line = false, keeping = false;
  for (;;) {
    auto got = reader.read(buf);
    if (!got) return got.error();
    const std::size_t n = got.value();
    std::size_t pos = 0;
    while (pos < n) {
      if (!in_line) {
        auto k = keep(++line);
        if (!k) return k.error();
        keeping = k.value();
        in_line = true;
      }
      const auto* nl =
          static_cast<const std::uint8_t*>(std::memchr(buf.data() + pos, '\n', n - pos));
      const std::size_t end = nl != nullptr ? static_cast<std::size_t>(nl - buf.data()) + 1 : n;
      if (keeping) {
        if (auto err = sink.write(std::span(buf).subspan(pos, end - pos))) return *err;
      }
      if (nl != nullptr) in_line = false;
      pos = end;
    }
    if (n < buf.size()) return line;
  }
}

}  // namespace

std::optional<ItemError> write_tsv(RewriteJob& job, OutputFile& out) {
  auto sink = open_sink(out, 0);
  if (!sink) return sink.error();
  auto lines = filter_lines(job.in_fd, *sink.value(), [&](std::uint64_t n) -> Outcome<bool> {
    if (!job.take(job.locator("line/" + std::to_string(n)))) return true;
    if (n < job.tsv.first_line) {
      return ItemError{ErrorCode::unsupported,
                       "line " + std::to_string(n) + " is the header row, not an image line"};
    }
    job.removed_positions.push_back(n);
    return false;
  });
  if (!lines) return lines.error();
  job.report.members_before = lines.value();
  job.report.removed = job.removed_positions.size();
  job.report.kept = lines.value() - job.report.removed;
  return sink.value()->close();
}

std::optional<ItemError> verify_tsv(const RewriteJob& job, int out_fd) {
  // Replay the original's kept lines against the output...
  CompareSink compare(out_fd);
  auto lines = filter_lines(job.in_fd, compare, [&](std::uint64_t n) -> Outcome<bool> {
    return !std::binary_search(job.removed_positions.begin(), job.removed_positions.end(), n);
  });
  if (!lines) return lines.error();
  auto end = compare.at_end();
  if (!end) return end.error();
  if (!end.value()) return mismatch("output is longer than the original's kept lines");
  // ...and count the output's own lines.
  struct Null final : ByteSink {
    std::optional<ItemError> write(std::span<const std::uint8_t>) override { return std::nullopt; }
    std::optional<ItemError> close() override { return std::nullopt; }
  } null;
  auto out_lines = filter_lines(out_fd, null, [](std::uint64_t) -> Outcome<bool> { return true; });
  if (!out_lines) return out_lines.error();
  if (out_lines.value() != job.report.kept) {
    return mismatch("output has " + std::to_string(out_lines.value()) + " lines, expected " +
                    std::to_string(job.report.kept));
  }
  return std::nullopt;
}

}  // namespace residue::detail
