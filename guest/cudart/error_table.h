// The cudaError_t table: every value driver_types.h defines, with its name and the short text
// cudaGetErrorString returns. Generated at build time (gen_error_table.cmake).
#pragma once

namespace vgpu::cudart {

bool is_cuda_error(int value);
// nullptr for values outside the table.
const char* cuda_error_name(int value);
const char* cuda_error_text(int value);

}  // namespace vgpu::cudart
