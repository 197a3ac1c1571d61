// --generate N with --seed S is reproducible: the same seed gives the same
// inputs, another seed other ones, and explicit --input values come on top.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::SizeIs;

const std::string kTarget = "fixtures/python/no_escape.py:join_thread";
// More than the fixed list of interesting strings (SPEC section 5), so that
// the seeded part of the generator is exercised too.
constexpr int kGenerated = 70;

class GenerateTest : public GrapheneE2eTest {
 protected:
  // The inputs a one-repeat campaign with `extra_args` ran, sorted.
  std::vector<std::string> InputsOf(const std::vector<std::string>& extra_args) {
    std::vector<std::string> args = {kTarget, "--repeat", "1"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    const json report = RunJson(args);
    std::vector<std::string> inputs;
    if (!report.is_object()) return inputs;
    for (const json& result : report.at("targets").at(0).at("results")) {
      inputs.push_back(result.at("input").get<std::string>());
    }
    std::sort(inputs.begin(), inputs.end());
    return inputs;
  }
};

TEST_F(GenerateTest, TheSameSeedGivesTheSameInputsAndAnotherSeedOthers) {
  const std::string n = std::to_string(kGenerated);
  const std::vector<std::string> first = InputsOf({"--generate", n, "--seed", "7"});
  const std::vector<std::string> again = InputsOf({"--generate", n, "--seed", "7"});
  const std::vector<std::string> other = InputsOf({"--generate", n, "--seed", "8"});
  ASSERT_THAT(first, SizeIs(kGenerated));
  EXPECT_EQ(first, again);
  EXPECT_THAT(other, SizeIs(kGenerated));
  EXPECT_NE(first, other);
}

TEST_F(GenerateTest, ExplicitInputsAreAddedToTheGeneratedOnes) {
  const std::vector<std::string> inputs =
      InputsOf({"--generate", "5", "--seed", "3", "--input", "explicit-input"});
  EXPECT_THAT(inputs, SizeIs(6));
  EXPECT_THAT(inputs, Contains("explicit-input"));
}

}  // namespace
}  // namespace graphene::e2e
