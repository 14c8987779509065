# residue_sanitizers: RESIDUE_SANITIZE=address,undefined (or thread) instruments our targets.
add_library(residue_sanitizers INTERFACE)
if(RESIDUE_SANITIZE)
  set(_flags -fsanitize=${RESIDUE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(residue_sanitizers INTERFACE ${_flags})
  target_link_options(residue_sanitizers INTERFACE ${_flags})
endif()
