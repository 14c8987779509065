// `residue cat LOCATOR...`: writes items' bytes to stdout.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "residue/report.hpp"
#include "residue/source.hpp"

namespace residue::tool {

Runner add_cat_command(CLI::App& app) {
  auto locators = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("cat", "Write the bytes of items (by locator) to stdout");
  cmd->footer(
      "LOCATOR is what scan, hash and reports print: a path, archive.tar!/member.jpg,\n"
      "file.tsv!/line/N (1-based) or file.rec!/record/N (0-based). The bytes are written "
      "unchanged\n"
      "(a TSV line's base64 image is decoded). Exit status: 0 all found, 1 some not found, 2 "
      "fatal.");
  cmd->add_option("locators", *locators, "Items to write")->required();
  return [locators] {
    int status = kExitOk;
    for (const auto& loc : *locators) {
      auto bytes = read_item(loc);
      if (!bytes) {
        err_line(loc + ": " + std::string(to_string(bytes.error().code)) + ": " +
                 bytes.error().message);
        status = kExitItemsFailed;
        continue;
      }
      const auto& b = bytes.value();
      out_bytes(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    return status;
  };
}

}  // namespace residue::tool
