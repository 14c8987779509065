// residue/core.hpp: the vocabulary every layer shares.
//
// Hash values (Hash64 for pHash, Hash256 for PDQ, Sha256 for exact copies) with their text forms
// and Hamming distance; ErrorCode + Outcome<T>, the channel for per-item failures (a corrupt file
// is data, not an exception); residue::Error for run-level failures (bad flags, unusable catalog),
// thrown from setup code and caught only in tools/; and LumaImage / LumaView, the float luminance
// raster that decode/ produces and hash/ consumes.
// Everything here is a value type: thread-compatible, no globals, no I/O. Uses only std.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace residue {

// ---------------------------------------------------------------------------------------------
// Hash values

/// 64-bit perceptual hash (pHash). Bit k is (bits >> k) & 1.
struct Hash64 {
  std::uint64_t bits = 0;
  friend auto operator<=>(const Hash64&, const Hash64&) = default;
};

/// 256-bit PDQ hash. Bit k (0..255) is bit k % 64 of words[k / 64]; this is the reference's bit k
/// (bit k % 16 of its 16-bit word k / 16), so the 256-bit integer sum(bit_k * 2^k) is the same.
struct Hash256 {
  std::array<std::uint64_t, 4> words{};
  friend auto operator<=>(const Hash256&, const Hash256&) = default;

  [[nodiscard]] bool bit(int k) const noexcept {
    return (words[static_cast<std::size_t>(k >> 6)] >> (k & 63)) & 1U;
  }
  void set_bit(int k) noexcept {
    words[static_cast<std::size_t>(k >> 6)] |= std::uint64_t{1} << (k & 63);
  }
  [[nodiscard]] int popcount() const noexcept {
    int n = 0;
    for (auto w : words) n += std::popcount(w);
    return n;
  }
};

/// SHA-256 digest of an item's bytes.
struct Sha256 {
  std::array<std::uint8_t, 32> bytes{};
  friend auto operator<=>(const Sha256&, const Sha256&) = default;
};

[[nodiscard]] inline int hamming(Hash64 a, Hash64 b) noexcept {
  return std::popcount(a.bits ^ b.bits);
}
[[nodiscard]] inline int hamming(const Hash256& a, const Hash256& b) noexcept {
  int n = 0;
  for (std::size_t i = 0; i < 4; ++i) n += std::popcount(a.words[i] ^ b.words[i]);
  return n;
}

/// Text forms. PDQ: 64 lowercase hex digits, most significant first (the reference's format:
/// its 16-bit word 15 first). pHash: 16 hex digits. SHA-256: 64 hex digits in byte order.
/// Parsers accept upper or lower case and nothing else (no prefix, no spaces); they return
/// std::nullopt for any other input.
[[nodiscard]] std::string to_hex(const Hash256& h);
[[nodiscard]] std::string to_hex(Hash64 h);
[[nodiscard]] std::string to_hex(const Sha256& h);
[[nodiscard]] std::optional<Hash256> parse_hash256(std::string_view hex);
[[nodiscard]] std::optional<Hash64> parse_hash64(std::string_view hex);
[[nodiscard]] std::optional<Sha256> parse_sha256(std::string_view hex);

/// The 8 dihedral transforms, in the PDQ reference's order. Rotations are counter-clockwise.
enum class Dihedral : std::uint8_t {
  original = 0,
  rot90 = 1,  // rotate 90 degrees counter-clockwise
  rot180 = 2,
  rot270 = 3,       // rotate 90 degrees clockwise
  flip_x = 4,       // top and bottom swap (vertical flip)
  flip_y = 5,       // left and right swap (mirror)
  flip_plus1 = 6,   // transpose
  flip_minus1 = 7,  // anti-transpose
};
inline constexpr int kDihedralCount = 8;
[[nodiscard]] std::string_view to_string(Dihedral d) noexcept;

// ---------------------------------------------------------------------------------------------
// Matching vocabulary (records that cross the catalog, match, report and tool layers)

