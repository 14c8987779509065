// The scan pipeline: serial source (ItemStream) -> parallel bytes + hash -> serial in-order sink.
// The stream is pulled inside the first filter, so walking and container streaming advance only
// as fast as tokens come back: memory stays bounded by threads * tokens_per_thread items.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "residue/scan.hpp"

namespace residue {
namespace {

ScanResult process(SourceItem&& item, const ScanOptions& options) {
  ScanResult out;
  out.event = item.event;
  out.file = item.file;  // item_bytes still needs item.file to read a plain file
  out.container_kind = item.container_kind;
  if (item.event != SourceEvent::item) {
    out.record.locator = std::move(item.container);
    return out;
  }
  if (item.error) {
    out.record.locator = std::move(item.locator);
    out.record.error = std::move(item.error);
    return out;
  }
  auto bytes = item_bytes(item, options.source.max_item_bytes);
  if (!bytes) {
    out.record.locator = std::move(item.locator);
    out.record.error = bytes.error();
    return out;
  }
  if (options.bank) {
    BankImage b = hash_bank_image(std::move(item.locator), bytes.value(), options.decode);
    out.record = std::move(b.record);
    out.bank_hashes = std::move(b.hashes);
  } else {
    out.record = hash_bytes(std::move(item.locator), bytes.value(), options.decode,
                            options.dihedral, options.strips);
  }
  if (options.thumbnail_side > 0 && out.record.ok()) {
    // A thumbnail that cannot be made only costs the report its picture.
    if (auto t = make_thumbnail(bytes.value(), options.thumbnail_side, options.decode))
      out.thumbnail = std::move(t.value());
  }
  return out;
}

void check_options(const ScanOptions& options) {
  RESIDUE_THROW_IF_NOT(options.threads >= 0, "threads must be >= 0");
  RESIDUE_THROW_IF_NOT(options.tokens_per_thread >= 1, "tokens_per_thread must be >= 1");
}

/// The stream's options: the scan's, with the image filters filled in.
SourceOptions stream_options(const ScanOptions& options) {
  SourceOptions source = options.source;
  if (options.only_images && !source.is_item) source.is_item = looks_like_image;
  if (!source.is_member_item) source.is_member_item = looks_like_image;
  return source;
}

ScanStats run_pipeline(ItemStream& stream, const ScanOptions& options,
                       const std::function<void(const ScanResult&)>& sink) {
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const auto tokens = static_cast<std::size_t>(threads * options.tokens_per_thread);

  ScanStats stats;
  // The source filter and the sink run on different threads: the sink reads the stream's counters
  // through this snapshot, never the stream itself.
  std::mutex counts_mutex;
  StreamCounts counts_snapshot;
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  // More threads than cores is the user's call (slow disks); raise TBB's worker limit for the
  // run instead of letting TBB ignore the request with a warning on stderr.
  std::optional<tbb::global_control> allow;
  if (threads > tbb::info::default_concurrency())
    allow.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  // An exception from the sink is caught in its filter and the source stops pulling: letting it
  // cancel the pipeline would leak the items in flight (oneTBB 2021.8 does not destroy them; ASan
  // caught it). The rest drain without reaching the sink, then the exception is rethrown.
  std::exception_ptr sink_error;
  std::atomic<bool> stopping{false};
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, SourceItem>(tbb::filter_mode::serial_in_order,
                                           [&](tbb::flow_control& fc) -> SourceItem {
                                             if (stopping.load(std::memory_order_acquire)) {
                                               fc.stop();
                                               return {};
                                             }
                                             auto item = stream.next();
                                             {
                                               std::lock_guard lock(counts_mutex);
                                               counts_snapshot = stream.counts();
                                             }
                                             if (!item) {
                                               fc.stop();
                                               return {};
                                             }
                                             return std::move(*item);
                                           }) &
            tbb::make_filter<SourceItem, ScanResult>(
                tbb::filter_mode::parallel,
                [&](SourceItem item) -> ScanResult { return process(std::move(item), options); }) &
            tbb::make_filter<ScanResult, void>(
                tbb::filter_mode::serial_in_order, [&](const ScanResult& r) {
                  if (sink_error) return;
                  if (r.event == SourceEvent::item) {
                    ++stats.items;
                    stats.bytes += r.record.size;
                    if (r.record.ok()) {
                      ++stats.ok;
                    } else {
                      ++stats.failed;
                      ++stats.errors_by_code[r.record.error->code];
                    }
                  }
                  try {
                    sink(r);
                  } catch (...) {
                    sink_error = std::current_exception();
                    stopping.store(true, std::memory_order_release);
                    return;
                  }
                  if (options.progress) {
                    const auto now = std::chrono::steady_clock::now();
                    if (now - last_progress >= options.progress_interval) {
                      last_progress = now;
                      {
                        std::lock_guard lock(counts_mutex);
                        stats.stream = counts_snapshot;
                      }
                      stats.seconds = elapsed();
                      options.progress(stats);
                    }
                  }
                }));
  });
  if (sink_error) std::rethrow_exception(sink_error);
  stats.stream = stream.counts();
  stats.seconds = elapsed();
  if (options.progress) options.progress(stats);
  return stats;
}

}  // namespace

ScanStats scan_roots(std::span<const std::string> roots, const ScanOptions& options,
                     const std::function<void(const ScanResult&)>& sink) {
  check_options(options);
  ItemStream stream(std::vector<std::string>(roots.begin(), roots.end()), stream_options(options));
  return run_pipeline(stream, options, sink);
}

ScanStats scan_slices(std::vector<FileSlice> slices, const ScanOptions& options,
                      const std::function<void(const ScanResult&)>& sink) {
  check_options(options);
  ItemStream stream(std::move(slices), stream_options(options));
  return run_pipeline(stream, options, sink);
}

}  // namespace residue
