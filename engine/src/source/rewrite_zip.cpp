// zip rewrites: each kept entry's bytes (local header, data, data descriptor) are copied
// verbatim, in their original order; the central directory keeps the kept entries' records,
// byte for byte except the local-header offset (in the record, or in its zip64 extra field);
// the end records are rewritten with the new counts, size and offset, and the comment is kept.
// Offsets only shrink, so every value fits the field the original used. Entries must tile the
// file exactly (no data before, between or after them), so nothing unlisted survives.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "rewrite.hpp"

namespace residue::detail {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50,
                        kDescriptorSig = 0x08074b50;
constexpr std::size_t kChunk = std::size_t{1} << 16;

std::uint64_t le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
void put(std::uint8_t* p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

ItemError corrupt(const std::string& m) {
  return {ErrorCode::corrupt, "zip: " + m};
}
ItemError unsupported(const std::string& m) {
  return {ErrorCode::unsupported, "zip: cannot copy exactly: " + m};
}

struct ZipEntry {
  std::string name;
  std::vector<std::uint8_t> central;  // its whole central directory record
  std::size_t offset_at = 42;         // where the local-header offset sits in `central`
  int offset_width = 4;
  std::uint64_t offset = 0, end = 0;  // its local bytes: [offset, end)
  bool file = true;                   // not a directory or a symlink (what the scanner lists)
};

struct ZipLayout {
  std::vector<ZipEntry> entries;
  std::uint64_t cd_offset = 0;
  std::vector<std::uint8_t> end;    // the end of central directory record, comment included
  std::vector<std::uint8_t> end64;  // the zip64 end record (empty when there is none)
};

Outcome<std::vector<std::uint8_t>> read_at(int fd, std::uint64_t offset, std::uint64_t n,
                                           const char* what) {
  std::vector<std::uint8_t> b(static_cast<std::size_t>(n));
  auto got = pread_full(fd, b, offset);
  if (!got) return got.error();
  if (got.value() != n) {
    return ItemError{ErrorCode::truncated, std::string("zip: file ends inside ") + what +
                                               " at offset " + std::to_string(offset)};
  }
  return b;
}

/// The zip64 extended information field's values, in the order the APPNOTE gives (each present
/// only when its 32-bit field is 0xffffffff); offset_pos is where the offset lies in `extra`.
struct Zip64Extra {
  std::optional<std::uint64_t> csize, offset;
  std::size_t offset_pos = 0;
  bool present = false;
};
Zip64Extra zip64_extra(std::span<const std::uint8_t> extra, bool usize_ff, bool csize_ff,
                       bool offset_ff) {
  Zip64Extra z;
  for (std::size_t i = 0; i + 4 <= extra.size();) {
    const auto id = le(&extra[i], 2);
    const auto len = static_cast<std::size_t>(le(&extra[i + 2], 2));
    if (i + 4 + len > extra.size()) break;
    if (id == 1) {
      z.present = true;
      std::size_t p = i + 4;
      const std::size_t stop = i + 4 + len;
      if (usize_ff && p + 8 <= stop) p += 8;
      if (csize_ff && p + 8 <= stop) {
        z.csize = le(&extra[p], 8);
        p += 8;
      }
      if (offset_ff && p + 8 <= stop) {
        z.offset = le(&extra[p], 8);
        z.offset_pos = p;
      }
    }
    i += 4 + len;
  }
  return z;
}

Outcome<ZipLayout> parse_zip(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error("cannot stat", errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  // The end record: the last "PK\5\6" whose comment length reaches exactly the end of the file.
  const std::uint64_t tail_size = std::min<std::uint64_t>(size, 22 + 65535);
  auto tail = read_at(fd, size - tail_size, tail_size, "the end record");
  if (!tail) return tail.error();
  std::optional<std::uint64_t> eocd;
  for (std::uint64_t i = tail_size >= 22 ? tail_size - 22 + 1 : 0; i-- > 0;) {
    const auto* p = tail->data() + i;
    if (le(p, 4) == kEndSig && i + 22 + le(p + 20, 2) == tail_size) {
      eocd = size - tail_size + i;
      break;
    }
  }
  if (!eocd) return corrupt("no end of central directory record");
  ZipLayout z;
  z.end.assign(tail->begin() + static_cast<std::ptrdiff_t>(*eocd - (size - tail_size)),
               tail->end());
  const std::uint8_t* e = z.end.data();
  if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0 || le(e + 8, 2) != le(e + 10, 2)) {
    return unsupported("a multi-disk archive");
  }
  std::uint64_t count = le(e + 10, 2), cd_size = le(e + 12, 4);
  z.cd_offset = le(e + 16, 4);
  std::uint64_t cd_end = *eocd;
  if (*eocd >= 20) {
    auto loc = read_at(fd, *eocd - 20, 20, "the zip64 locator");
    if (!loc) return loc.error();
    if (le(loc->data(), 4) == kZip64LocatorSig) {
      const std::uint64_t at = le(loc->data() + 8, 8);
      if (at + 56 > *eocd - 20) return corrupt("bad zip64 end record offset");
      auto rec = read_at(fd, at, *eocd - 20 - at, "the zip64 end record");
      if (!rec) return rec.error();
      const std::uint8_t* r = rec->data();
      if (le(r, 4) != kZip64EndSig || 12 + le(r + 4, 8) != rec->size()) {
        return corrupt("bad zip64 end record");
      }
      if (le(r + 16, 4) != 0 || le(r + 20, 4) != 0 || le(r + 24, 8) != le(r + 32, 8)) {
        return unsupported("a multi-disk archive");
      }
      count = le(r + 32, 8);
      cd_size = le(r + 40, 8);
      z.cd_offset = le(r + 48, 8);
      cd_end = at;
      z.end64 = std::move(rec.value());
    }
  }
  if (z.cd_offset + cd_size != cd_end) {
    return unsupported("bytes between the central directory and the end records");
  }
  FdReader cd(fd, z.cd_offset);
  std::uint64_t expect = 0;  // entries must tile [0, cd_offset)
  for (std::uint64_t i = 0; i < count; ++i) {
    ZipEntry entry;
    entry.central.resize(46);
    auto got = cd.read(entry.central);
    if (!got) return got.error();
    const std::uint8_t* c = entry.central.data();
    if (got.value() != 46 || le(c, 4) != kCentralSig) {
      return corrupt("bad central directory record " + std::to_string(i));
    }
    const auto flags = le(c + 8, 2);
    const auto name_len = le(c + 28, 2), extra_len = le(c + 30, 2), comment_len = le(c + 32, 2);
    entry.central.resize(46 + name_len + extra_len + comment_len);
    got = cd.read(std::span(entry.central).subspan(46));
    if (!got) return got.error();
    if (got.value() != entry.central.size() - 46) return corrupt("central directory cut short");
    c = entry.central.data();
    entry.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    if ((flags & 0x41) != 0) return unsupported("encrypted entry " + entry.name);
    if (le(c + 34, 2) != 0) return unsupported("a multi-disk archive");
    const std::uint64_t crc = le(c + 16, 4);
    const bool usize_ff = le(c + 24, 4) == 0xffffffff, csize_ff = le(c + 20, 4) == 0xffffffff,
               offset_ff = le(c + 42, 4) == 0xffffffff;
    const auto z64 = zip64_extra(std::span(entry.central).subspan(46 + name_len, extra_len),
                                 usize_ff, csize_ff, offset_ff);
    if ((csize_ff && !z64.csize) || (offset_ff && !z64.offset)) {
      return corrupt("entry " + entry.name + " lacks its zip64 sizes");
    }
    const std::uint64_t csize = csize_ff ? *z64.csize : le(c + 20, 4);
    entry.offset = offset_ff ? *z64.offset : le(c + 42, 4);
    if (offset_ff) {
      entry.offset_at = 46 + name_len + z64.offset_pos;
      entry.offset_width = 8;
    }
    const unsigned host = static_cast<unsigned>(le(c + 5, 1));
    const auto mode = static_cast<std::uint32_t>(le(c + 38, 4) >> 16);
    entry.file = !entry.name.ends_with('/') &&
                 !(host == 3 && ((mode & S_IFMT) == S_IFDIR || (mode & S_IFMT) == S_IFLNK));
    if (entry.offset != expect) {
      return unsupported(entry.offset > expect
                             ? "bytes before entry " + entry.name + " that no entry owns"
                             : "entry " + entry.name + " is out of order or overlaps another");
    }
    auto local = read_at(fd, entry.offset, 30, "a local header");
    if (!local) return local.error();
    const std::uint8_t* l = local->data();
    if (le(l, 4) != kLocalSig) return corrupt("bad local header of " + entry.name);
    const auto lname = le(l + 26, 2), lextra = le(l + 28, 2);
    auto names = read_at(fd, entry.offset + 30, lname + lextra, "a local header");
    if (!names) return names.error();
    if (std::string(names->begin(), names->begin() + static_cast<std::ptrdiff_t>(lname)) !=
        entry.name) {
      return corrupt("local header of " + entry.name + " names another member");
    }
    std::uint64_t data_end = entry.offset + 30 + lname + lextra + csize;
    if ((flags & 0x08) != 0) {  // a data descriptor: [sig] crc, csize, usize (8-byte with zip64)
      const bool wide =
          zip64_extra(std::span(names.value()).subspan(lname), false, false, false).present;
      auto d = read_at(fd, data_end, 4, "a data descriptor");
      if (!d) return d.error();
      const bool sig = le(d->data(), 4) == kDescriptorSig;
      const std::uint64_t len = (sig ? 4 : 0) + 4 + (wide ? 16 : 8);
      auto desc = read_at(fd, data_end, len, "a data descriptor");
      if (!desc) return desc.error();
      if (le(desc->data() + (sig ? 4 : 0), 4) != crc) {
        return corrupt("data descriptor of " + entry.name + " disagrees with its CRC");
      }
      data_end += len;
    }
    entry.end = data_end;
    expect = data_end;
    z.entries.push_back(std::move(entry));
  }
  if (expect != z.cd_offset) {
    return unsupported("bytes between the last entry and the central directory");
  }
  return z;
}

std::optional<ItemError> copy_range(int fd, std::uint64_t from, std::uint64_t to, ByteSink& out) {
  std::vector<std::uint8_t> buf(kChunk);
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, kChunk));
    auto got = pread_full(fd, std::span(buf).first(n), from);
    if (!got) return got.error();
    if (got.value() != n) return ItemError{ErrorCode::truncated, "zip: file shrank while read"};
    if (auto err = out.write(std::span(buf).first(n))) return err;
    from += n;
  }
  return std::nullopt;
}

