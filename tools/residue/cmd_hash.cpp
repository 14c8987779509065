// `residue hash`: hash image files and directories, print one line per image.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "residue/report.hpp"
#include "residue/scan.hpp"

namespace residue::tool {
namespace {

struct HashArgs {
  std::vector<std::string> paths;
  bool json = false;
  bool exact = false;
  bool dihedral = false;
  bool follow_symlinks = false;
  int threads = 0;
  double max_megapixels = 250.0;
};

std::string csv_line(const ItemRecord& r, bool dihedral) {
  if (!dihedral) return hash_csv_line(r);
  std::string line;
  for (const auto& h : r.pdq_dihedral) line += to_hex(h) + ",";
  return line + fmt::format("{},{}", r.quality, r.locator);
}

}  // namespace

Runner add_hash_command(CLI::App& app) {
  auto args = std::make_shared<HashArgs>();
  CLI::App* cmd =
      app.add_subcommand("hash", "Hash image files and directories (PDQ, pHash, SHA-256)");
  cmd->footer(
      "Output (default): one line per image, `pdq_hex,quality,path`, the shape the PDQ reference "
      "CLI\n"
      "prints, so hash lists interoperate. With --dihedral: the 8 dihedral PDQ hashes (original, "
      "rot90,\n"
      "rot180, rot270, flipx, flipy, flipplus1, flipminus1; rotations counter-clockwise), then "
      "quality\n"
      "and path. Paths are printed as given, unquoted; use --json when paths may contain commas "
      "or\n"
      "newlines.\n"
      "--json: one JSON object per line and per item: locator, size, format, sha256, width, "
      "height\n"
      "(as displayed, after EXIF orientation), decode_scale (1 = full resolution, 2/4/8 = JPEG "
      "reduced\n"
      "DCT decode), pdq, quality (0-100; PDQ matches are meaningful from about 50), phash (64-bit "
      "DCT\n"
      "hash, 16 hex digits), pdq_dihedral and phash_dihedral with --dihedral, and error (null, or\n"
      "{code, message}).\n"
      "Formats are detected from content, never from the file name: JPEG, PNG, WebP, BMP, TIFF, "
      "GIF\n"
      "(first frame), PPM/PGM. Directories are walked recursively in name order; symbolic links "
      "are\n"
      "not followed unless --follow-symlinks. Inside directories only files that look like images "
      "(by\n"
      "content or extension) are hashed; a file named on the command line always is. Archives, TSV "
      "and\n"
      "RecordIO files are read as `residue scan` reads them (see `residue scan --help` for "
      "locators).\n"
      "Fast mode (default) decodes large JPEGs at 1/2, 1/4 or 1/8 scale in the codec, which "
      "changes\n"
      "PDQ by a few bits at most (see bench/decode_fidelity); --exact decodes everything at full\n"
      "resolution and computes PDQ bit-exactly as the reference implementation does.\n"
      "Errors (unreadable, empty, corrupt, truncated, unsupported, too large) go to stderr, one "
      "line\n"
      "per item with its path; the run goes on.\n"
      "Exit status: 0 all items hashed, 1 some items failed, 2 fatal (bad flags).");
  cmd->add_option("paths", args->paths, "Image files and directories to hash")->required();
  cmd->add_flag("--json", args->json,
                "Print one JSON object per line with every hash and any error");
  cmd->add_flag("--exact", args->exact, "Disable every decoding shortcut (full-resolution decode)");
  cmd->add_flag("--dihedral", args->dihedral,
                "Also compute the 8 dihedral variants (rotations and flips)");
  cmd->add_flag("--follow-symlinks", args->follow_symlinks,
                "Follow symbolic links while walking directories");
  cmd->add_option("-j,--threads", args->threads, "Worker threads (0 = one per core)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--max-megapixels", args->max_megapixels,
                  "Refuse images larger than this many megapixels (pixel bombs), before decoding")
      ->default_val(250.0)
      ->check(CLI::Range(0.000001, 1e6));

  return [args]() -> int {
    ScanOptions options;
    options.threads = args->threads;
    options.dihedral = args->dihedral;
    // A file named on the command line is always an item (a non-image is reported); inside
    // directories and archives, only what looks like an image (content or extension) is.
    options.source.is_item = [roots = args->paths](std::string_view name,
                                                   std::span<const std::uint8_t> head) {
      return std::find(roots.begin(), roots.end(), name) != roots.end() ||
             looks_like_image(name, head);
    };
    options.decode.exact = args->exact;
    options.decode.max_pixels = static_cast<std::uint64_t>(args->max_megapixels * 1e6);
    options.source.walk.follow_symlinks = args->follow_symlinks;

    const ScanStats stats = scan_roots(args->paths, options, [&](const ScanResult& result) {
      if (result.event != SourceEvent::item) return;
      const ItemRecord& r = result.record;
      if (args->json)
        out_line(hash_json_line(r));
      else if (r.ok())
        out_line(csv_line(r, args->dihedral));
      if (!r.ok()) {
        flush_out();  // keep stdout and stderr in item order when both go to one terminal
        err_line(error_line(r));
      }
    });
    flush_out();
    if (stats.failed > 0) {
      err_line(fmt::format("hash: {} of {} items failed ({})", stats.failed, stats.items,
                           error_counts(stats.errors_by_code)));
      return kExitItemsFailed;
    }
    return kExitOk;
  };
}

}  // namespace residue::tool
