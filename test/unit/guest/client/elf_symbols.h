// A minimal reader of an ELF64 shared object's dynamic section and symbol tables, for tests
// that check how the guest libraries are linked (DT_NEEDED, RUNPATH, exported names) without
// depending on binutils at test time.
#pragma once
#include <cxxabi.h>
#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vgpu::test {

struct ElfSymbol {
  std::string name;       // demangled
  bool defined = false;   // not SHN_UNDEF
  bool absolute = false;  // SHN_ABS (a version node's own symbol)
  bool local = false;     // STB_LOCAL
  std::string version;    // from .gnu.version; "" when unversioned
};

struct ElfObject {
  std::vector<std::string> needed;  // DT_NEEDED
  std::string soname;               // DT_SONAME
  std::string runpath;              // DT_RUNPATH, else DT_RPATH
  std::vector<ElfSymbol> dynamic;   // .dynsym
  std::vector<ElfSymbol> symtab;    // .symtab; empty when stripped
};

inline std::string demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || d == nullptr) return name;
  std::string out(d);
  std::free(d);
  return out;
}

// nullopt when the file cannot be read or is not a well-formed 64-bit ELF object.
inline std::optional<ElfObject> read_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64)
    return std::nullopt;
  const char* base = bytes.data();
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  if (eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > bytes.size()) return std::nullopt;
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
  auto in_file = [&](const Elf64_Shdr& s) { return s.sh_offset + s.sh_size <= bytes.size(); };
  for (unsigned i = 0; i < eh->e_shnum; ++i)
    if (sh[i].sh_type != SHT_NOBITS && (!in_file(sh[i]) || sh[i].sh_link >= eh->e_shnum))
      return std::nullopt;
  auto str = [&](unsigned strtab, uint64_t off) -> std::string {
    const Elf64_Shdr& s = sh[strtab];
    return off < s.sh_size ? std::string(base + s.sh_offset + off,
                                         strnlen(base + s.sh_offset + off, s.sh_size - off))
                           : "";
  };

  // Version indexes (.gnu.version entries) to names: definitions and needs.
  std::map<uint16_t, std::string> versions;
  const uint16_t* versym = nullptr;
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    const Elf64_Shdr& s = sh[i];
    const char* p = base + s.sh_offset;
    if (s.sh_type == SHT_GNU_versym) versym = reinterpret_cast<const uint16_t*>(p);
    if (s.sh_type == SHT_GNU_verdef)
      for (uint64_t off = 0, n = 0; n < s.sh_info && off + sizeof(Elf64_Verdef) <= s.sh_size; ++n) {
        const auto* vd = reinterpret_cast<const Elf64_Verdef*>(p + off);
        const auto* aux = reinterpret_cast<const Elf64_Verdaux*>(p + off + vd->vd_aux);
        versions[vd->vd_ndx] = str(s.sh_link, aux->vda_name);
        if (vd->vd_next == 0) break;
        off += vd->vd_next;
      }
    if (s.sh_type == SHT_GNU_verneed)
      for (uint64_t off = 0, n = 0; n < s.sh_info && off + sizeof(Elf64_Verneed) <= s.sh_size;
           ++n) {
        const auto* vn = reinterpret_cast<const Elf64_Verneed*>(p + off);
        for (uint64_t a = off + vn->vn_aux, k = 0; k < vn->vn_cnt; ++k) {
          const auto* aux = reinterpret_cast<const Elf64_Vernaux*>(p + a);
          versions[aux->vna_other] = str(s.sh_link, aux->vna_name);
          if (aux->vna_next == 0) break;
          a += aux->vna_next;
        }
        if (vn->vn_next == 0) break;
        off += vn->vn_next;
      }
  }

  ElfObject obj;
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    const Elf64_Shdr& s = sh[i];
    const char* p = base + s.sh_offset;
    if (s.sh_type == SHT_DYNAMIC) {
      for (const auto* d = reinterpret_cast<const Elf64_Dyn*>(p);
           reinterpret_cast<const char*>(d + 1) <= p + s.sh_size && d->d_tag != DT_NULL; ++d) {
        if (d->d_tag == DT_NEEDED) obj.needed.push_back(str(s.sh_link, d->d_un.d_val));
        if (d->d_tag == DT_SONAME) obj.soname = str(s.sh_link, d->d_un.d_val);
        if (d->d_tag == DT_RUNPATH || (d->d_tag == DT_RPATH && obj.runpath.empty()))
          obj.runpath = str(s.sh_link, d->d_un.d_val);
      }
    }
    if (s.sh_type != SHT_DYNSYM && s.sh_type != SHT_SYMTAB) continue;
    auto& out = s.sh_type == SHT_DYNSYM ? obj.dynamic : obj.symtab;
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(p);
    for (uint64_t k = 1; k < s.sh_size / sizeof(Elf64_Sym); ++k) {  // 0 is the null symbol
      ElfSymbol sym;
      sym.name = demangle(str(s.sh_link, syms[k].st_name).c_str());
      sym.defined = syms[k].st_shndx != SHN_UNDEF;
      sym.absolute = syms[k].st_shndx == SHN_ABS;
      sym.local = ELF64_ST_BIND(syms[k].st_info) == STB_LOCAL;
      if (s.sh_type == SHT_DYNSYM && versym != nullptr) {
        auto it = versions.find(versym[k] & 0x7fff);  // the top bit marks a hidden version
        if (it != versions.end()) sym.version = it->second;
      }
      out.push_back(std::move(sym));
    }
  }
  return obj;
}

}  // namespace vgpu::test
