#include "vgpud/executor/module_image.h"

#include <cstring>

namespace vgpud {

namespace {

using vgpu::Err;
using Checked = vgpu::Result<ModuleImageKind, ModuleImageError>;

// Little-endian field at `at`; the caller made sure the bytes are there. Assembled byte by
// byte: no alignment or host byte order assumed.
template <typename T>
T le(std::span<const uint8_t> bytes, uint64_t at) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(bytes[at + i]) << (8 * i));
  return value;
}

// Whether [offset, offset + length) lies inside [0, limit). Written so that nothing can
// overflow, whatever the guest put in the two fields.
bool inside(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

constexpr uint32_t kFatMagic = 0xBA55ED50;
constexpr uint64_t kFatHeaderSize = 16;       // {u32 magic; u16 version; u16 header_size; u64 fat_size}
constexpr uint64_t kFatEntryMinHeader = 16;   // {u16 kind; u16 version; u32 header_size; u64 padded_payload_size}

Checked check_fat_binary(std::span<const uint8_t> image) {
  if (image.size() < kFatHeaderSize) return Err{ModuleImageError::FatTruncated};
  const uint64_t header_size = le<uint16_t>(image, 6);
  const uint64_t fat_size = le<uint64_t>(image, 8);
  if (header_size < kFatHeaderSize) return Err{ModuleImageError::FatHeaderSize};
  // The driver believes fat_size. Anything short of the upload would make it read past the
  // buffer; anything beyond it would be bytes the driver never looks at, which a real image
  // does not have.
  if (!inside(header_size, fat_size, image.size()) || header_size + fat_size != image.size())
    return Err{ModuleImageError::FatSizeMismatch};
  if (fat_size == 0) return Err{ModuleImageError::FatNoEntries};

  // The entries (one per architecture and kind: SASS cubin, PTX, ...) follow each other with
  // no gap; the driver walks them by each header's two sizes, exactly as here. header_size is
  // at least 16, so every step moves forward and the walk ends.
  const uint64_t end = image.size();
  uint64_t at = header_size;
  while (at < end) {
    if (!inside(at, kFatEntryMinHeader, end)) return Err{ModuleImageError::FatEntryTruncated};
    const uint64_t entry_header = le<uint32_t>(image, at + 4);
    const uint64_t payload = le<uint64_t>(image, at + 8);
    if (entry_header < kFatEntryMinHeader || !inside(at, entry_header, end))
      return Err{ModuleImageError::FatEntryTruncated};
    if (!inside(at + entry_header, payload, end)) return Err{ModuleImageError::FatEntryOverrun};
    at += entry_header + payload;
  }
  return ModuleImageKind::FatBinary;
}

// ELF64, the offsets of the fields read below (elf.h's Elf64_Ehdr, Elf64_Shdr, Elf64_Phdr).
constexpr uint64_t kElfHeaderSize = 64;
constexpr uint64_t kElfShdrSize = 64;
constexpr uint64_t kElfPhdrSize = 56;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLsb = 1;
constexpr uint16_t kElfMachineCuda = 190;
constexpr uint32_t kShtNobits = 8;        // a section that occupies no bytes of the file
constexpr uint16_t kShnXindex = 0xffff;   // e_shstrndx escape of extended section numbering
constexpr uint16_t kPnXnum = 0xffff;      // e_phnum escape of extended segment numbering

Checked check_elf(std::span<const uint8_t> image) {
  if (image.size() < kElfHeaderSize) return Err{ModuleImageError::ElfTruncated};
  if (image[4] != kElfClass64 || image[5] != kElfDataLsb || le<uint16_t>(image, 18) != kElfMachineCuda)
    return Err{ModuleImageError::ElfUnsupported};
  const uint64_t phoff = le<uint64_t>(image, 32);
  const uint64_t shoff = le<uint64_t>(image, 40);
  const uint16_t phentsize = le<uint16_t>(image, 54);
  const uint16_t phnum = le<uint16_t>(image, 56);
  const uint16_t shentsize = le<uint16_t>(image, 58);
  const uint16_t shnum = le<uint16_t>(image, 60);
  const uint16_t shstrndx = le<uint16_t>(image, 62);
  // Extended numbering keeps the real counts in section 0, where a reader finds counts this
  // check never saw; no cubin has that many sections or segments.
  if ((shnum == 0 && shoff != 0) || shstrndx == kShnXindex || phnum == kPnXnum)
    return Err{ModuleImageError::ElfUnsupported};
  const uint64_t size = image.size();

  // Each table: entries of the standard size (a reader may well assume it), all of it inside
  // the image. u16 * u16 cannot overflow 64 bits.
  if (shnum != 0) {
    if (shentsize != kElfShdrSize || !inside(shoff, uint64_t{shnum} * shentsize, size) ||
        shstrndx >= shnum)
      return Err{ModuleImageError::ElfSectionTable};
  }
  if (phnum != 0) {
    if (phentsize != kElfPhdrSize || !inside(phoff, uint64_t{phnum} * phentsize, size))
      return Err{ModuleImageError::ElfProgramTable};
  }
  // What the tables point at: the driver reads a section's sh_size bytes at sh_offset (the
  // code, the constant banks, .nv.info), and a segment's p_filesz bytes at p_offset.
  for (uint64_t i = 0; i < shnum; ++i) {
    const uint64_t at = shoff + i * kElfShdrSize;
    const uint32_t type = le<uint32_t>(image, at + 4);
    const uint64_t offset = le<uint64_t>(image, at + 24);
    const uint64_t length = le<uint64_t>(image, at + 32);
    if (type != kShtNobits && !inside(offset, length, size)) return Err{ModuleImageError::ElfSectionData};
  }
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint64_t at = phoff + i * kElfPhdrSize;
    const uint64_t offset = le<uint64_t>(image, at + 8);
    const uint64_t filesz = le<uint64_t>(image, at + 32);
    if (!inside(offset, filesz, size)) return Err{ModuleImageError::ElfSegmentData};
  }
  return ModuleImageKind::Elf;
}

