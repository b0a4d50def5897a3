// The vgpu.yaml schema: walks the document section by section. Every value is checked here or
// in values.cpp; what comes out of parse_config is ready to use.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <sstream>

#include "vgpud/config/config.h"
#include "vgpud/config/values.h"
#include "vgpud/config/yaml_fields.h"
#include "vgpud/log/log.h"

namespace vgpud::config {
namespace {

using Status = vgpu::Status<ConfigError>;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB << 10;
constexpr uint64_t kGiB = kMiB << 10;
constexpr uint64_t kPage = 4 * kKiB;

// "4KiB", "1GiB", or plain bytes when no unit divides evenly: for range messages.
std::string format_size(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes);
}

Status missing(const Source& source, const YAML::Mark& where, const std::string& path) {
  return vgpu::Err{source.error(where, path, "required field is missing")};
}

// Each read_* leaves *out untouched (the default) when the key is absent.

Status read_string(const Source& source, const Mapping& map, std::string_view key, std::string* out) {
  const Field* field = map.find(key);
  if (field == nullptr) return {};
  auto text = scalar_text(source, *field, "a string");
  if (!text) return vgpu::Err{text.error()};
  // An empty string or an embedded NUL (possible with "\0" in double quotes) would turn into a
  // different path or name once handed to C APIs.
  if (text->empty()) return vgpu::Err{source.error(field->mark(), field->path, "must not be empty")};
  if (text->find('\0') != std::string::npos) {
    return vgpu::Err{source.error(field->mark(), field->path, "must not contain a NUL byte")};
  }
  *out = std::move(*text);
  return {};
}

template <typename T>
Status read_uint(const Source& source, const Mapping& map, std::string_view key, uint64_t min, uint64_t max,
                 T* out) {
  const Field* field = map.find(key);
  if (field == nullptr) return {};
  auto text = scalar_text(source, *field, "an integer");
  if (!text) return vgpu::Err{text.error()};
  auto value = parse_uint(*text, min, max);
  if (!value) return vgpu::Err{source.error(field->mark(), field->path, value.error())};
  *out = static_cast<T>(*value);
  return {};
}

struct SizeRule {
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;
  uint64_t multiple_of = 1;
  bool power_of_two = false;
};

Status read_size(const Source& source, const Mapping& map, std::string_view key, const SizeRule& rule,
                 uint64_t* out) {
  const Field* field = map.find(key);
  if (field == nullptr) return {};
  auto text = scalar_text(source, *field, "a size like 64MiB");
  if (!text) return vgpu::Err{text.error()};
  auto value = parse_size(*text);
  auto fail = [&](std::string message) { return Status(vgpu::Err{source.error(field->mark(), field->path, message)}); };
  if (!value) return fail(value.error());
  if (*value < rule.min || *value > rule.max) {
    return fail("expected a size from " + format_size(rule.min) + " to " + format_size(rule.max));
  }
  if (rule.power_of_two && (*value & (*value - 1)) != 0) return fail("must be a power of two");
  if (*value % rule.multiple_of != 0) return fail("must be a multiple of " + format_size(rule.multiple_of));
  *out = *value;
  return {};
}

Status read_socket_path(const Source& source, const Field& field, std::string* out) {
  auto path = scalar_text(source, field, "an absolute path");
  if (!path) return vgpu::Err{path.error()};
  if (auto valid = check_socket_path(*path); !valid) {
    return vgpu::Err{source.error(field.mark(), field.path, valid.error())};
  }
  *out = std::move(*path);
  return {};
}

Status read_daemon_section(const Source& source, const Field& section, DaemonConfig* config) {
  auto map = Mapping::read(source, section.value, section.path, section.mark(), {"log_level", "driver", "poll_spin_us", "control_socket"},
                           /*empty_ok=*/true);
  if (!map) return vgpu::Err{map.error()};
  if (Status s = read_string(source, *map, "log_level", &config->log_level); !s) return s;
  if (const Field* field = map->find("log_level")) {
    spdlog::level::level_enum level = spdlog::level::info;
    if (!log::parse_level(config->log_level, &level)) {
      return vgpu::Err{source.error(field->mark(), field->path, "expected one of trace debug info warn error off")};
    }
  }
  if (Status s = read_string(source, *map, "driver", &config->driver_path); !s) return s;
  if (const Field* socket = map->find("control_socket")) {
    if (Status s = read_socket_path(source, *socket, &config->control_socket); !s) return s;
  }
  // Spinning longer than 100 ms trades a whole core for nothing measurable.
  if (Status s = read_uint(source, *map, "poll_spin_us", 0, 100'000, &config->poll_spin_us); !s) return s;
  return {};
}

Status read_gpus(const Source& source, const Field& field, std::vector<std::string>* gpus) {
  const YAML::Node& list = field.value;
  if (!list.IsSequence()) return vgpu::Err{source.error(field.mark(), field.path, "expected a list like [0] or [0, 1]")};
  if (list.size() == 0) return vgpu::Err{source.error(field.mark(), field.path, "at least one GPU is required")};
  gpus->clear();
  size_t index = 0;
  for (auto it = list.begin(); it != list.end(); ++it, ++index) {
    std::string path = field.path + "[" + std::to_string(index) + "]";
    YAML::Node item = *it;  // a copy: yaml-cpp iterators yield temporaries
    YAML::Mark mark = mark_of(item, field.mark());
    if (!item.IsScalar()) return vgpu::Err{source.error(mark, path, "expected a GPU index or UUID")};
    auto gpu = parse_gpu(item.Scalar());
    if (!gpu) return vgpu::Err{source.error(mark, path, gpu.error())};
    for (const std::string& earlier : *gpus) {
      if (earlier == *gpu) return vgpu::Err{source.error(mark, path, "GPU " + *gpu + " is listed twice")};
    }
    gpus->push_back(std::move(*gpu));
  }
  return {};
}

// The keys every socket section has: socket (required), group and mode.
Status read_socket_fields(const Source& source, const Mapping& map, const Field& section, std::string* socket_path,
                          std::string* group, uint32_t* mode) {
  const Field* socket = map.find("socket");
  if (socket == nullptr) return missing(source, section.mark(), child_path(section.path, "socket"));
  if (Status s = read_socket_path(source, *socket, socket_path); !s) return s;
  if (Status s = read_string(source, map, "group", group); !s) return s;
  if (const Field* field = map.find("mode")) {
    auto text = scalar_text(source, *field, "an octal file mode like \"0660\"");
    if (!text) return vgpu::Err{text.error()};
    auto value = parse_mode(*text);
    if (!value) return vgpu::Err{source.error(field->mark(), field->path, value.error())};
    *mode = *value;
  }
  return {};
}

Status read_local(const Source& source, const Field& section, LocalEndpoint* local) {
  auto map = Mapping::read(source, section.value, section.path, section.mark(), {"socket", "group", "mode"},
                           /*empty_ok=*/false);
  if (!map) return vgpu::Err{map.error()};
  return read_socket_fields(source, *map, section, &local->socket_path, &local->group, &local->mode);
}

Status read_vm(const Source& source, const Field& section, VmEndpoint* vm) {
  auto map = Mapping::read(source, section.value, section.path, section.mark(),
                           {"socket", "group", "mode", "region_size", "slots", "lease_timeout_ms"},
                           /*empty_ok=*/false);
  if (!map) return vgpu::Err{map.error()};
  if (Status s = read_socket_fields(source, *map, section, &vm->socket_path, &vm->group, &vm->mode); !s) return s;
  // A PCI BAR: a power of two; QEMU maps it into the guest's physical address space.
  SizeRule region{.min = 4 * kMiB, .max = 64 * kGiB, .power_of_two = true};
  if (Status s = read_size(source, *map, "region_size", region, &vm->region_size); !s) return s;
  if (Status s = read_uint(source, *map, "slots", 1, 32, &vm->slots); !s) return s;
  if (Status s = read_uint(source, *map, "lease_timeout_ms", 500, 600'000, &vm->lease_timeout_ms); !s) return s;
  return {};
}

Status read_limits(const Source& source, const Field& section, TenantLimits* limits) {
  auto map = Mapping::read(source, section.value, section.path, section.mark(),
                           {"max_processes", "device_memory", "module_image_memory", "module_cache_memory",
                            "pinned_memory", "staging_memory"},
                           /*empty_ok=*/true);
  if (!map) return vgpu::Err{map.error()};
  if (Status s = read_uint(source, *map, "max_processes", 1, kMaxProcessesPerTenant, &limits->max_processes); !s)
    return s;
  if (Status s = read_size(source, *map, "device_memory", SizeRule{}, &limits->device_memory); !s) return s;
  SizeRule images{.min = kMiB, .max = 64 * kGiB};
  if (Status s = read_size(source, *map, "module_image_memory", images, &limits->module_image_memory); !s)
    return s;
  // Whole MiB, so that the cache's chunks (64 KiB) fill it exactly; 0 turns the cache off.
  SizeRule cache{.max = 64 * kGiB, .multiple_of = kMiB};
  if (Status s = read_size(source, *map, "module_cache_memory", cache, &limits->module_cache_memory); !s)
    return s;
  // The heap is registered with cuMemHostRegister, which works on whole pages.
  SizeRule pinned{.min = kPage, .max = 64 * kGiB, .multiple_of = kPage};
  if (Status s = read_size(source, *map, "pinned_memory", pinned, &limits->pinned_memory); !s) return s;
  // Ring offsets wrap with a mask, hence the power of two.
  SizeRule staging{.min = kPage, .max = kGiB, .power_of_two = true};
  if (Status s = read_size(source, *map, "staging_memory", staging, &limits->staging_memory); !s) return s;
  return {};
}

vgpu::Result<TenantConfig, ConfigError> read_tenant(const Source& source, const YAML::Node& node,
                                                    const std::string& path, const YAML::Mark& where) {
  auto map = Mapping::read(source, node, path, where, {"name", "gpus", "local", "vm", "limits"}, /*empty_ok=*/false);
  if (!map) return vgpu::Err{map.error()};
  TenantConfig tenant;
  tenant.line = where.line + 1;

  const Field* name = map->find("name");
  if (name == nullptr) return vgpu::Err{missing(source, where, child_path(path, "name")).error()};
  auto text = scalar_text(source, *name, "a tenant name");
  if (!text) return vgpu::Err{text.error()};
  if (auto valid = check_tenant_name(*text); !valid) {
    return vgpu::Err{source.error(name->mark(), name->path, valid.error())};
  }
  tenant.name = std::move(*text);

  if (const Field* gpus = map->find("gpus")) {
    if (Status s = read_gpus(source, *gpus, &tenant.gpus); !s) return vgpu::Err{s.error()};
  } else {
    tenant.gpus = {"0"};
  }

  // A tenant is reached through a local socket, a VM's stub, or both.
  const Field* local = map->find("local");
  const Field* vm = map->find("vm");
  if (local == nullptr && vm == nullptr) {
    return vgpu::Err{source.error(where, child_path(path, "local"),
                                  "a tenant needs a local endpoint, a vm, or both")};
  }
  if (local != nullptr) {
    if (Status s = read_local(source, *local, &tenant.local); !s) return vgpu::Err{s.error()};
  }
  if (vm != nullptr) {
    if (Status s = read_vm(source, *vm, &tenant.vm); !s) return vgpu::Err{s.error()};
    if (tenant.vm.socket_path == tenant.local.socket_path) {
      return vgpu::Err{source.error(vm->mark(), child_path(vm->path, "socket"),
                                    "the VM's socket must differ from the tenant's local socket")};
    }
  }

  if (const Field* limits = map->find("limits")) {
    if (Status s = read_limits(source, *limits, &tenant.limits); !s) return vgpu::Err{s.error()};
  }
  return tenant;
}

// For errors found after a mapping was read (duplicates across tenants). The mapping has
// already been checked, so the key is there exactly once.
YAML::Node value_of(const YAML::Node& map, std::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node name = it->first;
    if (name.Scalar() == key) return it->second;
  }
  return YAML::Node();
}

YAML::Mark value_mark(const YAML::Node& map, std::string_view key, const YAML::Mark& fallback) {
  return mark_of(value_of(map, key), fallback);
}

Status read_tenants(const Source& source, const Field& field, std::vector<TenantConfig>* tenants) {
  const YAML::Node& list = field.value;
  if (!list.IsSequence()) {
    return vgpu::Err{source.error(field.mark(), field.path, "expected a list of tenants (lines starting with -)")};
  }
  if (list.size() == 0) return vgpu::Err{source.error(field.mark(), field.path, "at least one tenant is required")};
  size_t index = 0;
  for (auto it = list.begin(); it != list.end(); ++it, ++index) {
    std::string path = field.path + "[" + std::to_string(index) + "]";
    YAML::Node item = *it;  // a copy: yaml-cpp iterators yield temporaries
    YAML::Mark where = mark_of(item, field.mark());
    auto tenant = read_tenant(source, item, path, where);
    if (!tenant) return vgpu::Err{tenant.error()};
    // Names key logs and metrics, sockets can be bound only once: both must be unique.
    for (const TenantConfig& earlier : *tenants) {
      if (earlier.name == tenant->name) {
        return vgpu::Err{source.error(value_mark(item, "name", where), path + ".name",
                                      "tenant name \"" + tenant->name + "\" is already used on line " +
                                          std::to_string(earlier.line))};
      }
      // Every socket path, local or VM, can be bound only once.
      for (const char* section : {"local", "vm"}) {
        const std::string& mine = section[0] == 'l' ? tenant->local.socket_path : tenant->vm.socket_path;
        if (mine.empty()) continue;
        if (mine == earlier.local.socket_path || mine == earlier.vm.socket_path) {
          YAML::Mark socket = value_mark(value_of(item, section), "socket", where);
          return vgpu::Err{source.error(socket, path + "." + section + ".socket",
                                        "socket " + mine + " is already used by tenant \"" + earlier.name + "\"")};
        }
      }
    }
    tenants->push_back(std::move(*tenant));
  }
  return {};
}

vgpu::Result<DaemonConfig, ConfigError> read_document(const Source& source, const YAML::Node& root) {
  YAML::Mark top = root.IsDefined() && !root.IsNull() ? root.Mark() : YAML::Mark::null_mark();
  auto map = Mapping::read(source, root, "", top, {"vgpud", "tenants"}, /*empty_ok=*/true);
  if (!map) return vgpu::Err{map.error()};
  DaemonConfig config;
  config.source_file = source.file();
  if (const Field* daemon = map->find("vgpud")) {
    if (Status s = read_daemon_section(source, *daemon, &config); !s) return vgpu::Err{s.error()};
  }
  const Field* tenants = map->find("tenants");
  if (tenants == nullptr) return vgpu::Err{missing(source, top, "tenants").error()};
  if (Status s = read_tenants(source, *tenants, &config.tenants); !s) return vgpu::Err{s.error()};
  return config;
}

// Sees the documents of a YAML stream without building them, so that a second document can be
// reported with its position.
class DocumentMarks final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> last_start;
  void OnDocumentStart(const YAML::Mark& mark) override { last_start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The mark of the stream's second document, if it has one. yaml-cpp's LoadAll can loop forever
// on some malformed streams (",." for one), so the parser is asked for at most two documents.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentMarks marks;
  if (!parser.HandleNextDocument(marks)) return std::nullopt;
  marks.last_start.reset();
  if (!parser.HandleNextDocument(marks)) return std::nullopt;
  return marks.last_start.value_or(YAML::Mark());
}

}  // namespace

vgpu::Result<DaemonConfig, ConfigError> parse_config(std::string_view yaml_text, const std::string& file_name) {
  Source source(file_name);
  // yaml-cpp reports syntax errors (and its nesting-depth guard) by throwing; this is the one
  // place they are caught and turned into values.
  try {
    std::string text(yaml_text);
    if (std::optional<YAML::Mark> second = second_document(text)) {
      return vgpu::Err{source.error(*second, "", "expected one YAML document, found a second")};
    }
    return read_document(source, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return vgpu::Err{source.error(e.mark, "", e.msg)};
  }
}

}  // namespace vgpud::config
