// Distributed scan: rank 0 walks and plans, ranks count the items of cut files, every rank scans
// its share, and results stream to rank 0 in batches while rank 0 scans its own.
//
// Messages, in order: the plan (scatter), the counts of cut ranges (gather), their numbering
// (scatter), then point to point from each rank r > 0 to rank 0: result batches (kTagResults),
// the files its stream saw (kTagSeen), and its statistics (kTagDone), last. MPI keeps the order
// of messages from one sender, so rank 0 sees each rank's results in that rank's stream order.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "residue/dist.hpp"
#include "wire.hpp"

namespace residue::dist {
namespace {

using detail::read_error;
using detail::Reader;
using detail::write_error;
using detail::Writer;
using Clock = std::chrono::steady_clock;

constexpr int kTagResults = 11;
constexpr int kTagSeen = 12;
constexpr int kTagDone = 13;
constexpr std::uint64_t kNoSplit = std::numeric_limits<std::uint64_t>::max();
/// A batch goes to rank 0 when it holds this many bytes, or after kBatchSeconds.
constexpr std::size_t kBatchBytes = std::size_t{1} << 20;
constexpr double kBatchSeconds = 0.5;
/// Per-file weight on top of its bytes (opening, detecting, a catalog row): a file the catalog
/// already has unchanged weighs only this.
constexpr std::uint64_t kFileWeight = 4096;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool skippable(const PriorFile* prior, const FileInfo& f, bool rehash) {
  return prior != nullptr && !rehash && prior->complete && prior->size == f.size &&
         prior->mtime_ns == f.mtime_ns;
}

// --- the plan one rank receives: its slices (with a split id for cut ranges) and its priors.

struct RankPlan {
  std::vector<FileSlice> slices;
  std::vector<ContainerKind> kinds;
  std::vector<std::uint64_t> split_ids;  // kNoSplit for whole slices
  std::unordered_map<std::string, PriorFile> priors;
};

std::vector<std::uint8_t> plan_bytes(std::span<const PlanFile> files,
                                     std::span<const PlannedSlice> slices,
                                     std::span<const std::uint64_t> split_ids,
                                     const std::unordered_map<std::string, PriorFile>& priors) {
  Writer w;
  w.value(static_cast<std::uint64_t>(slices.size()));
  std::vector<const std::string*> with_prior;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const PlannedSlice& p = slices[i];
    const PlanFile& f = files[p.file_index];
    const FileInfo& file = f.walked.file;
    w.string(file.path);
    w.value(file.size);
    w.value(file.mtime_ns);
    w.value(p.whole);
    w.value(p.begin);
    w.value(p.end);
    write_error(w, f.walked.error);
    w.value(f.kind);
    w.value(split_ids[i]);
    // A cut file's ranges may all land here: send its prior once.
    if (priors.contains(file.path) && (i == 0 || slices[i - 1].file_index != p.file_index))
      with_prior.push_back(&file.path);
  }
  w.value(static_cast<std::uint64_t>(with_prior.size()));
  for (const std::string* path : with_prior) {
    const PriorFile& p = priors.at(*path);
    w.string(*path);
    w.string(p.kind);
    w.value(p.size);
    w.value(p.mtime_ns);
    w.value(p.complete);
    w.value(static_cast<std::uint64_t>(p.done_members.size()));
    for (const auto& m : p.done_members) w.string(m);
  }
  return w.take();
}

RankPlan read_plan(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  RankPlan plan;
  const auto n = r.value<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    FileSlice s;
    s.file.path = r.string();
    s.file.size = r.value<std::uint64_t>();
    s.file.mtime_ns = r.value<std::int64_t>();
    s.whole = r.value<bool>();
    s.begin = r.value<std::uint64_t>();
    s.end = r.value<std::uint64_t>();
    s.error = read_error(r);
    plan.kinds.push_back(r.value<ContainerKind>());
    plan.split_ids.push_back(r.value<std::uint64_t>());
    plan.slices.push_back(std::move(s));
  }
  const auto priors = r.value<std::uint64_t>();
  for (std::uint64_t i = 0; i < priors; ++i) {
    std::string path = r.string();
    PriorFile p;
    p.kind = r.string();
    p.size = r.value<std::uint64_t>();
    p.mtime_ns = r.value<std::int64_t>();
    p.complete = r.value<bool>();
    const auto members = r.value<std::uint64_t>();
    for (std::uint64_t m = 0; m < members; ++m) p.done_members.insert(r.string());
    plan.priors.emplace(std::move(path), std::move(p));
  }
  r.finish();
  return plan;
}

