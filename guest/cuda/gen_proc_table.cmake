# Generates proc_table.cpp, the rows behind cuGetProcAddress (proc_table.h), from the CUDA
# toolkit's function-pointer typedef headers: cudaTypedefs.h, and where present
# cudaProfilerTypedefs.h, cudaGLTypedefs.h, cudaEGLTypedefs.h, cudaVDPAUTypedefs.h.
#
# Each typedef PFN_<base>_v<version>[_ptds|_ptsz] names one ABI of one entry point. The block
# under `#if defined(__CUDA_API_VERSION_INTERNAL)` is read too: it holds the oldest ABIs
# (cuMemAlloc_v2000, cuCtxCreate_v2000, ...), which old callers still ask for. Typedefs under
# `#ifdef _WIN32` are left out (cuWGLGetDevice: Linux has no such export). The rule that
# turns typedefs into exported names (for every non-interop function and flags 0/1 it gives
# the answers ZLUDA recorded from the real driver's cuGetProcAddress_v2; issue 13 notes, §3):
#   - per base, the plain versions in ascending order: the first is exported as <base>, the
#     k-th (k >= 1) as <base>_v<k+1> (cuCtxCreate: 2000 -> cuCtxCreate, 3020 -> cuCtxCreate_v2,
#     11040 -> _v3, 12050 -> _v4);
#   - a _ptds/_ptsz typedef at version V is <the plain export of the newest plain version <= V>
#     plus the suffix (cuMemcpyHtoD_v7000_ptds -> cuMemcpyHtoD_v2_ptds).
# Every derived name must be in exports.txt: one that is not means the toolkit's headers and
# the driver the exports were taken from disagree, and is an error here rather than a link
# error or a missing function at run time.
#
#   cmake -DHEADERS=<header;header...> -DEXPORTS=<exports.txt> -DOUT=<proc_table.cpp>
#         [-DTSV=<file>] -P gen_proc_table.cmake
# TSV, if given, receives the derived table as "base<TAB>version<TAB>-|ptds|ptsz<TAB>symbol"
# lines, to compare with another derivation.

cmake_minimum_required(VERSION 3.25)  # IN_LIST, ZIP_LISTS, file(COPY_FILE)
include(${CMAKE_CURRENT_LIST_DIR}/read_exports.cmake)
vgpu_read_exports("${EXPORTS}" exported_functions unused_data_names unused_data_sizes)

# Functions a typedef header declares but NVIDIA's x86-64 driver 580 does not export
# (cuEventCreateFromEGLSync, in cudaEGLTypedefs.h; presumably Tegra only). They get no row, so
# cuGetProcAddress answers "symbol not found"; a name listed here that the exports do contain
# is an error (a stale entry).
set(typedefs_without_export cuEventCreateFromEGLSync)

if(HEADERS STREQUAL "")
  message(FATAL_ERROR "gen_proc_table.cmake: no HEADERS given")
endif()

# Versions are sorted as text, so they are padded to a fixed width first.
function(pad6 out value)
  string(LENGTH "${value}" len)
  if(len GREATER 6)
    message(FATAL_ERROR "gen_proc_table.cmake: version ${value} is too large")
  endif()
  math(EXPR zeros "6 - ${len}")
  string(REPEAT "0" ${zeros} prefix)
  set(${out} "${prefix}${value}" PARENT_SCOPE)
endfunction()

