#include "tests/e2e/e2e_test_base.h"

#include <stdlib.h>
#include <unistd.h>

namespace graphene::e2e {

void GrapheneE2eTest::SetUp() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';  // parameterized tests' names hold slashes
  }
  run_marker_ = std::to_string(::getpid()) + ":" + name;

  std::string pattern = ::testing::TempDir() + "graphene-e2e-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "creating a scratch folder from " << pattern;
  scratch_dir_ = pattern;
}

void GrapheneE2eTest::TearDown() {
  if (scratch_dir_.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(scratch_dir_, error);
  EXPECT_FALSE(error) << "removing " << scratch_dir_ << ": " << error.message();
}

RunResult GrapheneE2eTest::Run(const std::vector<std::string>& args, RunOptions options) {
  options.env.emplace_back("GRAPHENE_DB", db_path());
  options.env.emplace_back(kRunMarkerVariable, run_marker_);
  return RunGraphene(args, options);
}

nlohmann::json GrapheneE2eTest::RunJson(const std::vector<std::string>& args, int expected_exit) {
  std::vector<std::string> full = args;
  full.insert(full.end(), {"--format", "json", "--db", db_path()});
  RunResult run = Run(full);
  if (run.exit_code != expected_exit) {
    ADD_FAILURE() << DescribeCommand(full) << " exited with " << run.exit_code << " (signal "
                  << run.term_signal << "), expected " << expected_exit << "; stderr:\n"
                  << run.err;
    return nullptr;
  }
  nlohmann::json report = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) {
    ADD_FAILURE() << DescribeCommand(full) << " printed no JSON object on stdout:\n" << run.out;
    return nullptr;
  }
  return report;
}

std::string TargetFile(const std::string& target) {
  std::string where = target.substr(0, target.rfind(':'));
  if (where.size() > 3 && where.compare(where.size() - 3, 3, ".py") == 0) return where;
  for (char& c : where) {
    if (c == '.') c = '/';
  }
  return where + ".py";
}

nlohmann::json FindTarget(const nlohmann::json& report, const std::string& target) {
  if (!report.contains("targets") || !report.at("targets").is_array()) return nullptr;
  for (const nlohmann::json& entry : report.at("targets")) {
    if (entry.contains("target") && entry.at("target") == target) return entry;
  }
  return nullptr;
}

}  // namespace graphene::e2e
