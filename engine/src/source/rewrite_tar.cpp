// tar rewrites at the block level: libarchive hands out parsed entries, never the raw header
// blocks, so the tar stream is parsed here. An entry is its extended header blocks (pax 'x', GNU
// 'L'/'K'), its header block, and its data blocks; a kept entry is copied verbatim, a removed one
// is skipped whole. Anything that cannot be copied exactly (sparse files, multi-volume parts,
// unknown entry types, data after the end-of-archive marker) is refused before a byte is kept.
#include <archive.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

#include "rewrite.hpp"

namespace residue::detail {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kChunk = std::size_t{1} << 16;
constexpr std::uint64_t kMaxExtendedHeader = std::uint64_t{16} << 20;

std::uint64_t padded(std::uint64_t n) {
  return (n + kBlock - 1) / kBlock * kBlock;
}

bool all_zero(std::span<const std::uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t v) { return v == 0; });
}

std::string field(const std::uint8_t* p, std::size_t n) {
  const auto* end = static_cast<const std::uint8_t*>(std::memchr(p, 0, n));
  return {reinterpret_cast<const char*>(p), end != nullptr ? static_cast<std::size_t>(end - p) : n};
}

/// A numeric header field: octal (leading spaces, ended by space or NUL) or GNU base-256.
std::optional<std::uint64_t> number(const std::uint8_t* p, std::size_t n) {
  if ((p[0] & 0x80) != 0) {
    if (p[0] == 0xff) return std::nullopt;  // negative
    std::uint64_t v = p[0] & 0x7f;
    for (std::size_t i = 1; i < n; ++i) {
      if (v >> 56 != 0) return std::nullopt;
      v = v << 8 | p[i];
    }
    return v;
  }
  std::size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60 != 0) return std::nullopt;
    v = v * 8 + (p[i] - '0');
    any = true;
  }
  if (i < n && p[i] != ' ' && p[i] != 0) return std::nullopt;
  if (!any) return 0;  // an empty field
  return v;
}

/// The stored checksum matches the unsigned (POSIX) or the signed (old Sun/GNU) byte sum.
bool checksum_ok(const std::uint8_t* h) {
  const auto stored = number(h + 148, 8);
  if (!stored) return false;
  std::uint64_t usum = 0;
  std::int64_t ssum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    const std::uint8_t v = (i >= 148 && i < 156) ? ' ' : h[i];
    usum += v;
    ssum += static_cast<std::int8_t>(v);
  }
  return *stored == usum || static_cast<std::int64_t>(*stored) == ssum;
}

struct PaxFields {
  std::optional<std::string> path, linkpath;
  std::optional<std::uint64_t> size;
  bool sparse = false;
};

/// Parses "LEN key=value\n" records. false when malformed.
bool parse_pax(std::string_view d, PaxFields& out) {
  while (!d.empty()) {
    if (d.front() == '\0') break;  // NUL padding after the last record
    std::size_t len = 0, i = 0;
    while (i < d.size() && d[i] >= '0' && d[i] <= '9') len = len * 10 + (d[i++] - '0');
    if (i == 0 || i >= d.size() || d[i] != ' ' || len <= i + 1 || len > d.size()) return false;
    const std::string_view rec = d.substr(i + 1, len - i - 1);
    if (rec.empty() || rec.back() != '\n') return false;
    const auto eq = rec.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view key = rec.substr(0, eq);
    const std::string_view value = rec.substr(eq + 1, rec.size() - eq - 2);
    if (key == "path") out.path = std::string(value);
    if (key == "linkpath") out.linkpath = std::string(value);
    if (key == "size") {
      std::uint64_t v = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      out.size = v;
    }
    if (key.starts_with("GNU.sparse.")) out.sparse = true;
    d.remove_prefix(len);
  }
  return true;
}

/// One tar entry: its header blocks (extended headers first) and where its data lies.
struct TarEntry {
  std::vector<std::uint8_t> header;
  char type = '0';
  std::string name, link;
  std::uint64_t size = 0;    // data bytes (the data blocks hold padded(size))
  std::uint64_t offset = 0;  // stream offset of the first header block
  bool file = false;         // a regular file: an item with a locator
  bool global = false;       // a pax global header: kept as it is, never removed
};

/// Sequential tar parser over a ByteSource.
class TarParser {
 public:
  explicit TarParser(ByteSource& src) : src_(src) {}

