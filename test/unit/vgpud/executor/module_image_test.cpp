// check_module_image against real images made by nvcc (the fuzz seeds in
// test/fuzz/corpus/module_image/) and against those images broken in every way a guest could
// lie about their size.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "guest/cuda/fatbin.h"
#include "vgpud/executor/module_image.h"

using vgpud::check_module_image;
using vgpud::ModuleImageError;
using vgpud::ModuleImageKind;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes read_seed(const std::string& name) {
  const std::string path = VGPU_SOURCE_DIR "/test/fuzz/corpus/module_image/" + name;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

template <typename T>
void poke(Bytes& image, size_t at, T value) {
  REQUIRE(at + sizeof value <= image.size());
  std::memcpy(image.data() + at, &value, sizeof value);
}

template <typename T>
T peek(const Bytes& image, size_t at) {
  T value;
  std::memcpy(&value, image.data() + at, sizeof value);
  return value;
}

ModuleImageError error_of(const Bytes& image) {
  auto r = check_module_image(image);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// A fat binary made of entries {header_size, payload bytes}, every field but the two sizes 0.
Bytes fat_binary(std::initializer_list<std::pair<uint32_t, uint64_t>> entries) {
  Bytes image(16, 0);
  poke<uint32_t>(image, 0, 0xBA55ED50);
  poke<uint16_t>(image, 4, 1);
  poke<uint16_t>(image, 6, 16);
  for (auto [header, payload] : entries) {
    const size_t at = image.size();
    image.resize(at + header + payload, 0xAB);
    std::memset(image.data() + at, 0, header);
    poke<uint16_t>(image, at, 2);
    poke<uint16_t>(image, at + 2, 0x101);
    poke<uint32_t>(image, at + 4, header);
    poke<uint64_t>(image, at + 8, payload);
  }
  poke<uint64_t>(image, 8, image.size() - 16);
  return image;
}

// ELF64 header fields (elf.h).
constexpr size_t kPhoff = 32, kShoff = 40, kPhentsize = 54, kPhnum = 56, kShentsize = 58, kShnum = 60,
                 kShstrndx = 62;

// The section header of the first section of this type.
size_t first_section_with(const Bytes& elf, uint32_t type) {
  const auto shoff = peek<uint64_t>(elf, kShoff);
  for (uint16_t i = 0; i < peek<uint16_t>(elf, kShnum); ++i)
    if (peek<uint32_t>(elf, shoff + i * 64 + 4) == type) return shoff + i * 64;
  FAIL("no such section");
  return 0;
}

}  // namespace

TEST_CASE("real images from nvcc are accepted with their kind", "[module_image]") {
  const std::pair<const char*, ModuleImageKind> seeds[] = {
      {"fatbin-sm90-sass-ptx", ModuleImageKind::FatBinary},      // nvcc -fatbin -arch=sm_90 (= -c's .nv_fatbin)
      {"fatbin-sm80-sm90-sass", ModuleImageKind::FatBinary},     // two SASS entries
      {"fatbin-sm90-compressed", ModuleImageKind::FatBinary},    // -Xfatbin -compress-all
      {"fatbin-compute75-ptx-only", ModuleImageKind::FatBinary}, // code=compute_75: PTX alone
      {"fatbin-rdc-relocatable", ModuleImageKind::FatBinary},    // -rdc=true: 96-byte PTX entry header
      {"cubin-sm90.elf", ModuleImageKind::Elf},                  // nvcc -cubin
      {"kernels.ptx", ModuleImageKind::Text},                    // nvcc -ptx, no NUL
      {"fake-image.txt", ModuleImageKind::Text},                 // the fake driver's, NUL-terminated
  };
  for (const auto& [name, kind] : seeds) {
    INFO(name);
    const Bytes image = read_seed(name);
    auto r = check_module_image(image);
    REQUIRE(r.ok());
    CHECK(*r == kind);
  }
}

TEST_CASE("what the guest shim finds behind __cudaRegisterFatBinary is accepted", "[module_image]") {
  // nvcc's wrapper {magic, version, data, unused}; the shim computes header_size + fat_size.
  struct Wrapper {
    int32_t magic;
    int32_t version;
    const void* data;
    void* unused;
  };
  for (const char* name : {"fatbin-sm90-sass-ptx", "fatbin-sm80-sm90-sass", "fatbin-rdc-relocatable"}) {
    INFO(name);
    const Bytes image = read_seed(name);
    const Wrapper wrapper{static_cast<int32_t>(vgpu::cuda::kFatbinWrapperMagic), 1, image.data(), nullptr};
    auto found = vgpu::cuda::find_module_image(&wrapper);
    REQUIRE(found.has_value());
    REQUIRE(found->size == image.size());
    auto r = check_module_image(std::span(static_cast<const uint8_t*>(found->data), found->size));
    REQUIRE(r.ok());
    CHECK(*r == ModuleImageKind::FatBinary);
  }
  // The fake driver's text images travel with their NUL.
  const std::string fake = "FAKECUBIN 1\nkernel fake_vector_add 8,8,8,4\n";
  auto found = vgpu::cuda::find_module_image(fake.c_str());
  REQUIRE(found.has_value());
  REQUIRE(found->size == fake.size() + 1);
  auto r = check_module_image(std::span(static_cast<const uint8_t*>(found->data), found->size));
  REQUIRE(r.ok());
  CHECK(*r == ModuleImageKind::Text);
}

TEST_CASE("a fat binary must be exactly as long as its header says", "[module_image]") {
  const Bytes real = read_seed("fatbin-sm90-sass-ptx");

  SECTION("truncated") {
    Bytes image(real.begin(), real.end() - 1);
    CHECK(error_of(image) == ModuleImageError::FatSizeMismatch);
    image.resize(10);
    CHECK(error_of(image) == ModuleImageError::FatTruncated);
  }
  SECTION("extended") {
    Bytes image = real;
    image.resize(image.size() + 8, 0);
    CHECK(error_of(image) == ModuleImageError::FatSizeMismatch);
  }
  SECTION("the header claims more than was uploaded") {
    Bytes image = real;
    poke<uint64_t>(image, 8, peek<uint64_t>(image, 8) + 4096);
    CHECK(error_of(image) == ModuleImageError::FatSizeMismatch);
    poke<uint64_t>(image, 8, ~0ull);
    CHECK(error_of(image) == ModuleImageError::FatSizeMismatch);
  }
  SECTION("header_size + fat_size wraps around to the upload's size") {
    // 24 bytes uploaded, a 64-byte header claimed: 64 + (2^64 - 40) == 24 in 64 bits.
    Bytes image(real.begin(), real.begin() + 24);
    poke<uint16_t>(image, 6, 64);
    poke<uint64_t>(image, 8, 0ull - 40);
    CHECK(error_of(image) == ModuleImageError::FatSizeMismatch);
  }
  SECTION("header_size below the header") {
    Bytes image = real;
    poke<uint16_t>(image, 6, 8);
    poke<uint64_t>(image, 8, image.size() - 8);
    CHECK(error_of(image) == ModuleImageError::FatHeaderSize);
  }
  SECTION("no entries") {
    CHECK(error_of(fat_binary({})) == ModuleImageError::FatNoEntries);
  }
  SECTION("synthetic entries") {
    auto r = check_module_image(fat_binary({{64, 128}, {80, 40}, {16, 0}}));
    REQUIRE(r.ok());
    CHECK(*r == ModuleImageKind::FatBinary);
  }
}

TEST_CASE("every fat binary entry lies inside the fat binary and the walk ends at its end",
          "[module_image]") {
  const Bytes real = read_seed("fatbin-sm90-sass-ptx");  // entries at 16 (SASS) and 6040 (PTX)
  const size_t first = 16, second = 6040;
  REQUIRE(peek<uint32_t>(real, first + 4) + peek<uint64_t>(real, first + 8) + first == second);

  SECTION("an entry's payload overruns the fat binary") {
    Bytes image = real;
    poke<uint64_t>(image, second + 8, peek<uint64_t>(image, second + 8) + 8);
    CHECK(error_of(image) == ModuleImageError::FatEntryOverrun);
    poke<uint64_t>(image, second + 8, ~0ull);
    CHECK(error_of(image) == ModuleImageError::FatEntryOverrun);
  }
  SECTION("an entry's payload size wraps around to an earlier entry") {
    // Sizes near 2^64 that, added without care, step back to an entry already walked: a walk
    // that never ends.
    Bytes image = real;
    const uint64_t header = peek<uint32_t>(image, second + 4);
    poke<uint64_t>(image, second + 8, 0ull - header - (second - first));  // back to the first
    CHECK(error_of(image) == ModuleImageError::FatEntryOverrun);
    image = real;
    poke<uint64_t>(image, first + 8, 0ull - 64);  // back onto itself
    CHECK(error_of(image) == ModuleImageError::FatEntryOverrun);
  }
  SECTION("an entry's header is too short to move on, or too long") {
    Bytes image = real;
    poke<uint32_t>(image, first + 4, 0);  // would loop forever
    CHECK(error_of(image) == ModuleImageError::FatEntryTruncated);
    poke<uint32_t>(image, first + 4, 15);
    CHECK(error_of(image) == ModuleImageError::FatEntryTruncated);
    poke<uint32_t>(image, first + 4, 0xFFFFFFFF);
    CHECK(error_of(image) == ModuleImageError::FatEntryTruncated);
  }
  SECTION("the walk stops short of the end: junk after the last entry") {
    Bytes image = real;
    image.resize(image.size() + 8, 0);
    poke<uint64_t>(image, 8, image.size() - 16);
    CHECK(error_of(image) == ModuleImageError::FatEntryTruncated);
    Bytes longer = real;  // the same with a whole entry header's worth of zeros: header_size 0
    longer.resize(longer.size() + 16, 0);
    poke<uint64_t>(longer, 8, longer.size() - 16);
    CHECK(error_of(longer) == ModuleImageError::FatEntryTruncated);
  }
  SECTION("an entry ends inside the next one's header") {
    Bytes image = real;
    poke<uint64_t>(image, first + 8, peek<uint64_t>(image, first + 8) - 8);
    CHECK_FALSE(check_module_image(image).ok());
  }
}

TEST_CASE("a cubin's tables and what they point at lie inside the image", "[module_image]") {
  const Bytes real = read_seed("cubin-sm90.elf");

  SECTION("truncated") {
    Bytes image(real.begin(), real.end() - 1);  // the program headers are last
    CHECK(error_of(image) == ModuleImageError::ElfProgramTable);
    image.resize(63);
    CHECK(error_of(image) == ModuleImageError::ElfTruncated);
    image.resize(4);
    CHECK(error_of(image) == ModuleImageError::ElfTruncated);
  }
  SECTION("not a 64-bit little-endian CUDA ELF") {
    Bytes image = real;
    image[4] = 1;  // ELFCLASS32
    CHECK(error_of(image) == ModuleImageError::ElfUnsupported);
    image = real;
    image[5] = 2;  // big-endian
    CHECK(error_of(image) == ModuleImageError::ElfUnsupported);
    image = real;
    poke<uint16_t>(image, 18, 62);  // x86-64
    CHECK(error_of(image) == ModuleImageError::ElfUnsupported);
    image = real;
    poke<uint16_t>(image, kShnum, 0);  // extended numbering: the count would be in section 0
    CHECK(error_of(image) == ModuleImageError::ElfUnsupported);
    image = real;
    poke<uint16_t>(image, kPhnum, 0xFFFF);  // PN_XNUM: the same for segments
    CHECK(error_of(image) == ModuleImageError::ElfUnsupported);
  }
  SECTION("section header table") {
    Bytes image = real;
    poke<uint64_t>(image, kShoff, image.size());
    CHECK(error_of(image) == ModuleImageError::ElfSectionTable);
    poke<uint64_t>(image, kShoff, 0ull - 64);  // offset + table wraps
    CHECK(error_of(image) == ModuleImageError::ElfSectionTable);
    image = real;
    poke<uint16_t>(image, kShnum, 0xFFFE);
    CHECK(error_of(image) == ModuleImageError::ElfSectionTable);
    image = real;
    poke<uint16_t>(image, kShentsize, 1);  // a reader striding 64 bytes would leave the table
    CHECK(error_of(image) == ModuleImageError::ElfSectionTable);
    image = real;
    poke<uint16_t>(image, kShstrndx, peek<uint16_t>(image, kShnum));
    CHECK(error_of(image) == ModuleImageError::ElfSectionTable);
  }
  SECTION("program header table") {
    Bytes image = real;
    poke<uint64_t>(image, kPhoff, image.size() - 8);
    CHECK(error_of(image) == ModuleImageError::ElfProgramTable);
    poke<uint64_t>(image, kPhoff, ~0ull);
    CHECK(error_of(image) == ModuleImageError::ElfProgramTable);
    image = real;
    poke<uint16_t>(image, kPhentsize, 8);
    CHECK(error_of(image) == ModuleImageError::ElfProgramTable);
  }
  SECTION("a section's bytes") {
    Bytes image = real;
    const size_t shdr = first_section_with(image, 1);  // SHT_PROGBITS
    poke<uint64_t>(image, shdr + 32, image.size());
    CHECK(error_of(image) == ModuleImageError::ElfSectionData);
    poke<uint64_t>(image, shdr + 24, 16);
    poke<uint64_t>(image, shdr + 32, 0ull - 8);  // offset + size wraps
    CHECK(error_of(image) == ModuleImageError::ElfSectionData);
    // A NOBITS section takes no bytes of the file, whatever its size.
    image = real;
    const size_t nobits = first_section_with(image, 8);
    poke<uint64_t>(image, nobits + 32, 1ull << 40);
    CHECK(check_module_image(image).ok());
  }
  SECTION("a segment's bytes") {
    Bytes image = real;
    const auto phoff = peek<uint64_t>(image, kPhoff);
    poke<uint64_t>(image, phoff + 32, image.size());  // p_filesz
    CHECK(error_of(image) == ModuleImageError::ElfSegmentData);
    poke<uint64_t>(image, phoff + 8, ~0ull);  // p_offset
    poke<uint64_t>(image, phoff + 32, 2);
    CHECK(error_of(image) == ModuleImageError::ElfSegmentData);
  }
}

TEST_CASE("a text image is what the driver will read up to its NUL", "[module_image]") {
  CHECK(*check_module_image(text("FAKECUBIN 1\nkernel k 4\n")) == ModuleImageKind::Text);
  Bytes terminated = text("FAKECUBIN 1\nkernel k 4\n");
  terminated.push_back(0);
  CHECK(*check_module_image(terminated) == ModuleImageKind::Text);
  CHECK(*check_module_image(text("x")) == ModuleImageKind::Text);

  Bytes hidden = text("FAKECUBIN 1\nkernel k 4\n");
  hidden.push_back(0);
  for (uint8_t b : text("junk the driver never sees")) hidden.push_back(b);
  CHECK(error_of(hidden) == ModuleImageError::TextEmbeddedNul);
  hidden.push_back(0);
  CHECK(error_of(hidden) == ModuleImageError::TextEmbeddedNul);
  CHECK(error_of(Bytes{0, 0}) == ModuleImageError::TextEmbeddedNul);

  CHECK(error_of(Bytes{}) == ModuleImageError::Empty);
  CHECK(error_of(Bytes{0}) == ModuleImageError::Empty);
}

TEST_CASE("the magic decides the kind: a broken binary is not text", "[module_image]") {
  // Fat-binary and ELF magic with nothing after: judged as what they claim to be.
  CHECK(error_of(Bytes{0x50, 0xED, 0x55, 0xBA}) == ModuleImageError::FatTruncated);
  CHECK(error_of(text("\x7f" "ELF")) == ModuleImageError::ElfTruncated);
  // Bytes that are neither, with no NUL, are text as far as the driver can tell.
  CHECK(*check_module_image(Bytes{0x50, 0xED, 0x55}) == ModuleImageKind::Text);
}

TEST_CASE("every module image error has its own message", "[module_image]") {
  std::vector<std::string> seen;
  for (int e = 0; e <= static_cast<int>(ModuleImageError::TextEmbeddedNul); ++e) {
    const std::string message = vgpud::module_image_error_message(static_cast<ModuleImageError>(e));
    CHECK_FALSE(message.empty());
    CHECK(std::find(seen.begin(), seen.end(), message) == seen.end());
    seen.push_back(message);
  }
}
