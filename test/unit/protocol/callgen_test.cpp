// vgpu-callgen's own logic (protocol/generator/): layouts, the errors that keep a bad wire format
// out of the tree, and the generated parser's shape. The real calls.yaml is covered by the
// static_asserts it generates, by the parse tests and by CTest protocol_doc_current.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "protocol/generator/emit.h"
#include "protocol/generator/model.h"

using namespace vgpu::callgen;

namespace {

std::map<std::string, int64_t> test_limits() {
  return read_limits("inline constexpr uint32_t kMaxThings = 4;\n"
                     "inline constexpr uint64_t kMaxBig = 512ull << 20;\n",
                     "limits.h");
}

Protocol load_text(const std::string& yaml) { return load(yaml, "calls.yaml", test_limits()); }

// The error load() throws for `yaml`, or "" when it loads.
std::string load_error(const std::string& yaml) {
  try {
    load_text(yaml);
  } catch (const GenError& e) {
    return e.what();
  }
  return "";
}

const char* kOneCall = R"(
calls:
  - call: Thing
    name: THING
    id: 0x0042
    sent: answered
    request:
      fields:
        - a: u32
        - b: u8
        - pad: "u8[3]"
        - c: u64
        - d: "i32[kMaxThings]"
        - reserved: u64
)";

std::string replaced(std::string s, const std::string& what, const std::string& with) {
  s.replace(s.find(what), what.size(), with);
  return s;
}

}  // namespace

TEST_CASE("limits.h constants are evaluated", "[callgen]") {
  auto limits = read_limits("// comment\ninline constexpr uint32_t kA = 32 * 1024;\n"
                            "inline constexpr uint64_t kB = 64ull << 30;\n"
                            "inline constexpr uint32_t kC = kA / 2 + (1u << 4);\n",
                            "limits.h");
  CHECK(limits.at("kA") == 32768);
  CHECK(limits.at("kB") == (int64_t{64} << 30));
  CHECK(limits.at("kC") == 16384 + 16);
  CHECK_THROWS_WITH(read_limits("inline constexpr uint32_t kA = kNope;\n", "limits.h"),
                    Catch::Contains("limits.h:1") && Catch::Contains("unknown name `kNope`"));
}

TEST_CASE("layouts follow natural alignment, arrays sized by limits.h", "[callgen]") {
  const Protocol p = load_text(kOneCall);
  const Message& m = *p.calls.at(0).request;
  CHECK(m.name == "ThingRequest");
  std::vector<uint64_t> offsets;
  for (const Field& f : m.fields) offsets.push_back(f.offset);
  CHECK(offsets == std::vector<uint64_t>{0, 4, 5, 8, 16, 32});
  CHECK(m.size == 40);
  CHECK(m.align == 8);
  // Every offset is pinned in the generated header.
  const std::string h = emit_payloads(p);
  CHECK_THAT(h, Catch::Contains("int32_t d[limits::kMaxThings];"));
  CHECK_THAT(h, Catch::Contains("static_assert(sizeof(ThingRequest) == 40);"));
  CHECK_THAT(h, Catch::Contains("static_assert(offsetof(ThingRequest, c) == 8);"));
}

TEST_CASE("implicit padding is refused, naming the YAML line", "[callgen]") {
  const std::string yaml = replaced(kOneCall, "        - pad: \"u8[3]\"\n", "");  // c would be at 5
  CHECK_THAT(load_error(yaml), Catch::Contains("calls.yaml:11: ThingRequest: 3 bytes of implicit padding before `c`") &&
                                   Catch::Contains("declare a reserved field"));
  // At the end too: the struct's size must be a multiple of its alignment.
  const std::string tail = replaced(kOneCall, "reserved: u64", "reserved: u32");
  CHECK_THAT(load_error(tail), Catch::Contains("calls.yaml:14: ThingRequest: 4 bytes of implicit padding at the end"));
}

TEST_CASE("checks that could never fail, or never pass, are refused", "[callgen]") {
  auto with_check = [](const std::string& check) {
    return std::string(kOneCall) + "    checks:\n      " + check + "\n";
  };
  CHECK(load_error(with_check("a: {max: kMaxThings}")).empty());
  CHECK_THAT(load_error(with_check("b: {max: 255}")), Catch::Contains("can never fail"));
  CHECK_THAT(load_error(with_check("a: {min: 0}")), Catch::Contains("can never fail"));
  CHECK_THAT(load_error(with_check("b: {below: 0}")), Catch::Contains("outside the type's range"));
  CHECK_THAT(load_error(with_check("d: {nonzero: true}")), Catch::Contains("`nonzero` on a signed field"));
  CHECK_THAT(load_error(with_check("nope: {nonzero: true}")), Catch::Contains("no request field `nope`"));
  CHECK_THAT(load_error(with_check("a: {maximum: 3}")), Catch::Contains("unknown key `maximum`"));
}

