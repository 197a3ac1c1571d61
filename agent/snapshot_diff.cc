#include "agent/snapshot_diff.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace graphene {
namespace {

int64_t IdOf(const Escape& e) { return e.pid ? *e.pid : e.native_id.value_or(0); }

std::vector<Escape> NewEntries(const std::vector<Escape>& entries, const std::set<int64_t>& old) {
  std::vector<Escape> fresh;
  for (const Escape& e : entries) {
    if (!old.count(IdOf(e))) fresh.push_back(e);
  }
  return fresh;
}

std::set<int64_t> Ids(const std::vector<Escape>& entries) {
  std::set<int64_t> ids;
  for (const Escape& e : entries) ids.insert(IdOf(e));
  return ids;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1) {
    fields.push_back(line.substr(start, tab - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

}  // namespace

LiveSet NewSince(const LiveSet& baseline, const LiveSet& now) {
  LiveSet fresh;
  std::set_difference(now.threads.begin(), now.threads.end(), baseline.threads.begin(),
                      baseline.threads.end(), std::inserter(fresh.threads, fresh.threads.end()));
  std::set_difference(now.processes.begin(), now.processes.end(), baseline.processes.begin(),
                      baseline.processes.end(),
                      std::inserter(fresh.processes, fresh.processes.end()));
  return fresh;
}

EscapeDiff DiffSnapshots(const LiveSet& baseline, const DetailedSnapshot& at_return,
                         const DetailedSnapshot& at_end) {
  EscapeDiff diff;
  diff.escapes = NewEntries(at_end.threads, baseline.threads);
  for (Escape& e : NewEntries(at_end.processes, baseline.processes)) {
    diff.escapes.push_back(std::move(e));
  }
  std::set<int64_t> end_threads = Ids(at_end.threads);
  std::set<int64_t> end_processes = Ids(at_end.processes);
  for (const Escape& e : NewEntries(at_return.threads, baseline.threads)) {
    if (!end_threads.count(IdOf(e)) && e.kind != "native_thread") diff.transient.push_back(e);
  }
  for (const Escape& e : NewEntries(at_return.processes, baseline.processes)) {
    if (!end_processes.count(IdOf(e))) diff.transient.push_back(e);
  }
  return diff;
}

std::vector<Escape> MergeThreads(const std::vector<Escape>& python_threads,
                                 const std::vector<OsThread>& os_threads, int64_t main_tid) {
  std::map<int64_t, const Escape*> by_tid;
  for (const Escape& e : python_threads) by_tid[e.native_id.value_or(0)] = &e;
  std::vector<Escape> merged;
  for (const OsThread& os : os_threads) {
    if (os.tid == main_tid) continue;
    auto known = by_tid.find(os.tid);
    if (known != by_tid.end()) {
      merged.push_back(*known->second);
      continue;
    }
    Escape native;
    native.kind = "native_thread";
    native.name = os.comm;
    native.daemon = true;  // nothing waits for a native thread at exit
    native.native_id = os.tid;
    merged.push_back(std::move(native));
  }
  return merged;
}

std::vector<RegistryEntry> ParseRegistry(std::string_view text) {
  std::vector<RegistryEntry> entries;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) break;  // a torn last line is skipped
    std::vector<std::string_view> f = SplitTabs(text.substr(start, end - start));
    start = end + 1;
    RegistryEntry entry;
    if (f.size() != 6) continue;
    auto parsed = std::from_chars(f[0].data(), f[0].data() + f[0].size(), entry.pid);
    if (parsed.ec != std::errc() || entry.pid <= 0) continue;
    entry.kind = f[1];
    entry.name = f[2];
    entry.daemon = f[3] == "1";
    entry.started_at = f[4];
    entry.started_in = f[5];
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<Escape> DescribeProcesses(const std::vector<ProcessInfo>& processes,
                                      const std::vector<RegistryEntry>& registry) {
  std::map<int64_t, const RegistryEntry*> registered;
  for (const RegistryEntry& entry : registry) registered[entry.pid] = &entry;
  std::map<int64_t, int64_t> parent;
  for (const ProcessInfo& p : processes) parent[p.pid] = p.ppid;

  std::vector<Escape> described;
  for (const ProcessInfo& p : processes) {
    if (p.zombie()) continue;
    Escape e;
    e.kind = "process";
    e.name = p.comm;
    e.pid = p.pid;
    e.running = p.cmdline;
    if (auto own = registered.find(p.pid); own != registered.end()) {
      e.kind = own->second->kind;
      e.name = own->second->name;
      e.daemon = own->second->daemon;
      e.started_at = own->second->started_at;
      e.started_in = own->second->started_in;
    } else {
      // Walk up through processes of this snapshot to a registered ancestor.
      int64_t up = p.ppid;
      for (int hops = 0; hops < 64; ++hops) {
        if (auto anc = registered.find(up); anc != registered.end()) {
          e.started_at = anc->second->started_at;
          e.started_in = anc->second->started_in;
          break;
        }
        auto next = parent.find(up);
        if (next == parent.end()) break;
        up = next->second;
      }
    }
    described.push_back(std::move(e));
  }
  return described;
}

}  // namespace graphene
