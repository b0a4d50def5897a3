// VGPU_CLIENT_API marks the few functions libvgpu-client.so.1 exports to the shims. The client
// is built with hidden visibility, so everything else stays inside it; the linker version
// script (guest/client/libvgpu-client.map) then names each export exactly, so a new one is a
// deliberate change to both files. In the static archive used by in-tree tests it is inert.
#pragma once

#define VGPU_CLIENT_API __attribute__((visibility("default")))
