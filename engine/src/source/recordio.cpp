// MXNet RecordIO: record-by-record streaming (one record in memory at a time, bounded by
// max_item_bytes) and random access through the .idx file.
#include "recordio.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include "file_io.hpp"

namespace residue::detail {
namespace {

constexpr std::uint32_t kLengthMask = (std::uint32_t{1} << 29) - 1;
constexpr std::size_t kIrHeaderSize = 24;  // u32 flag, f32 label, u64 id, u64 id2
// Framing allows this much beyond max_item_bytes for the IRHeader and its label array; the
// exact limit is applied to the image bytes once the header is parsed.
constexpr std::uint64_t kHeaderSlack = std::uint64_t{1} << 20;

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

std::string hex32(std::uint32_t v) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

/// Reads logical records (parts joined) from offset 0 or from a seek target.
class RecordReader {
 public:
  RecordReader(int fd, std::uint64_t file_size, std::uint64_t* consumed)
      : reader_(fd, 0, consumed), size_(file_size) {}

  enum class Status : std::uint8_t { record, end, error };

  /// Index (0-based) of the record the next call reads.
  [[nodiscard]] std::uint64_t index() const noexcept { return index_; }
  void seek(std::uint64_t offset, std::uint64_t index) {
    reader_.seek(offset);
    index_ = index;
  }
  [[nodiscard]] Outcome<bool> at_end() { return reader_.at_end(); }

  /// Whether the record at the current position belongs to a range ending at `end`: it starts
  /// before `end`, or it is a tail too short for a header (under 8 bytes before the file's end),
  /// which no range's scan can find as a record start, so the range that reached it owns it.
  [[nodiscard]] bool owns_next(std::uint64_t end) const noexcept {
    const std::uint64_t at = reader_.position();
    return at < end || (at < size_ && size_ - at < 8);
  }

  /// With keep, the record's data goes into `data` unless it exceeds the framing limit
  /// (`too_large`, data skipped); without keep, the data is skipped.
  Status next(bool keep, std::uint64_t max_bytes, std::vector<std::uint8_t>& data, bool& too_large,
              ItemError& error) {
    data.clear();
    too_large = false;
    const std::uint64_t limit =
        max_bytes < UINT64_MAX - kHeaderSlack ? max_bytes + kHeaderSlack : UINT64_MAX;
    std::uint64_t total = 0;
    for (bool first = true;; first = false) {
      std::array<std::uint8_t, 8> header{};
      auto got = reader_.read(header);
      if (!got) {
        error = got.error();
        return Status::error;
      }
      if (got.value() == 0 && first) return Status::end;
      const std::uint64_t at = reader_.position() - got.value();
      if (got.value() < header.size()) {
        error = {ErrorCode::truncated,
                 "file ends inside the record header at offset " + std::to_string(at)};
        return Status::error;
      }
      const std::uint32_t magic = le32(header.data());
      const std::uint32_t lrecord = le32(header.data() + 4);
      if (magic != kRecordIoMagic) {
        error = {ErrorCode::corrupt,
                 "bad magic " + hex32(magic) + " at offset " + std::to_string(at)};
        return Status::error;
      }
      const std::uint32_t cflag = lrecord >> 29;
      const std::uint64_t length = lrecord & kLengthMask;
      if (first ? (cflag != 0 && cflag != 1) : (cflag != 2 && cflag != 3)) {
        error = {ErrorCode::corrupt, "unexpected part flag " + std::to_string(cflag) +
                                         " at offset " + std::to_string(at)};
        return Status::error;
      }
      if (at + 8 + length > size_) {
        error = {ErrorCode::truncated, "record length " + std::to_string(length) + " at offset " +
                                           std::to_string(at) + " runs past the end of the file (" +
                                           std::to_string(size_) + " bytes)"};
        return Status::error;
      }
      total += length + (first ? 0 : 4);
      if (keep && !too_large && total > limit) {
        too_large = true;
        data.clear();
        data.shrink_to_fit();
      }
      if (keep && !too_large) {
        // The writer removed the magic where it split the data; put it back between parts.
        if (!first) data.insert(data.end(), header.begin(), header.begin() + 4);
        const std::size_t old = data.size();
        data.resize(old + length);
        auto n = reader_.read(std::span(data).subspan(old));
        if (!n) {
          error = n.error();
          return Status::error;
        }
        if (n.value() != length) {
          error = {ErrorCode::truncated,
                   "file ends inside the record at offset " + std::to_string(at)};
          return Status::error;
        }
      } else {
        reader_.skip(length);
      }
      // The last record's padding may be missing; anything else is framed by the next magic.
      const std::uint64_t pad = (4 - length % 4) % 4;
      const std::uint64_t here = at + 8 + length;
      reader_.skip(std::min(pad, size_ > here ? size_ - here : 0));
      if (cflag == 0 || cflag == 3) {
        ++index_;
        return Status::record;
      }
    }
  }

