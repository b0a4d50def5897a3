// Links (cuLink*) as the guest holds them. The linker runs on the host, in vgpud's driver: each
// input travels as a pending image with LINK_ADD (the first one makes vgpud's link), and
// cuLinkComplete brings the linked cubin and the linker's logs back with LINK_READ, so the
// program gets an ordinary ELF image it can load, keep or write out.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <string>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cuda/handles.h"

namespace vgpu::cuda {

struct LinkObject {
  HandleKind kind = HandleKind::Link;
  uint32_t wire = 0;  // vgpud's link id; 0 until the first input
  uint32_t device = 0;
  // The program's options: they stay valid for the link's life (cuda.h), and the logs they ask
  // for are written at each input and at cuLinkComplete.
  unsigned option_count = 0;
  CUjit_option* options = nullptr;
  void** values = nullptr;
  std::vector<uint8_t> image;  // the linked cubin, after a successful cuLinkComplete
  bool completed = false;
};

// Adds an input; answers the program's logs from the host's.
CUresult link_add(guest::Channel& channel, LinkObject& link, CUjitInputType type, const void* data, size_t size,
                  const char* name);
// Links; on success `link.image` holds the cubin. Answers the program's logs either way.
CUresult link_complete(guest::Channel& channel, LinkObject& link);
// Ends vgpud's link, if there is one.
void link_destroy(guest::Channel& channel, LinkObject& link);

// What the host's JIT says of a PTX text that failed to load: it is linked alone, and the
// linker's error log read back. Empty when there is nothing to say.
std::string ptx_error_log(guest::Channel& channel, const void* ptx, size_t size);

}  // namespace vgpu::cuda
