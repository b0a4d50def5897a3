// Any bytes a guest uploads as a module image get a kind or an error, never a crash; and what
// is accepted really holds every size the driver will believe inside the upload. The checks
// below recompute each rule independently, in 128-bit arithmetic that cannot overflow.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "vgpud/executor/module_image.h"

namespace {

using u128 = unsigned __int128;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // x86-64: little-endian, as the formats are
  return v;
}

void check_fat_binary(const uint8_t* data, size_t size) {
  if (size < 16 || load<uint32_t>(data) != 0xBA55ED50u) __builtin_trap();
  const u128 header_size = load<uint16_t>(data + 6);
  const u128 fat_size = load<uint64_t>(data + 8);
  if (header_size < 16 || header_size + fat_size != size || fat_size == 0) __builtin_trap();
  u128 at = header_size;
  while (at < size) {
    if (at + 16 > size) __builtin_trap();
    const u128 entry_header = load<uint32_t>(data + static_cast<size_t>(at) + 4);
    const u128 payload = load<uint64_t>(data + static_cast<size_t>(at) + 8);
    if (entry_header < 16 || at + entry_header + payload > size) __builtin_trap();
    at += entry_header + payload;
  }
  if (at != size) __builtin_trap();
}

void check_elf(const uint8_t* data, size_t size) {
  if (size < 64 || std::memcmp(data, "\x7f" "ELF", 4) != 0 || data[4] != 2 || data[5] != 1) __builtin_trap();
  const u128 phoff = load<uint64_t>(data + 32), shoff = load<uint64_t>(data + 40);
  const u128 phentsize = load<uint16_t>(data + 54), phnum = load<uint16_t>(data + 56);
  const u128 shentsize = load<uint16_t>(data + 58), shnum = load<uint16_t>(data + 60);
  if (shnum != 0 && (shentsize < 64 || shoff + shnum * shentsize > size)) __builtin_trap();
  if (phnum != 0 && (phentsize < 56 || phoff + phnum * phentsize > size)) __builtin_trap();
  if (shnum != 0 && load<uint16_t>(data + 62) >= shnum) __builtin_trap();
  for (u128 i = 0; i < shnum; ++i) {
    const uint8_t* s = data + static_cast<size_t>(shoff + i * shentsize);
    if (load<uint32_t>(s + 4) != 8 && u128{load<uint64_t>(s + 24)} + load<uint64_t>(s + 32) > size)
      __builtin_trap();
  }
  for (u128 i = 0; i < phnum; ++i) {
    const uint8_t* p = data + static_cast<size_t>(phoff + i * phentsize);
    if (u128{load<uint64_t>(p + 8)} + load<uint64_t>(p + 32) > size) __builtin_trap();
  }
}

void check_text(const uint8_t* data, size_t size) {
  const size_t text = size > 0 && data[size - 1] == 0 ? size - 1 : size;
  if (text == 0 || std::memchr(data, 0, text) != nullptr) __builtin_trap();
  // Never taken for a binary: those are judged by their own rules.
  if (size >= 4 && (load<uint32_t>(data) == 0xBA55ED50u || std::memcmp(data, "\x7f" "ELF", 4) == 0))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto result = vgpud::check_module_image(std::span(data, size));
  if (!result.ok()) {
    const char* message = vgpud::module_image_error_message(result.error());
    if (message == nullptr || *message == '\0') __builtin_trap();
    return 0;
  }
  switch (*result) {
    case vgpud::ModuleImageKind::FatBinary: check_fat_binary(data, size); break;
    case vgpud::ModuleImageKind::Elf: check_elf(data, size); break;
    case vgpud::ModuleImageKind::Text: check_text(data, size); break;
    default: __builtin_trap();
  }
  return 0;
}
