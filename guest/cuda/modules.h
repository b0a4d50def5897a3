// Modules, libraries and kernels behind their handles (handles.h): loading an image on a
// device, resolving a kernel by name, and finding the function a launch means.
#pragma once
#include <cuda.h>

#include <string>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/module_image.h"

namespace vgpu::cuda {

// Loads the image on `device` (the channel's thread device is set to it).
CUresult load_module(guest::Channel& channel, const ImageExtent& image, uint32_t device, ModuleObject** out);
// The module's kernel `name`, with its parameter layout.
CUresult get_function(guest::Channel& channel, ModuleObject& module, const char* name, FunctionObject** out);
// The names of the module's kernels, in vgpud's driver's order.
CUresult list_functions(guest::Channel& channel, ModuleObject& module, std::vector<std::string>* names);
// The library's module on `device`, loaded on first use.
CUresult library_module(guest::Channel& channel, LibraryObject& library, uint32_t device, ModuleObject** out);
// What a CUfunction handle names on `device`: the function itself, or a CUkernel's function
// there (resolved on first use).
CUresult function_on(guest::Channel& channel, CUfunction handle, uint32_t device, FunctionObject** out);

}  // namespace vgpu::cuda
