// Built when CMake found no MPI: every entry point says so (the tools map it to exit 2).
#include <cstdio>
#include <cstdlib>

#include "residue/dist.hpp"

namespace residue::dist {

bool available() noexcept {
  return false;
}

Session::Session() {
  RESIDUE_THROW("this residue was built without MPI");
}
Session::~Session() = default;
int Session::threads(int requested) const noexcept {
  return requested;
}
std::optional<std::string> Session::binding_warning() const {
  return std::nullopt;
}
void Session::abort(const std::string& message, int exit_code) const {
  std::fprintf(stderr, "residue: %s\n", message.c_str());
  std::exit(exit_code);
}
void Session::test_die_hook() const {}

void broadcast(const Session&, std::vector<std::uint8_t>&, int) {}

std::vector<std::vector<std::uint8_t>> gather(const Session&, std::span<const std::uint8_t> bytes,
                                              int) {
  return {std::vector<std::uint8_t>(bytes.begin(), bytes.end())};
}

void send(const Session&, std::span<const std::uint8_t>, int, int) {
  RESIDUE_THROW("this residue was built without MPI");
}

std::optional<Message> receive(const Session&, bool) {
  RESIDUE_THROW("this residue was built without MPI");
}

std::vector<std::uint8_t> scatter(const Session&,
                                  const std::vector<std::vector<std::uint8_t>>& parts, int) {
  return parts.empty() ? std::vector<std::uint8_t>{} : parts.front();
}

}  // namespace residue::dist