  /// The next entry (true), or the end (false) with the trailer checked: only zero bytes after
  /// the first zero block. Errors: corrupt, truncated, unsupported, io_error.
  Outcome<bool> next(TarEntry& e) {
    if (data_left_ != 0) {
      if (auto err = skip_data()) return *err;
    }
    e = TarEntry{};
    e.offset = pos_;
    PaxFields pax;
    std::optional<std::string> long_name, long_link;
    std::array<std::uint8_t, kBlock> h{};
    for (;;) {
      auto got = read_exact(h, e.header.empty() ? "a header" : "the header after extended headers");
      if (!got) return got.error();
      if (!got.value()) {
        if (!e.header.empty()) return truncated("inside the entry at offset " + at(e.offset));
        return false;  // ends without end-of-archive blocks: accepted, as libarchive does
      }
      if (all_zero(h)) {
        if (!e.header.empty()) {
          return corrupt("zero block after extended headers at offset " + at(pos_ - kBlock));
        }
        trailer_ = kBlock;
        if (auto err = read_trailer()) return *err;
        return false;
      }
      const std::uint64_t here = pos_ - kBlock;
      if (!checksum_ok(h.data())) return corrupt("bad header checksum at offset " + at(here));
      e.header.insert(e.header.end(), h.begin(), h.end());
      const char type = static_cast<char>(h[156]);
      auto size = number(h.data() + 124, 12);
      if (!size) return corrupt("bad size field at offset " + at(here));
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (*size > kMaxExtendedHeader) {
          return unsupported("extended header of " + std::to_string(*size) + " bytes at offset " +
                             at(here));
        }
        std::vector<std::uint8_t> data(padded(*size));
        auto d = read_exact(data, "an extended header");
        if (!d) return d.error();
        if (!d.value()) return truncated("inside the extended header at offset " + at(here));
        e.header.insert(e.header.end(), data.begin(), data.end());
        const std::string_view text(reinterpret_cast<const char*>(data.data()), *size);
        if (type == 'g' && e.header.size() != kBlock + data.size()) {
          return unsupported("pax global header between an entry's extended headers at offset " +
                             at(here));
        }
        if (type == 'g') {  // applies to every later entry: a unit of its own, always kept
          e.global = true;
          e.type = type;
          return true;
        }
        if (type == 'x' && !parse_pax(text, pax)) {
          return corrupt("malformed pax header at offset " + at(here));
        }
        if (type == 'L') long_name = field(data.data(), *size);
        if (type == 'K') long_link = field(data.data(), *size);
        continue;
      }
      if (pax.sparse) return unsupported("sparse file (pax) at offset " + at(here));
      e.type = type;
      e.size = pax.size ? *pax.size : *size;
      if (pax.path) {
        e.name = *pax.path;
      } else if (long_name) {
        e.name = *long_name;
      } else {
        e.name = field(h.data(), 100);
        const bool posix = std::memcmp(h.data() + 257, "ustar\0", 6) == 0;
        if (posix && h[345] != 0) e.name = field(h.data() + 345, 155) + "/" + e.name;
      }
      e.link = pax.linkpath ? *pax.linkpath : long_link ? *long_link : field(h.data() + 157, 100);
      switch (type) {
        case '0':
        case '\0':
        case '7':
          e.file = true;
          break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
          if (e.size != 0) {
            return unsupported("entry " + e.name + " of type '" + std::string(1, type) +
                               "' carries " + std::to_string(e.size) + " data bytes");
          }
          break;
        default:
          return unsupported("entry " + e.name + " has type '" + printable(type) +
                             "' (sparse, multi-volume or unknown) at offset " + at(here));
      }
      data_left_ = padded(e.size);
      return true;
    }
  }

  /// Reads the current entry's data blocks (padding included); 0 at their end.
  Outcome<std::size_t> read_data(std::span<std::uint8_t> out) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), data_left_));
    if (n == 0) return std::size_t{0};
    auto got = src_.read(out.first(n));
    if (!got) return got.error();
    pos_ += got.value();
    data_left_ -= got.value();
    if (got.value() < n) return truncated("inside member data at offset " + at(pos_));
    return n;
  }

  std::optional<ItemError> skip_data() {
    std::vector<std::uint8_t> buf(kChunk);
    for (;;) {
      auto got = read_data(buf);
      if (!got) return got.error();
      if (got.value() == 0) return std::nullopt;
    }
  }

  /// Zero bytes from the first end-of-archive block to the end of the stream.
  [[nodiscard]] std::uint64_t trailer() const noexcept { return trailer_; }

 private:
  Outcome<bool> read_exact(std::span<std::uint8_t> out, const char* what) {
    auto got = src_.read(out);
    if (!got) return got.error();
    pos_ += got.value();
    if (got.value() == 0) return false;
    if (got.value() < out.size()) {
      return truncated(std::string("inside ") + what + " at offset " + at(pos_ - got.value()));
    }
    return true;
  }

  std::optional<ItemError> read_trailer() {
    std::vector<std::uint8_t> buf(kChunk);
    for (;;) {
      auto got = src_.read(buf);
      if (!got) return got.error();
      if (got.value() == 0) return std::nullopt;
      const auto chunk = std::span(buf).first(got.value());
      const auto nz = std::find_if(chunk.begin(), chunk.end(), [](std::uint8_t v) { return v; });
      if (nz != chunk.end()) {
        return unsupported("data after the end-of-archive marker at offset " +
                           at(pos_ + static_cast<std::uint64_t>(nz - chunk.begin())));
      }
      pos_ += got.value();
      trailer_ += got.value();
    }
  }

  static std::string at(std::uint64_t offset) { return std::to_string(offset); }
  static std::string printable(char c) {
    return c >= 0x20 && c < 0x7f ? std::string(1, c) : "\\x" + std::to_string(int(c) & 0xff);
  }
  static ItemError corrupt(std::string m) { return {ErrorCode::corrupt, "tar: " + m}; }
  static ItemError truncated(std::string m) {
    return {ErrorCode::truncated, "tar: stream ends " + m};
  }
  static ItemError unsupported(std::string m) {
    return {ErrorCode::unsupported, "tar: cannot copy exactly: " + m};
  }

  ByteSource& src_;
  std::uint64_t pos_ = 0;
  std::uint64_t data_left_ = 0;
  std::uint64_t trailer_ = 0;
};

