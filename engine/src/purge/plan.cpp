// Targets (from a report or a fresh match) -> a checked PurgePlan. Reads, never writes.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "fs_ops.hpp"
#include "json.hpp"
#include "residue/hash.hpp"
#include "residue/match.hpp"
#include "residue/purge.hpp"

namespace residue {
namespace {

using detail::absolute_normal;
using detail::inside;

void add_target(std::map<std::string, PurgeTarget>& by_locator, PurgeTarget t) {
  auto [it, fresh] = by_locator.try_emplace(t.locator, t);
  if (!fresh && t.tier < it->second.tier) it->second = std::move(t);
}

std::vector<PurgeTarget> values(std::map<std::string, PurgeTarget>& m) {
  std::vector<PurgeTarget> out;
  out.reserve(m.size());
  for (auto& [k, v] : m) out.push_back(std::move(v));
  return out;
}

bool wanted(std::span<const Tier> tiers, Tier t) {
  return std::find(tiers.begin(), tiers.end(), t) != tiers.end();
}

// WebDataset sample key of a member: its folder plus the base name up to the first dot.
std::string sample_key(const std::string& member) {
  const auto slash = member.rfind('/');
  const std::size_t base = slash == std::string::npos ? 0 : slash + 1;
  const auto dot = member.find('.', base);
  return member.substr(0, dot == std::string::npos ? member.size() : dot);
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

struct Wanted {
  PurgeTarget target;
  CatalogItem item;
};

}  // namespace

std::string_view to_string(RefuseReason r) noexcept {
  switch (r) {
    case RefuseReason::not_in_catalog:
      return "not in the catalog";
    case RefuseReason::outside_roots:
      return "outside the scanned roots";
    case RefuseReason::symlink:
      return "path goes through a symbolic link";
    case RefuseReason::vanished:
      return "vanished since the scan";
    case RefuseReason::changed:
      return "changed since the scan (SHA-256 differs)";
    case RefuseReason::container_changed:
      return "container changed since the scan";
    case RefuseReason::no_sha256:
      return "no SHA-256 in the catalog";
    case RefuseReason::unsupported:
      return "container cannot be rewritten safely";
    case RefuseReason::failed:
      return "failed";
  }
  return "failed";
}

std::uint64_t PlanGroup::bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& i : items) n += i.size;
  return n;
}
std::uint64_t PurgePlan::item_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& g : groups) n += g.items.size();
  return n;
}
std::uint64_t PurgePlan::bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& g : groups) n += g.bytes();
  return n;
}

std::vector<PurgeTarget> targets_from_report(const std::string& path, std::span<const Tier> tiers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RESIDUE_THROW("cannot read report " + path);
  std::map<std::string, PurgeTarget> by_locator;
  std::string line;
  std::uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const auto j = detail::parse_json(line);
    const auto tier = j ? parse_tier(j->str("tier")) : std::nullopt;
    if (!j || j->str("locator").empty() || !tier)
      RESIDUE_THROW(path + ":" + std::to_string(n) +
                    ": not a match report row (use `residue match --out FILE.jsonl`)");
    if (!wanted(tiers, *tier)) continue;
    add_target(by_locator, PurgeTarget{j->str("locator"), *tier, j->str("bank_locator")});
  }
  return values(by_locator);
}

std::vector<PurgeTarget> targets_from_match(Catalog& catalog, Bank& bank,
                                            std::span<const Tier> tiers) {
  const BankHashes hashes = bank.load_hashes();
  if (hashes.hashes.empty() && hashes.digests.empty())
    RESIDUE_THROW(bank.path() + ": the bank is empty");
  const std::vector<CatalogHash> items = catalog.load_hashes();
  const MatchSet set = match_catalog(items, hashes, BankHashes{}, MatchOptions{});
  std::vector<std::int64_t> ids;
  for (const Match& m : set.matches)
    if (wanted(tiers, m.tier)) ids.push_back(m.item_id);
  std::unordered_map<std::int64_t, std::string> locators;
  for (auto& it : catalog.load_items(ids)) locators.emplace(it.id, std::move(it.locator));
  std::unordered_map<std::int64_t, std::string> entries;
  for (auto& e : bank.entries()) entries.emplace(e.id, std::move(e.locator));
  std::map<std::string, PurgeTarget> by_locator;
  for (const Match& m : set.matches)
    if (wanted(tiers, m.tier) && locators.contains(m.item_id))
      add_target(by_locator, PurgeTarget{locators[m.item_id], m.tier, entries[m.entry_id]});
  return values(by_locator);
}

