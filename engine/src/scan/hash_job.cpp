// The hash pipeline: serial source (walk) -> parallel read + decode + hash -> serial in-order sink.
// The walk runs on its own as the pipeline's first filter, one entry per token, so memory is
// bounded by tokens in flight, not by the size of the tree. No exception leaves a filter: the
// middle filter converts anything unexpected into an `internal` error record.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "residue/hash.hpp"
#include "residue/scan.hpp"

namespace residue {

ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes, const DecodeOptions& decode,
                      bool dihedral) noexcept {
  ItemRecord r;
  try {
    r.locator = std::move(locator);
    r.size = bytes.size();
    if (bytes.empty()) {
      r.error = ItemError{ErrorCode::empty, "file is empty (0 bytes)"};
      return r;
    }
    r.sha256 = sha256(bytes);
    r.has_sha256 = true;
    auto decoded = decode_luma(bytes, decode);
    if (!decoded) {
      r.format = sniff_format(bytes);
      r.error = decoded.error();
      return r;
    }
    const DecodedImage& img = decoded.value();
    r.format = img.info.format;
    r.width = img.info.width();
    r.height = img.info.height();
    r.scale_denom = img.scale_denom;
    const ImageHashes h = hash_image(img.luma.view(), HashOptions{.dihedral = dihedral, .exact = decode.exact});
    r.pdq = h.pdq.hash;
    r.quality = h.pdq.quality;
    r.phash = h.phash;
    r.has_dihedral = h.has_dihedral;
    r.pdq_dihedral = h.pdq_dihedral;
    r.phash_dihedral = h.phash_dihedral;
  } catch (const std::bad_alloc&) {
    r.error = ItemError{ErrorCode::out_of_memory, "out of memory while hashing"};
  } catch (const std::exception& e) {
    r.error = ItemError{ErrorCode::internal, std::string("unexpected error while hashing: ") + e.what()};
  } catch (...) {
    r.error = ItemError{ErrorCode::internal, "unexpected error while hashing"};
  }
  return r;
}

namespace {

// The walk produces entries on a helper thread; the pipeline's serial source pops them. A bounded
// queue keeps memory flat however large the tree is.
class EntryQueue {
 public:
  explicit EntryQueue(std::size_t capacity) : capacity_(capacity) {}
  void push(WalkEntry e) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || cancelled_; });
    if (cancelled_) return;
    q_.push_back(std::move(e));
    not_empty_.notify_one();
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    not_full_.notify_all();
  }
  std::optional<WalkEntry> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    WalkEntry e = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return e;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<WalkEntry> q_;
  std::size_t capacity_;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace

HashJobStats hash_roots(std::span<const std::string> roots, const HashJobOptions& options,
                        const std::function<void(const ItemRecord&)>& sink) {
  RESIDUE_THROW_IF_NOT(options.threads >= 0, "threads must be >= 0");
  RESIDUE_THROW_IF_NOT(options.tokens_per_thread >= 1, "tokens_per_thread must be >= 1");
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const auto tokens = static_cast<std::size_t>(threads * options.tokens_per_thread);

  EntryQueue queue(tokens * 4);
  std::exception_ptr walk_error;
  std::thread walker([&] {
    try {
      walk_roots(roots, options.walk, [&](WalkEntry e) { queue.push(std::move(e)); });
    } catch (...) {
      walk_error = std::current_exception();
    }
    queue.close();
  });

  HashJobStats stats;
  tbb::task_arena arena(threads);
  try {
    arena.execute([&] {
      tbb::parallel_pipeline(
          tokens,
          tbb::make_filter<void, WalkEntry>(tbb::filter_mode::serial_in_order,
                                            [&](tbb::flow_control& fc) -> WalkEntry {
                                              auto e = queue.pop();
                                              if (!e) {
                                                fc.stop();
                                                return {};
                                              }
                                              return std::move(*e);
                                            }) &
              tbb::make_filter<WalkEntry, ItemRecord>(
                  tbb::filter_mode::parallel,
                  [&](WalkEntry e) -> ItemRecord {
                    if (e.error) {
                      ItemRecord r;
                      r.locator = std::move(e.path);
                      r.error = std::move(e.error);
                      return r;
                    }
                    auto bytes = read_file_bytes(e.path);
                    if (!bytes) {
                      ItemRecord r;
                      r.locator = std::move(e.path);
                      r.error = bytes.error();
                      return r;
                    }
                    return hash_bytes(std::move(e.path), bytes.value(), options.decode, options.dihedral);
                  }) &
              tbb::make_filter<ItemRecord, void>(tbb::filter_mode::serial_in_order, [&](const ItemRecord& r) {
                ++stats.items;
                stats.bytes += r.size;
                if (r.ok()) {
                  ++stats.ok;
                } else {
                  ++stats.failed;
                  ++stats.errors_by_code[r.error->code];
                }
                sink(r);
              }));
    });
  } catch (...) {
    queue.cancel();
    walker.join();
    throw;
  }
  walker.join();
  if (walk_error) std::rethrow_exception(walk_error);
  return stats;
}

}  // namespace residue