set(bases "")
foreach(header IN LISTS HEADERS)
  # CMake lists split on ';' and treat '[' ']' and '\' specially: drop them (a typedef needs
  # none of them to be recognised), then split into lines.
  file(READ "${header}" text)
  string(REPLACE ";" "" text "${text}")
  string(REPLACE "[" "" text "${text}")
  string(REPLACE "]" "" text "${text}")
  string(REPLACE "\\" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  # One entry per open #if: "take" (typedefs inside count), "skip" (left out), "unknown" (a
  # condition this script does not know: a typedef inside it is an error, so that a new
  # condition in a future toolkit is looked at rather than guessed).
  set(conditions "")
  set(line_number 0)
  foreach(line IN LISTS lines)
    math(EXPR line_number "${line_number} + 1")
    string(STRIP "${line}" line)
    if(line MATCHES "^#[ \t]*(if|ifdef|ifndef)[ \t]+(.*)$")
      set(directive "${CMAKE_MATCH_1}")
      set(condition "${CMAKE_MATCH_2}")
      if(condition MATCHES "_WIN32")
        list(APPEND conditions skip)
      elseif(condition MATCHES "__CUDA_API_VERSION_INTERNAL|__cplusplus|CUDA_API_PER_THREAD_DEFAULT_STREAM"
             OR (directive STREQUAL "ifndef" AND condition MATCHES "^[A-Z_]+_H$"))
        list(APPEND conditions take)
      else()
        list(APPEND conditions unknown)
      endif()
    elseif(line MATCHES "^#[ \t]*else")
      list(POP_BACK conditions top)
      if(top STREQUAL "skip")
        list(APPEND conditions take)
      else()
        list(APPEND conditions unknown)
      endif()
    elseif(line MATCHES "^#[ \t]*elif")
      list(POP_BACK conditions top)
      list(APPEND conditions unknown)
    elseif(line MATCHES "^#[ \t]*endif")
      if(conditions STREQUAL "")
        message(FATAL_ERROR "${header}:${line_number}: #endif without #if")
      endif()
      list(POP_BACK conditions top)
    elseif(line MATCHES "\\*[ \t]*PFN_")
      # A PFN_ pointer declarator: the whole typedef must be on this line, so that none is
      # missed (the headers write each on one line).
      if(NOT line MATCHES "^typedef [^(]+\\(CUDAAPI \\*PFN_([A-Za-z0-9_]+)\\)\\(")
        message(FATAL_ERROR "${header}:${line_number}: cannot parse '${line}'")
      endif()
      set(pfn "${CMAKE_MATCH_1}")
      if("skip" IN_LIST conditions)
        continue()
      endif()
      if("unknown" IN_LIST conditions)
        message(FATAL_ERROR "${header}:${line_number}: PFN_${pfn} is under a preprocessor condition gen_proc_table.cmake does not know")
      endif()
      if(NOT pfn MATCHES "^([A-Za-z_][A-Za-z0-9_]*)_v([1-9][0-9]*)(_ptds|_ptsz)?$")
        message(FATAL_ERROR "${header}:${line_number}: PFN_${pfn} is not <base>_v<version>[_ptds|_ptsz]")
      endif()
      set(base "${CMAKE_MATCH_1}")
      set(suffix "${CMAKE_MATCH_3}")
      pad6(version "${CMAKE_MATCH_2}")
      list(APPEND bases "${base}")
      if(suffix STREQUAL "")
        set(kind plain)
        set(entry "${version}")
      else()
        set(kind per_thread)
        set(entry "${version}${suffix}")
      endif()
      if("${entry}" IN_LIST ${kind}_${base})
        message(FATAL_ERROR "${header}:${line_number}: PFN_${pfn} is declared twice")
      endif()
      list(APPEND ${kind}_${base} "${entry}")
    endif()
  endforeach()
  if(NOT conditions STREQUAL "")
    message(FATAL_ERROR "${header}: unbalanced #if/#endif")
  endif()
endforeach()
list(REMOVE_DUPLICATES bases)

# Rows as sortable keys "base<TAB>version<TAB>variant<TAB>symbol" (a tab sorts before any
# character of a name, so the order equals the bytewise order of the bases, as the lookup's
# binary search needs).
set(rows "")
foreach(base IN LISTS bases)
  set(plain "${plain_${base}}")
  if(plain STREQUAL "")
    message(FATAL_ERROR "${base} has only per-thread typedefs")
  endif()
  list(SORT plain)
  set(k 0)
  set(plain_symbols "")
  foreach(version IN LISTS plain)
    if(k EQUAL 0)
      set(symbol "${base}")
    else()
      math(EXPR n "${k} + 1")
      set(symbol "${base}_v${n}")
    endif()
    list(APPEND plain_symbols "${symbol}")
    list(APPEND rows "${base}\t${version}\t0\t${symbol}")
    math(EXPR k "${k} + 1")
  endforeach()

  set(variants_seen "")
  foreach(entry IN LISTS per_thread_${base})
    string(REGEX MATCH "^([0-9]+)_(ptds|ptsz)$" unused "${entry}")
    set(version "${CMAKE_MATCH_1}")
    set(variant "${CMAKE_MATCH_2}")
    list(APPEND variants_seen "${variant}")
    # The newest plain ABI at or below the per-thread typedef's version.
    set(symbol "")
    foreach(plain_version plain_symbol IN ZIP_LISTS plain plain_symbols)
      if(NOT plain_version STRGREATER version)
        set(symbol "${plain_symbol}")
      endif()
    endforeach()
    if(symbol STREQUAL "")
      string(REGEX REPLACE "^0+" "" shown "${version}")
      message(FATAL_ERROR "PFN_${base}_v${shown}_${variant} has no plain ABI at or below its version")
    endif()
    if(variant STREQUAL "ptds")
      list(APPEND rows "${base}\t${version}\t1\t${symbol}_ptds")
    else()
      list(APPEND rows "${base}\t${version}\t2\t${symbol}_ptsz")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES variants_seen)
  list(LENGTH variants_seen variant_count)
  if(variant_count GREATER 1)
    # lookup_proc picks among all per-thread rows of a base by version alone.
    message(FATAL_ERROR "${base} has both _ptds and _ptsz typedefs")
  endif()
