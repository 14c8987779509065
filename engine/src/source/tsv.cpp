// TSV files with base64 image columns: detection from the first line(s), then line-by-line
// items. Base64 is decoded later, in item_bytes (the pipeline's parallel stage).
#include "tsv.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "base64.hpp"
#include "file_io.hpp"

namespace residue::detail {
namespace {

constexpr std::size_t kMinImageField = 64;    // shorter fields are ids, names, URLs
constexpr std::size_t kMaxHeaderLine = 4096;  // a header row is short
constexpr std::uint64_t kLineSlack = std::uint64_t{1} << 20;

bool starts_like_image(std::span<const std::uint8_t> b) {
  const auto is = [&](std::size_t at, std::string_view magic) {
    return b.size() >= at + magic.size() &&
           std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
  };
  return is(0, "\xFF\xD8\xFF") || is(0, "\x89PNG") || is(0, "GIF8") || is(0, "BM") ||
         (is(0, "RIFF") && is(8, "WEBP"));
}

/// A base64 image field: >= 64 alphabet characters (padding only at a known end) whose first
/// 12 decoded bytes carry an image signature. `open_ended`: the field continues past the window.
bool is_image_field(std::string_view f, bool open_ended) {
  std::string_view body = f;
  if (!open_ended) {
    while (!body.empty() && f.size() - body.size() < 2 && body.back() == '=') body.remove_suffix(1);
  }
  if (body.size() < kMinImageField) return false;
  for (const char c : body) {
    if (!is_base64_char(c)) return false;
  }
  std::array<std::uint8_t, 12> head{};
  return base64_decode_prefix(body.substr(0, 16), head) && starts_like_image(head);
}

struct LineScan {
  std::optional<int> image_column;
  bool has_tab = false;
  bool complete = false;  // ended by '\n' (or by the end of a whole-file window)
  bool text = true;       // no NUL byte
  std::size_t end = 0;    // offset just past the line's '\n'
};

LineScan scan_line(std::string_view w, std::size_t pos, bool at_eof) {
  LineScan s;
  int column = 0;
  std::size_t start = pos;
  for (std::size_t i = pos;; ++i) {
    const bool window_end = i == w.size();
    const char c = window_end ? '\n' : w[i];
    if (c == '\0') {
      s.text = false;
      return s;
    }
    if (c != '\t' && c != '\n') continue;
    const bool line_end = c == '\n';
    std::string_view field = w.substr(start, i - start);
    if (line_end && !field.empty() && field.back() == '\r') field.remove_suffix(1);
    const bool open_ended = window_end && !at_eof;
    if (!s.image_column && is_image_field(field, open_ended)) s.image_column = column;
    if (!line_end) {
      s.has_tab = true;
      ++column;
      start = i + 1;
      continue;
    }
    s.complete = !window_end || at_eof;
    s.end = window_end ? i : i + 1;
    return s;
  }
}

std::optional<std::string_view> column_of(std::string_view line, int column, int& fields) {
  fields = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    if (fields == column) {
      return line.substr(start,
                         tab == std::string_view::npos ? std::string_view::npos : tab - start);
    }
    ++fields;
    if (tab == std::string_view::npos) return std::nullopt;
    start = tab + 1;
  }
}

ItemError too_few_columns(int fields, int column) {
  return {ErrorCode::corrupt, "line has " + std::to_string(fields) +
                                  " tab-separated fields; the image is in column " +
                                  std::to_string(column) + " (0-based)"};
}

void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

}  // namespace

std::optional<TsvLayout> detect_tsv_layout(std::span<const std::uint8_t> window, bool at_eof) {
  const std::string_view w(reinterpret_cast<const char*>(window.data()), window.size());
  const LineScan first = scan_line(w, 0, at_eof);
  if (!first.text) return std::nullopt;
  // Tab-separated: a tab was seen, or the line runs past the window (an image in column 0 can
  // be megabytes long before its first tab).
  const bool tabbed = first.has_tab || !first.complete;
  if (first.image_column && tabbed) return TsvLayout{*first.image_column, 1};
  if (!first.has_tab || !first.complete || first.end > kMaxHeaderLine || first.end >= w.size()) {
    return std::nullopt;
  }
  const LineScan second = scan_line(w, first.end, at_eof);
  if (second.text && second.image_column && (second.has_tab || !second.complete)) {
    return TsvLayout{*second.image_column, 2};
  }
  return std::nullopt;
}

std::uint64_t tsv_max_line(std::uint64_t max_item_bytes) noexcept {
  const std::uint64_t cap = std::uint64_t{1} << 62;  // saturate instead of overflowing
  if (max_item_bytes >= cap / 2) return cap;
  return max_item_bytes / 3 * 4 + 4 + kLineSlack;
}

namespace {

constexpr std::size_t kScanChunk = std::size_t{1} << 16;

/// Where the first line starting in [begin, end) starts: 0 when begin is 0, else just past the
/// first '\n' in [begin - 1, end - 1). nullopt when no line starts there. Reads at most those
/// bytes. (A '\n' that is the file's last byte yields a start at the end of the file: the
/// reader finds no line there.)
Outcome<std::optional<std::uint64_t>> first_line_start(int fd, std::uint64_t begin,
                                                       std::uint64_t end) {
  if (begin >= end) return std::optional<std::uint64_t>{};
  if (begin == 0) return std::optional<std::uint64_t>{0};
  std::vector<std::uint8_t> buf(kScanChunk);
  for (std::uint64_t at = begin - 1; at < end - 1;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - 1 - at));
    auto got = pread_full(fd, std::span(buf).first(want), at);
    if (!got) return got.error();
    const auto* nl = static_cast<const std::uint8_t*>(std::memchr(buf.data(), '\n', got.value()));
    if (nl != nullptr) {
      return std::optional<std::uint64_t>{at + static_cast<std::uint64_t>(nl - buf.data()) + 1};
    }
    if (got.value() < want) break;  // end of file
    at += got.value();
  }
  return std::optional<std::uint64_t>{};
}

