#include "tests/e2e/fixture_catalog.h"

#include <algorithm>
#include <fstream>
#include <regex>

namespace graphene::e2e {
namespace {

namespace fs = std::filesystem;

const std::regex kPublicDef(R"(^def ([a-z][A-Za-z0-9_]*)\s*\()");
const std::regex kExpectation(R"(Expected Behavior:\s*([A-Z]+))");

void ScanFile(const fs::path& path, const std::string& relative,
              std::vector<FixtureFunction>& functions) {
  std::ifstream in(path);
  bool in_public_function = false;
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, kPublicDef)) {
      functions.push_back({relative + ":" + match[1].str(), relative, match[1].str(), ""});
      in_public_function = true;
    } else if (line.rfind("def ", 0) == 0) {
      in_public_function = false;  // a private top-level function ends the previous one
    } else if (in_public_function && functions.back().expected.empty() &&
               std::regex_search(line, match, kExpectation)) {
      functions.back().expected = match[1].str();
    }
  }
}

}  // namespace

std::vector<FixtureFunction> ScanFixtureFolder(const fs::path& root, const std::string& folder) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(root / folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".py") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<FixtureFunction> functions;
  for (const fs::path& file : files) {
    ScanFile(file, folder + "/" + file.filename().string(), functions);
  }
  return functions;
}

int CountLines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return 0;
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

}  // namespace graphene::e2e
