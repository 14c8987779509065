// tools/residue: one binary, one file per subcommand. Each subcommand registers its flags on the
// CLI11 app and returns a runner; the runner maps the engine's results to an exit status:
//   0 everything succeeded, 1 finished but some items failed, 2 fatal (bad flags, unusable input).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace residue::tool {

enum ExitCode : int { kExitOk = 0, kExitItemsFailed = 1, kExitFatal = 2 };

using Runner = std::function<int()>;

/// `residue hash`: hash image files and directories.
Runner add_hash_command(CLI::App& app);
/// `residue scan`: scan mirrors into a catalog.
Runner add_scan_command(CLI::App& app);
/// `residue cat`: write items' bytes by locator.
Runner add_cat_command(CLI::App& app);
/// `residue catalog stats`.
Runner add_catalog_command(CLI::App& app);
/// `residue bank add|import|export|stats|remove`.
Runner add_bank_command(CLI::App& app);
/// `residue match`: copies of a bank's items in a catalog.
Runner add_match_command(CLI::App& app);
/// `residue dedup`: near-duplicate clusters within a catalog.
Runner add_dedup_command(CLI::App& app);
/// `residue purge` and `residue restore`: remove copies safely, undo a quarantine purge.
Runner add_purge_command(CLI::App& app);
Runner add_restore_command(CLI::App& app);

}  // namespace residue::tool