 private:
  FdReader reader_;
  std::uint64_t size_;
  std::uint64_t index_ = 0;
};

constexpr std::size_t kScanWords = std::size_t{1} << 14;  // 64 KiB of 4-byte words per read

/// The first record start in [begin, end) (see FileSlice): offset 0 when begin is 0, else the
/// first 4-byte-aligned magic at or after begin whose header is complete (8 bytes before `size`)
/// and whose cflag is 0 or 1. The writer splits records wherever their data holds an aligned
/// magic, so in a well-formed file every aligned magic is a part header. A header cut short by
/// the end of the file is not a start here: RecordReader::owns_next gives it to the range whose
/// walk reaches it. Reads from align_up(begin) to the first start, at most to end + 7.
Outcome<std::optional<std::uint64_t>> first_record_start(int fd, std::uint64_t size,
                                                         std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return std::optional<std::uint64_t>{};
  if (begin == 0) return std::optional<std::uint64_t>{0};
  if (begin >= size) return std::optional<std::uint64_t>{};
  const std::uint64_t stop = std::min(end, size);        // starts lie in [begin, stop)
  const std::uint64_t limit = std::min(size, stop + 7);  // and their headers end by here
  std::vector<std::uint8_t> buf(kScanWords * 4 + 4);     // the last word's lrecord rides along
  for (std::uint64_t at = (begin + 3) / 4 * 4; at < stop && limit - at >= 8; at += kScanWords * 4) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - at));
    auto got = pread_full(fd, std::span(buf).first(want), at);
    if (!got) return got.error();
    for (std::size_t off = 0; off + 8 <= got.value() && at + off < stop; off += 4) {
      if (le32(buf.data() + off) == kRecordIoMagic && (le32(buf.data() + off + 4) >> 29) <= 1) {
        return std::optional<std::uint64_t>{at + off};
      }
    }
    if (got.value() < want) break;  // the file is shorter than `size`
  }
  return std::optional<std::uint64_t>{};
}

/// Offset of the image bytes inside a record's data, after the IRHeader and its labels.
Outcome<std::size_t> image_offset(const std::vector<std::uint8_t>& data) {
  if (data.size() < kIrHeaderSize) {
    return ItemError{ErrorCode::corrupt, "record has " + std::to_string(data.size()) +
                                             " bytes, less than its 24-byte header"};
  }
  const std::uint32_t flag = le32(data.data());
  const std::uint64_t offset = kIrHeaderSize + std::uint64_t{flag} * 4;
  if (offset > data.size()) {
    return ItemError{ErrorCode::corrupt, "record header lists " + std::to_string(flag) +
                                             " labels but the record has only " +
                                             std::to_string(data.size()) + " bytes"};
  }
  return static_cast<std::size_t>(offset);
}

ItemError image_too_large(std::uint64_t size, std::uint64_t max_bytes) {
  return {ErrorCode::too_large, "record image is " + std::to_string(size) + " bytes, above the " +
                                    std::to_string(max_bytes) + "-byte limit"};
}

ItemError record_too_large(std::uint64_t max_bytes) {
  return {ErrorCode::too_large, "record is more than " + std::to_string(max_bytes + kHeaderSlack) +
                                    " bytes (image limit " + std::to_string(max_bytes) + ")"};
}

/// Cuts `data` down to its image bytes. Errors: corrupt header, too_large.
std::optional<ItemError> keep_image(std::vector<std::uint8_t>& data, std::uint64_t max_bytes) {
  auto offset = image_offset(data);
  if (!offset) return offset.error();
  if (data.size() - offset.value() > max_bytes)
    return image_too_large(data.size() - offset.value(), max_bytes);
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(offset.value()));
  return std::nullopt;
}

class RecordIoItems final : public ContainerItems {
 public:
  explicit RecordIoItems(ContainerContext context)
      : ctx_(std::move(context)), reader_(ctx_.fd, ctx_.file.size, &ctx_.counts->bytes_consumed) {}

  std::optional<SourceItem> next() override {
    if (!started_) {
      started_ = true;
      const ItemRange& r = ctx_.range;
      auto start = first_record_start(ctx_.fd, ctx_.file.size, r.begin, r.end);
      if (!start) return fail(ctx_.file.path, start.error());
      done_ = !start.value();
      if (!done_) reader_.seek(*start.value(), r.items_before);
    }
    const std::uint64_t max_bytes = ctx_.options->max_item_bytes;
    while (!done_ && reader_.owns_next(ctx_.range.end)) {
      std::string locator = ctx_.locator("record/" + std::to_string(reader_.index()));
      auto end = reader_.at_end();
      if (!end) return fail(std::move(locator), end.error());
      if (end.value()) break;
      const bool skip = ctx_.member_done(locator);
      std::vector<std::uint8_t> data;
      bool too_large = false;
      ItemError error;
      switch (reader_.next(!skip, max_bytes, data, too_large, error)) {
        case RecordReader::Status::end:
          done_ = true;
          continue;
        case RecordReader::Status::error:
          return fail(std::move(locator), std::move(error));
        case RecordReader::Status::record:
          break;
      }
      if (skip) continue;
      if (too_large) {
        auto e = record_too_large(max_bytes);
        return ctx_.error(std::move(locator), e.code, std::move(e.message));
      }
      if (auto err = keep_image(data, max_bytes)) {
        return ctx_.error(std::move(locator), err->code, std::move(err->message));
      }
      if (data.empty()) {  // a header record (InsightFace's record 0 holds counts in its labels)
        ++ctx_.counts->skipped_not_items;
        continue;
      }
      SourceItem item = ctx_.item(std::move(locator));
      item.bytes = std::move(data);
      return item;
    }
    done_ = true;
    return std::nullopt;
  }

