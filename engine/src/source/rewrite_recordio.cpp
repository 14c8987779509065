// RecordIO rewrites: a record is all its parts (u32 magic, u32 lrecord, data, zero padding to 4
// bytes) and is copied or dropped whole. The .idx ("key<TAB>offset" per record, in file order,
// as MXIndexedRecordIO writes it) is regenerated: each kept record keeps its key, with the
// offset it now has.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "recordio.hpp"
#include "rewrite.hpp"

namespace residue::detail {
namespace {

constexpr std::uint32_t kLengthMask = (std::uint32_t{1} << 29) - 1;
constexpr std::size_t kChunk = std::size_t{1} << 16;
constexpr std::uint64_t kIrHeader = 24;  // u32 flag, f32 label, u64 id, u64 id2

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

struct Record {
  std::uint64_t offset = 0;  // of its first part
  std::uint64_t size = 0;    // all parts with their framing and padding
  bool has_image = false;    // data longer than its IRHeader and labels
};

/// Walks records from the start of a file, copying each record's raw bytes to `sink` when one
/// is given for it.
class RecordWalker {
 public:
  RecordWalker(int fd, std::uint64_t file_size) : reader_(fd), size_(file_size), buf_(kChunk) {}

  /// The next record (true) or the end (false). Errors: corrupt framing, truncated, io_error.
  Outcome<bool> next(Record& r, ByteSink* sink) {
    auto end = reader_.at_end();
    if (!end) return end.error();
    if (end.value()) return false;
    r = Record{.offset = reader_.position()};
    std::uint64_t total = 0;
    std::array<std::uint8_t, 4> head{};  // the record's first data bytes (its label count)
    std::size_t head_size = 0;
    for (bool first = true;; first = false) {
      const std::uint64_t at = reader_.position();
      std::array<std::uint8_t, 8> h{};
      auto got = reader_.read(h);
      if (!got) return got.error();
      if (got.value() < h.size()) return framing(ErrorCode::truncated, "record header cut", at);
      if (le32(h.data()) != kRecordIoMagic) return framing(ErrorCode::corrupt, "bad magic", at);
      const std::uint32_t cflag = le32(h.data() + 4) >> 29;
      const std::uint64_t length = le32(h.data() + 4) & kLengthMask;
      if (first ? (cflag != 0 && cflag != 1) : (cflag != 2 && cflag != 3)) {
        return framing(ErrorCode::corrupt, "unexpected part flag " + std::to_string(cflag), at);
      }
      if (at + 8 + length > size_) {
        return framing(ErrorCode::truncated, "record runs past the end of the file", at);
      }
      if (sink != nullptr) {
        if (auto err = sink->write(h)) return *err;
      }
      if (!first && head_size < head.size()) {  // the writer cut the magic out here
        for (std::size_t i = 0; i < 4 && head_size < head.size(); ++i) head[head_size++] = h[i];
      }
      total += length + (first ? 0 : 4);
      // The last record's padding may be missing at the end of the file.
      const std::uint64_t pad =
          std::min<std::uint64_t>((4 - length % 4) % 4, size_ - at - 8 - length);
      for (std::uint64_t left = length + pad; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_.size()));
        auto d = reader_.read(std::span(buf_).first(n));
        if (!d) return d.error();
        if (d.value() != n) return framing(ErrorCode::truncated, "record data cut", at);
        const std::uint64_t data_here = std::min<std::uint64_t>(n, left > pad ? left - pad : 0);
        for (std::size_t i = 0; i < data_here && head_size < head.size(); ++i) {
          head[head_size++] = buf_[i];
        }
        if (sink != nullptr) {
          if (auto err = sink->write(std::span(buf_).first(n))) return *err;
        }
        left -= n;
      }
      if (cflag == 0 || cflag == 3) break;
    }
    r.size = reader_.position() - r.offset;
    const std::uint64_t labels = head_size == 4 ? std::uint64_t{le32(head.data())} : 0;
    r.has_image = total > kIrHeader + labels * 4;
    return true;
  }

 private:
  static ItemError framing(ErrorCode code, const std::string& what, std::uint64_t at) {
    return {code, "recordio: " + what + " at offset " + std::to_string(at)};
  }

  FdReader reader_;
  std::uint64_t size_;
  std::vector<std::uint8_t> buf_;
};

Outcome<std::uint64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error("cannot stat", errno);
  return static_cast<std::uint64_t>(st.st_size);
}

/// One "key<sep>offset" line of an .idx; nullopt at its end. Blank lines are skipped.
struct IdxLine {
  std::string key;
  std::uint64_t offset = 0;
};
class IdxReader {
 public:
  explicit IdxReader(int fd) : reader_(fd) {}
  /// Errors: unsupported for a line that is not "key<TAB or space>offset", io_error.
  Outcome<std::optional<IdxLine>> next() {
    for (;;) {
      auto r = reader_.read_line(line_, 4096);
      if (!r) return r.error();
      if (r.value() == FdReader::Line::eof) return std::optional<IdxLine>();
      ++number_;
      while (!line_.empty() && (line_.back() == '\r' || line_.back() == ' ')) line_.pop_back();
      if (line_.empty()) continue;
      const auto sep = line_.find_first_of("\t ");
      const auto start = sep == std::string::npos ? sep : line_.find_first_not_of("\t ", sep);
      IdxLine out;
      if (r.value() == FdReader::Line::ok && start != std::string::npos) {
        out.key = line_.substr(0, sep);
        const char* last = line_.data() + line_.size();
        const auto [ptr, ec] = std::from_chars(line_.data() + start, last, out.offset);
        if (ec == std::errc{} && ptr == last) return std::optional<IdxLine>(std::move(out));
      }
      return ItemError{ErrorCode::unsupported,
                       ".idx line " + std::to_string(number_) + " is not \"key<TAB>offset\""};
    }
  }