class TsvItems final : public ContainerItems {
 public:
  TsvItems(ContainerContext context, TsvLayout layout)
      : ctx_(std::move(context)),
        layout_(layout),
        reader_(ctx_.fd, 0, &ctx_.counts->bytes_consumed),
        max_line_(static_cast<std::size_t>(tsv_max_line(ctx_.options->max_item_bytes))),
        line_no_(ctx_.range.items_before) {}

  std::optional<SourceItem> next() override {
    if (!started_) {
      started_ = true;
      auto start = first_line_start(ctx_.fd, ctx_.range.begin, ctx_.range.end);
      if (!start) return fail(start.error());
      done_ = !start.value();
      if (!done_) reader_.seek(*start.value());
    }
    while (!done_) {
      // A line that starts before the range's end is read whole; the next one is not ours.
      if (reader_.position() >= ctx_.range.end) {
        done_ = true;
        break;
      }
      auto end = reader_.at_end();
      if (!end) return fail(end.error());
      if (end.value()) {
        done_ = true;
        break;
      }
      const std::uint64_t n = ++line_no_;
      std::string locator = ctx_.locator("line/" + std::to_string(n));
      const bool header = n < layout_.first_line;
      if (header || ctx_.member_done(locator)) {
        if (header) ++ctx_.counts->skipped_not_items;
        auto r = reader_.read_line(line_, max_line_, /*keep=*/false);
        if (!r) return fail(r.error());
        continue;
      }
      auto r = reader_.read_line(line_, max_line_);
      if (!r) return fail(r.error());
      if (r.value() == FdReader::Line::eof) break;
      if (r.value() == FdReader::Line::too_long) {
        return ctx_.error(std::move(locator), ErrorCode::too_large,
                          "line is longer than " + std::to_string(max_line_) + " bytes");
      }
      strip_cr(line_);
      if (line_.empty()) {  // blank lines (often a trailing one) hold no image
        ++ctx_.counts->skipped_not_items;
        continue;
      }
      int fields = 0;
      const auto field = column_of(line_, layout_.column, fields);
      if (!field) {
        auto e = too_few_columns(fields, layout_.column);
        return ctx_.error(std::move(locator), e.code, std::move(e.message));
      }
      SourceItem item = ctx_.item(std::move(locator));
      item.text.assign(*field);
      return item;
    }
    return std::nullopt;
  }

 private:
  std::optional<SourceItem> fail(ItemError error) {
    done_ = true;
    return ctx_.error(ctx_.file.path, error.code, std::move(error.message));
  }

  ContainerContext ctx_;
  TsvLayout layout_;
  FdReader reader_;
  std::size_t max_line_;
  std::uint64_t line_no_;  // the last line read (1-based); starts at the lines before the range
  std::string line_;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ContainerItems> make_tsv_items(ContainerContext context, TsvLayout layout) {
  return std::make_unique<TsvItems>(std::move(context), layout);
}

Outcome<std::uint64_t> count_tsv_lines(int fd, std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return std::uint64_t{0};
  // Lines starting in [begin, end): line 1 at offset 0 when begin is 0, and one after each '\n'
  // at q with begin <= q + 1 < end and a byte at q + 1 (no line after a final '\n').
  const std::uint64_t from = begin == 0 ? 0 : begin - 1;
  std::vector<std::uint8_t> buf(kScanChunk);
  std::uint64_t count = 0;
  std::uint64_t at = from;
  bool last_was_newline = false;
  while (at < end) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - at));
    auto got = pread_full(fd, std::span(buf).first(want), at);
    if (!got) return got.error();
    if (got.value() == 0) break;
    if (at == 0 && begin == 0) ++count;
    count += static_cast<std::uint64_t>(
        std::count(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got.value()), '\n'));
    last_was_newline = buf[got.value() - 1] == '\n';
    at += got.value();
    if (got.value() < want) break;  // end of file
  }
  // The '\n' at the last byte read starts no line of ours: the range or the file ends there.
  if (last_was_newline) --count;
  return count;
}

Outcome<std::vector<std::uint8_t>> read_tsv_line(int fd, TsvLayout layout, std::uint64_t line,
                                                 std::uint64_t max_bytes) {
  FdReader reader(fd);
  std::string text;
  const auto max_line = static_cast<std::size_t>(tsv_max_line(max_bytes));
  for (std::uint64_t n = 1;; ++n) {
    auto r = reader.read_line(text, max_line, /*keep=*/n == line);
    if (!r) return r.error();
    if (r.value() == FdReader::Line::eof) {
      return ItemError{ErrorCode::io_error, "no line " + std::to_string(line) + " (the file has " +
                                                std::to_string(n - 1) + " lines)"};
    }
    if (n < line) continue;
    if (r.value() == FdReader::Line::too_long) {
      return ItemError{ErrorCode::too_large,
                       "line is longer than " + std::to_string(max_line) + " bytes"};
    }
    break;
  }
  if (line < layout.first_line) {
    return ItemError{ErrorCode::io_error, "line " + std::to_string(line) + " is the header row"};
  }
  strip_cr(text);
  int fields = 0;
  const auto field = column_of(text, layout.column, fields);
  if (!field) return too_few_columns(fields, layout.column);
  auto bytes = base64_decode(*field, max_bytes);
  if (bytes && bytes->empty()) return ItemError{ErrorCode::empty, "image field is empty"};
  return bytes;
}

}  // namespace residue::detail