 private:
  std::optional<SourceItem> fail(std::string locator, ItemError error) {
    done_ = true;  // framing is lost: a resync would have to guess at magic bytes inside images
    return ctx_.error(std::move(locator), error.code, std::move(error.message));
  }

  ContainerContext ctx_;
  RecordReader reader_;
  bool started_ = false;
  bool done_ = false;
};

/// The offset of record `index` according to the .idx ("key<TAB>offset" per record, in file
/// order), or nullopt when there is no .idx or it does not look consistent.
std::optional<std::uint64_t> idx_offset(const std::string& idx_path, std::uint64_t index) {
  auto fd = open_read(idx_path);
  if (!fd) return std::nullopt;
  FdReader reader(fd->get());
  std::string line;
  std::uint64_t previous = 0;
  for (std::uint64_t i = 0; i <= index; ++i) {
    auto r = reader.read_line(line, 4096);
    if (!r || r.value() != FdReader::Line::ok) return std::nullopt;
    const auto sep = line.find_first_of("\t ");
    if (sep == std::string::npos) return std::nullopt;
    std::size_t start = sep;
    while (start < line.size() && (line[start] == '\t' || line[start] == ' ')) ++start;
    std::uint64_t offset = 0;
    const char* first = line.data() + start;
    const char* last = line.data() + line.size();
    while (last > first && (last[-1] == '\r' || last[-1] == ' ')) --last;
    const auto [ptr, ec] = std::from_chars(first, last, offset);
    if (ec != std::errc{} || ptr != last) return std::nullopt;
    // Offsets must start at 0 and rise, or line i is not record i.
    if (i == 0 ? offset != 0 : offset <= previous) return std::nullopt;
    previous = offset;
  }
  return previous;
}

}  // namespace

std::unique_ptr<ContainerItems> make_recordio_items(ContainerContext context) {
  return std::make_unique<RecordIoItems>(std::move(context));
}

Outcome<std::uint64_t> count_recordio_records(int fd, std::uint64_t begin, std::uint64_t end) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error("cannot stat", errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto start = first_record_start(fd, size, begin, end);
  if (!start) return start.error();
  if (!start.value()) return std::uint64_t{0};
  // The same walk as RecordIoItems, headers only.
  RecordReader reader(fd, size, nullptr);
  reader.seek(*start.value(), 0);
  std::vector<std::uint8_t> data;
  bool too_large = false;
  ItemError error;
  while (reader.owns_next(end)) {
    auto at_end = reader.at_end();
    if (!at_end) return at_end.error();
    if (at_end.value()) break;
    switch (reader.next(/*keep=*/false, UINT64_MAX, data, too_large, error)) {
      case RecordReader::Status::end:
        return reader.index();
      case RecordReader::Status::error:
        // A record cut short by the end of the file is one (error) item of the stream.
        if (error.code == ErrorCode::truncated) return reader.index() + 1;
        return error;
      case RecordReader::Status::record:
        break;
    }
  }
  return reader.index();
}

Outcome<std::vector<std::uint8_t>> read_recordio_record(int fd, const std::string& idx_path,
                                                        std::uint64_t index,
                                                        std::uint64_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error("cannot stat", errno);
  RecordReader reader(fd, static_cast<std::uint64_t>(st.st_size), nullptr);
  std::vector<std::uint8_t> data;
  bool too_large = false;
  ItemError error;
  bool found = false;
  if (const auto offset = idx_offset(idx_path, index)) {
    reader.seek(*offset, index);
    // A stale .idx lands on bad framing: fall back to walking the headers.
    found = reader.next(true, max_bytes, data, too_large, error) == RecordReader::Status::record;
    if (!found) reader.seek(0, 0);
  }
  while (!found) {
    const bool want = reader.index() == index;
    switch (reader.next(want, max_bytes, data, too_large, error)) {
      case RecordReader::Status::end:
        return ItemError{ErrorCode::io_error, "no record " + std::to_string(index) +
                                                  " (the file has " +
                                                  std::to_string(reader.index()) + " records)"};
      case RecordReader::Status::error:
        return error;
      case RecordReader::Status::record:
        found = want;
        break;
    }
  }
  if (too_large) return record_too_large(max_bytes);
  if (auto err = keep_image(data, max_bytes)) return *err;
  if (data.empty()) {
    return ItemError{ErrorCode::empty,
                     "record " + std::to_string(index) + " has no image (a header record)"};
  }
  return data;
}

}  // namespace residue::detail
