// Starts a real vgpud for a test: writes a config into a fresh temporary directory, points the
// executor at test/fake-cuda, waits for the tenants' sockets, and stops it with SIGTERM.
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vgpu::test {

struct TenantSpec {
  std::string name;
  std::string extra_limits;  // YAML lines under limits:, already indented by 6 spaces
  bool vm = false;           // also serve a VM stub at vm_socket(name) (4 slots, 1 s leases)
  std::string gpus = "[0]";  // the tenant's gpus: list, as YAML
};

class VgpudProcess {
 public:
  explicit VgpudProcess(std::vector<TenantSpec> tenants = {{"alpha", ""}},
                        std::map<std::string, std::string> env = {});
  ~VgpudProcess();

  std::string socket(const std::string& tenant) const { return dir_ + "/" + tenant + ".sock"; }
  std::string vm_socket(const std::string& tenant) const { return dir_ + "/" + tenant + ".ivshmem"; }
  std::string control_socket() const { return dir_ + "/control.sock"; }
  std::string config_file() const { return dir_ + "/vgpu.yaml"; }
  const std::string& dir() const { return dir_; }
  // The fake driver's state files: one per vgpud process (the daemon and each channel worker).
  std::string state_file_pattern() const { return dir_ + "/fake-cuda.state.%p"; }
  std::string launch_log() const { return dir_ + "/launches.log"; }
  std::string log_file() const { return dir_ + "/vgpud.log"; }
  bool alive() const;
  pid_t pid() const { return pid_; }
  // SIGKILL, as a crash would: its sockets and lock files stay behind.
  void crash();
  // SIGTERM, wait up to 10 s; returns the exit status (or -1 if it had to be killed).
  int stop();
  // Sum over every process's state file of one "key=value" line; -1 if no file has it.
  long fake_state(const std::string& key) const;
  // One column ("processes", "rejected", "device_bytes", ...) of the tenant's row in vgpud's
  // counters table, read through the control socket as `vgpud counters` does; -1 if unreadable.
  long counter(const std::string& tenant, const std::string& column) const;
  std::string read_log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

struct ProgramResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

struct RunningProgram {
  pid_t pid = -1;
  std::string output_file;
};

// Starts a program in the background (env is added to this process's environment).
RunningProgram start_program(const std::string& path, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env);
// Waits for it (killing it after timeout_s) and collects its output.
ProgramResult wait_program(RunningProgram& program, int timeout_s = 60);
// Output so far.
std::string program_output(const RunningProgram& program);
// Path of a guest program built for the tests.
std::string guest_program(const std::string& name);

// Runs a program to completion; kills it after timeout_s.
ProgramResult run_program(const std::string& path, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, int timeout_s = 60);

// A whole file's contents ("" if it cannot be read).
std::string read_file(const std::string& path);

// Polls `condition` for up to timeout_ms.
bool eventually(const std::function<bool()>& condition, int timeout_ms = 5000);

}  // namespace vgpu::test
