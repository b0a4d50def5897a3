# What guest/cuda generates, included from guest/cuda/CMakeLists.txt (which sets
# VGPU_CUDA_GENERATED, the output folder). Sets:
#   VGPU_CUDA_GENERATED_CORE_SOURCES  generated sources of vgpu_cuda_core: none (the core, and
#                                     so the unit tests, must not name every export)
#   VGPU_CUDA_GENERATED_STUB_SOURCES  generated sources of the shared library only:
#                                       stubs.cpp       a weak stub per export (gen_exports.cmake)
#                                       proc_table.cpp  cuGetProcAddress's rows (gen_proc_table.cmake)
#                                       libcuda.map     not compiled; listed so that the rule
#                                                       writing it runs before the link
#   VGPU_CUDA_VERSION_SCRIPT          the generated libcuda.map
# All of it comes from exports.txt (what driver 580's libcuda.so.1 exports) and the CUDA
# toolkit's typedef headers, by CMake scripts: nothing beyond CMake runs at build time.

set(VGPU_CUDA_EXPORTS ${CMAKE_CURRENT_SOURCE_DIR}/exports.txt)
set(VGPU_CUDA_VERSION_SCRIPT ${VGPU_CUDA_GENERATED}/libcuda.map)

# The function-pointer typedef headers cuGetProcAddress's table is derived from:
# cudaTypedefs.h is required, the profiler and graphics-interop ones are read where the
# toolkit has them (their functions are exported either way; without a header they only
# lack table rows).
find_file(VGPU_CUDA_TYPEDEFS_H cudaTypedefs.h PATHS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH REQUIRED)
set(VGPU_CUDA_TYPEDEF_HEADERS ${VGPU_CUDA_TYPEDEFS_H})
foreach(header cudaProfilerTypedefs.h cudaGLTypedefs.h cudaEGLTypedefs.h cudaVDPAUTypedefs.h)
  string(MAKE_C_IDENTIFIER "VGPU_CUDA_${header}" var)
  string(TOUPPER "${var}" var)
  find_file(${var} ${header} PATHS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(${var})
    list(APPEND VGPU_CUDA_TYPEDEF_HEADERS ${${var}})
  endif()
endforeach()

# The version script and the stubs: one rule, both from exports.txt.
add_custom_command(
  OUTPUT ${VGPU_CUDA_VERSION_SCRIPT} ${VGPU_CUDA_GENERATED}/stubs.cpp
  COMMAND ${CMAKE_COMMAND} -DEXPORTS=${VGPU_CUDA_EXPORTS}
          -DMAP=${VGPU_CUDA_VERSION_SCRIPT}
          -DSTUBS=${VGPU_CUDA_GENERATED}/stubs.cpp
          -DLIBRARY=libcuda.so.1 -DPROTOTYPES=cuda.h -DCORE=vgpu_cuda_core
          -DUNSUPPORTED_HEADER=guest/cuda/unsupported.h -DUNSUPPORTED_CALL=vgpu::cuda::unsupported_call
          -P ${CMAKE_CURRENT_SOURCE_DIR}/gen_exports.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen_exports.cmake ${CMAKE_CURRENT_SOURCE_DIR}/read_exports.cmake
          ${VGPU_CUDA_EXPORTS}
  COMMENT "Generating libcuda.so.1's version script and stubs"
  VERBATIM)

# cuGetProcAddress's table. The header list travels as one argument (a CMake list).
add_custom_command(
  OUTPUT ${VGPU_CUDA_GENERATED}/proc_table.cpp
  COMMAND ${CMAKE_COMMAND} "-DHEADERS=${VGPU_CUDA_TYPEDEF_HEADERS}"
          -DEXPORTS=${VGPU_CUDA_EXPORTS}
          -DOUT=${VGPU_CUDA_GENERATED}/proc_table.cpp
          -P ${CMAKE_CURRENT_SOURCE_DIR}/gen_proc_table.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen_proc_table.cmake ${CMAKE_CURRENT_SOURCE_DIR}/read_exports.cmake
          ${VGPU_CUDA_EXPORTS} ${VGPU_CUDA_TYPEDEF_HEADERS}
  COMMENT "Generating the cuGetProcAddress table"
  VERBATIM)

set(VGPU_CUDA_GENERATED_CORE_SOURCES "")
set(VGPU_CUDA_GENERATED_STUB_SOURCES
  ${VGPU_CUDA_GENERATED}/stubs.cpp
  ${VGPU_CUDA_GENERATED}/proc_table.cpp
  ${VGPU_CUDA_VERSION_SCRIPT})
