#include "vgpud/config/config.h"

namespace vgpud::config {

// Same shape as compiler diagnostics, so editors and grep can jump to the spot.
std::string ConfigError::to_string() const {
  std::string text = file;
  if (line > 0) {
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) on `":" + std::to_string(n)`.
    text += ':';
    text += std::to_string(line);
    if (column > 0) {
      text += ':';
      text += std::to_string(column);
    }
  }
  text += ": ";
  if (!field.empty()) text += field + ": ";
  text += message;
  return text;
}

}  // namespace vgpud::config
