#include "vgpud/config/yaml_fields.h"

#include <algorithm>

namespace vgpud::config {

ConfigError Source::error(const YAML::Mark& mark, std::string field, std::string message) const {
  ConfigError error;
  error.file = file_;
  // A null mark (no position known) still gets line 1, so every error carries a position.
  error.line = mark.is_null() ? 1 : mark.line + 1;
  error.column = mark.is_null() ? 1 : mark.column + 1;
  error.field = std::move(field);
  error.message = std::move(message);
  return error;
}

std::string child_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string path = parent;
  path += '.';
  path += key;
  return path;
}

YAML::Mark mark_of(const YAML::Node& node, const YAML::Mark& fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark;
}

vgpu::Result<Mapping, ConfigError> Mapping::read(const Source& source, const YAML::Node& node,
                                                 const std::string& path, const YAML::Mark& where,
                                                 std::initializer_list<std::string_view> known,
                                                 bool empty_ok) {
  Mapping mapping;
  if (empty_ok && node.IsNull()) return mapping;
  if (!node.IsMap()) return vgpu::Err{source.error(where, path, "expected a mapping (key: value lines)")};

  for (auto it = node.begin(); it != node.end(); ++it) {
    // By value: yaml-cpp's iterators hand out temporaries, so a reference to it->first would
    // dangle at the end of the statement.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (!key.IsScalar()) return vgpu::Err{source.error(mark_of(key, where), path, "keys must be plain names")};
    const std::string& name = key.Scalar();
    std::string field_path = child_path(path, name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string message = "unknown key (expected one of:";
      for (std::string_view candidate : known) {
        message += ' ';
        message += candidate;
      }
      message += ')';
      return vgpu::Err{source.error(key.Mark(), field_path, message)};
    }
    if (mapping.find(name) != nullptr) {
      return vgpu::Err{source.error(key.Mark(), field_path, "key appears more than once")};
    }
    mapping.fields_.push_back(Field{std::move(field_path), key, value});
  }
  return mapping;
}

const Field* Mapping::find(std::string_view key) const {
  for (const Field& field : fields_) {
    if (field.key.Scalar() == key) return &field;
  }
  return nullptr;
}

vgpu::Result<std::string, ConfigError> scalar_text(const Source& source, const Field& field,
                                                   std::string_view expected) {
  if (!field.value.IsScalar()) {
    return vgpu::Err{source.error(field.mark(), field.path, "expected " + std::string(expected))};
  }
  return field.value.Scalar();
}

}  // namespace vgpud::config