// --- statistics a rank reports when done.

struct RankDone {
  ScanStats stats;
  RankScan info;
};

std::vector<std::uint8_t> done_bytes(const ScanStats& s, const RankScan& info) {
  Writer w;
  w.value(s.items);
  w.value(s.ok);
  w.value(s.failed);
  w.value(s.bytes);
  w.value(static_cast<std::uint64_t>(s.errors_by_code.size()));
  for (const auto& [code, count] : s.errors_by_code) {
    w.value(code);
    w.value(count);
  }
  w.value(s.stream);
  w.value(s.seconds);
  w.value(info);
  return w.take();
}

RankDone read_done(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  RankDone d;
  d.stats.items = r.value<std::uint64_t>();
  d.stats.ok = r.value<std::uint64_t>();
  d.stats.failed = r.value<std::uint64_t>();
  d.stats.bytes = r.value<std::uint64_t>();
  const auto codes = r.value<std::uint64_t>();
  for (std::uint64_t i = 0; i < codes; ++i) {
    const auto code = r.value<ErrorCode>();
    d.stats.errors_by_code[code] = r.value<std::uint64_t>();
  }
  d.stats.stream = r.value<StreamCounts>();
  d.stats.seconds = r.value<double>();
  d.info = r.value<RankScan>();
  r.finish();
  return d;
}

void add_stats(ScanStats& into, const ScanStats& s) {
  into.items += s.items;
  into.ok += s.ok;
  into.failed += s.failed;
  into.bytes += s.bytes;
  for (const auto& [code, count] : s.errors_by_code) into.errors_by_code[code] += count;
  into.stream.files += s.stream.files;
  into.stream.containers += s.stream.containers;
  into.stream.skipped_unchanged += s.stream.skipped_unchanged;
  into.stream.skipped_not_items += s.stream.skipped_not_items;
  into.stream.skipped_done += s.stream.skipped_done;
  into.stream.bytes_consumed += s.stream.bytes_consumed;
}

/// Rank 0: walks the roots and plans the scan.
struct RootPlan {
  std::vector<std::vector<std::uint8_t>> messages;  // one per rank
  std::vector<PlannedSlice> cut;                    // every cut range, by split id
  std::vector<std::string> cut_path;                // its file's path
  std::vector<int> cut_rank;                        // the rank holding each
  std::vector<std::uint64_t> weights;               // per rank
  std::vector<std::uint64_t> slices;                // per rank
  std::unordered_set<std::uint64_t> whole_files;    // cut files scanned whole (a count failed)
};

