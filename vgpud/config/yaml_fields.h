// A thin layer over yaml-cpp nodes that turns every problem into a ConfigError with a position
// and a field path. yaml-cpp itself accepts unknown and repeated keys silently and reports
// 0-based marks; this layer is where strictness and 1-based positions come from.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "vgpu/common/result.h"
#include "vgpud/config/config.h"

namespace vgpud::config {

// Builds errors for one file.
class Source {
 public:
  explicit Source(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }
  ConfigError error(const YAML::Mark& mark, std::string field, std::string message) const;

 private:
  std::string file_;
};

// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string child_path(const std::string& parent, std::string_view key);

// Where to point at a node. yaml-cpp gives an empty value (`key:`) the position of whatever
// follows it, often the next line, so empty values point at `fallback` (their key) instead.
YAML::Mark mark_of(const YAML::Node& node, const YAML::Mark& fallback);

// One key of a mapping, with its value.
struct Field {
  std::string path;  // dotted path of this field
  YAML::Node key;
  YAML::Node value;
  YAML::Mark mark() const { return mark_of(value, key.Mark()); }
};

// The keys of one YAML mapping, checked: each must be a plain scalar from `known` and appear
// once. An unknown key is reported at the key's own line.
class Mapping {
 public:
  // `node` must be a mapping; with `empty_ok`, an empty value (`limits:`) reads as an empty
  // mapping so that an optional section may be left blank. `where` positions errors about the
  // node as a whole.
  static vgpu::Result<Mapping, ConfigError> read(const Source& source, const YAML::Node& node,
                                                 const std::string& path, const YAML::Mark& where,
                                                 std::initializer_list<std::string_view> known,
                                                 bool empty_ok);

  // nullptr when the key is absent.
  const Field* find(std::string_view key) const;

 private:
  std::vector<Field> fields_;
};

// The text of a scalar field; `expected` completes "expected ..." when the value is a list,
// a mapping or empty.
vgpu::Result<std::string, ConfigError> scalar_text(const Source& source, const Field& field,
                                                   std::string_view expected);

}  // namespace vgpud::config
