#include "source_helpers.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <cstring>
#include <random>
#include <stdexcept>

#include "support/fixtures.hpp"

namespace residue::test {

namespace fs = std::filesystem;

Bytes fake_jpeg(std::size_t size, std::uint32_t seed) {
  Bytes b(size);
  std::mt19937 rng(seed);
  for (auto& v : b) v = static_cast<std::uint8_t>(rng());
  const std::uint8_t magic[4] = {0xFF, 0xD8, 0xFF, 0xE0};
  std::memcpy(b.data(), magic, std::min<std::size_t>(4, size));
  return b;
}

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

void write_text(const fs::path& p, std::string_view text) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  write_bytes(p, bytes_of(text));
}

void write_archive(const fs::path& p, const std::vector<Member>& members, const std::string& format,
                   const std::string& filter, bool utf8_locale) {
  locale_t loc = static_cast<locale_t>(nullptr);
  locale_t previous = static_cast<locale_t>(nullptr);
  if (utf8_locale) {
    loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (loc == static_cast<locale_t>(nullptr)) throw std::runtime_error("no C.UTF-8 locale");
    previous = ::uselocale(loc);
  }
  struct archive* a = archive_write_new();
  if (archive_write_set_format_by_name(a, format.c_str()) != ARCHIVE_OK ||
      (!filter.empty() && archive_write_add_filter_by_name(a, filter.c_str()) != ARCHIVE_OK) ||
      archive_write_open_filename(a, p.c_str()) != ARCHIVE_OK) {
    const std::string why = archive_error_string(a);
    archive_write_free(a);
    throw std::runtime_error("cannot write " + p.string() + ": " + why);
  }
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, m.name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(m.bytes.size()));
    archive_entry_set_filetype(e, m.name.ends_with("/") ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (archive_write_header(a, e) < ARCHIVE_WARN) {
      throw std::runtime_error(std::string("archive header: ") + archive_error_string(a));
    }
    if (!m.bytes.empty()) archive_write_data(a, m.bytes.data(), m.bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  if (utf8_locale) {
    ::uselocale(previous);
    ::freelocale(loc);
  }
}

std::string base64(const Bytes& b) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    const std::uint32_t g = std::uint32_t{b[i]} << 16 | std::uint32_t{b[i + 1]} << 8 | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(g >> s) & 63];
  }
  if (i + 1 == b.size()) {
    const std::uint32_t g = std::uint32_t{b[i]} << 16;
    out += kAlphabet[(g >> 18) & 63];
    out += kAlphabet[(g >> 12) & 63];
    out += "==";
  } else if (i + 2 == b.size()) {
    const std::uint32_t g = std::uint32_t{b[i]} << 16 | std::uint32_t{b[i + 1]} << 8;
    out += kAlphabet[(g >> 18) & 63];
    out += kAlphabet[(g >> 12) & 63];
    out += kAlphabet[(g >> 6) & 63];
    out += '=';
  }
  return out;
}

namespace {
void put32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put64(Bytes& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void putf(Bytes& b, float f) {
  std::uint32_t v = 0;
  std::memcpy(&v, &f, 4);
  put32(b, v);
}
constexpr std::uint32_t kMagic = 0xced7230a;
void put_part(Bytes& rec, std::uint32_t cflag, const std::uint8_t* data, std::size_t n) {
  put32(rec, kMagic);
  put32(rec, cflag << 29 | static_cast<std::uint32_t>(n));
  rec.insert(rec.end(), data, data + n);
}
}  // namespace

Bytes recordio_data(float label, std::uint64_t id, const std::vector<float>& labels,
                    const Bytes& image) {
  Bytes d;
  put32(d, static_cast<std::uint32_t>(labels.size()));
  putf(d, label);
  put64(d, id);
  put64(d, 0);
  for (float l : labels) putf(d, l);
  d.insert(d.end(), image.begin(), image.end());
  return d;
}

std::uint64_t append_record(Bytes& rec, const Bytes& data) {
  const std::uint64_t start = rec.size();
  const std::size_t len = data.size();
  const std::size_t lower = len / 4 * 4;
  std::size_t dptr = 0;
  for (std::size_t i = 0; i < lower; i += 4) {
    std::uint32_t v = 0;
    std::memcpy(&v, data.data() + i, 4);
    if (v == kMagic) {
      put_part(rec, dptr == 0 ? 1U : 2U, data.data() + dptr, i - dptr);
      dptr = i + 4;
    }
  }
  put_part(rec, dptr != 0 ? 3U : 0U, data.data() + dptr, len - dptr);
  while (rec.size() % 4 != 0) rec.push_back(0);
  return start;
}

std::vector<std::string> Collected::summary() const {
  std::vector<std::string> out;
  for (const auto& it : items) {
    if (it.event == SourceEvent::container_begin) {
      out.push_back("begin " + it.container);
    } else if (it.event == SourceEvent::container_end) {
      out.push_back("end " + it.container);
    } else if (it.error) {
      out.push_back("error " + it.locator + " " + std::string(to_string(it.error->code)) + ": " +
                    it.error->message);
    } else {
      out.push_back("item " + it.locator);
    }
  }
  return out;
}

std::vector<const SourceItem*> Collected::good() const {
  std::vector<const SourceItem*> out;
  for (const auto& it : items) {
    if (it.event == SourceEvent::item && !it.error) out.push_back(&it);
  }
  return out;
}

std::vector<const SourceItem*> Collected::errors() const {
  std::vector<const SourceItem*> out;
  for (const auto& it : items) {
    if (it.error) out.push_back(&it);
  }
  return out;
}

Collected collect(std::vector<std::string> roots, SourceOptions options) {
  ItemStream stream(std::move(roots), std::move(options));
  Collected c;
  while (auto it = stream.next()) c.items.push_back(std::move(*it));
  c.counts = stream.counts();
  return c;
}

bool sniff_image(std::string_view, std::span<const std::uint8_t> head) {
  const auto starts = [&](std::initializer_list<std::uint8_t> m) {
    return head.size() >= m.size() && std::equal(m.begin(), m.end(), head.begin());
  };
  return starts({0xFF, 0xD8, 0xFF}) || starts({0x89, 'P', 'N', 'G'});
}

}  // namespace residue::test