 private:
  FdReader reader_;
  std::string line_;
  std::uint64_t number_ = 0;
};

ItemError idx_disagrees(std::uint64_t record, std::uint64_t offset, const std::string& why) {
  return {ErrorCode::unsupported,
          ".idx does not list the records in file order (record " + std::to_string(record) +
              " at offset " + std::to_string(offset) + ": " + why + "); rebuild it before purging"};
}

}  // namespace

std::optional<ItemError> write_recordio(RewriteJob& job, OutputFile& out, int idx_in,
                                        OutputFile* idx_out) {
  auto size = file_size(job.in_fd);
  if (!size) return size.error();
  auto sink = open_sink(out, 0);
  if (!sink) return sink.error();
  std::optional<IdxReader> idx;
  if (idx_in >= 0) idx.emplace(idx_in);
  RecordWalker walker(job.in_fd, size.value());
  // A record is copied while it is parsed, unless it is removed (decided by its number alone).
  Record r;
  for (std::uint64_t i = 0;; ++i) {
    const bool remove = job.take(job.locator("record/" + std::to_string(i)));
    const std::uint64_t new_offset = out.written();
    auto more = walker.next(r, remove ? nullptr : sink.value().get());
    if (!more) return more.error();
    if (!more.value()) {
      if (remove) job.found.erase(job.locator("record/" + std::to_string(i)));  // no such record
      break;
    }
    if (remove && !r.has_image) {
      return ItemError{ErrorCode::unsupported,
                       "record " + std::to_string(i) + " has no image (a header record)"};
    }
    ++job.report.members_before;
    if (idx) {
      auto line = idx->next();
      if (!line) return line.error();
      if (!line.value()) return idx_disagrees(i, r.offset, "no line for it");
      if (line.value()->offset != r.offset) {
        return idx_disagrees(i, r.offset, "its line says " + std::to_string(line.value()->offset));
      }
      if (!remove) {
        const std::string text = line.value()->key + "\t" + std::to_string(new_offset) + "\n";
        if (auto err =
                idx_out->write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})) {
          return err;
        }
      }
    }
    if (remove) {
      job.removed_positions.push_back(i);
      ++job.report.removed;
    } else {
      ++job.report.kept;
    }
  }
  if (idx) {
    auto line = idx->next();
    if (!line) return line.error();
    if (line.value()) {
      return ItemError{ErrorCode::unsupported, ".idx lists more lines than the file has records (" +
                                                   std::to_string(job.report.members_before) +
                                                   "); rebuild it"};
    }
  }
  return sink.value()->close();
}

std::optional<ItemError> verify_recordio(const RewriteJob& job, int out_fd, int idx_in,
                                         int idx_out) {
  auto in_size = file_size(job.in_fd);
  if (!in_size) return in_size.error();
  auto out_size = file_size(out_fd);
  if (!out_size) return out_size.error();
  const auto& gone = job.removed_positions;
  const auto is_removed = [&](std::uint64_t i) {
    return std::binary_search(gone.begin(), gone.end(), i);
  };
  // 1. Replaying the original's kept records reproduces the output exactly.
  {
    CompareSink compare(out_fd);
    RecordWalker orig(job.in_fd, in_size.value());
    Record r;
    for (std::uint64_t i = 0;; ++i) {
      auto more = orig.next(r, is_removed(i) ? nullptr : &compare);
      if (!more) return more.error();
      if (!more.value()) break;
    }
    auto end = compare.at_end();
    if (!end) return end.error();
    if (!end.value()) return mismatch("output is longer than the original's kept records");
  }
  // 2. The output parses on its own into `kept` records, which the new .idx lists in order
  // with the original keys of the kept records.
  RecordWalker now(out_fd, out_size.value());
  std::optional<IdxReader> orig_idx, new_idx;
  if (idx_in >= 0 && idx_out >= 0) {
    orig_idx.emplace(idx_in);
    new_idx.emplace(idx_out);
  }
  std::uint64_t orig_line = 0;
  Record r;
  std::uint64_t count = 0;
  for (;; ++count) {
    auto more = now.next(r, nullptr);
    if (!more) return mismatch("output does not parse: " + more.error().message);
    if (!more.value()) break;
    if (!new_idx) continue;
    std::optional<IdxLine> want;
    for (bool removed = true; removed; ++orig_line) {
      auto line = orig_idx->next();
      if (!line) return line.error();
      if (!line.value())
        return mismatch("original .idx ran out at output record " + std::to_string(count));
      want = std::move(line.value());
      removed = is_removed(orig_line);
    }
    auto got = new_idx->next();
    if (!got) return mismatch("new .idx: " + got.error().message);
    if (!got.value() || got.value()->key != want->key || got.value()->offset != r.offset) {
      return mismatch("new .idx line " + std::to_string(count + 1) + " should be key " + want->key +
                      " at offset " + std::to_string(r.offset));
    }
  }
  if (count != job.report.kept) {
    return mismatch("output has " + std::to_string(count) + " records, expected " +
                    std::to_string(job.report.kept));
  }
  if (new_idx) {
    auto extra = new_idx->next();
    if (!extra) return extra.error();
    if (extra.value()) return mismatch("new .idx has more lines than the output has records");
  }
  return std::nullopt;
}

}  // namespace residue::detail
