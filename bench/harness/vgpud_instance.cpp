#include "bench/harness/vgpud_instance.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace bench {

vgpu::Result<std::unique_ptr<VgpudInstance>, std::string> VgpudInstance::start(
    const VgpudSettings& s) {
  const std::string config = s.work_dir + "/vgpu.yaml";
  const std::string socket = s.work_dir + "/bench.sock";
  const std::string log = s.work_dir + "/vgpud.log";
  {
    std::ofstream out(config);
    out << fmt::format(
        "vgpud:\n"
        "  log_level: info\n"
        "  driver: {}\n"
        "  poll_spin_us: {}\n"
        "  control_socket: {}/control.sock\n"
        "tenants:\n"
        "  - name: bench\n"
        "    gpus: [0]\n"
        "    local:\n"
        "      socket: {}\n"
        "    limits:\n"
        "      pinned_memory: {}\n"
        "      staging_memory: {}\n",
        s.driver, s.poll_spin_us, s.work_dir, socket, s.pinned_memory, s.staging_memory);
    if (!out) return vgpu::Err{"cannot write " + config};
  }
  unlink(socket.c_str());

  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return vgpu::Err{log + ": " + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  std::string program = s.program, config_flag = "--config", config_path = config;
  char* argv[] = {program.data(), config_flag.data(), config_path.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(log_fd);
  if (rc != 0) return vgpu::Err{"cannot start " + s.program + ": " + std::strerror(rc)};
  std::unique_ptr<VgpudInstance> instance(new VgpudInstance(pid, socket, log));

  // Up to 30 s for the socket: the driver's initialization comes first.
  for (int i = 0; i < 300; ++i) {
    struct stat st;
    if (stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return instance;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      instance->pid_ = -1;
      return vgpu::Err{"vgpud exited while starting; its log is " + log};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return vgpu::Err{"vgpud did not create " + socket + " within 30 s; its log is " + log};
}

VgpudInstance::~VgpudInstance() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

}  // namespace bench