bool compressed(int fd) {
  std::array<std::uint8_t, 6> m{};
  auto got = pread_full(fd, m, 0);
  if (!got || got.value() < 4) return false;
  const auto is = [&](std::string_view magic) {
    return got.value() >= magic.size() && std::memcmp(m.data(), magic.data(), magic.size()) == 0;
  };
  return is("\x1f\x8b") || is("BZh") ||
         is(std::string_view("\xfd"
                             "7zXZ\0",
                             6)) ||
         is("\x28\xb5\x2f\xfd");
}

}  // namespace

std::optional<ItemError> write_tar(RewriteJob& job, OutputFile& out) {
  auto src = open_source(job.in_fd, compressed(job.in_fd), &job.filter);
  if (!src) return src.error();
  auto sink = open_sink(out, job.filter);
  if (!sink) return sink.error();
  TarParser parser(*src.value());
  std::set<std::string> removed_names;
  std::vector<std::uint8_t> buf(kChunk);
  TarEntry e;
  for (;;) {
    auto more = parser.next(e);
    if (!more) return more.error();
    if (!more.value()) break;
    if (e.file) {
      ++job.report.members_before;
      if (job.take(job.locator(e.name))) {
        ++job.report.removed;
        removed_names.insert(e.name);
        continue;  // next() skips the data
      }
      ++job.report.kept;
    } else if (e.type == '1' && removed_names.count(e.link) != 0) {
      return ItemError{
          ErrorCode::unsupported,
          "tar: hard link " + e.name + " refers to removed member " + e.link + "; remove it too"};
    }
    if (auto err = sink.value()->write(e.header)) return err;
    for (;;) {
      auto got = parser.read_data(buf);
      if (!got) return got.error();
      if (got.value() == 0) break;
      if (auto err = sink.value()->write(std::span(buf).first(got.value()))) return err;
    }
  }
  // The original's end-of-archive zero blocks, at least the two the format requires.
  const std::vector<std::uint8_t> zeros(
      static_cast<std::size_t>(std::max<std::uint64_t>(padded(parser.trailer()), 2 * kBlock)));
  if (auto err = sink.value()->write(zeros)) return err;
  return sink.value()->close();
}

std::optional<ItemError> verify_tar(const RewriteJob& job, int out_fd) {
  auto orig_src = open_source(job.in_fd, job.filter != ARCHIVE_FILTER_NONE, nullptr);
  if (!orig_src) return orig_src.error();
  FilterCode out_filter = 0;
  auto out_src = open_source(out_fd, job.filter != ARCHIVE_FILTER_NONE, &out_filter);
  if (!out_src) return mismatch("output does not decompress: " + out_src.error().message);
  if (out_filter != job.filter) {
    return mismatch("output compression is " + filter_name(out_filter) + ", original " +
                    filter_name(job.filter));
  }
  TarParser orig(*orig_src.value());
  TarParser now(*out_src.value());
  std::vector<std::uint8_t> a(kChunk), b(kChunk);
  TarEntry oe, ne;
  std::uint64_t files = 0;
  for (;;) {
    Outcome<bool> o = false;
    for (;;) {  // the original's next kept entry
      o = orig.next(oe);
      if (!o) return o.error();
      if (!o.value() || !oe.file || !job.removed(job.locator(oe.name))) break;
    }
    auto n = now.next(ne);
    if (!n) return mismatch("output does not parse: " + n.error().message);
    if (o.value() != n.value()) {
      return mismatch(o.value() ? "member " + oe.name + " is missing from the output"
                                : "output has an extra entry " + ne.name);
    }
    if (!o.value()) break;
    if (oe.header != ne.header || oe.name != ne.name) {
      return mismatch("header blocks of " + oe.name + " differ from the original's");
    }
    if (ne.file) ++files;
    for (;;) {
      auto ga = orig.read_data(a);
      if (!ga) return ga.error();
      auto gb = now.read_data(b);
      if (!gb) return mismatch("output: " + gb.error().message);
      if (ga.value() != gb.value() || std::memcmp(a.data(), b.data(), ga.value()) != 0) {
        return mismatch("bytes of member " + oe.name + " differ from the original's");
      }
      if (ga.value() == 0) break;
    }
  }
  if (now.trailer() < 2 * kBlock) return mismatch("output lacks two end-of-archive blocks");
  if (files != job.report.kept) {
    return mismatch("output has " + std::to_string(files) + " members, expected " +
                    std::to_string(job.report.kept));
  }
  return std::nullopt;
}

}  // namespace residue::detail
