#include "rewrite.hpp"
namespace residue::detail {
std::optional<ItemError> write_zip(RewriteJob&, OutputFile&) {
  return ItemError{ErrorCode::unsupported, "zip: not yet"};
}
std::optional<ItemError> verify_zip(const RewriteJob&, int) {
  return std::nullopt;
}
}  // namespace residue::detail
