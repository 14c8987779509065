// Carrying out, rolling back and undoing one journaled action (see actions.hpp). Every decision
// after a crash is taken from the journal's records and the SHA-256 of what is on disk now:
//   file       original intact -> move (or unlink) it; original gone and the quarantine copy
//              verifies -> done; original changed -> rolled back (nothing touched).
//   container  not staged: original intact -> rewrite (again); else rolled back.
//              staged: original already replaced by the new bytes -> finish the .idx rename;
//              original intact and the fsync'd temp verifies -> rename; temp lost -> rewrite.
#include "actions.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "fs_ops.hpp"
#include "residue/source.hpp"

namespace residue::detail {
namespace {

const std::vector<Json>& items_of(const Json& intent) {
  static const std::vector<Json> none;
  const Json* v = intent.get("items");
  return v ? v->items : none;
}

std::string suffix_of(const std::string& locator, const std::string& file) {
  return locator.substr(file.size() + 2);  // after "file!/"
}

ContainerKind kind_of(const std::string& k) {
  if (k == "tar") return ContainerKind::tar;
  if (k == "zip") return ContainerKind::zip;
  if (k == "tsv") return ContainerKind::tsv;
  if (k == "recordio") return ContainerKind::recordio;
  return ContainerKind::none;
}

ActionResult roll_back(ActionContext& ctx, JournalAction& a, RefuseReason why,
                       const std::string& detail) {
  ctx.journal.append(JsonLine()
                         .add("rec", "skipped")
                         .add("id", a.id)
                         .add("reason", std::string(to_string(why)))
                         .add("detail", detail)
                         .str());
  a.skipped = true;
  for (const Json& it : items_of(a.intent))
    ctx.summary.skipped.push_back(Refusal{it.str("locator"), why, detail});
  ++ctx.summary.actions_rolled_back;
  return ActionResult::rolled_back;
}

ActionResult left_unfinished(ActionContext& ctx, const JournalAction& a, const std::string& why) {
  for (const Json& it : items_of(a.intent))
    ctx.summary.skipped.push_back(Refusal{it.str("locator"), RefuseReason::failed,
                                          why + "; left for `residue purge --resume`"});
  return ActionResult::unfinished;
}

// Manifest lines of one action, written once (a resume after a crash between the manifest and
// the done record finds them there).
void write_manifest(ActionContext& ctx, const JournalAction& a) {
  if (ctx.manifest_path.empty()) return;
  {
    std::ifstream in(ctx.manifest_path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = parse_json(line);
      if (j && j->str("journal") == ctx.journal_path && j->num("action") == a.id) return;
    }
  }
  std::string text;
  const bool container = a.intent.str("op") == "container";
  for (const Json& it : items_of(a.intent)) {
    text += JsonLine()
                .add("journal", ctx.journal_path)
                .add("action", a.id)
                .add("locator", it.str("locator"))
                .add("sha256", it.str("sha256"))
                .add("size", it.num("size"))
                .add("tier", it.str("tier"))
                .add("bank_entry", it.str("bank"))
                .add("sample_mate_of", it.str("mate_of"))
                .add("quarantined", container ? it.str("extracted") : a.intent.str("quarantine"))
                .add("container_copy", container ? a.intent.str("quarantine") : "")
                .add("time", utc_timestamp())
                .str() +
            "\n";
  }
  crash_point();
  const int fd = ::open(ctx.manifest_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw FsError{"open " + ctx.manifest_path + ": " + std::strerror(errno), errno};
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  const bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw FsError{"write " + ctx.manifest_path + ": " + std::strerror(err), err};
}

ActionResult finish(ActionContext& ctx, JournalAction& a) {
  write_manifest(ctx, a);
  ctx.journal.append(
      JsonLine().add("rec", "done").add("id", a.id).add("time", utc_timestamp()).str());
  a.done = true;
  auto& k = ctx.summary.removed[a.intent.str("kind")];
  ++k.files;
  for (const Json& it : items_of(a.intent)) {
    ++k.items;
    k.bytes += static_cast<std::uint64_t>(it.num("size"));
  }
  ++ctx.summary.actions_completed;
  return ActionResult::done;
}

// Copies `src` to quarantine `dst` through dst.part (so `dst` is always whole), verified.
void quarantine_copy(const std::string& src, const std::string& dst, const std::string& sha) {
  if (exists_nofollow(dst)) {
    if (sha256_hex_of_file(dst) == sha) return;
    throw FsError{"the quarantine path " + dst + " holds another file", EEXIST};
  }
  make_dirs(parent_of(dst));
  const std::string part = dst + ".part";
  unlink_durable(part);
  copy_file_durable(src, part);
  if (sha256_hex_of_file(part) != sha) {
    unlink_durable(part);
    throw FsError{"the copy of " + src + " in quarantine does not verify", EIO};
  }
  rename_noreplace(part, dst);
}

// Removes what this action put in quarantine (only files that verify as ours).
void remove_quarantine_artefacts(const JournalAction& a) {
  const Json& in = a.intent;
  const auto drop = [](const std::string& p, const std::string& sha) {
    if (p.empty()) return;
    unlink_durable(p + ".part");
    if (exists_nofollow(p) && sha256_hex_of_file(p) == sha) unlink_durable(p);
  };
  if (in.str("op") == "container") {
    drop(in.str("quarantine"), in.str("sha256"));
    drop(in.str("quarantine_idx"), in.str("idx_sha256"));
    for (const Json& it : items_of(in)) drop(it.str("extracted"), it.str("sha256"));
  }
}

ActionResult file_action(ActionContext& ctx, JournalAction& a) {
  const std::string path = a.intent.str("path"), sha = a.intent.str("sha256"),
                    q = a.intent.str("quarantine");
  try {
    if (is_regular_nofollow(path)) {
      if (sha256_hex_of_file(path) != sha)
        return roll_back(ctx, a, RefuseReason::changed, "the file changed since the plan");
      if (q.empty()) {
        unlink_durable(path);
        return finish(ctx, a);
      }
      if (exists_nofollow(q)) {
        if (sha256_hex_of_file(q) != sha)
          return roll_back(ctx, a, RefuseReason::failed,
                           "the quarantine path " + q + " holds another file");
        unlink_durable(path);  // a copy across filesystems got this far
        return finish(ctx, a);
      }
      make_dirs(parent_of(q));
      try {
        rename_noreplace(path, q);
      } catch (const FsError& e) {
        if (e.err != EXDEV) throw;
        quarantine_copy(path, q, sha);
        unlink_durable(path);
      }
      return finish(ctx, a);
    }
    if (exists_nofollow(path))
      return roll_back(ctx, a, RefuseReason::changed, "no longer a regular file");
    if (q.empty() || sha256_hex_of_file(q) == sha) return finish(ctx, a);
    return roll_back(ctx, a, RefuseReason::vanished,
                     "neither in place nor in quarantine: removed by someone else");
  } catch (const FsError& e) {
    try {
      if (is_regular_nofollow(path) && sha256_hex_of_file(path) == sha) {
        if (!q.empty()) {
          unlink_durable(q + ".part");
          if (exists_nofollow(q) && sha256_hex_of_file(q) == sha) unlink_durable(q);
        }
        return roll_back(ctx, a, RefuseReason::failed, e.message);
      }
    } catch (const FsError&) {
    }
    return left_unfinished(ctx, a, e.message);
  }
}

// Writes the removed members into quarantine (one pass over the original container).
void extract_members(const JournalAction& a) {
  const Json& in = a.intent;
  const std::string path = in.str("path"), file = in.str("file");
  std::unordered_map<std::string, const Json*> want;  // absolute locator -> item
  for (const Json& it : items_of(in)) {
    const std::string& dst = it.str("extracted");
    if (exists_nofollow(dst) && sha256_hex_of_file(dst) == it.str("sha256")) continue;
    want.emplace(path + "!/" + suffix_of(it.str("locator"), file), &it);
  }
  if (want.empty()) return;
  ItemStream stream({path}, SourceOptions{});
  while (auto si = stream.next()) {
    if (si->event != SourceEvent::item || si->error) continue;
    const auto w = want.find(si->locator);
    if (w == want.end()) continue;
    auto bytes = item_bytes(*si, std::uint64_t{1} << 32);
    if (!bytes) continue;
    const std::string dst = w->second->str("extracted");
    make_dirs(parent_of(dst));
    unlink_durable(dst);
    write_file_durable(dst, std::string_view(reinterpret_cast<const char*>(bytes.value().data()),
                                             bytes.value().size()));
  }
  for (const Json& it : items_of(in))
    if (sha256_hex_of_file(it.str("extracted")) != it.str("sha256"))
      throw FsError{"could not extract " + it.str("locator") + " into quarantine", EIO};
}

ActionResult container_action(ActionContext& ctx, JournalAction& a) {
  const Json& in = a.intent;
  const std::string path = in.str("path"), sha = in.str("sha256"), tmp = in.str("tmp"),
                    idx = in.str("idx"), idx_sha = in.str("idx_sha256"),
                    tmp_idx = in.str("tmp_idx"), file = in.str("file");
  const auto clean_temps = [&] {
    unlink_durable(tmp);
    if (!tmp_idx.empty()) unlink_durable(tmp_idx);
  };
  try {
    const std::string cur = sha256_hex_of_file(path);
    if (a.staged) {
      const std::string new_sha = a.staged->str("new_sha256"),
                        new_idx = a.staged->str("new_idx_sha256");
      if (cur == new_sha) {  // the container is replaced; the .idx may not be yet
        if (!idx.empty() && sha256_hex_of_file(idx) != new_idx) {
          if (sha256_hex_of_file(tmp_idx) != new_idx)
            throw FsError{idx + " is neither the old nor the new index", EIO};
          rename_replace(tmp_idx, idx);
        }
        return finish(ctx, a);
      }
      if (cur == sha && sha256_hex_of_file(tmp) == new_sha &&
          (idx.empty() || sha256_hex_of_file(tmp_idx) == new_idx)) {
        rename_replace(tmp, path);
        if (!idx.empty()) rename_replace(tmp_idx, idx);
        return finish(ctx, a);
      }
      // Otherwise the temp is gone (or the original changed): decided below.
    }
    if (cur != sha) {
      clean_temps();
      remove_quarantine_artefacts(a);
      return roll_back(ctx, a,
                       cur.empty() ? RefuseReason::vanished : RefuseReason::container_changed,
                       "the container changed since the plan (someone else wrote it)");
    }
    if (!idx.empty() && sha256_hex_of_file(idx) != idx_sha) {
      clean_temps();
      remove_quarantine_artefacts(a);
      return roll_back(ctx, a, RefuseReason::container_changed, "its .idx changed since the plan");
    }
    clean_temps();
    std::unordered_set<std::string> remove;
    for (const Json& it : items_of(in))
      remove.insert(path + "!/" + suffix_of(it.str("locator"), file));
    crash_point();
    auto rep = rewrite_container(path, kind_of(in.str("kind")), remove, tmp, tmp_idx);
    if (!rep) {
      clean_temps();
      remove_quarantine_artefacts(a);
      return roll_back(ctx, a,
                       rep.error().code == ErrorCode::unsupported ? RefuseReason::unsupported
                                                                  : RefuseReason::failed,
                       std::string(to_string(rep.error().code)) + ": " + rep.error().message);
    }
    if (!rep->missing_locators.empty()) {
      clean_temps();
      remove_quarantine_artefacts(a);
      return roll_back(ctx, a, RefuseReason::vanished,
                       "not in the container: " + rep->missing_locators.front());
    }
    const std::string new_sha = sha256_hex_of_file(tmp);
    const std::string new_idx = idx.empty() ? std::string() : sha256_hex_of_file(tmp_idx);
    if (new_sha.empty() || (!idx.empty() && new_idx.empty()))
      throw FsError{"the rewritten container cannot be read back", EIO};
    if (ctx.quarantine) {
      quarantine_copy(path, in.str("quarantine"), sha);
      if (!idx.empty()) quarantine_copy(idx, in.str("quarantine_idx"), idx_sha);
      extract_members(a);
    }
    ctx.journal.append(JsonLine()
                           .add("rec", "staged")
                           .add("id", a.id)
                           .add("new_sha256", new_sha)
                           .add("new_idx_sha256", new_idx)
                           .add("kept", rep->kept)
                           .add("removed", rep->removed)
                           .str());
    a.staged =
        parse_json(JsonLine().add("new_sha256", new_sha).add("new_idx_sha256", new_idx).str());
    rename_replace(tmp, path);
    if (!idx.empty()) rename_replace(tmp_idx, idx);
    return finish(ctx, a);
  } catch (const FsError& e) {
    try {
      if (sha256_hex_of_file(path) == sha && (idx.empty() || sha256_hex_of_file(idx) == idx_sha)) {
        clean_temps();
        remove_quarantine_artefacts(a);
        return roll_back(ctx, a, RefuseReason::failed, e.message);
      }
    } catch (const FsError&) {
    }
    return left_unfinished(ctx, a, e.message);
  }
}

void restore_copy(const std::string& from, const std::string& to, const std::string& sha,
                  std::int64_t id) {
  if (sha256_hex_of_file(from) != sha)
    throw FsError{"the quarantine copy " + from + " is missing or changed", ENOENT};
  const std::string part = parent_of(to) + "/.residue-restore-" + std::to_string(id) + ".part";
  unlink_durable(part);
  make_dirs(parent_of(to));
  copy_file_durable(from, part);
  if (sha256_hex_of_file(part) != sha) {
    unlink_durable(part);
    throw FsError{"the restored copy of " + to + " does not verify", EIO};
  }
  rename_replace(part, to);
}

}  // namespace

ActionResult carry_out(ActionContext& ctx, JournalAction& action) {
  return action.intent.str("op") == "container" ? container_action(ctx, action)
                                                : file_action(ctx, action);
}

void abandon(ActionContext& ctx, JournalAction& action) {
  (void)roll_back(ctx, action, RefuseReason::failed,
                  "the purge stopped before it changed anything; run it again");
}

bool undo(ActionContext& ctx, JournalAction& a) {
  const Json& in = a.intent;
  const std::string path = in.str("path"), sha = in.str("sha256"), q = in.str("quarantine");
  const auto conflict = [&](RefuseReason why, const std::string& detail) {
    for (const Json& it : items_of(in))
      ctx.summary.skipped.push_back(Refusal{it.str("locator"), why, "not restored: " + detail});
    return false;
  };
  try {
    if (in.str("op") == "container") {
      const std::string idx = in.str("idx"), idx_sha = in.str("idx_sha256");
      const std::string new_sha = a.staged ? a.staged->str("new_sha256") : "",
                        new_idx = a.staged ? a.staged->str("new_idx_sha256") : "";
      const std::string cur = sha256_hex_of_file(path);
      if (cur != sha) {
        if (!cur.empty() && cur != new_sha)
          return conflict(RefuseReason::changed, path + " changed since the purge");
        restore_copy(q, path, sha, a.id);
      }
      if (!idx.empty() && sha256_hex_of_file(idx) != idx_sha) {
        const std::string ci = sha256_hex_of_file(idx);
        if (!ci.empty() && ci != new_idx)
          return conflict(RefuseReason::changed, idx + " changed since the purge");
        restore_copy(in.str("quarantine_idx"), idx, idx_sha, a.id);
      }
    } else {
      if (exists_nofollow(path)) {
        if (sha256_hex_of_file(path) != sha)
          return conflict(RefuseReason::changed, "something else is at " + path + " now");
      } else {
        if (sha256_hex_of_file(q) != sha)
          return conflict(RefuseReason::vanished,
                          "the quarantine copy " + q + " is missing or changed");
        make_dirs(parent_of(path));
        try {
          rename_noreplace(q, path);
        } catch (const FsError& e) {
          if (e.err != EXDEV) throw;
          restore_copy(q, path, sha, a.id);
          unlink_durable(q);
        }
      }
    }
  } catch (const FsError& e) {
    return conflict(RefuseReason::failed, e.message);
  }
  ctx.journal.append(
      JsonLine().add("rec", "restored").add("id", a.id).add("time", utc_timestamp()).str());
  a.restored = true;
  auto& k = ctx.summary.removed[in.str("kind")];
  ++k.files;
  for (const Json& it : items_of(in)) {
    ++k.items;
    k.bytes += static_cast<std::uint64_t>(it.num("size"));
  }
  return true;
}

void mark_catalog(ActionContext& ctx, Catalog& catalog, const JournalState& state) {
  for (const JournalAction& a : state.actions) {
    if (!a.done) continue;
    for (const Json& it : items_of(a.intent)) {
      if (!it.str("mate_of").empty()) continue;  // sample-mates are not catalog items
      const auto sha = parse_sha256(it.str("sha256"));
      if (!sha) continue;
      if (a.restored)
        catalog.mark_item_present(it.str("locator"), *sha);
      else
        catalog.mark_item_gone(it.str("locator"), *sha);
    }
    catalog.mark_for_rescan(a.intent.str("file"));
    if (a.intent.str("op") == "container" && !a.restored)
      ctx.summary.rescan.push_back(a.intent.str("file"));
  }
  ctx.journal.append(JsonLine().add("rec", "catalog").add("time", utc_timestamp()).str());
}

}  // namespace residue::detail
