// vgpu-callgen's model of protocol/calls.yaml: the wire structs with their computed layouts, the
// calls with their checks and validated commands. load() builds it (and rejects what would make
// a bad wire format); the emitters in emit.h only print it.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vgpu::callgen {

// Every problem found in the YAML or limits.h. what() is "file:line: message", as compilers say
// it, so editors and CI logs point at the line.
struct GenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Scalar {
  std::string yaml;  // u8 u16 u32 u64 i32 i64 f32 f64 char
  std::string cpp;   // uint8_t ...
  uint32_t size;
  bool is_signed;
  bool is_integer;
};
// nullptr for a name that is not a scalar type.
const Scalar* find_scalar(const std::string& yaml_name);

struct Field {
  std::string name;
  const Scalar* type = nullptr;
  std::string count_expr;  // empty for a scalar; "3" or "kMaxDeviceAttributes" for an array
  uint64_t count = 1;
  std::string doc;
  uint64_t offset = 0;  // computed by load()
  int line = 0;

  bool is_array() const { return !count_expr.empty(); }
  uint64_t bytes() const { return type->size * count; }
  bool is_reserved() const { return name.rfind("reserved", 0) == 0; }
};

struct Message {
  std::string name;
  std::string doc;
  std::vector<Field> fields;
  uint64_t size = 0;   // computed
  uint32_t align = 1;  // computed
  int line = 0;

  const Field* find(const std::string& field) const;
};

// A numeric bound in a check: a limits.h constant or a literal. `cpp` is how generated code
// spells it (limits::kMaxDevices, 0xff), `value` what the generator knows it to be.
struct Bound {
  std::string cpp;
  int64_t value = 0;
  bool from_limits = false;
};

struct Check {
  std::string field;
  bool nonzero = false;
  std::optional<Bound> min, max, below, equals, mask;
  int line = 0;
};

// Bytes that follow the fixed struct. A request tail's length is a field of the request; vgpud
// requires the message to carry exactly that many bytes, and the length to be at most `max`.
struct Tail {
  std::string length_field;           // request tails only
  std::optional<Bound> max;           // bytes (request) or elements (reply)
  const Message* element = nullptr;   // reply tails: an array of this struct; else bytes
  std::string as = "bytes";           // request tails: bytes (std::vector<uint8_t>) or string
  std::string into;                   // the command field that receives it
  std::string doc;                    // the docs table's word for it ("data", "name")
  bool nul_free = false;
  int line = 0;
};

// One field of a validated command (vgpud/request/request.h).
struct CommandField {
  enum class From { Wire, Tail, Constant };
  std::string name;
  std::string cpp_type;  // as declared: uint32_t, std::string, std::vector<uint8_t>, bool
  std::string array;     // the array extent spelled for C++, when copied from a wire array
  From from = From::Wire;
  std::string value;        // Constant: the C++ expression
  bool narrow = false;      // Wire: static_cast to cpp_type (a check bounds the value first)
  bool chars_to_string = false;  // Wire: a NUL-padded char array, up to its first NUL
  int line = 0;
};

struct Command {
  std::string name;
  std::string doc;
  std::vector<CommandField> fields;
  int line = 0;
};

enum class Sent { Answered, Posted, Either };

struct Call {
  std::string enum_name;  // CallId::MemAlloc
  std::string name;       // MEM_ALLOC
  uint16_t id = 0;
  std::string section;    // starts a group of ids in the enum ("Memory")
  Sent sent = Sent::Answered;
  std::string sent_doc;   // the docs table's "sent" column
  std::string notes;
  const Message* request = nullptr;  // nullptr: no payload
  const Message* reply = nullptr;
  std::optional<Tail> request_tail, reply_tail;
  std::vector<Check> checks;
  std::string hook;  // a hand-written check in parse.cpp, run after the declared ones
  Command command;
  int line = 0;
};

struct Protocol {
  std::string yaml_path;  // as given; used in messages and generated comments
  std::map<std::string, int64_t> limits;
  std::deque<Message> messages;  // deque: calls point into it
  std::deque<Call> calls;        // deque: commands point into it
  // Commands in variant order: a command shared by several calls (MemcpySharedCmd) once.
  std::vector<const Command*> commands;
};

// Evaluates limits.h's `inline constexpr <type> kName = <expr>;` lines (integers, + - * / << >>,
// parentheses, earlier constants). Generated code still names the constants, so a wrong value
// here could only make a static_assert fail, never change the format.
std::map<std::string, int64_t> read_limits(const std::string& text, const std::string& path);
int64_t evaluate_limit_expression(const std::string& expr, const std::map<std::string, int64_t>& known,
                                  const std::string& where);

// Parses and checks the YAML: layouts (natural alignment, no implicit padding), ids, checks
// against field types, commands. Throws GenError.
Protocol load(const std::string& yaml_text, const std::string& yaml_path,
              std::map<std::string, int64_t> limits);

}  // namespace vgpu::callgen