RootPlan make_plan(const ScanJob& job, int ranks) {
  // Rank 0 holds one entry per file while planning (the walk's list, moved into the plan's
  // input, the plan, and the messages); only the messages outlive make_plan, until the scatter.
  std::vector<WalkedFile> walked = list_files(job.roots, job.options.source.walk);
  std::vector<PlanFile> files;
  files.reserve(walked.size());
  for (WalkedFile& entry : walked) {
    PlanFile f;
    f.walked = std::move(entry);
    const WalkedFile& w = f.walked;
    if (w.error) {
      f.weight = 1;
      files.push_back(std::move(f));
      continue;
    }
    const auto prior = job.priors.find(w.file.path);
    const bool skip =
        skippable(prior == job.priors.end() ? nullptr : &prior->second, w.file, job.rehash);
    f.weight = (skip ? 0 : w.file.size) + kFileWeight;
    // Only files big enough to be cut are opened here; the ranks detect the rest.
    if (!skip && ranks > 1 && w.file.size >= job.split_min_bytes) {
      if (auto kind = detect_kind(w.file.path);
          kind && (kind.value() == ContainerKind::tsv || kind.value() == ContainerKind::recordio)) {
        f.splittable = true;
        f.kind = kind.value();
      }
    }
    files.push_back(std::move(f));
  }
  std::vector<WalkedFile>().swap(walked);
  auto plan = plan_scan(files, ranks);
  RootPlan out;
  out.weights.assign(static_cast<std::size_t>(ranks), 0);
  out.slices.assign(static_cast<std::size_t>(ranks), 0);
  for (int r = 0; r < ranks; ++r) {
    const std::vector<PlannedSlice>& mine = plan[static_cast<std::size_t>(r)];
    std::vector<std::uint64_t> ids;
    for (const PlannedSlice& p : mine) {
      if (p.whole) {
        ids.push_back(kNoSplit);
        out.weights[static_cast<std::size_t>(r)] += files[p.file_index].weight;
      } else {
        ids.push_back(out.cut.size());
        out.cut.push_back(p);
        out.cut_path.push_back(files[p.file_index].walked.file.path);
        out.cut_rank.push_back(r);
        out.weights[static_cast<std::size_t>(r)] += p.end - p.begin;
      }
    }
    out.slices[static_cast<std::size_t>(r)] = mine.size();
    out.messages.push_back(plan_bytes(files, mine, ids, job.priors));
    std::vector<PlannedSlice>().swap(plan[static_cast<std::size_t>(r)]);
  }
  return out;
}

/// What rank 0 tells each rank about its cut ranges, in its order.
enum class CutAction : std::uint8_t { keep = 0, whole = 1, drop = 2 };

/// Rank 0: numbers every cut range from the gathered counts. A file whose ranges could not all
/// be counted is scanned whole by its first range's rank (which then reports the file's error
/// exactly as a single-process scan does), and its other ranges are dropped.
std::vector<std::vector<std::uint8_t>> number_ranges(
    RootPlan& plan, const std::vector<std::vector<std::uint8_t>>& counts, int ranks) {
  const std::size_t n = plan.cut.size();
  std::vector<std::uint64_t> count(n, 0);
  std::vector<bool> ok(n, false);
  for (const auto& bytes : counts) {
    Reader r(bytes);
    while (!r.done()) {
      const auto id = r.value<std::uint64_t>();
      const bool good = r.value<bool>();
      const auto c = r.value<std::uint64_t>();
      if (id >= n) RESIDUE_THROW("dist: bad range id in counts");
      ok[id] = good;
      count[id] = c;
    }
  }
  std::vector<CutAction> action(n, CutAction::keep);
  std::vector<std::uint64_t> before(n, 0);
  for (std::size_t i = 0; i < n;) {
    // Ranges of one file are consecutive split ids (piece 0 first).
    std::size_t j = i;
    bool all_ok = true;
    for (; j < n && plan.cut[j].file_index == plan.cut[i].file_index; ++j)
      if (!ok[j]) all_ok = false;
    std::uint64_t sum = 0;
    if (!all_ok) plan.whole_files.insert(plan.cut[i].file_index);
    for (std::size_t k = i; k < j; ++k) {
      action[k] = all_ok ? CutAction::keep : (k == i ? CutAction::whole : CutAction::drop);
      before[k] = all_ok ? sum : 0;
      sum += count[k];
    }
    i = j;
  }
  std::vector<Writer> per_rank(static_cast<std::size_t>(ranks));
  for (std::size_t k = 0; k < n; ++k) {
    Writer& w = per_rank[static_cast<std::size_t>(plan.cut_rank[k])];
    w.value(action[k]);
    w.value(before[k]);
  }
  std::vector<std::vector<std::uint8_t>> out;
  for (auto& w : per_rank) out.push_back(w.take());
  return out;
}

