# muster_add_plugin(<target> NAME <plugin-name> SOURCES <src>...)
#
# Builds a muster plugin: a MODULE library named <plugin-name>.so, compiled
# with MUSTER_PLUGIN_NAME defined as "<plugin-name>" (the SDK's classes take
# their kName from it, so the file and the plugin are named in one place),
# hidden
# visibility and a version script so that only muster_plugin_negotiate is
# exported (template instantiations of std types included), linked with
# -z defs so a missing symbol fails the build rather than the load (unless
# MUSTER_PLUGIN_ALLOW_UNDEFINED is set: a sanitizer's runtime lives in the
# program, not the plugin). In the
# muster tree it lands in the plugin directory; out of tree, in the
# target's usual output directory (install it into muster's plugin
# directory, or load it by path).
function(muster_add_plugin target)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES" ${ARGN})
  if(NOT ARG_NAME)
    message(FATAL_ERROR "muster_add_plugin(${target}): NAME is required")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE muster::sdk)
  target_compile_definitions(${target} PRIVATE MUSTER_PLUGIN_NAME="${ARG_NAME}")
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "${ARG_NAME}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}.exports")
  file(WRITE "${script}" "{ global: muster_plugin_negotiate; local: *; };\n")
  target_link_options(${target} PRIVATE "LINKER:--version-script=${script}")
  if(NOT MUSTER_PLUGIN_ALLOW_UNDEFINED)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${script}")
  if(DEFINED MUSTER_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MUSTER_PLUGIN_OUTPUT_DIR}")
  endif()
endfunction()
