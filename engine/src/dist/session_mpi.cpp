// Session and the messages between ranks (broadcast, gather, scatter, send, receive) over
// MPI_COMM_WORLD. The only file that includes <mpi.h>.
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "residue/dist.hpp"

namespace residue::dist {
namespace {

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) RESIDUE_THROW(std::string("MPI: ") + what + " failed");
}

}  // namespace

bool available() noexcept {
  return true;
}

Session::Session() {
  int provided = 0;
  // SERIALIZED: a distributed scan sends and receives from its pipeline's sink, which runs on one
  // thread at a time, but not always the main one.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    RESIDUE_THROW("this MPI library does not provide MPI_THREAD_SERIALIZED");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  if (local != MPI_COMM_NULL) {
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
}

Session::~Session() {
  MPI_Finalize();
}

namespace {

int machine_cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// The cores this process may run on (its CPU affinity), or 0 when unknown.
int allowed_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

}  // namespace

int Session::threads(int requested) const noexcept {
  if (requested > 0) return requested;
  const int cores = machine_cores();
  // A rank bound to some cores (mpirun binds each rank to a core by default with one or two
  // ranks; srun --cpus-per-task) runs one thread per core it may use; an unbound rank shares the
  // machine with the other ranks on it.
  const int allowed = allowed_cores();
  if (allowed > 0 && allowed < cores) return allowed;
  return std::max(1, cores / std::max(1, local_size_));
}

std::optional<std::string> Session::binding_warning() const {
  const int cores = machine_cores(), allowed = allowed_cores();
  const int share = std::max(1, cores / std::max(1, local_size_));
  if (allowed <= 0 || allowed >= share) return std::nullopt;
  return "rank " + std::to_string(rank_) + " may run on " + std::to_string(allowed) + " of this " +
         "machine's " + std::to_string(cores) +
         " cores (mpirun binds ranks to cores by default); " +
         "run mpirun with --bind-to none so that each rank gets its share of the machine (" +
         std::to_string(share) + (share == 1 ? " thread)" : " threads)");
}

void Session::abort(const std::string& message, int exit_code) const {
  std::fprintf(stderr, "residue: rank %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void Session::test_die_hook() const {
  const char* v = std::getenv("RESIDUE_DIST_TEST_DIE_RANK");
  if (v != nullptr && std::to_string(rank_) == v) _exit(3);
}

void broadcast(const Session& s, std::vector<std::uint8_t>& bytes, int root) {
  std::uint64_t n = bytes.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  if (s.rank() != root) bytes.resize(static_cast<std::size_t>(n));
  constexpr std::uint64_t kChunk = 1u << 30;  // MPI counts are int
  for (std::uint64_t at = 0; at < n; at += kChunk) {
    const int len = static_cast<int>(std::min(kChunk, n - at));
    check(MPI_Bcast(bytes.data() + at, len, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

std::vector<std::vector<std::uint8_t>> gather(const Session& s, std::span<const std::uint8_t> bytes,
                                              int root) {
  const bool is_root = s.rank() == root;
  const auto ranks = static_cast<std::size_t>(s.size());
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    RESIDUE_THROW("dist: a rank's result is over 2 GiB; use more ranks");
  const int mine = static_cast<int>(bytes.size());
  std::vector<int> counts(is_root ? ranks : 0), displs(is_root ? ranks : 0);
  check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD),
        "MPI_Gather");
  std::vector<std::uint8_t> all;
  if (is_root) {
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      displs[r] = static_cast<int>(total);
      total += static_cast<std::uint64_t>(counts[r]);
      if (total > static_cast<std::uint64_t>(INT_MAX))
        RESIDUE_THROW("dist: gathered results are over 2 GiB; use fewer, larger messages");
    }
    all.resize(static_cast<std::size_t>(total));
  }
  check(MPI_Gatherv(bytes.data(), mine, MPI_BYTE, all.data(), counts.data(), displs.data(),
                    MPI_BYTE, root, MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::vector<std::uint8_t>> out;
  if (!is_root) return out;
  out.reserve(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    const auto b = all.begin() + displs[r];
    out.emplace_back(b, b + counts[r]);
  }
  return out;
}

void send(const Session&, std::span<const std::uint8_t> bytes, int dest, int tag) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    RESIDUE_THROW("dist: a message is over 2 GiB");
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD),
        "MPI_Send");
}

std::optional<Message> receive(const Session&, bool wait) {
  MPI_Status status{};
  if (wait) {
    check(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status), "MPI_Probe");
  } else {
    int flag = 0;
    check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag == 0) return std::nullopt;
  }
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  Message m;
  m.source = status.MPI_SOURCE;
  m.tag = status.MPI_TAG;
  m.bytes.resize(static_cast<std::size_t>(count));
  check(
      MPI_Recv(m.bytes.data(), count, MPI_BYTE, m.source, m.tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
      "MPI_Recv");
  return m;
}

std::vector<std::uint8_t> scatter(const Session& s,
                                  const std::vector<std::vector<std::uint8_t>>& parts, int root) {
  const bool is_root = s.rank() == root;
  const auto ranks = static_cast<std::size_t>(s.size());
  std::vector<int> counts(ranks), displs(ranks);
  std::vector<std::uint8_t> all;
  if (is_root) {
    RESIDUE_THROW_IF_NOT(parts.size() == ranks, "dist: scatter needs one part per rank");
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      displs[r] = static_cast<int>(total);
      counts[r] = static_cast<int>(parts[r].size());
      total += parts[r].size();
      if (total > static_cast<std::uint64_t>(INT_MAX))
        RESIDUE_THROW("dist: a scan plan is over 2 GiB; scan fewer roots per job");
    }
    all.reserve(static_cast<std::size_t>(total));
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  }
  int mine = 0;
  check(MPI_Scatter(counts.data(), 1, MPI_INT, &mine, 1, MPI_INT, root, MPI_COMM_WORLD),
        "MPI_Scatter");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(mine));
  check(MPI_Scatterv(all.data(), counts.data(), displs.data(), MPI_BYTE, out.data(), mine, MPI_BYTE,
                     root, MPI_COMM_WORLD),
        "MPI_Scatterv");
  return out;
}

}  // namespace residue::dist