/// How a copy matched a withdrawn item. Stable names: reports and purge read them.
enum class Tier : std::uint8_t {
  exact = 0,   // same SHA-256 of the bytes
  near = 1,    // PDQ and pHash of the same variant both within their thresholds, qualities gated
  review = 2,  // only one of the two hashes agrees, or a quality is below the gate: for people
};
[[nodiscard]] std::string_view to_string(Tier t) noexcept;  // "exact", "near", "review"
[[nodiscard]] std::optional<Tier> parse_tier(std::string_view name) noexcept;
/// A comma-separated list of tier names ("exact,near"). Throws residue::Error naming an unknown
/// tier.
[[nodiscard]] std::vector<Tier> parse_tiers(std::string_view list);

/// Which view of a withdrawn image a bank hash was computed from. Banks hash the whole image
/// under the 8 dihedral transforms, and centre crops of it, so that cropped copies still match.
/// PDQ moves about 7 bits per 1% of centre crop (measured on the corpus: a 5% crop is 32-38 bits
/// from the whole image), so crop views are 5% apart: any centre crop from 100% to 70% is within
/// 2.5% of one. The numbers are stored in banks: append, never renumber.
enum class BankView : std::uint8_t {
  full = 0,
  crop90 = 1,
  crop80 = 2,
  crop70 = 3,
  crop95 = 4,
  crop85 = 5,
  crop75 = 6,
  // Strip views (top, bottom, left, right 55%): matched only with the same strip of a copy, for
  // copies with an overlay in one edge band (see hash.hpp, strip_hashes).
  strip_top = 7,
  strip_bottom = 8,
  strip_left = 9,
  strip_right = 10,
};
inline constexpr int kBankViewCount = 11;
inline constexpr int kStripViewCount = 4;
[[nodiscard]] constexpr bool is_strip(BankView v) noexcept {
  return v >= BankView::strip_top && v <= BankView::strip_right;
}
[[nodiscard]] std::string_view to_string(BankView v) noexcept;  // "full", "crop95", "top55"...
/// The kept fraction of each side for a crop view (1.0, 0.95, ..., 0.7; 1.0 for strips).
[[nodiscard]] double crop_fraction(BankView v) noexcept;

/// One hash of a bank entry: a view of the withdrawn image under a dihedral transform. Entries
/// imported from hash lists carry only what the list had (has_pdq / has_phash).
struct BankHash {
  std::int64_t entry_id = 0;
  BankView view = BankView::full;
  Dihedral dihedral = Dihedral::original;
  bool has_pdq = false;
  bool has_phash = false;
  std::int16_t quality = 0;
  Hash256 pdq{};
  Hash64 phash{};
};
/// The SHA-256 of a bank entry's bytes (or an imported SHA-256), for the exact tier.
struct BankDigest {
  std::int64_t entry_id = 0;
  Sha256 sha256;
};
/// Everything matching needs from a bank, loaded in bulk.
struct BankHashes {
  std::vector<BankHash> hashes;
  std::vector<BankDigest> digests;
};

// ---------------------------------------------------------------------------------------------
// Errors

/// Why one item could not be processed. Stable numeric values: they are stored in catalogs.
enum class ErrorCode : std::uint16_t {
  ok = 0,
  io_error = 1,       // open/read failed (permission denied, vanished, I/O error)
  empty = 2,          // zero bytes
  unsupported = 3,    // not an image format residue decodes (magic bytes unknown)
  truncated = 4,      // header or data ends early
  corrupt = 5,        // the format is known but the data is invalid
  too_large = 6,      // dimensions above the pixel cap (pixel bomb), refused before allocation
  out_of_memory = 7,  // allocation failed while decoding
  too_small = 8,      // decoded but below the minimum hashable size (informative only)
  internal = 9,       // an unexpected exception was caught at a layer boundary
};
[[nodiscard]] std::string_view to_string(ErrorCode c) noexcept;

/// A per-item error: what, and a human message naming the cause (not the path: the caller that
/// knows the locator prints it once).
struct ItemError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

/// Expected-like result for per-item work. Member names follow std::expected so that switching to
/// it under C++23 is mechanical.
template <class T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Outcome(ItemError error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  Outcome(ErrorCode code, std::string message) : v_(ItemError{code, std::move(message)}) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  [[nodiscard]] const ItemError& error() const& { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, ItemError> v_;
};

/// A run-level failure: bad configuration, an unusable output, a broken environment. Thrown from
/// setup code; tools/ catches it in main and exits with status 2.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, const char* file, int line);
  [[nodiscard]] const char* file() const noexcept { return file_; }
  [[nodiscard]] int line() const noexcept { return line_; }

 private:
  const char* file_;
  int line_;
};

