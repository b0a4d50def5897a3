// Parsers for the scalar values of vgpu.yaml, on plain text so they can be tested without YAML.
// Each returns the value or a message saying what was expected; the YAML reader adds the file,
// line and field path.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "vgpu/common/result.h"

namespace vgpud::config {

// "1048576", "64MiB", "64M", "4 KiB": binary units K/KiB, M/MiB, G/GiB, T/TiB.
// Decimal-looking units (MB, GB) are refused rather than guessed.
vgpu::Result<uint64_t, std::string> parse_size(std::string_view text);

// A decimal integer in [min, max].
vgpu::Result<uint64_t, std::string> parse_uint(std::string_view text, uint64_t min, uint64_t max);

// A file mode in octal, as chmod reads it: "0660", "660" and "0o660" are all rw-rw----.
// Limited to 0777: set-id and sticky bits mean nothing on a socket.
vgpu::Result<uint32_t, std::string> parse_mode(std::string_view text);

// A GPU selector: a device index ("0", normalized so "00" == "0") or an NVIDIA UUID
// ("GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", normalized to lower case as nvidia-smi prints it).
vgpu::Result<std::string, std::string> parse_gpu(std::string_view text);

// [a-zA-Z0-9_.-]{1,64}, not "." or "..": tenant names end up in paths and log lines.
vgpu::Status<std::string> check_tenant_name(std::string_view name);

// An absolute path that fits in sockaddr_un::sun_path.
vgpu::Status<std::string> check_socket_path(std::string_view path);

}  // namespace vgpud::config
