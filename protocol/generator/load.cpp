// calls.yaml → Protocol. Everything that would make a bad wire format or a parser that lets
// too much through is refused here, with the YAML line: implicit padding, checks that can never
// fail (or never pass), tails without a bound, commands that drop or invent data.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <set>

#include "protocol/generator/model.h"

namespace vgpu::callgen {
namespace {

const Scalar kScalars[] = {
    {"u8", "uint8_t", 1, false, true},   {"u16", "uint16_t", 2, false, true},
    {"u32", "uint32_t", 4, false, true}, {"u64", "uint64_t", 8, false, true},
    {"i8", "int8_t", 1, true, true},     {"i16", "int16_t", 2, true, true},
    {"i32", "int32_t", 4, true, true},   {"i64", "int64_t", 8, true, true},
    {"f32", "float", 4, true, false},    {"f64", "double", 8, true, false},
    {"char", "char", 1, true, false},
};

class Loader {
 public:
  Loader(std::string path, std::map<std::string, int64_t> limits) {
    p_.yaml_path = std::move(path);
    p_.limits = std::move(limits);
  }

  Protocol run(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw GenError(p_.yaml_path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    keys(root, {"messages", "calls"});
    // Nodes by value throughout: yaml-cpp hands out temporaries (iterators, operator[]), and a
    // reference to one dangles at the end of the statement.
    const YAML::Node messages = root["messages"];
    if (messages) {
      if (!messages.IsMap()) fail(messages, "`messages:` maps struct names to their fields");
      for (auto it = messages.begin(); it != messages.end(); ++it)
        add_message(it->first.as<std::string>(), it->second, line(it->first));
    }
    const YAML::Node calls = root["calls"];
    if (!calls || !calls.IsSequence()) fail(root, "expected a `calls:` list");
    for (const YAML::Node& c : calls) load_call(c);
    for (const Message& m : p_.messages)
      if (!used_.count(m.name)) fail_at(m.line, "message " + m.name + " is used by no call");
    return std::move(p_);
  }

 private:
  int line(const YAML::Node& n) const { return n.Mark().is_null() ? 1 : n.Mark().line + 1; }
  [[noreturn]] void fail_at(int at, const std::string& what) const {
    throw GenError(p_.yaml_path + ":" + std::to_string(at) + ": " + what);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const { fail_at(line(n), what); }

  // A mapping with only these keys (a misspelt key would otherwise be silently ignored).
  void keys(const YAML::Node& n, std::initializer_list<const char*> known) const {
    if (!n.IsMap()) fail(n, "expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.as<std::string>();
      if (std::none_of(known.begin(), known.end(), [&](const char* x) { return k == x; }))
        fail(it->first, "unknown key `" + k + "`");
    }
  }
  std::string str(const YAML::Node& n, const char* key, const std::string& fallback = {}) const {
    const YAML::Node v = n[key];
    if (!v) return fallback;
    if (!v.IsScalar()) fail(v, std::string("`") + key + "` must be a string");
    return v.Scalar();
  }

  Bound bound(const YAML::Node& n) const {
    if (!n.IsScalar()) fail(n, "expected a number or a limits.h constant");
    const std::string s = n.Scalar();
    Bound b;
    if (auto it = p_.limits.find(s); it != p_.limits.end()) {
      b = {"limits::" + s, it->second, true};
    } else {
      try {
        size_t used = 0;
        const long long v = std::stoll(s, &used, 0);
        if (used != s.size()) throw std::invalid_argument(s);
        b = {s, v, false};
      } catch (const std::exception&) {
        fail(n, "`" + s + "` is neither a number nor a constant of limits.h");
      }
    }
    return b;
  }

  // `- name: u32`, `- name: u32[3]`, or `- {name: x, type: u32[kMaxDevices], doc: ...}`.
  Field field(const YAML::Node& n) const {
    Field f;
    f.line = line(n);
    std::string type;
    if (n.IsMap() && n["type"]) {
      keys(n, {"name", "type", "doc"});
      f.name = str(n, "name");
      type = str(n, "type");
      f.doc = str(n, "doc");
    } else if (n.IsMap() && n.size() == 1) {
      f.name = n.begin()->first.as<std::string>();
      if (!n.begin()->second.IsScalar()) fail(n, "field `" + f.name + "`: expected a type");
      type = n.begin()->second.Scalar();
    } else {
      fail(n, "a field is `- name: type` or `- {name: ..., type: ..., doc: ...}`");
    }
    if (const size_t open = type.find('['); open != std::string::npos) {
      if (type.back() != ']') fail(n, "bad array type `" + type + "`");
      f.count_expr = type.substr(open + 1, type.size() - open - 2);
      type = type.substr(0, open);
      const int64_t count = evaluate_limit_expression(f.count_expr, p_.limits,
                                                      p_.yaml_path + ":" + std::to_string(f.line));
      if (count <= 0) fail(n, "array `" + f.name + "` must have at least one element");
      f.count = static_cast<uint64_t>(count);
    }
    f.type = find_scalar(type);
    if (f.type == nullptr) fail(n, "unknown type `" + type + "` (u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 char)");
    return f;
  }

  // Natural alignment, and no byte the YAML does not name: padding must be a `reserved` field.
  void lay_out(Message& m) const {
    uint64_t offset = 0;
    std::set<std::string> names;
    for (Field& f : m.fields) {
      if (!names.insert(f.name).second) fail_at(f.line, m.name + ": field `" + f.name + "` twice");
      const uint32_t a = f.type->size;
      if (offset % a != 0) {
        const uint64_t aligned = (offset + a - 1) / a * a;
        fail_at(f.line, m.name + ": " + std::to_string(aligned - offset) + " bytes of implicit padding before `" +
                            f.name + "` (offset " + std::to_string(offset) + ", aligned to " + std::to_string(a) +
                            "): declare a reserved field");
      }
      f.offset = offset;
      offset += f.bytes();
      m.align = std::max(m.align, a);
    }
    if (m.fields.empty()) fail_at(m.line, m.name + ": no fields (leave the payload out instead)");
    if (offset % m.align != 0) {
      fail_at(m.fields.back().line, m.name + ": " + std::to_string(m.align - offset % m.align) +
                                        " bytes of implicit padding at the end (size " + std::to_string(offset) +
                                        ", alignment " + std::to_string(m.align) + "): declare a reserved field");
    }
    m.size = offset;
  }

  const Message* add_message(const std::string& name, const YAML::Node& n, int at) {
    keys(n, {"doc", "fields", "name"});
    for (const Message& m : p_.messages)
      if (m.name == name) fail_at(at, "message " + name + " declared twice");
    Message m;
    m.name = name;
    m.line = at;
    m.doc = str(n, "doc");
    if (!n["fields"] || !n["fields"].IsSequence()) fail(n, name + ": expected a `fields:` list");
    for (const YAML::Node& f : n["fields"]) m.fields.push_back(field(f));
    lay_out(m);
    p_.messages.push_back(std::move(m));
    return &p_.messages.back();
  }

  // `request: SharedName` names a message; a mapping declares the call's own (<Call>Request).
  const Message* payload(const YAML::Node& n, const std::string& default_name) {
    if (!n) return nullptr;
    const Message* m = nullptr;
    if (n.IsScalar()) {
      for (const Message& x : p_.messages)
        if (x.name == n.Scalar()) m = &x;
      if (m == nullptr) fail(n, "no message named " + n.Scalar() + " in `messages:`");
    } else {
      m = add_message(str(n, "name", default_name), n, line(n));
    }
    used_.insert(m->name);
    return m;
  }

  // Would `field <op> bound` be decidable from the type alone? Then the check is a mistake.
  void check_bound(const Call& c, const Field& f, const Bound& b, const char* kind, const YAML::Node& at) const {
    if (!f.type->is_integer) fail(at, c.name + ": `" + f.name + "` is not an integer; it cannot be checked");
    const int64_t lo = f.type->is_signed ? -(int64_t{1} << (f.type->size * 8 - 1)) : 0;
    const int64_t hi = f.type->size == 8 ? std::numeric_limits<int64_t>::max()
                                         : (f.type->is_signed ? (int64_t{1} << (f.type->size * 8 - 1)) - 1
                                                              : (int64_t{1} << (f.type->size * 8)) - 1);
    const std::string k = kind;
    const bool never_fails = (k == "min" && b.value <= lo) || (k == "max" && b.value >= hi && f.type->size < 8) ||
                             (k == "below" && b.value > hi && f.type->size < 8);
    const bool outside = b.value < lo || (b.value > hi && f.type->size < 8) || (k == "below" && b.value <= lo);
    if (outside || never_fails)
      fail(at, c.name + ": check `" + k + ": " + b.cpp + "` on " + f.type->yaml + " `" + f.name + "` " +
                   (never_fails ? "can never fail" : "is outside the type's range"));
  }

  void load_checks(Call& c, const YAML::Node& n) {
    if (!n) return;
    if (!n.IsMap()) fail(n, "`checks:` maps request fields to their checks");
    for (auto it = n.begin(); it != n.end(); ++it) {
      Check k;
      k.field = it->first.as<std::string>();
      k.line = line(it->first);
      const Field* f = c.request ? c.request->find(k.field) : nullptr;
      if (f == nullptr) fail(it->first, c.name + ": no request field `" + k.field + "` to check");
      const YAML::Node spec = it->second;
      keys(spec, {"nonzero", "min", "max", "below", "equals", "mask"});
      if (spec["nonzero"]) k.nonzero = spec["nonzero"].as<bool>();
      if (k.nonzero && f->type->is_signed) fail(spec, c.name + ": `nonzero` on a signed field: say `min: 1`");
      auto take = [&](const char* key, std::optional<Bound>& out) {
        if (!spec[key]) return;
        out = bound(spec[key]);
        check_bound(c, *f, *out, key, spec[key]);
      };
      take("min", k.min);
      take("max", k.max);
      take("below", k.below);
      take("equals", k.equals);
      take("mask", k.mask);
      if (k.mask && f->type->is_signed) fail(spec, c.name + ": `mask` needs an unsigned field");
      if (!k.nonzero && !k.min && !k.max && !k.below && !k.equals && !k.mask) fail(spec, c.name + ": empty check");
      c.checks.push_back(std::move(k));
    }
  }

  Tail request_tail(const Call& c, const YAML::Node& n) const {
    keys(n, {"length", "max", "as", "into", "doc", "nul_free"});
    Tail t;
    t.line = line(n);
    t.length_field = str(n, "length");
    const Field* len = c.request ? c.request->find(t.length_field) : nullptr;
    if (len == nullptr || len->is_array() || !len->type->is_integer || len->type->is_signed)
      fail(n, c.name + ": a request tail needs `length:`, an unsigned field of the request");
    if (!n["max"]) fail(n, c.name + ": a request tail needs `max:` (checked before anything is allocated)");
    t.max = bound(n["max"]);
    t.as = str(n, "as", "bytes");
    if (t.as != "bytes" && t.as != "string") fail(n, c.name + ": tail `as:` is bytes or string");
    t.into = str(n, "into");
    if (t.into.empty()) fail(n, c.name + ": a request tail needs `into:`, the command field it fills");
    t.doc = str(n, "doc", t.into);
    t.nul_free = n["nul_free"] && n["nul_free"].as<bool>();
    return t;
  }

  Tail reply_tail(const Call& c, const YAML::Node& n) {
    keys(n, {"of", "max", "doc"});
    Tail t;
    t.line = line(n);
    if (n["of"]) {
      t.element = payload(n["of"], "");
      t.doc = t.element->name + "[n] (" + std::to_string(t.element->size) + " each)";
    }
    if (n["max"]) t.max = bound(n["max"]);
    t.doc = str(n, "doc", t.doc);
    if (t.doc.empty()) fail(n, c.name + ": a bytes reply tail needs `doc:`");
    return t;
  }

  CommandField wire_field(const Call& c, const Field& f, int at) const {
    CommandField cf;
    cf.name = f.name;
    cf.cpp_type = f.type->cpp;
    cf.line = at;
    if (f.is_array()) cf.array = p_.limits.count(f.count_expr) ? "vgpu::limits::" + f.count_expr : f.count_expr;
    (void)c;
    return cf;
  }

  CommandField tail_field(const Tail& t, int at) const {
    CommandField cf;
    cf.name = t.into;
    cf.cpp_type = t.as == "string" ? "std::string" : "std::vector<uint8_t>";
    cf.from = CommandField::From::Tail;
    cf.line = at;
    return cf;
  }

  // `- name` (a request field or the tail, as is), `- name: u8` (narrowed), `- name: string`
  // (a char array), `- name: {type: bool, value: "true"}` (a constant of this call).
  CommandField command_field(const Call& c, const YAML::Node& n) const {
    const int at = line(n);
    std::string name, type;
    const bool single_key = n.IsMap() && n.size() == 1;
    const YAML::Node spec = single_key ? YAML::Node(n.begin()->second) : YAML::Node(YAML::NodeType::Undefined);
    if (n.IsScalar()) {
      name = n.Scalar();
    } else if (single_key) {
      name = n.begin()->first.as<std::string>();
      if (spec.IsScalar()) type = spec.Scalar();
    } else {
      fail(n, c.name + ": a command field is `- name`, `- name: type` or `- name: {type: ..., value: ...}`");
    }
    if (spec.IsMap()) {
      keys(spec, {"type", "value"});
      CommandField cf;
      cf.name = name;
      cf.from = CommandField::From::Constant;
      cf.line = at;
      const std::string t = str(spec, "type");
      const Scalar* s = find_scalar(t);
      cf.cpp_type = t == "bool" ? "bool" : s ? s->cpp : "";
      if (cf.cpp_type.empty()) fail(spec, c.name + ": constant `" + name + "` needs a scalar or bool type");
      cf.value = str(spec, "value");
      if (cf.value.empty()) fail(spec, c.name + ": constant `" + name + "` needs `value:`");
      return cf;
    }
    if (c.request_tail && name == c.request_tail->into) {
      if (!type.empty()) fail(n, c.name + ": the tail's type comes from the tail's `as:`");
      return tail_field(*c.request_tail, at);
    }
    const Field* f = c.request ? c.request->find(name) : nullptr;
    if (f == nullptr) fail(n, c.name + ": `" + name + "` is neither a request field, the tail nor a constant");
    CommandField cf = wire_field(c, *f, at);
    if (type.empty()) return cf;
    if (type == "string") {
      if (!f->is_array() || f->type->yaml != "char") fail(n, c.name + ": only a char array becomes a string");
      cf.cpp_type = "std::string";
      cf.array.clear();
      cf.chars_to_string = true;
      return cf;
    }
    const Scalar* to = find_scalar(type);
    if (to == nullptr || !to->is_integer || f->is_array() || !f->type->is_integer)
      fail(n, c.name + ": `" + name + "` can only be narrowed to another integer type");
    // Narrowing must not lose anything: a declared check has to keep the value in range.
    const int64_t to_max = to->size == 8 ? std::numeric_limits<int64_t>::max()
                                         : (int64_t{1} << (to->size * 8 - (to->is_signed ? 1 : 0))) - 1;
    bool bounded = false;
    for (const Check& k : c.checks) {
      if (k.field != name) continue;
      if (k.max && k.max->value <= to_max) bounded = true;
      if (k.below && k.below->value - 1 <= to_max) bounded = true;
    }
    if (!bounded) fail(n, c.name + ": narrowing `" + name + "` to " + type + " needs a max/below check that fits");
    cf.cpp_type = to->cpp;
    cf.narrow = true;
    return cf;
  }

  void load_command(Call& c, const YAML::Node& n) {
    if (n) keys(n, {"name", "doc", "fields"});
    Command& cmd = c.command;
    cmd.name = n ? str(n, "name", c.enum_name + "Cmd") : c.enum_name + "Cmd";
    cmd.doc = n ? str(n, "doc") : "";
    cmd.line = n ? line(n) : c.line;
    if (n && n["fields"]) {
      for (const YAML::Node& f : n["fields"]) cmd.fields.push_back(command_field(c, f));
    } else if (c.request) {  // every request field but reserved ones and the tail's length
      for (const Field& f : c.request->fields) {
        if (f.is_reserved() || (c.request_tail && f.name == c.request_tail->length_field)) continue;
        cmd.fields.push_back(wire_field(c, f, c.line));
      }
      if (c.request_tail) cmd.fields.push_back(tail_field(*c.request_tail, c.line));
    }
    std::set<std::string> names;
    for (const CommandField& f : cmd.fields)
      if (!names.insert(f.name).second) fail_at(f.line, c.name + ": command field `" + f.name + "` twice");
    if (c.request_tail && !names.count(c.request_tail->into))
      fail_at(cmd.line, c.name + ": the command drops the tail `" + c.request_tail->into + "`");

    // A command shared by several calls (they differ only in constants) is declared alike by each.
    for (const Command* other : p_.commands) {
      if (other->name != cmd.name) continue;
      auto same = [](const CommandField& a, const CommandField& b) {
        return a.name == b.name && a.cpp_type == b.cpp_type && a.array == b.array;
      };
      if (!std::equal(cmd.fields.begin(), cmd.fields.end(), other->fields.begin(), other->fields.end(), same))
        fail_at(cmd.line, c.name + ": " + cmd.name + " is declared with other fields by an earlier call");
      return;
    }
    p_.commands.push_back(&cmd);
  }

  void load_call(const YAML::Node& n) {
    keys(n, {"call", "name", "id", "section", "sent", "sent_doc", "notes", "request", "request_tail", "reply",
             "reply_tail", "checks", "hook", "command"});
    Call& c = p_.calls.emplace_back();
    c.line = line(n);
    c.enum_name = str(n, "call");
    c.name = str(n, "name");
    if (c.enum_name.empty() || c.name.empty() || !n["id"]) fail(n, "a call needs `call:`, `name:` and `id:`");
    const int64_t id = bound(n["id"]).value;
    if (id <= 0 || id > 0xffff) fail(n["id"], c.name + ": id must be 1 … 0xffff");
    c.id = static_cast<uint16_t>(id);
    for (const Call& o : p_.calls) {
      if (&o == &c) break;
      if (o.id == c.id || o.name == c.name || o.enum_name == c.enum_name)
        fail(n, c.name + ": id, name or call already used by " + o.name);
    }
    c.section = str(n, "section");
    const std::string sent = str(n, "sent");
    if (sent == "answered") c.sent = Sent::Answered;
    else if (sent == "posted") c.sent = Sent::Posted;
    else if (sent == "either") c.sent = Sent::Either;
    else fail(n, c.name + ": `sent:` is answered, posted or either");
    c.sent_doc = str(n, "sent_doc", sent);
    c.notes = str(n, "notes");
    c.request = payload(n["request"], c.enum_name + "Request");
    c.reply = payload(n["reply"], c.enum_name + "Reply");
    if (n["request_tail"]) c.request_tail = request_tail(c, n["request_tail"]);
    if (n["reply_tail"]) c.reply_tail = reply_tail(c, n["reply_tail"]);
    load_checks(c, n["checks"]);
    c.hook = str(n, "hook");
    if (!c.hook.empty() && !c.request) fail(n, c.name + ": a hook checks a request; this call has none");
    load_command(c, n["command"]);
  }

  Protocol p_;
  std::set<std::string> used_;
};

}  // namespace

const Scalar* find_scalar(const std::string& yaml_name) {
  for (const Scalar& s : kScalars)
    if (s.yaml == yaml_name) return &s;
  return nullptr;
}

const Field* Message::find(const std::string& field) const {
  for (const Field& f : fields)
    if (f.name == field) return &f;
  return nullptr;
}

Protocol load(const std::string& yaml_text, const std::string& yaml_path, std::map<std::string, int64_t> limits) {
  return Loader(yaml_path, std::move(limits)).run(yaml_text);
}

}  // namespace vgpu::callgen
