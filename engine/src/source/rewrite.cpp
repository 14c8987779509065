// rewrite_container: the frame shared by every kind. Opens the original read-only and checks its
// kind by content, creates the outputs with O_EXCL (removed again on every failure path,
// exceptions included), runs the kind's writer, fsyncs, then verifies twice:
//   1. raw: the kind's own parser re-reads the output and compares it, unit by unit and byte for
//      byte, with the original's kept units (headers and framing included);
//   2. scanner: the readers ItemStream uses (libarchive for tar/zip, the TSV and RecordIO
//      readers) stream the original and the output side by side; every kept item must come out
//      of the output with the same name (renumbered for TSV lines and records) and bytes, and no
//      removed item may. This also catches a disagreement between the rewrite's parser and the
//      scanner's about what a member is called.
// Finally the original must be the same file, unchanged, as when the rewrite began.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <new>

#include "archive.hpp"
#include "container.hpp"
#include "detect.hpp"
#include "file_io.hpp"
#include "recordio.hpp"
#include "residue/source.hpp"
#include "rewrite.hpp"
#include "rewrite_io.hpp"
#include "tsv.hpp"

namespace residue {
namespace detail {

std::string RewriteJob::locator(std::string_view member) const {
  std::string out = path;
  out += kMemberSeparator;
  out += member;
  return out;
}

bool RewriteJob::take(const std::string& loc) {
  if (remove->count(loc) == 0) return false;
  found.insert(loc);
  return true;
}

ItemError mismatch(const std::string& what) {
  return {ErrorCode::internal, "verification failed: " + what};
}

std::optional<ItemError> CompareSink::write(std::span<const std::uint8_t> bytes) {
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), kChunk);
    buf_.resize(n);
    const std::uint64_t at = reader_.position();
    auto got = reader_.read(buf_);
    if (!got) return got.error();
    if (got.value() != n)
      return mismatch("output ends early, at offset " + std::to_string(at + got.value()));
    if (std::memcmp(buf_.data(), bytes.data(), n) != 0) {
      const auto diff = std::mismatch(buf_.begin(), buf_.end(), bytes.begin()).first - buf_.begin();
      return mismatch("output differs from the original's kept bytes at offset " +
                      std::to_string(at + static_cast<std::uint64_t>(diff)));
    }
    bytes = bytes.subspan(n);
  }
  return std::nullopt;
}

}  // namespace detail

