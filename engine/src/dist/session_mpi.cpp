// Session, broadcast and gather over MPI_COMM_WORLD. The only file that includes <mpi.h>.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
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
  // FUNNELED: only the main thread calls MPI; TBB's workers never do.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
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

int Session::threads(int requested) const noexcept {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_size_));
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

}  // namespace residue::dist
