// The purge journal (see journal.hpp).
#include "journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "fs_ops.hpp"
#include "residue/core.hpp"

namespace residue::detail {

JournalWriter JournalWriter::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      RESIDUE_THROW(path +
                    ": the journal already exists (to finish that purge: residue purge "
                    "--resume " +
                    path + ")");
    RESIDUE_THROW("cannot create journal " + path + ": " + std::strerror(errno));
  }
  try {
    fsync_dir(parent_of(path));
  } catch (const FsError& e) {
    ::close(fd);
    RESIDUE_THROW(e.message);
  }
  return JournalWriter(path, fd);
}

JournalWriter JournalWriter::reopen(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) RESIDUE_THROW("cannot open journal " + path + ": " + std::strerror(errno));
  JournalWriter w(path, fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) RESIDUE_THROW("cannot stat journal " + path);
  // Cut a torn last line (a record whose write a power cut interrupted) before appending.
  std::string tail;
  if (st.st_size > 0) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    tail = ss.str();
    if (!tail.empty() && tail.back() != '\n') {
      const auto keep = tail.rfind('\n');
      const off_t len = keep == std::string::npos ? 0 : static_cast<off_t>(keep + 1);
      if (::ftruncate(fd, len) != 0 || ::fsync(fd) != 0)
        RESIDUE_THROW("cannot repair journal " + path + ": " + std::strerror(errno));
    }
  }
  return w;
}

JournalWriter::JournalWriter(JournalWriter&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalWriter::append(const std::string& record) {
  crash_point();
  const std::string line = record + "\n";
  for (std::size_t off = 0; off < line.size();) {
    const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      RESIDUE_THROW("cannot write journal " + path_ + ": " + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0)
    RESIDUE_THROW("cannot fsync journal " + path_ + ": " + std::strerror(errno));
}

JournalAction* JournalState::find(std::int64_t id) {
  for (auto& a : actions)
    if (a.id == id) return &a;
  return nullptr;
}

JournalState read_journal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RESIDUE_THROW("cannot read journal " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  JournalState st;
  bool have_header = false;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) break;  // torn last line: the step it announced never began
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    auto j = parse_json(line);
    if (!j || j->type != Json::Type::object)
      RESIDUE_THROW(path + ":" + std::to_string(line_no) + ": not a purge journal record");
    const std::string rec = j->str("rec");
    if (!have_header) {
      if (rec != "header" || j->str("tool") != "residue purge")
        RESIDUE_THROW(path + ": not a residue purge journal (no header)");
      if (j->num("version") != kJournalVersion)
        RESIDUE_THROW(path + ": journal version " + std::to_string(j->num("version")) +
                      " is not supported");
      st.header = std::move(*j);
      have_header = true;
      continue;
    }
    const std::int64_t id = j->num("id");
    if (rec == "intent") {
      st.actions.push_back(JournalAction{.id = id, .intent = std::move(*j)});
      continue;
    }
    JournalAction* a = st.find(id);
    if (rec == "planned") {
      st.planned = true;
    } else if (rec == "catalog") {
      st.catalog_marked = true;
    } else if (rec == "staged" && a) {
      a->staged = std::move(*j);
    } else if (rec == "done" && a) {
      a->done = true;
      st.catalog_marked = false;
    } else if (rec == "skipped" && a) {
      a->skipped = true;
    } else if (rec == "restored" && a) {
      a->restored = true;
      st.catalog_marked = false;
    }
  }
  if (!have_header) RESIDUE_THROW(path + ": not a residue purge journal (empty)");
  return st;
}

}  // namespace residue::detail
