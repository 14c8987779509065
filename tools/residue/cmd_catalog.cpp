// `residue catalog stats FILE.db`: what a catalog holds.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "residue/catalog.hpp"
#include "residue/report.hpp"

namespace residue::tool {
namespace {

std::string json_counts(const std::map<std::string, std::uint64_t>& m) {
  std::string s = "{";
  for (const auto& [k, v] : m)
    s += fmt::format("{}{}:{}", s.size() > 1 ? "," : "", json_quote(k), v);
  return s + "}";
}

}  // namespace

Runner add_catalog_command(CLI::App& app) {
  struct Args {
    std::string path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("catalog", "Inspect a catalog");
  cmd->require_subcommand(1);
  CLI::App* stats =
      cmd->add_subcommand("stats", "Counts of items by status, format and container kind");
  stats->add_option("catalog", args->path, "Catalog database")->required();
  stats->add_flag("--json", args->json, "Print one JSON object");
  return [args] {
    Catalog catalog(args->path, Catalog::Mode::read_only);
    const CatalogStats st = catalog.stats();
    if (args->json) {
      out_line(
          fmt::format("{{\"items\":{},\"gone\":{},\"runs\":{},\"by_status\":{},\"by_format\":{},"
                      "\"by_container\":{}}}",
                      st.items, st.gone, st.runs, json_counts(st.by_status),
                      json_counts(st.by_format), json_counts(st.by_container)));
      return kExitOk;
    }
    out_line(fmt::format("catalog: {}", args->path));
    out_line(fmt::format("items: {} present, {} gone; {} runs, last started {}", st.items, st.gone,
                         st.runs, st.last_run_started.empty() ? "-" : st.last_run_started));
    auto section = [](const char* title, const std::map<std::string, std::uint64_t>& m) {
      out_line(title);
      for (const auto& [k, v] : m) out_line(fmt::format("  {:<14} {:>10}", k, v));
    };
    section("by status:", st.by_status);
    section("by format (ok items):", st.by_format);
    section("by container:", st.by_container);
    return kExitOk;
  };
}

}  // namespace residue::tool
