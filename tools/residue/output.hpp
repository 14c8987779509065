// Writing to stdout/stderr from the tool: whole lines, flushed in batches; a closed pipe
// (`residue hash dir | head`) ends the program quietly with status 0, as ripgrep and cat do.
#pragma once

#include <string_view>

namespace residue::tool {

/// Thrown when stdout is a closed pipe; main() turns it into a quiet exit 0.
struct BrokenPipe {};

void install_signal_policy();  // ignore SIGPIPE so writes return EPIPE instead of killing us
void out_line(std::string_view line);    // stdout, buffered
void out_bytes(std::string_view bytes);  // stdout, buffered, as is
void err_line(std::string_view line);    // stderr, unbuffered, prefixed with "residue: "
void flush_out();

}  // namespace residue::tool
