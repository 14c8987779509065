# residue_warnings: an INTERFACE target linked only to our own targets (never to third-party code).
add_library(residue_warnings INTERFACE)
target_compile_options(residue_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s string concatenation (GCC bug
  # 105329) at -O2 and above; they are not in our code. (clang does not know the flag.)
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(RESIDUE_WARNINGS_AS_ERRORS)
  target_compile_options(residue_warnings INTERFACE -Werror)
endif()