/// The new central directory and end records for `kept` entries with offsets `offsets`,
/// starting at `cd_offset`.
std::vector<std::uint8_t> new_tail(const ZipLayout& z, const std::vector<const ZipEntry*>& kept,
                                   const std::vector<std::uint64_t>& offsets,
                                   std::uint64_t cd_offset) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    std::vector<std::uint8_t> rec = kept[i]->central;
    put(rec.data() + kept[i]->offset_at, offsets[i], kept[i]->offset_width);
    out.insert(out.end(), rec.begin(), rec.end());
  }
  const std::uint64_t cd_size = out.size();
  // A field the original set to all ones (its value is in the zip64 record) stays so.
  const auto keep_or = [](std::uint8_t* field, int width, std::uint64_t value) {
    const std::uint64_t all_ones = width == 2 ? 0xffff : 0xffffffff;
    if (le(field, width) != all_ones) put(field, value, width);
  };
  if (!z.end64.empty()) {
    std::vector<std::uint8_t> r = z.end64;
    put(r.data() + 24, kept.size(), 8);
    put(r.data() + 32, kept.size(), 8);
    put(r.data() + 40, cd_size, 8);
    put(r.data() + 48, cd_offset, 8);
    const std::uint64_t at = cd_offset + cd_size;
    out.insert(out.end(), r.begin(), r.end());
    std::array<std::uint8_t, 20> loc{};
    put(loc.data(), kZip64LocatorSig, 4);
    put(loc.data() + 8, at, 8);
    put(loc.data() + 16, 1, 4);
    out.insert(out.end(), loc.begin(), loc.end());
  }
  std::vector<std::uint8_t> e = z.end;
  keep_or(e.data() + 8, 2, kept.size());
  keep_or(e.data() + 10, 2, kept.size());
  keep_or(e.data() + 12, 4, cd_size);
  keep_or(e.data() + 16, 4, cd_offset);
  out.insert(out.end(), e.begin(), e.end());
  return out;
}

}  // namespace

