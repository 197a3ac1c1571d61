#include "cli/campaign_options.h"

#include <algorithm>
#include <thread>

namespace graphene {

size_t DefaultSlots() { return 16 * std::max(1u, std::thread::hardware_concurrency()); }

void AddCampaignOptions(CLI::App& app, CampaignOptions& o) {
  app.add_option("--input", o.inputs, "Input string to call the target with (repeatable)");
  app.add_option("--generate", o.generate, "Also generate N inputs (reproducible with --seed)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--repeat", o.repeat, "Executions per (target, input)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--timeout", o.timeout_s, "Seconds an execution may take before it is killed")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--grace", o.grace_ms, "Milliseconds to wait for cleanup after the call")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--memory-limit", o.memory_limit_mb,
                 "Megabytes of address space each process of an execution may use")
      ->capture_default_str()
      ->check(CLI::Range(16, 1 << 24));
  app.add_option("--max-processes", o.max_processes,
                 "Processes an execution may have alive at once before it is killed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_flag("--strict", o.strict,
               "Count threads and processes that end during the grace period as escapes");
  app.add_option("--seed", o.seed, "Seed of the input generator")->capture_default_str();
  app.add_option("--format", o.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--db", o.db, "SQLite database for results [default: .graphene/results.db]")
      ->envname("GRAPHENE_DB");
  app.add_option("--slots", o.slots, "Executions at once [default: 16 per core]")
      ->check(CLI::Range(1, 4096));
  app.add_option("--junit", o.junit,
                 "Also write the report to FILE as JUnit XML (a test case per target)")
      ->type_name("FILE");
  app.add_option("--sarif", o.sarif,
                 "Also write the escapes to FILE as SARIF 2.1.0, located where they started")
      ->type_name("FILE");
  app.add_flag("--quiet,-q", o.quiet, "No progress display");
  app.add_option("--language", o.language, "Language of the targets")
      ->capture_default_str()
      ->check(CLI::IsMember({"python"}));
  app.add_option("--coordinator", o.coordinator,
                 "Submit the campaign to the coordinator at tcp://HOST:PORT and follow it there, "
                 "instead of running it on this machine")
      ->envname("GRAPHENE_COORDINATOR");
  AddClientSecurityOptions(app, o.security);
  app.add_option("--bundle", o.bundle_paths,
                 "With --coordinator: another file or folder (relative to here) the targets need, "
                 "shipped to the agents with them (repeatable)");
  app.add_flag("--python-only", o.python_only, "Accepted for compatibility: only Python is run");
  app.add_flag("--main-thread-mode", o.main_thread_mode,
               "Accepted for compatibility: every execution already runs on the main thread of "
               "its own process");
}

}  // namespace graphene
