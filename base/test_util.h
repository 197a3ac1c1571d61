// Helpers for unit tests: a scratch folder per test and a way to fill it, and
// one-line checks of a Result.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "base/status.h"

namespace graphene {

// A fresh folder for one test, removed with everything in it when the test
// ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = testing::TempDir() + "graphene_test_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }
  // `name` inside the folder.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Writes `content` to `name` (creating its folders) with `mode`.
  void Write(const std::string& name, const std::string& content, mode_t mode = 0644) const {
    std::filesystem::path path = File(name);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
  }

 private:
  std::string path_;
};

// The value of `result`, or T{} after failing the current test: keeps checks
// on a call's result to one line without crashing when the call fails.
template <typename T>
T Value(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << result.status().message();
    return T{};
  }
  return std::move(result).value();
}

}  // namespace graphene