endforeach()
list(SORT rows)

set(declarations "")
set(table "")
set(tsv "")
set(symbols "")
set(row_count 0)
foreach(row IN LISTS rows)
  string(REPLACE "\t" ";" fields "${row}")
  list(GET fields 0 base)
  list(GET fields 1 version)
  list(GET fields 2 variant)
  list(GET fields 3 symbol)
  if(base IN_LIST typedefs_without_export)
    if(symbol IN_LIST exported_functions)
      message(FATAL_ERROR "${symbol} is exported: take ${base} off gen_proc_table.cmake's typedefs_without_export")
    endif()
    continue()
  endif()
  string(REGEX REPLACE "^0+" "" version "${version}")
  if(NOT symbol IN_LIST exported_functions)
    message(FATAL_ERROR "${symbol} (cuGetProcAddress(\"${base}\", ${version}) in the toolkit's typedef headers) is not in ${EXPORTS}")
  endif()
  list(APPEND symbols "${symbol}")
  math(EXPR row_count "${row_count} + 1")
  if(variant STREQUAL "0")
    set(variant_name kProcPlain)
    set(tsv_variant "-")
  elseif(variant STREQUAL "1")
    set(variant_name kProcPtds)
    set(tsv_variant ptds)
  else()
    set(variant_name kProcPtsz)
    set(tsv_variant ptsz)
  endif()
  string(APPEND table "    {\"${base}\", ${version}, ${variant_name}, &${symbol}},\n")
  string(APPEND tsv "${base}\t${version}\t${tsv_variant}\t${symbol}\n")
endforeach()
list(REMOVE_DUPLICATES symbols)
list(SORT symbols)
foreach(symbol IN LISTS symbols)
  string(APPEND declarations "VGPU_SYMBOL ${symbol}();\n")
endforeach()

set(header_names "")
foreach(header IN LISTS HEADERS)
  get_filename_component(name "${header}" NAME)
  list(APPEND header_names "${name}")
endforeach()
list(JOIN header_names ", " header_names)

set(out "// Generated by gen_proc_table.cmake from ${header_names}. Do not edit.
//
// ${row_count} rows: which exported symbol answers cuGetProcAddress(base, version, flags).
// Only the shared library compiles this file; it names every export it hands out, stubs
// included, so the unit tests supply their own rows (proc_table.h).
//
// The symbols are declared as opaque functions: their prototypes are cuda.h's, which this
// file must not include (the stubs' prototypes differ), and only their addresses are used.
// Default visibility on purpose: ELF keeps the most restrictive visibility of every
// declaration of a name, and a hidden one here would take the name out of the exports.
#include <span>

#include \"guest/cuda/proc_table.h\"

#define VGPU_SYMBOL extern \"C\" __attribute__((visibility(\"default\"))) void

${declarations}
namespace vgpu::cuda {
namespace {

constexpr ProcRow kRows[] = {
${table}};

static_assert(proc_rows_sorted(kRows), \"gen_proc_table.cmake sorts the rows\");

}  // namespace

std::span<const ProcRow> proc_rows() noexcept { return kRows; }

}  // namespace vgpu::cuda
")

file(WRITE "${OUT}.tmp" "${out}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
if(DEFINED TSV AND NOT TSV STREQUAL "")
  file(WRITE "${TSV}" "${tsv}")
endif()
