// The module image a guest uploads (BLOB_APPEND ... MODULE_LOAD) goes to cuModuleLoadData,
// which takes a bare pointer and finds the image's extent by itself: from a fat binary's
// header, from an ELF's header and tables, or at the first NUL of a text image. Nothing tells
// the driver how many bytes the guest really uploaded, so vgpud checks first that every size
// the driver will believe lies inside those bytes; a guest that lies in a header gets
// CUDA_ERROR_INVALID_IMAGE instead of making the driver read vgpud's heap.
//
// Accepted, judged by the first bytes:
//   FatBinary  magic 0xBA55ED50 (little-endian), header {u32 magic; u16 version;
//              u16 header_size; u64 fat_size}: header_size >= 16 and header_size + fat_size
//              == the image's size exactly; the fat area (the fat_size bytes after the header)
//              is a sequence of entries {u16 kind; u16 version; u32 header_size;
//              u64 padded_payload_size; ...}, each header at least those 16 bytes, each
//              header and payload inside the fat area, the last one ending exactly at its end,
//              at least one entry. (The layout nvcc, fatbinary and the runtime's
//              __cudaRegisterFatBinary use; checked against real images, see
//              test/fuzz/corpus/module_image/.)
//   Elf        a cubin: "\x7fELF", 64-bit, little-endian, machine EM_CUDA; the section header
//              table, the program header table, and the bytes each section and segment
//              names in the file all inside the image.
//   Text       PTX, or the test driver's "FAKECUBIN" images: at least one byte before an
//              optional final NUL, and no other NUL.
// Anything else is refused. Sizes are compared without ever overflowing.
//
// What is not checked: fields inside an entry's header beyond the first 16 bytes (PTX options,
// compressed sizes) and the contents of payloads; the driver parses those within the bounds
// checked here.
#pragma once
#include <cstdint>
#include <span>

#include "vgpu/common/result.h"

namespace vgpud {

enum class ModuleImageKind : uint8_t { FatBinary, Elf, Text };

enum class ModuleImageError : uint8_t {
  Empty,                // no bytes, or just a NUL
  FatTruncated,         // fat-binary magic, but shorter than its 16-byte header
  FatHeaderSize,        // header_size below 16
  FatSizeMismatch,      // header_size + fat_size is not the number of bytes uploaded
  FatNoEntries,         // the fat area is empty
  FatEntryTruncated,    // an entry's header runs past the fat area, or is under 16 bytes
  FatEntryOverrun,      // an entry's payload runs past the fat area
  ElfTruncated,         // ELF magic, but shorter than the 64-byte ELF header
  ElfUnsupported,       // not 64-bit little-endian EM_CUDA, or extended section numbering
  ElfSectionTable,      // the section header table lies (partly) outside the image, has
                        // entries of another size, or names a string table it lacks
  ElfProgramTable,      // the program header table lies (partly) outside the image or has
                        // entries of another size
  ElfSectionData,       // a section's bytes lie (partly) outside the image
  ElfSegmentData,       // a segment's file bytes lie (partly) outside the image
  TextEmbeddedNul,      // a NUL before the last byte: the driver would see less than was sent
};

// One line, no trailing period, for logs.
const char* module_image_error_message(ModuleImageError e);

[[nodiscard]] vgpu::Result<ModuleImageKind, ModuleImageError> check_module_image(
    std::span<const uint8_t> image);

}  // namespace vgpud
