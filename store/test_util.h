// Helpers for the store's tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
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
    std::string pattern = testing::TempDir() + "graphene_store_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  // `name` inside the folder.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
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
