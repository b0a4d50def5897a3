# Checks the built libcuda.so.1 against exports.txt, as a test:
#   - it defines exactly the names exports.txt lists (none missing, none extra: a missing one
#     is an implemented entry point with hidden visibility, which hides the name; an extra one
#     is an internal symbol leaking past the version script);
#   - functions are functions (nm: T, or W for a stub) and data are data (B or D, or V for a
#     weak object);
#   - the names are unversioned, and with OBJDUMP the library defines no version and its
#     soname is libcuda.so.1, as NVIDIA's driver.
# Prints how many functions are implemented (strong, T) and how many are still stubs (W).
#
#   cmake -DLIBRARY=<libcuda.so.1> -DEXPORTS=<exports.txt> [-DNM=nm] [-DOBJDUMP=objdump] [-DSONAME=libcuda.so.1]
#         -P check_exports.cmake

cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/read_exports.cmake)
vgpu_read_exports("${EXPORTS}" functions data_names unused_data_sizes)
# The soname to expect; guest/nvml's libnvidia-ml.so.1 is checked by this script too.
if(NOT DEFINED SONAME OR SONAME STREQUAL "")
  set(SONAME libcuda.so.1)
endif()
if(NOT DEFINED NM OR NM STREQUAL "")
  set(NM nm)
endif()

execute_process(COMMAND ${NM} -D --defined-only "${LIBRARY}"
                OUTPUT_VARIABLE nm_out ERROR_VARIABLE nm_err RESULT_VARIABLE nm_rc)
if(NOT nm_rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIBRARY} failed (${nm_rc}): ${nm_err}")
endif()
string(REPLACE "\n" ";" nm_lines "${nm_out}")

set(problems "")
set(defined "")
set(strong 0)
set(weak 0)
foreach(line IN LISTS nm_lines)
  if(line STREQUAL "")
    continue()
  endif()
  if(NOT line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) ([^ ]+)$")
    list(APPEND problems "cannot parse nm's line '${line}'")
    continue()
  endif()
  set(type "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  if(name MATCHES "@")
    list(APPEND problems "${name} is versioned (the driver's names are not)")
    string(REGEX REPLACE "@.*$" "" name "${name}")
  endif()
  list(APPEND defined "${name}")
  if(name IN_LIST functions)
    if(type STREQUAL "T")
      math(EXPR strong "${strong} + 1")
    elseif(type STREQUAL "W")
      math(EXPR weak "${weak} + 1")
    else()
      list(APPEND problems "${name} is a function in exports.txt, nm type ${type}")
    endif()
  elseif(name IN_LIST data_names)
    if(NOT type MATCHES "^[BDV]$")
      list(APPEND problems "${name} is data in exports.txt, nm type ${type}")
    endif()
  else()
    list(APPEND problems "${name} is exported (nm type ${type}) but not in exports.txt")
  endif()
endforeach()

foreach(name IN LISTS functions data_names)
  if(NOT name IN_LIST defined)
    list(APPEND problems "${name} is in exports.txt but not exported (hidden? an implementation needs default visibility)")
  endif()
endforeach()

if(DEFINED OBJDUMP AND NOT OBJDUMP STREQUAL "")
  execute_process(COMMAND ${OBJDUMP} -p "${LIBRARY}"
                  OUTPUT_VARIABLE headers RESULT_VARIABLE objdump_rc)
  if(NOT objdump_rc EQUAL 0)
    list(APPEND problems "${OBJDUMP} -p ${LIBRARY} failed (${objdump_rc})")
  else()
    string(REPLACE "." "\\." soname_re "${SONAME}")
    if(NOT headers MATCHES "SONAME +${soname_re}\n")
      list(APPEND problems "the soname is not ${SONAME}")
    endif()
    if(headers MATCHES "Version definitions:")
      list(APPEND problems "the library defines symbol versions (the driver defines none)")
    endif()
  endif()
endif()

list(LENGTH functions function_count)
message(STATUS "${LIBRARY}: ${strong} of ${function_count} functions implemented, ${weak} stubs")
if(NOT problems STREQUAL "")
  list(LENGTH problems problem_count)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "${problem_count} problems:\n  ${text}")
endif()
