#include "tests/e2e/farm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/e2e/graphene_runner.h"
#include "tests/e2e/result_database.h"

extern char** environ;

namespace graphene::e2e {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

FarmProcess::FarmProcess(std::vector<std::string> args, std::filesystem::path log,
                         std::vector<std::pair<std::string, std::string>> env,
                         std::filesystem::path cwd)
    : log_(std::move(log)) {
  Start(kGrapheneBinary, std::move(args), cwd, env);
}

FarmProcess FarmProcess::Program(std::string program, std::vector<std::string> args,
                                 std::filesystem::path log,
                                 std::vector<std::pair<std::string, std::string>> env) {
  FarmProcess process;
  process.log_ = std::move(log);
  process.Start(program, std::move(args), kSourceDir, env);
  return process;
}

void FarmProcess::Start(const std::string& program, std::vector<std::string> args,
                        const std::filesystem::path& cwd,
                        const std::vector<std::pair<std::string, std::string>>& env) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    if (size_t equals = text.find('='); equals != std::string::npos) {
      vars[text.substr(0, equals)] = text.substr(equals + 1);
    }
  }
  for (const auto& [name, value] : env) vars[name] = value;
  std::vector<std::string> flat;
  for (const auto& [name, value] : vars) flat.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : flat) envp.push_back(s.data());
  envp.push_back(nullptr);
  args.insert(args.begin(), program);
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string err_log = log_.string() + ".err";
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  const int error = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(),
                                  envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << program << ": " << std::strerror(error);
    pid_ = -1;
  }
}

FarmProcess::FarmProcess(FarmProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_), log_(std::move(other.log_)) {
  other.pid_ = -1;
}

FarmProcess::~FarmProcess() {
  if (pid_ <= 0 || status_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

bool FarmProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  if (reaped < 0 && errno == ECHILD) {
    status_ = -1;  // reaped by someone else (a subreaper's sweep): gone, status unknown
    return false;
  }
  return true;
}

void FarmProcess::Signal(int signal) {
  if (running()) ::kill(pid_, signal);
}

std::optional<int> FarmProcess::Wait(std::chrono::seconds limit) {
  if (!WaitFor([&] { return !running(); }, limit)) {
    ADD_FAILURE() << "process " << pid_ << " still running after " << limit.count() << " s; log:\n"
                  << Err();
    return std::nullopt;
  }
  return status_;
}

std::string FarmProcess::Out() const { return ReadFile(log_); }
std::string FarmProcess::Err() const { return ReadFile(log_.string() + ".err"); }

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot find a free port";
    return 0;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

CampaignCounts CountCampaign(const std::string& db, int64_t campaign) {
  CampaignCounts counts;
  ResultDatabase database(db);
  if (!database.ok()) return counts;
  const std::string where = " FROM executions WHERE campaign_id = " + std::to_string(campaign);
  counts.results = database.QueryInt("SELECT count(*)" + where).value_or(-1);
  counts.distinct_jobs = database.QueryInt("SELECT count(DISTINCT job_index)" + where).value_or(-1);
  counts.min_index = database.QueryInt("SELECT coalesce(min(job_index), -1)" + where).value_or(-1);
  counts.max_index = database.QueryInt("SELECT coalesce(max(job_index), -1)" + where).value_or(-1);
  counts.total_jobs =
      database
          .QueryInt("SELECT total_jobs FROM campaigns WHERE id = " + std::to_string(campaign))
          .value_or(-1);
  if (auto rows =
          database.Query("SELECT status FROM campaigns WHERE id = " + std::to_string(campaign));
      rows && !rows->empty()) {
    counts.status = (*rows)[0][0];
  }
  return counts;
}

std::vector<std::string> AgentsOf(const std::string& db, int64_t campaign) {
  ResultDatabase database(db);
  std::vector<std::string> agents;
  if (!database.ok()) return agents;
  auto rows = database.Query("SELECT DISTINCT agent FROM executions WHERE campaign_id = " +
                             std::to_string(campaign) + " ORDER BY agent");
  if (rows) {
    for (const auto& row : *rows) agents.push_back(row[0]);
  }
  return agents;
}

}  // namespace graphene::e2e