namespace {

// Items above this are compared by the raw check only (the scanner reports them as too_large on
// both sides); it bounds the memory of the scanner check to two items of this size.
constexpr std::uint64_t kScannerItemBytes = std::uint64_t{256} << 20;

std::string idx_path_for(const std::string& rec_path) {
  // MXNet's convention, as read_item applies it (locator.cpp): train.rec beside train.idx.
  if (rec_path.ends_with(".rec")) return rec_path.substr(0, rec_path.size() - 4) + ".idx";
  return rec_path + ".idx";
}

FileInfo file_info(const std::string& path, const struct stat& st) {
  return {.path = path,
          .size = static_cast<std::uint64_t>(st.st_size),
          .mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                      static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
}

std::unique_ptr<detail::ContainerItems> scanner_items(detail::ContainerContext ctx,
                                                      const detail::RewriteJob& job) {
  switch (ctx.kind) {
    case ContainerKind::tar:
    case ContainerKind::zip:
      return detail::make_archive_items(std::move(ctx));
    case ContainerKind::tsv:
      return detail::make_tsv_items(std::move(ctx), job.tsv);
    case ContainerKind::recordio:
      return detail::make_recordio_items(std::move(ctx));
    case ContainerKind::none:
      break;
  }
  return nullptr;
}

/// "line/17" -> "line/15" when two earlier lines were removed (records alike); names of
/// tar/zip members are unchanged.
std::string renumbered(std::string_view suffix, const detail::RewriteJob& job, ContainerKind kind) {
  if (kind != ContainerKind::tsv && kind != ContainerKind::recordio) return std::string(suffix);
  const auto slash = suffix.find('/');
  std::uint64_t n = 0;
  std::from_chars(suffix.data() + slash + 1, suffix.data() + suffix.size(), n);
  const auto& gone = job.removed_positions;
  const auto before =
      static_cast<std::uint64_t>(std::lower_bound(gone.begin(), gone.end(), n) - gone.begin());
  return std::string(suffix.substr(0, slash + 1)) + std::to_string(n - before);
}

std::optional<ItemError> verify_with_scanner(const detail::RewriteJob& job, ContainerKind kind,
                                             const FileInfo& original, const FileInfo& output,
                                             int out_fd) {
  SourceOptions options;
  options.max_item_bytes = kScannerItemBytes;
  StreamCounts orig_counts, out_counts;
  auto orig = scanner_items({.options = &options,
                             .counts = &orig_counts,
                             .file = original,
                             .kind = kind,
                             .fd = job.in_fd},
                            job);
  auto now = scanner_items(
      {.options = &options, .counts = &out_counts, .file = output, .kind = kind, .fd = out_fd},
      job);
  const std::size_t orig_prefix = original.path.size() + detail::kMemberSeparator.size();
  const std::size_t out_prefix = output.path.size() + detail::kMemberSeparator.size();
  const bool named = kind == ContainerKind::tar || kind == ContainerKind::zip;
  std::uint64_t items = 0;
  for (;;) {
    std::optional<SourceItem> a;
    while ((a = orig->next())) {
      if (a->locator == original.path) {  // the original is damaged where our parser saw none
        return a->error.value_or(ItemError{ErrorCode::corrupt, "unreadable"});
      }
      ++items;
      if (job.removed(a->locator)) continue;
      if (named && job.remove->count(a->locator) != 0) {
        return detail::mismatch("the scanner reads member " + a->locator.substr(orig_prefix) +
                                ", asked to be removed, which the rewrite did not find");
      }
      break;
    }
    auto b = now->next();
    if (!a && !b) break;
    if (b && b->locator == output.path) {
      return detail::mismatch("the scanner cannot read the output: " +
                              b->error.value_or(ItemError{}).message);
    }
    if (!b) {
      return detail::mismatch("item " + a->locator.substr(orig_prefix) +
                              " is missing from the output as the scanner reads it");
    }
    if (!a) {
      return detail::mismatch("the scanner reads an extra item " + b->locator.substr(out_prefix) +
                              " in the output");
    }
    const std::string want =
        renumbered(std::string_view(a->locator).substr(orig_prefix), job, kind);
    const std::string got = b->locator.substr(out_prefix);
    if (got != want) {
      return detail::mismatch("the scanner reads " + got + " in the output where " + want +
                              " was expected");
    }
    const bool same = a->error.has_value() == b->error.has_value() &&
                      (!a->error || a->error->code == b->error->code) && a->bytes == b->bytes &&
                      a->text == b->text;
    if (!same) {
      return detail::mismatch("item " + a->locator.substr(orig_prefix) + " (now " + got +
                              ") differs from the original as the scanner reads it");
    }
  }
  // TSV header and blank lines are not scanner items; every member and record is.
  if (kind != ContainerKind::tsv &&
      items + orig_counts.skipped_not_items != job.report.members_before) {
    return detail::mismatch(
        "the scanner reads " + std::to_string(items + orig_counts.skipped_not_items) +
        " items in the original, the rewrite " + std::to_string(job.report.members_before));
  }
  return std::nullopt;
}

Outcome<RewriteReport> rewrite(const std::string& path, ContainerKind kind,
                               const std::unordered_set<std::string>& remove,
                               const std::string& out_path, const std::string& out_idx_path) {
  if (kind == ContainerKind::none) {
    return ItemError{ErrorCode::unsupported, "not a container kind"};
  }
  auto in = detail::open_read(path);
  if (!in) return in.error();
  struct stat st {};
  if (::fstat(in->get(), &st) != 0) return detail::os_error("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode))
    return ItemError{ErrorCode::unsupported, path + " is not a regular file"};
  const FileInfo original = file_info(path, st);
  auto detected = detail::detect_container(in->get());
  if (!detected) return detected.error();
  if (detected->kind != kind) {
    return ItemError{ErrorCode::unsupported, path + " holds a " +
                                                 std::string(to_string(detected->kind)) +
                                                 ", not a " + std::string(to_string(kind))};
  }

  detail::RewriteJob job;
  job.path = path;
  job.in_fd = in->get();
  job.remove = &remove;
  job.tsv = detected->tsv;
  const mode_t mode = st.st_mode & 0777;

  // RecordIO: the .idx beside the original, when there is one, is regenerated.
  detail::UniqueFd idx_in;
  std::optional<detail::OutputFile> idx_out;
  if (kind == ContainerKind::recordio) {
    const std::string idx = idx_path_for(path);
    struct stat idx_st {};
    if (::stat(idx.c_str(), &idx_st) == 0) {
      auto fd = detail::open_read(idx);
      if (!fd) return ItemError{ErrorCode::io_error, idx + ": " + fd.error().message};
      idx_in = std::move(fd.value());
    } else if (errno != ENOENT) {
      return detail::os_error("cannot stat " + idx, errno);
    }
  }
  auto out = detail::OutputFile::create(out_path, mode);
  if (!out) return out.error();
  if (idx_in.valid()) {
    const std::string idx_path = out_idx_path.empty() ? idx_path_for(out_path) : out_idx_path;
    auto created = detail::OutputFile::create(idx_path, mode);
    if (!created) return created.error();
    idx_out.emplace(std::move(created.value()));
  }

  std::optional<ItemError> err;
  switch (kind) {
    case ContainerKind::tar:
      err = detail::write_tar(job, out.value());
      break;
    case ContainerKind::zip:
      err = detail::write_zip(job, out.value());
      break;
    case ContainerKind::tsv:
      err = detail::write_tsv(job, out.value());
      break;
    case ContainerKind::recordio:
      err = detail::write_recordio(job, out.value(), idx_in.valid() ? idx_in.get() : -1,
                                   idx_out ? &*idx_out : nullptr);
      break;
    case ContainerKind::none:
      break;
  }
  if (err) return *err;
  if (auto e = out->finish()) return *e;
  if (idx_out) {
    if (auto e = idx_out->finish()) return *e;
  }

  auto check = detail::open_read(out_path);
  if (!check) return check.error();
  auto idx_check =
      idx_out ? detail::open_read(idx_out->path()) : Outcome<detail::UniqueFd>(detail::UniqueFd());
  if (!idx_check) return idx_check.error();
  struct stat out_st {};
  if (::fstat(check->get(), &out_st) != 0)
    return detail::os_error("cannot stat " + out_path, errno);
  switch (kind) {
    case ContainerKind::tar:
      err = detail::verify_tar(job, check->get());
      break;
    case ContainerKind::zip:
      err = detail::verify_zip(job, check->get());
      break;
    case ContainerKind::tsv:
      err = detail::verify_tsv(job, check->get());
      break;
    case ContainerKind::recordio:
      err = detail::verify_recordio(job, check->get(), idx_in.valid() ? idx_in.get() : -1,
                                    idx_check->valid() ? idx_check->get() : -1);
      break;
    case ContainerKind::none:
      break;
  }
  if (err) return *err;
  if (auto e =
          verify_with_scanner(job, kind, original, file_info(out_path, out_st), check->get())) {
    return *e;
  }

  // The original must still be the file we read, unchanged (not rewritten or replaced).
  struct stat now {
  }, named{};
  if (::fstat(in->get(), &now) != 0 || ::stat(path.c_str(), &named) != 0 ||
      now.st_ino != named.st_ino || now.st_dev != named.st_dev ||
      file_info(path, now).size != original.size ||
      file_info(path, now).mtime_ns != original.mtime_ns) {
    return ItemError{ErrorCode::io_error, path + " changed during the rewrite"};
  }

  RewriteReport report = std::move(job.report);
  report.bytes_before = original.size;
  report.bytes_after = static_cast<std::uint64_t>(out_st.st_size);
  report.removed_locators.assign(job.found.begin(), job.found.end());
  for (const auto& loc : remove) {
    if (job.found.count(loc) == 0) report.missing_locators.push_back(loc);
  }
  std::sort(report.missing_locators.begin(), report.missing_locators.end());
  out->keep();
  if (idx_out) idx_out->keep();
  return report;
}

}  // namespace

Outcome<RewriteReport> rewrite_container(const std::string& path, ContainerKind kind,
                                         const std::unordered_set<std::string>& remove,
                                         const std::string& out_path,
                                         const std::string& out_idx_path) {
  // Outputs are unlinked by their destructors on every early return and while unwinding.
  try {
    return rewrite(path, kind, remove, out_path, out_idx_path);
  } catch (const std::bad_alloc&) {
    return ItemError{ErrorCode::out_of_memory, "out of memory while rewriting " + path};
  } catch (const std::exception& e) {
    return ItemError{ErrorCode::internal, std::string("rewriting ") + path + ": " + e.what()};
  }
}

}  // namespace residue