PurgePlan build_plan(Catalog& catalog, std::span<const PurgeTarget> targets) {
  PurgePlan plan;
  for (const auto& r : detail::scanned_roots(catalog.run_roots())) {
    const std::string a = absolute_normal(r);
    if (std::find(plan.roots.begin(), plan.roots.end(), a) == plan.roots.end())
      plan.roots.push_back(a);
  }
  const auto refuse = [&](const std::string& loc, RefuseReason why, std::string detail = {}) {
    plan.refused.push_back(Refusal{loc, why, std::move(detail)});
  };
  std::map<std::string, std::vector<Wanted>> containers;  // by absolute path
  std::map<std::string, std::string> container_root;
  std::vector<PlanGroup> files;

  for (const PurgeTarget& t : targets) {
    auto item = catalog.find_item(t.locator);
    if (!item) {
      refuse(t.locator, RefuseReason::not_in_catalog);
      continue;
    }
    const std::string abs = absolute_normal(item->file);
    std::string root;
    for (const auto& r : plan.roots)
      if (inside(abs, r) && r.size() > root.size()) root = r;
    if (root.empty() || item->file.find("/../") != std::string::npos ||
        item->file.starts_with("../")) {
      refuse(t.locator, RefuseReason::outside_roots);
      continue;
    }
    if (detail::symlink_below(root, abs)) {
      refuse(t.locator, RefuseReason::symlink);
      continue;
    }
    if (!item->has_sha256) {
      refuse(t.locator, RefuseReason::no_sha256);
      continue;
    }
    if (item->kind != "file") {
      container_root[abs] = root;
      containers[abs].push_back(Wanted{t, std::move(*item)});
      continue;
    }
    struct stat st {};
    if (::lstat(abs.c_str(), &st) != 0) {
      refuse(t.locator, RefuseReason::vanished);
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      refuse(t.locator, RefuseReason::changed, "no longer a regular file");
      continue;
    }
    const auto sha = detail::sha256_of_file(abs);
    if (!sha) {
      refuse(t.locator, RefuseReason::failed, "cannot read it");
      continue;
    }
    if (*sha != item->sha256) {
      refuse(t.locator, RefuseReason::changed);
      continue;
    }
    PlanGroup g{.file = item->file,
                .abs_path = abs,
                .kind = "file",
                .root = root,
                .file_size = static_cast<std::uint64_t>(st.st_size),
                .items = {}};
    g.items.push_back(PlanItem{.locator = t.locator,
                               .sha256 = to_hex(*sha),
                               .size = static_cast<std::uint64_t>(st.st_size),
                               .tier = t.tier,
                               .bank_entry = t.bank_entry});
    files.push_back(std::move(g));
  }
  std::sort(files.begin(), files.end(),
            [](const PlanGroup& a, const PlanGroup& b) { return a.abs_path < b.abs_path; });
  plan.groups = std::move(files);

  for (auto& [abs, want] : containers) {
    const std::string& file = want.front().item.file;
    const auto refuse_all = [&](RefuseReason why, const std::string& detail) {
      for (const auto& w : want) refuse(w.target.locator, why, detail);
    };
    struct stat st {};
    if (::lstat(abs.c_str(), &st) != 0) {
      refuse_all(RefuseReason::vanished, "");
      continue;
    }
    const auto state = catalog.file_state(file);
    if (!S_ISREG(st.st_mode) || !state || state->size != static_cast<std::uint64_t>(st.st_size) ||
        state->mtime_ns != mtime_ns(st)) {
      refuse_all(RefuseReason::container_changed,
                 "size or modification time differ from the scan's; rescan first");
      continue;
    }
    // One pass over the container: the wanted items' SHA-256, and every member's for mates.
    std::unordered_map<std::string, const Wanted*> by_suffix;
    const std::string prefix = file + "!/";
    for (const auto& w : want) by_suffix.emplace(w.item.locator.substr(prefix.size()), &w);
    const bool tar = want.front().item.kind == "tar";
    struct Seen {
      std::string suffix, sha;
      std::uint64_t size;
    };
    std::vector<Seen> members;
    std::unordered_map<std::string, std::string> found_sha;
    std::string container_error;
    ItemStream stream({abs}, SourceOptions{});
    const std::string abs_prefix = abs + "!/";
    while (auto si = stream.next()) {
      if (si->event != SourceEvent::item) continue;
      if (si->error) {
        if (si->locator == abs) container_error = si->error->message;
        continue;
      }
      if (!si->locator.starts_with(abs_prefix)) continue;
      std::string suffix = si->locator.substr(abs_prefix.size());
      if (!tar && !by_suffix.contains(suffix)) continue;
      auto bytes = item_bytes(*si, std::uint64_t{1} << 32);
      if (!bytes) continue;
      std::string sha = to_hex(sha256(bytes.value()));
      if (by_suffix.contains(suffix)) found_sha[suffix] = sha;
      if (tar) members.push_back(Seen{std::move(suffix), std::move(sha), bytes.value().size()});
    }
    if (!container_error.empty()) {
      refuse_all(RefuseReason::failed, container_error);
      continue;
    }
    PlanGroup g{.file = file,
                .abs_path = abs,
                .kind = want.front().item.kind,
                .root = container_root[abs],
                .file_size = static_cast<std::uint64_t>(st.st_size),
                .items = {}};
    std::unordered_set<std::string> removed;
    std::unordered_map<std::string, const Wanted*> keys;  // sample key -> matched member
    for (const auto& w : want) {
      const std::string suffix = w.item.locator.substr(prefix.size());
      const auto f = found_sha.find(suffix);
      if (f == found_sha.end()) {
        refuse(w.target.locator, RefuseReason::vanished);
        continue;
      }
      if (f->second != to_hex(w.item.sha256)) {
        refuse(w.target.locator, RefuseReason::changed);
        continue;
      }
      g.items.push_back(PlanItem{.locator = w.item.locator,
                                 .sha256 = f->second,
                                 .size = w.item.size,
                                 .tier = w.target.tier,
                                 .bank_entry = w.target.bank_entry});
      removed.insert(suffix);
      if (tar) keys.try_emplace(sample_key(suffix), &w);
    }
    for (const Seen& m : members) {
      if (removed.contains(m.suffix)) continue;
      const auto k = keys.find(sample_key(m.suffix));
      if (k == keys.end()) continue;
      removed.insert(m.suffix);
      g.items.push_back(PlanItem{.locator = prefix + m.suffix,
                                 .sha256 = m.sha,
                                 .size = m.size,
                                 .tier = k->second->target.tier,
                                 .bank_entry = k->second->target.bank_entry,
                                 .sample_mate = true,
                                 .mate_of = k->second->item.locator});
    }
    if (!g.items.empty()) plan.groups.push_back(std::move(g));
  }
  return plan;
}

}  // namespace residue
