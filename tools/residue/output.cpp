#include "output.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string>

namespace residue::tool {
namespace {

std::string& out_buffer() {
  static std::string buffer;  // the tool is single-threaded at its edges (sinks are serial)
  return buffer;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE && fd == STDOUT_FILENO) throw BrokenPipe{};
      return;  // stderr gone, or another write error: nothing more useful to do
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void install_signal_policy() {
  std::signal(SIGPIPE, SIG_IGN);
}

void out_line(std::string_view line) {
  auto& b = out_buffer();
  b.append(line);
  b.push_back('\n');
  if (b.size() >= (1U << 16)) flush_out();
}

void out_bytes(std::string_view bytes) {
  auto& b = out_buffer();
  b.append(bytes);
  if (b.size() >= (1U << 16)) flush_out();
}

void flush_out() {
  auto& b = out_buffer();
  std::string pending;
  pending.swap(b);
  write_all(STDOUT_FILENO, pending);
}

void err_line(std::string_view line) {
  std::string s = "residue: ";
  s.append(line);
  s.push_back('\n');
  write_all(STDERR_FILENO, s);
}

}  // namespace residue::tool
