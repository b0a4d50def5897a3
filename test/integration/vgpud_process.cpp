#include "test/integration/vgpud_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vgpu::test {

namespace {

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (extra.count(key) == 0) env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

pid_t spawn(const std::string& path, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, const std::string& output_file) {
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_s = environment_with(env);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + path);
  return pid;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool eventually(const std::function<bool()>& condition, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

VgpudProcess::VgpudProcess(std::vector<TenantSpec> tenants, std::map<std::string, std::string> env) {
  char tmpl[] = "/tmp/vgpu-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream cfg(dir_ + "/vgpu.yaml");
  cfg << "vgpud:\n  log_level: debug\n  driver: " << VGPU_FAKE_CUDA_PATH << "\n  poll_spin_us: 20\n"
      << "  control_socket: " << control_socket() << "\n";
  cfg << "tenants:\n";
  for (const TenantSpec& t : tenants) {
    // A test's own pinned_memory replaces the default one.
    const bool own_heap = t.extra_limits.find("pinned_memory:") != std::string::npos;
    cfg << "  - name: " << t.name << "\n    gpus: " << t.gpus << "\n    local:\n      socket: " << socket(t.name)
        << "\n    limits:\n" << (own_heap ? "" : "      pinned_memory: 8MiB\n") << "      staging_memory: 1MiB\n"
        << t.extra_limits;
    if (t.vm)
      cfg << "    vm:\n      socket: " << vm_socket(t.name)
          << "\n      region_size: 64MiB\n      slots: 4\n      lease_timeout_ms: 1000\n";
  }
  cfg.close();
  env["FAKE_CUDA_STATE_FILE"] = state_file_pattern();
  env["FAKE_CUDA_LAUNCH_LOG"] = launch_log();
  pid_ = spawn(VGPU_VGPUD_PATH, {"--config", dir_ + "/vgpu.yaml"}, env, log_file());
  const bool up = eventually([&] {
    for (const TenantSpec& t : tenants)
      if (access(socket(t.name).c_str(), F_OK) != 0 ||
          (t.vm && access(vm_socket(t.name).c_str(), F_OK) != 0))
        return false;
    return true;
  }, 10000);
  if (!up) throw std::runtime_error("vgpud did not come up; log:\n" + read_log());
}

VgpudProcess::~VgpudProcess() {
  if (pid_ > 0) stop();
  std::string cmd = "rm -rf '" + dir_ + "'";
  [[maybe_unused]] int rc = std::system(cmd.c_str());
}

bool VgpudProcess::alive() const {
  if (pid_ <= 0) return false;
  int status;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

void VgpudProcess::crash() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int VgpudProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  pid_t done = 0;
  eventually([&] { return (done = waitpid(pid_, &status, WNOHANG)) != 0; }, 10000);
  if (done == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long VgpudProcess::counter(const std::string& tenant, const std::string& column) const {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", control_socket().c_str());
  std::string report;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  std::istringstream lines(report);
  std::string header, line;
  std::getline(lines, header);
  std::istringstream h(header);
  std::vector<std::string> columns{std::istream_iterator<std::string>(h), {}};
  while (std::getline(lines, line)) {
    std::istringstream l(line);
    std::vector<std::string> values{std::istream_iterator<std::string>(l), {}};
    if (values.empty() || values[0] != tenant || values.size() != columns.size()) continue;
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == column) return std::stol(values[i]);
  }
  return -1;
}

long VgpudProcess::fake_state(const std::string& key) const {
  long total = -1;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("fake-cuda.state.", 0) != 0 || name.find(".tmp.") != std::string::npos) continue;
    std::istringstream in(read_file(entry.path().string()));
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key + "=", 0) == 0) total = std::max(total, 0L) + std::stol(line.substr(key.size() + 1));
  }
  return total;
}

std::string VgpudProcess::read_log() const { return read_file(log_file()); }

RunningProgram start_program(const std::string& path, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  char tmpl[] = "/tmp/vgpu-out-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  RunningProgram p;
  p.output_file = tmpl;
  p.pid = spawn(path, args, env, p.output_file);
  return p;
}

std::string program_output(const RunningProgram& program) { return read_file(program.output_file); }

ProgramResult wait_program(RunningProgram& p, int timeout_s) {
  int status = 0;
  pid_t done = 0;
  eventually([&] { return (done = waitpid(p.pid, &status, WNOHANG)) != 0; }, timeout_s * 1000);
  ProgramResult r;
  if (done == 0) {
    kill(p.pid, SIGKILL);
    waitpid(p.pid, &status, 0);
    r.exit_code = -1;
  } else {
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  r.output = read_file(p.output_file);
  unlink(p.output_file.c_str());
  p.pid = -1;
  return r;
}

std::string guest_program(const std::string& name) {
  return std::string(VGPU_GUEST_PROGRAM_DIR) + "/" + name;
}

ProgramResult run_program(const std::string& path, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, int timeout_s) {
  RunningProgram p = start_program(path, args, env);
  return wait_program(p, timeout_s);
}

}  // namespace vgpu::test
