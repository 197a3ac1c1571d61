// Helpers for the bundle tests: a scratch folder per test and a way to fill it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace graphene {

// A fresh folder for one test, removed with everything in it when the test
// ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = testing::TempDir() + "graphene_bundle_XXXXXX";
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

}  // namespace graphene