#define RESIDUE_THROW(msg) throw ::residue::Error((msg), __FILE__, __LINE__)
#define RESIDUE_THROW_IF_NOT(cond, msg) \
  do {                                  \
    if (!(cond)) RESIDUE_THROW(msg);    \
  } while (0)

[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;
/// Broken invariants are bugs: abort with the expression and place.
#define RESIDUE_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::residue::assert_fail(#cond, __FILE__, __LINE__))

// ---------------------------------------------------------------------------------------------
// Images and the record of one item

enum class ImageFormat : std::uint8_t { unknown = 0, jpeg, png, webp, bmp, tiff, gif, pnm };
[[nodiscard]] std::string_view to_string(ImageFormat f) noexcept;

/// Everything residue learns about one item: where it is, what it is, its hashes, or why it failed.
/// Crosses layers (scan produces it, report and catalog consume it).
struct ItemRecord {
  std::string locator;     // the item's path (or container locator), as the user's roots spell it
  std::uint64_t size = 0;  // bytes
  ImageFormat format = ImageFormat::unknown;
  int width = 0;  // oriented full-resolution size (what a viewer shows)
  int height = 0;
  int scale_denom = 1;  // decode scale used for hashing (1 = full resolution)
  Sha256 sha256;
  bool has_sha256 = false;
  Hash256 pdq;
  int quality = 0;
  Hash64 phash;
  bool has_dihedral = false;
  std::array<Hash256, kDihedralCount> pdq_dihedral{};
  std::array<Hash64, kDihedralCount> phash_dihedral{};
  /// Hashes of the picture inside a uniform border, when the image has one (scan tries both).
  bool has_trim = false;
  Hash256 pdq_trim;
  int quality_trim = 0;
  Hash64 phash_trim;
  /// Hashes of the four half views (top, bottom, left, right 55%), when requested (scan).
  bool has_strips = false;
  std::array<Hash256, kStripViewCount> strip_pdq{};
  std::array<int, kStripViewCount> strip_quality{};
  std::array<Hash64, kStripViewCount> strip_phash{};
  std::optional<ItemError> error;  // set when the item could not be hashed
  [[nodiscard]] bool ok() const noexcept { return !error.has_value(); }
};

// ---------------------------------------------------------------------------------------------
// Process setup

/// For executables (the tool, benchmarks), called once at start: keeps large freed blocks in the
/// heap instead of returning them to the kernel. Per-image buffers (decoded rasters, blur buffers)
/// are often above glibc's mmap and trim thresholds, and otherwise every image maps fresh pages
/// and pays a page fault per 4 KiB: measured, that tripled PDQ's time on 250x250 images. A
/// library never calls this itself: it changes the whole process's allocator.
void tune_allocator_for_batch_work() noexcept;

/// The current UTC time as ISO 8601 ("2026-11-26T23:31:13Z", what catalogs, journals and reports
/// record), or `compact` for file names ("20261126T233113Z").
[[nodiscard]] std::string utc_timestamp(bool compact = false);

// ---------------------------------------------------------------------------------------------
// Rasters

/// Borrowed row-major float luminance raster, values nominally 0..255. `stride` is in floats.
struct LumaView {
  const float* data = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;
  [[nodiscard]] const float* row(int y) const noexcept {
    return data + static_cast<std::ptrdiff_t>(y) * stride;
  }
};

/// Owned row-major float luminance raster (stride == width).
struct LumaImage {
  int width = 0;
  int height = 0;
  std::vector<float> pixels;

  LumaImage() = default;
  LumaImage(int w, int h)
      : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h)) {}
  [[nodiscard]] LumaView view() const noexcept { return {pixels.data(), width, height, width}; }
  [[nodiscard]] float& at(int x, int y) noexcept {
    return pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                  static_cast<std::size_t>(x)];
  }
};

}  // namespace residue