std::optional<ItemError> write_zip(RewriteJob& job, OutputFile& out) {
  auto z = parse_zip(job.in_fd);
  if (!z) return z.error();
  auto sink = open_sink(out, 0);
  if (!sink) return sink.error();
  std::vector<const ZipEntry*> kept;
  std::vector<std::uint64_t> offsets;
  for (const auto& e : z->entries) {
    if (e.file) {
      ++job.report.members_before;
      if (job.take(job.locator(e.name))) {
        ++job.report.removed;
        continue;
      }
      ++job.report.kept;
    }
    kept.push_back(&e);
    offsets.push_back(out.written());
    if (auto err = copy_range(job.in_fd, e.offset, e.end, *sink.value())) return err;
  }
  if (auto err = sink.value()->write(new_tail(z.value(), kept, offsets, out.written()))) return err;
  return sink.value()->close();
}

std::optional<ItemError> verify_zip(const RewriteJob& job, int out_fd) {
  auto orig = parse_zip(job.in_fd);
  if (!orig) return orig.error();
  auto now = parse_zip(out_fd);
  if (!now) return mismatch("output does not parse: " + now.error().message);
  std::size_t j = 0;
  std::uint64_t files = 0;
  for (const auto& e : orig->entries) {
    if (e.file && job.removed(job.locator(e.name))) continue;
    if (j == now->entries.size())
      return mismatch("entry " + e.name + " is missing from the output");
    const ZipEntry& n = now->entries[j++];
    std::vector<std::uint8_t> central = n.central;
    put(central.data() + n.offset_at, e.offset, n.offset_width);
    if (n.name != e.name || central != e.central || n.end - n.offset != e.end - e.offset) {
      return mismatch("entry " + e.name + " differs from the original's");
    }
    if (n.file) ++files;
    std::vector<std::uint8_t> a(kChunk), b(kChunk);
    for (std::uint64_t done = 0; done < e.end - e.offset;) {
      const auto len =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, e.end - e.offset - done));
      auto ga = pread_full(job.in_fd, std::span(a).first(len), e.offset + done);
      if (!ga) return ga.error();
      auto gb = pread_full(out_fd, std::span(b).first(len), n.offset + done);
      if (!gb) return gb.error();
      if (ga.value() != len || gb.value() != len || a != b) {
        return mismatch("bytes of entry " + e.name + " differ from the original's");
      }
      done += len;
    }
  }
  if (j != now->entries.size()) return mismatch("output has an extra entry");
  if (files != job.report.kept) return mismatch("output has the wrong number of members");
  const auto comment = [](const ZipLayout& z) {
    return std::vector(z.end.begin() + 22, z.end.end());
  };
  if (comment(orig.value()) != comment(now.value()) || orig->end64.empty() != now->end64.empty()) {
    return mismatch("the end records differ in comment or zip64 form");
  }
  return std::nullopt;
}

}  // namespace residue::detail
