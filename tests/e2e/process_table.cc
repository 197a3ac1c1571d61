#include "tests/e2e/process_table.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace graphene::e2e {
namespace {

namespace fs = std::filesystem;

// Empty when the file vanished, even mid-read (its process exited).
std::string ReadWholeFile(const fs::path& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return "";
  }
}

// Parses /proc/PID/stat. The command name may hold spaces and parentheses,
// so the fields are read after the last ')'. False if the process is gone.
bool ReadStat(pid_t pid, ProcessEntry& entry) {
  std::string stat = ReadWholeFile(fs::path("/proc") / std::to_string(pid) / "stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(stat.substr(close + 1));
  // Fields 3 (state), 4 (ppid), then 5..21, then 22 (starttime).
  fields >> entry.state >> entry.ppid;
  std::string skipped;
  for (int field = 5; field <= 21; ++field) fields >> skipped;
  fields >> entry.start_time;
  entry.pid = pid;
  return static_cast<bool>(fields);
}

}  // namespace

std::vector<ProcessEntry> ListProcesses() {
  std::vector<ProcessEntry> entries;
  std::error_code error;
  for (const fs::directory_entry& dir : fs::directory_iterator("/proc", error)) {
    const std::string name = dir.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    ProcessEntry entry;
    if (!ReadStat(static_cast<pid_t>(std::atoi(name.c_str())), entry)) continue;
    entry.cmdline = ReadWholeFile(dir.path() / "cmdline");
    while (!entry.cmdline.empty() && entry.cmdline.back() == '\0') entry.cmdline.pop_back();
    for (char& c : entry.cmdline) {
      if (c == '\0') c = ' ';
    }
    entry.environment = ReadWholeFile(dir.path() / "environ");
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::set<ProcessId> SnapshotProcessIds() {
  std::set<ProcessId> ids;
  for (const ProcessEntry& entry : ListProcesses()) ids.emplace(entry.pid, entry.start_time);
  return ids;
}

std::vector<pid_t> DescendantsOf(pid_t root) {
  std::vector<pid_t> found;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    std::error_code error;
    fs::path tasks = fs::path("/proc") / std::to_string(parent) / "task";
    for (const fs::directory_entry& task : fs::directory_iterator(tasks, error)) {
      std::istringstream children(ReadWholeFile(task.path() / "children"));
      for (pid_t child; children >> child;) {
        found.push_back(child);
        frontier.push_back(child);
      }
    }
  }
  return found;
}

std::optional<std::string> EnvironmentValue(const ProcessEntry& entry, const std::string& name) {
  const std::string prefix = name + "=";
  std::istringstream vars(entry.environment);
  for (std::string var; std::getline(vars, var, '\0');) {
    if (var.compare(0, prefix.size(), prefix) == 0) return var.substr(prefix.size());
  }
  return std::nullopt;
}

std::string DescribeProcesses(const std::vector<ProcessEntry>& entries) {
  std::string text;
  for (const ProcessEntry& entry : entries) {
    text += std::to_string(entry.pid) + " (" + entry.state + ", parent " +
            std::to_string(entry.ppid) + ") " + entry.cmdline + "\n";
  }
  return text;
}

}  // namespace graphene::e2e
