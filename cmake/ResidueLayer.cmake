# residue_add_layer(NAME <layer> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...] [COMPILE_OPTIONS ...])
# Creates the static library residue_<layer> with the alias residue::<layer>. Every layer sees the
# public headers (engine/include) and its own folder; dependency direction between layers is
# expressed only through PUBLIC_DEPS, so an edge that is not declared is a build error.
function(residue_add_layer)
  cmake_parse_arguments(L "" "NAME" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS;COMPILE_OPTIONS" ${ARGN})
  set(target residue_${L_NAME})
  add_library(${target} STATIC ${L_SOURCES})
  add_library(residue::${L_NAME} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/engine/include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS}
    residue_warnings residue_sanitizers)
  if(L_COMPILE_OPTIONS)
    target_compile_options(${target} PRIVATE ${L_COMPILE_OPTIONS})
  endif()
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# residue_add_test(NAME <name> SOURCES ... DEPS ... LABELS ...): one doctest executable.
function(residue_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_sources(${T_NAME} PRIVATE $<TARGET_OBJECTS:residue_doctest_main>)
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} residue_test_support doctest::doctest
    residue_warnings residue_sanitizers)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}"
    ENVIRONMENT "RESIDUE_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data;RESIDUE_SHARED=${PROJECT_SOURCE_DIR}/../shared")
endfunction()