/// Rank 0's side of the result stream: forwards results to the sink, keeping one begin and one
/// end marker per cut file, and collects every rank's statistics.
class Collector {
 public:
  Collector(const Session& s, const std::function<void(const ScanResult&)>& sink,
            const ScanOptions& options, std::unordered_map<std::string, std::uint32_t> ranges)
      : s_(s),
        sink_(sink),
        options_(options),
        ranges_(std::move(ranges)),
        consumed_(static_cast<std::size_t>(s.size()), 0),
        waiting_(s.size() - 1) {}

  void forward(const ScanResult& r) {
    if (r.event != SourceEvent::item) {
      if (const auto it = ranges_.find(r.file.path); it != ranges_.end()) {
        if (r.event == SourceEvent::container_begin) {
          if (!begun_.insert(r.file.path).second) return;
        } else if (--it->second > 0) {
          return;
        }
      }
    } else {
      ++live_.items;
      live_.bytes += r.record.size;
      r.record.ok() ? ++live_.ok : ++live_.failed;
    }
    const auto t = Clock::now();
    sink_(r);
    sink_seconds_ += since(t);
    progress(false);
  }

  void own_progress(const ScanStats& s) {
    consumed_[0] = s.stream.bytes_consumed;
    progress(false);
  }

  /// Handles the messages that have arrived (or waits for one when `wait`).
  void drain(bool wait) {
    while (waiting_ > 0) {
      auto m = receive(s_, wait);
      if (!m) return;
      received_ += m->bytes.size();
      const auto src = static_cast<std::size_t>(m->source);
      if (m->tag == kTagResults) {
        Reader r(m->bytes);
        consumed_[src] = r.value<std::uint64_t>();
        for (const ScanResult& res : scan_results_from_bytes(
                 std::span<const std::uint8_t>(m->bytes).subspan(sizeof(std::uint64_t))))
          forward(res);
      } else if (m->tag == kTagSeen) {
        Reader r(m->bytes);
        while (!r.done()) seen_.insert(r.string());
      } else if (m->tag == kTagDone) {
        done_.emplace_back(m->source, read_done(m->bytes));
        --waiting_;
      } else {
        RESIDUE_THROW("dist: unexpected message tag " + std::to_string(m->tag) + " from rank " +
                      std::to_string(m->source));
      }
      wait = false;  // after one awaited message, take only what is already there
      if (waiting_ == 0) return;
    }
  }

  void finish() {
    while (waiting_ > 0) drain(true);
    progress(true);
  }

  std::unordered_set<std::string>& seen() { return seen_; }
  std::vector<std::pair<int, RankDone>>& done() { return done_; }
  [[nodiscard]] std::uint64_t received() const { return received_; }
  [[nodiscard]] double sink_seconds() const { return sink_seconds_; }

 private:
  void progress(bool force) {
    if (!options_.progress) return;
    const auto now = Clock::now();
    if (!force && now - last_progress_ < options_.progress_interval) return;
    last_progress_ = now;
    ScanStats s = live_;
    for (const auto c : consumed_) s.stream.bytes_consumed += c;
    s.seconds = since(started_);
    options_.progress(s);
  }

  const Session& s_;
  const std::function<void(const ScanResult&)>& sink_;
  const ScanOptions& options_;
  std::unordered_map<std::string, std::uint32_t> ranges_;  // cut file -> ranges not yet ended
  std::unordered_set<std::string> begun_;
  std::unordered_set<std::string> seen_;
  std::vector<std::uint64_t> consumed_;
  std::vector<std::pair<int, RankDone>> done_;
  ScanStats live_;
  int waiting_;
  std::uint64_t received_ = 0;
  double sink_seconds_ = 0;
  Clock::time_point started_ = Clock::now(), last_progress_{};
};

std::uint64_t env_u64(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? 0 : std::strtoull(v, nullptr, 10);
}

}  // namespace

