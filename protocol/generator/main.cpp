// vgpu-callgen: protocol/calls.yaml → the protocol's generated sources, and docs/protocol.md's
// message table. Run by the build (protocol/CMakeLists.txt); by hand only to look at the table.
//
//   vgpu-callgen --yaml protocol/calls.yaml --limits .../limits.h --out DIR   generated sources
//   vgpu-callgen --yaml ... --limits ... --doc-table                          the table, on stdout
//   vgpu-callgen --yaml ... --limits ... --check-doc docs/protocol.md         exit 1 if it is stale
//   vgpu-callgen --yaml ... --limits ... --update-doc docs/protocol.md        rewrite the table
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "protocol/generator/emit.h"

namespace fs = std::filesystem;
using namespace vgpu::callgen;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GenError(path + ":1: cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes only when the text changed, so that an unrelated YAML edit does not rebuild all of vgpud.
void write_if_changed(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (fs::exists(path, ec) && read(path.string()) == text) return;
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw GenError(path.string() + ":1: cannot write");
  }
  fs::rename(tmp, path);
}

int usage() {
  std::cerr << "usage: vgpu-callgen --yaml FILE --limits FILE (--out DIR | --doc-table | --check-doc FILE |"
               " --update-doc FILE) [--stamp FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string yaml, limits, out, check_doc, update_doc, stamp;
  bool table = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& to) {
      if (i + 1 >= argc) return false;
      to = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--yaml") ok = value(yaml);
    else if (a == "--limits") ok = value(limits);
    else if (a == "--out") ok = value(out);
    else if (a == "--check-doc") ok = value(check_doc);
    else if (a == "--update-doc") ok = value(update_doc);
    else if (a == "--stamp") ok = value(stamp);
    else if (a == "--doc-table") table = true;
    else ok = false;
    if (!ok) return usage();
  }
  if (yaml.empty() || limits.empty()) return usage();
  try {
    const Protocol p = load(read(yaml), yaml, read_limits(read(limits), limits));
    if (!out.empty()) {
      const fs::path dir(out);
      write_if_changed(dir / "vgpu/protocol/payloads.gen.h", emit_payloads(p));
      write_if_changed(dir / "vgpu/protocol/call_ids.gen.h", emit_call_ids(p));
      write_if_changed(dir / "vgpu/protocol/call_traits.gen.h", emit_call_traits(p));
      write_if_changed(dir / "call_names.gen.cpp", emit_call_names(p));
      write_if_changed(dir / "vgpud/request/commands.gen.h", emit_commands(p));
      write_if_changed(dir / "vgpud/mediator/parse_calls.gen.inc", emit_parser(p));
    }
    if (table) std::cout << doc_table(p);
    if (!check_doc.empty()) {
      const std::string doc = read(check_doc);
      if (splice_doc(doc, doc_table(p), check_doc) != doc) {
        std::cerr << check_doc << ": the message table differs from " << yaml
                  << ". Run `cmake --build <build dir> --target update-protocol-doc` and commit the result.\n";
        return 1;
      }
    }
    if (!update_doc.empty()) {
      const std::string doc = read(update_doc);
      const std::string updated = splice_doc(doc, doc_table(p), update_doc);
      if (updated != doc) write_if_changed(update_doc, updated);
    }
    // The build's witness that generation ran (the outputs themselves keep old times when unchanged).
    if (!stamp.empty()) std::ofstream(stamp) << "ok\n";
  } catch (const GenError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vgpu-callgen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
