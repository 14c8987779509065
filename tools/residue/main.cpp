// residue: find and purge residual copies of withdrawn images. See README.md.
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "residue/core.hpp"

int main(int argc, char** argv) {
  using namespace residue::tool;
  install_signal_policy();
  residue::tune_allocator_for_batch_work();
  CLI::App app{
      "residue: finds every copy or near-copy of withdrawn images in dataset mirrors.\n"
      "Exit status: 0 success, 1 finished but some items failed, 2 fatal error (bad flags, "
      "unusable input).",
      "residue"};
  app.set_version_flag("--version", std::string("residue ") + RESIDUE_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  const std::vector<std::pair<std::string, Runner>> commands{
      {"hash", add_hash_command(app)},       {"scan", add_scan_command(app)},
      {"cat", add_cat_command(app)},         {"catalog", add_catalog_command(app)},
      {"bank", add_bank_command(app)},       {"match", add_match_command(app)},
      {"dedup", add_dedup_command(app)},     {"purge", add_purge_command(app)},
      {"restore", add_restore_command(app)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitFatal;  // CLI11 would return its own codes; ours say "fatal" for any bad flag
  }

  try {
    int status = kExitOk;
    for (const CLI::App* sub : app.get_subcommands())
      for (const auto& [name, run] : commands)
        if (sub->get_name() == name) status = run();
    flush_out();
    return status;
  } catch (const BrokenPipe&) {
    return kExitOk;
  } catch (const residue::Error& e) {
    try {
      flush_out();
    } catch (const BrokenPipe&) {
    }
    err_line(e.what());
    return kExitFatal;
  } catch (const std::exception& e) {
    try {
      flush_out();
    } catch (const BrokenPipe&) {
    }
    err_line(std::string("fatal: ") + e.what());
    return kExitFatal;
  }
}