Checked check_text(std::span<const uint8_t> image) {
  // The driver reads a text image up to its first NUL (vgpud appends one). A NUL earlier
  // than the last byte would hide the rest of the upload from the driver: nothing a compiler
  // writes, and bytes vgpud would otherwise pass on unchecked.
  std::span<const uint8_t> text = image;
  if (!text.empty() && text.back() == 0) text = text.first(text.size() - 1);
  if (text.empty()) return Err{ModuleImageError::Empty};
  if (std::memchr(text.data(), 0, text.size()) != nullptr) return Err{ModuleImageError::TextEmbeddedNul};
  return ModuleImageKind::Text;
}

}  // namespace

Checked check_module_image(std::span<const uint8_t> image) {
  if (image.empty()) return Err{ModuleImageError::Empty};
  // The kind is decided by the magic alone, as the driver decides it: an image that starts
  // like a fat binary or an ELF is judged by those rules and never falls back to text.
  if (image.size() >= 4 && le<uint32_t>(image, 0) == kFatMagic) return check_fat_binary(image);
  if (image.size() >= 4 && std::memcmp(image.data(), "\x7f" "ELF", 4) == 0) return check_elf(image);
  return check_text(image);
}

const char* module_image_error_message(ModuleImageError e) {
  switch (e) {
    case ModuleImageError::Empty: return "the image is empty";
    case ModuleImageError::FatTruncated: return "the fat binary is shorter than its header";
    case ModuleImageError::FatHeaderSize: return "the fat binary's header_size is below 16 bytes";
    case ModuleImageError::FatSizeMismatch:
      return "the fat binary's header_size + fat_size is not the number of bytes uploaded";
    case ModuleImageError::FatNoEntries: return "the fat binary holds no entries";
    case ModuleImageError::FatEntryTruncated:
      return "a fat binary entry's header is under 16 bytes or runs past the fat binary";
    case ModuleImageError::FatEntryOverrun: return "a fat binary entry's payload runs past the fat binary";
    case ModuleImageError::ElfTruncated: return "the ELF image is shorter than its header";
    case ModuleImageError::ElfUnsupported:
      return "the ELF image is not a 64-bit little-endian CUDA cubin with plain section numbering";
    case ModuleImageError::ElfSectionTable: return "the ELF section header table lies outside the image or is malformed";
    case ModuleImageError::ElfProgramTable: return "the ELF program header table lies outside the image or is malformed";
    case ModuleImageError::ElfSectionData: return "an ELF section lies outside the image";
    case ModuleImageError::ElfSegmentData: return "an ELF segment lies outside the image";
    case ModuleImageError::TextEmbeddedNul: return "the text image has a NUL byte before its end";
  }
  return "the image is invalid";
}

}  // namespace vgpud