TEST_CASE("a narrowed command field needs a check that keeps it in range", "[callgen]") {
  const std::string narrowed = std::string(kOneCall) + "    command:\n      fields: [{a: u8}]\n";
  CHECK_THAT(load_error(narrowed), Catch::Contains("narrowing `a` to u8 needs a max/below check"));
  CHECK(load_error(narrowed + "    checks:\n      a: {max: 0xff}\n").empty());
}

TEST_CASE("the generated parser checks sizes, then fields, then allocates", "[callgen]") {
  const Protocol p = load_text(R"(
calls:
  - call: Put
    name: PUT
    id: 7
    sent: posted
    request:
      fields:
        - handle: u32
        - length: u32
    request_tail: {length: length, max: kMaxThings, into: bytes, doc: data}
    checks:
      handle: {nonzero: true}
    hook: put_is_sane
)");
  const std::string code = emit_parser(p);
  const size_t size = code.find("if (tail.size() != w.length) return bad_size();");
  const size_t field = code.find("if (w.handle == 0) return out_of_range();");
  const size_t bound = code.find("if (w.length > limits::kMaxThings) return out_of_range();");
  const size_t hook = code.find("if (!put_is_sane(w, tail)) return out_of_range();");
  const size_t alloc = code.find("cmd.bytes.assign(tail.begin(), tail.end());");
  REQUIRE(size != std::string::npos);
  REQUIRE(field != std::string::npos);
  REQUIRE(bound != std::string::npos);
  REQUIRE(hook != std::string::npos);
  REQUIRE(alloc != std::string::npos);
  CHECK((size < field && field < bound && bound < hook && hook < alloc));
  CHECK_THAT(code, Catch::Contains("case proto::CallId::Put: return parse_put(p);"));
  // The tail's length is implied by the tail: the command does not repeat it.
  CHECK_THAT(emit_commands(p), Catch::Contains("struct PutCmd {\n  uint32_t handle;\n  std::vector<uint8_t> bytes;\n};"));
}

TEST_CASE("the docs table and its markers", "[callgen]") {
  const Protocol p = load_text(std::string(kOneCall) + "    notes: \"does a thing\"\n");
  const std::string table = doc_table(p);
  CHECK_THAT(table, Catch::Contains("| 0x0042 | THING | answered | ThingRequest (40) | — | does a thing |\n"));
  const std::string doc = std::string("# x\n\n") + kDocBegin + "\nstale\n" + kDocEnd + "\n\nafter\n";
  const std::string spliced = splice_doc(doc, table, "protocol.md");
  CHECK(spliced == std::string("# x\n\n") + kDocBegin + "\n\n" + table + "\n" + kDocEnd + "\n\nafter\n");
  CHECK(splice_doc(spliced, table, "protocol.md") == spliced);  // stable: the check compares this
  CHECK_THROWS_WITH(splice_doc("no markers", table, "protocol.md"), Catch::Contains("protocol.md:1: no"));
}

TEST_CASE("the project's calls.yaml loads", "[callgen]") {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string root = VGPU_SOURCE_DIR;
  const Protocol p = load(read(root + "/protocol/calls.yaml"), "protocol/calls.yaml",
                          read_limits(read(root + "/protocol/include/vgpu/protocol/limits.h"), "limits.h"));
  CHECK(p.calls.size() >= 40);
  // Shared structs are declared once: MEMCPY_DTOH_INLINE and _STAGED point at the same one.
  const Message* dtoh_inline = nullptr;
  const Message* dtoh_staged = nullptr;
  for (const Call& c : p.calls) {
    if (c.name == "MEMCPY_DTOH_INLINE") dtoh_inline = c.request;
    if (c.name == "MEMCPY_DTOH_STAGED") dtoh_staged = c.request;
  }
  REQUIRE(dtoh_inline != nullptr);
  CHECK(dtoh_inline == dtoh_staged);
  CHECK(dtoh_inline->name == "MemcpyDtoHRequest");
}