namespace {

/// Steps 1 and 2: rank 0 plans (into `plan`); every rank receives its share, counts the items
/// of its cut ranges, and gets them numbered. Returns this rank's share, ready to scan.
RankPlan share_work(const Session& s, const ScanJob& job, RootPlan& plan, RankScan& me,
                    ScanOutcome& out) {
  const bool root = s.rank() == 0;
  const auto started = Clock::now();
  if (root) {
    plan = make_plan(job, s.size());
    out.plan_seconds = since(started);
    for (std::size_t r = 1; r < plan.messages.size(); ++r) me.bytes_sent += plan.messages[r].size();
  }
  RankPlan mine;
  {
    const std::vector<std::uint8_t> my_plan_bytes = scatter(s, plan.messages);
    std::vector<std::vector<std::uint8_t>>().swap(plan.messages);
    if (!root) me.bytes_received += my_plan_bytes.size();
    mine = read_plan(my_plan_bytes);
  }

  const auto count_started = Clock::now();
  Writer counts;
  for (std::size_t i = 0; i < mine.slices.size(); ++i) {
    if (mine.split_ids[i] == kNoSplit) continue;
    const FileSlice& f = mine.slices[i];
    const auto c = count_slice_items(f.file, mine.kinds[i], f.begin, f.end);
    counts.value(mine.split_ids[i]);
    counts.value(c.has_value());
    counts.value(c ? c.value() : std::uint64_t{0});
  }
  me.count_seconds = since(count_started);
  const std::vector<std::uint8_t> count_bytes = counts.take();
  if (!root) me.bytes_sent += count_bytes.size();
  const auto all_counts = gather(s, count_bytes);
  for (std::size_t r = 1; r < all_counts.size(); ++r) me.bytes_received += all_counts[r].size();
  std::vector<std::vector<std::uint8_t>> numbering;
  if (root) {
    numbering = number_ranges(plan, all_counts, s.size());
    for (std::size_t r = 1; r < numbering.size(); ++r) me.bytes_sent += numbering[r].size();
  }
  const std::vector<std::uint8_t> my_numbers = scatter(s, numbering);
  if (!root) me.bytes_received += my_numbers.size();

  Reader r(my_numbers);
  std::vector<FileSlice> kept;
  for (std::size_t i = 0; i < mine.slices.size(); ++i) {
    FileSlice& f = mine.slices[i];
    if (mine.split_ids[i] != kNoSplit) {
      const auto action = r.value<CutAction>();
      f.items_before = r.value<std::uint64_t>();
      if (action == CutAction::drop) continue;
      if (action == CutAction::whole) {
        FileInfo file = std::move(f.file);
        f = FileSlice{};
        f.file = std::move(file);
      }
    }
    kept.push_back(std::move(f));
  }
  r.finish();
  mine.slices = std::move(kept);
  return mine;
}

/// Step 3 on rank 0: scan its own share while forwarding every rank's results to the sink.
void scan_root(const Session& s, const ScanJob& job, const RootPlan& plan, RankPlan mine,
               RankScan me, const std::function<void(const ScanResult&)>& sink, ScanOutcome& out) {
  Incremental incremental(std::move(mine.priors), job.rehash);
  ScanOptions options = job.options;
  options.threads = s.threads(job.options.threads);
  incremental.install(options.source);

  std::unordered_map<std::string, std::uint32_t> ranges;
  for (std::size_t k = 0; k < plan.cut.size(); ++k) {
    // A file scanned whole after a failed count has a single begin and end: not tracked.
    if (plan.whole_files.contains(plan.cut[k].file_index)) continue;
    ranges[plan.cut_path[k]] = plan.cut[k].pieces;
    ++out.cut_ranges;
  }
  out.cut_files = ranges.size();
  out.uncut_files = plan.whole_files.size();
  Collector collector(s, sink, job.options, std::move(ranges));
  options.progress = [&](const ScanStats& st) { collector.own_progress(st); };
  const ScanStats own = scan_slices(std::move(mine.slices), options, [&](const ScanResult& r) {
    collector.forward(r);
    collector.drain(false);
  });
  collector.finish();

  me.items = own.items;
  me.seconds = own.seconds;
  me.bytes_received += collector.received();
  out.stats = own;
  out.seen = incremental.take_seen();
  out.seen.merge(collector.seen());
  out.ranks.assign(static_cast<std::size_t>(s.size()), RankScan{});
  out.ranks[0] = me;
  for (auto& [rank, d] : collector.done()) {
    add_stats(out.stats, d.stats);
    out.ranks[static_cast<std::size_t>(rank)] = d.info;
  }
  for (std::size_t r = 0; r < out.ranks.size(); ++r) {
    out.ranks[r].planned_weight = plan.weights[r];
    out.ranks[r].slices = plan.slices[r];
  }
  out.sink_seconds = collector.sink_seconds();
}

/// Step 3 on the other ranks: scan the share and stream the results to rank 0 in batches, then
/// the files seen, then the statistics.
void scan_worker(const Session& s, const ScanJob& job, RankPlan mine, RankScan me,
                 ScanOutcome& out) {
  Incremental incremental(std::move(mine.priors), job.rehash);
  ScanOptions options = job.options;
  options.threads = s.threads(job.options.threads);
  incremental.install(options.source);

  // Test hook (see dist.hpp): this rank dies after sending its first K results.
  const char* die_rank = std::getenv("RESIDUE_DIST_TEST_DIE_RANK");
  const std::uint64_t die_after = die_rank != nullptr && std::to_string(s.rank()) == die_rank
                                      ? env_u64("RESIDUE_DIST_TEST_DIE_AFTER")
                                      : 0;
  std::uint64_t consumed = 0, in_batch = 0, sent_results = 0;
  std::vector<std::uint8_t> batch;
  auto last_send = Clock::now();
  const auto start_batch = [&] {
    batch.clear();
    Writer(batch).value(consumed);
  };
  const auto flush = [&] {
    if (in_batch == 0) return;
    std::memcpy(batch.data(), &consumed, sizeof consumed);
    send(s, batch, 0, kTagResults);
    me.bytes_sent += batch.size();
    sent_results += in_batch;
    in_batch = 0;
    last_send = Clock::now();
    start_batch();
    if (die_after > 0 && sent_results >= die_after) _exit(3);
  };
  start_batch();
  options.progress = [&](const ScanStats& st) { consumed = st.stream.bytes_consumed; };
  const ScanStats own = scan_slices(std::move(mine.slices), options, [&](const ScanResult& r) {
    append_bytes(batch, r);
    ++in_batch;
    if (batch.size() >= kBatchBytes || since(last_send) >= kBatchSeconds ||
        (die_after > 0 && sent_results + in_batch >= die_after))
      flush();
  });
  flush();
  // The files this rank's stream saw, in messages of at most kBatchBytes.
  {
    std::vector<std::uint8_t> seen;
    for (const auto& path : incremental.seen()) {
      Writer(seen).string(path);
      if (seen.size() >= kBatchBytes) {
        send(s, seen, 0, kTagSeen);
        me.bytes_sent += seen.size();
        seen.clear();
      }
    }
    if (!seen.empty()) {
      send(s, seen, 0, kTagSeen);
      me.bytes_sent += seen.size();
    }
  }
  me.items = own.items;
  me.seconds = own.seconds;
  const auto done = done_bytes(own, me);
  send(s, done, 0, kTagDone);
  out.stats = own;
}

}  // namespace

ScanOutcome scan(const Session& s, const ScanJob& job,
                 const std::function<void(const ScanResult&)>& sink) {
  const auto started = Clock::now();
  ScanOutcome out;
  RankScan me;
  RootPlan plan;
  RankPlan mine = share_work(s, job, plan, me, out);
  me.slices = mine.slices.size();
  for (const FileSlice& f : mine.slices)
    me.planned_weight += f.whole ? f.file.size : f.end - f.begin;
  if (s.rank() == 0) {
    scan_root(s, job, plan, std::move(mine), me, sink, out);
    out.stats.seconds = since(started);
  } else {
    scan_worker(s, job, std::move(mine), me, out);
  }
  return out;
}

}  // namespace residue::dist
