#include <openssl/evp.h>

#include "residue/hash.hpp"

namespace residue {

Sha256 sha256(std::span<const std::uint8_t> bytes) {
  Sha256 out;
  unsigned int length = 0;
  // One-shot EVP digest: uses SHA-NI / AVX2 code paths where the CPU has them.
  const int ok =
      EVP_Digest(bytes.data(), bytes.size(), out.bytes.data(), &length, EVP_sha256(), nullptr);
  RESIDUE_ASSERT(ok == 1 && length == out.bytes.size());
  return out;
}

}  // namespace residue
