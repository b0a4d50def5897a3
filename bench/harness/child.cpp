#include "bench/harness/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;

namespace bench {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (!extra.count(key)) out.push_back(entry);
  }
  for (const auto& [key, value] : extra) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

vgpu::Result<std::unique_ptr<CaseChild>, std::string> CaseChild::start(
    const ChildSpec& spec, std::chrono::seconds timeout) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0)
    return vgpu::Err{std::string("pipe: ") + std::strerror(errno)};
  const int err_fd = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) return vgpu::Err{spec.stderr_path + ": " + std::strerror(errno)};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = merged_environment(spec.env);
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_fd);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    return vgpu::Err{spec.label + ": cannot start " + spec.argv[0] + ": " + std::strerror(rc)};
  }
  std::unique_ptr<CaseChild> child(new CaseChild(spec.label, pid, in_pipe[1], out_pipe[0]));
  auto line = child->read_line(timeout);
  if (!line) return vgpu::Err{spec.label + ": " + line.error() + " (see " + spec.stderr_path + ")"};
  if (line->rfind("ready ", 0) != 0)
    return vgpu::Err{spec.label + ": " + *line + " (see " + spec.stderr_path + ")"};
  child->description_ = line->substr(6);
  return child;
}

CaseChild::~CaseChild() {
  close(to_child_);  // end of input: the child exits
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      close(from_child_);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  close(from_child_);
}

vgpu::Result<std::string, std::string> CaseChild::read_line(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const size_t nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return vgpu::Err{std::string("no answer within the time limit")};
    pollfd p{from_child_, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char chunk[65536];
    const ssize_t got = read(from_child_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return vgpu::Err{std::string("the process exited")};
    buffered_.append(chunk, static_cast<size_t>(got));
  }
}

vgpu::Result<std::vector<double>, std::string> CaseChild::run(const std::string& name, int samples,
                                                              std::chrono::seconds timeout) {
  const std::string request = name + " " + std::to_string(samples) + "\n";
  if (write(to_child_, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    return vgpu::Err{label_ + ": the process does not take input"};
  auto line = read_line(timeout);
  if (!line) return vgpu::Err{label_ + ": " + line.error()};
  std::istringstream in(*line);
  std::string word;
  in >> word;
  if (word != "ok") {
    std::string rest;
    std::getline(in, rest);
    return vgpu::Err{label_ + ":" + rest};
  }
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  if (static_cast<int>(values.size()) != samples)
    return vgpu::Err{label_ + ": answered " + std::to_string(values.size()) + " values for " +
                     std::to_string(samples) + " samples"};
  return values;
}

}  // namespace bench
