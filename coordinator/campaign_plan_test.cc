#include "coordinator/campaign_plan.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

// Counts heap allocations in this test binary, to show that expanding a huge
// campaign allocates nothing per job.
namespace {
std::atomic<uint64_t> allocations{0};
}  // namespace

void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace graphene {
namespace {

std::vector<std::string> Names(std::string_view prefix, size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) names.push_back(std::string(prefix) + std::to_string(i));
  return names;
}

CampaignPlan Plan(size_t targets, size_t inputs, uint32_t repeat) {
  return CampaignPlan{.campaign = 7,
                      .targets = Names("t", targets),
                      .inputs = Names("i", inputs),
                      .repeat = repeat,
                      .limits = {.timeout_ms = 1234, .grace_ms = 56},
                      .root = "/root"};
}

TEST(CampaignPlanTest, ExpandsTargetsThenInputsThenRepeats) {
  const CampaignPlan plan = Plan(2, 3, 2);
  ASSERT_EQ(plan.TotalJobs(), 12u);
  uint64_t index = 0;
  for (uint64_t t = 0; t < 2; ++t) {
    for (uint64_t i = 0; i < 3; ++i) {
      for (uint32_t r = 0; r < 2; ++r, ++index) {
        EXPECT_EQ(plan.CoordinatesOf(index), (JobCoordinates{t, i, r})) << index;
        const Job job = plan.JobAt(index);
        EXPECT_EQ(job.index, index);
        EXPECT_EQ(job.target, plan.targets[t]);
        EXPECT_EQ(job.input, plan.inputs[i]);
        EXPECT_EQ(job.repeat, r);
      }
    }
  }
}

TEST(CampaignPlanTest, JobCarriesTheCampaignSettings) {
  const Job job = Plan(1, 1, 1).JobAt(0);
  EXPECT_EQ(job.campaign, 7u);
  EXPECT_EQ(job.root, "/root");
  EXPECT_EQ(job.limits.timeout_ms, 1234u);
  EXPECT_EQ(job.limits.grace_ms, 56u);
  EXPECT_EQ(job.target, "t0");
  EXPECT_EQ(job.input, "i0");
  EXPECT_EQ(job.repeat, 0u);
}

TEST(CampaignPlanTest, AnEmptyDimensionMeansNoJobs) {
  EXPECT_EQ(Plan(3, 0, 5).TotalJobs(), 0u);
  EXPECT_EQ(Plan(0, 4, 5).TotalJobs(), 0u);
  EXPECT_EQ(Plan(3, 4, 0).TotalJobs(), 0u);
  EXPECT_EQ(CampaignPlan{}.TotalJobs(), 0u);
  EXPECT_EQ(Plan(1, 1, 1).TotalJobs(), 1u);
}

TEST(CampaignPlanTest, HugePlanExpandsWithoutAllocatingPerJob) {
  const CampaignPlan plan = Plan(1000, 1000, 1000);
  const uint64_t before = allocations.load();
  const uint64_t total = plan.TotalJobs();
  const JobCoordinates last = plan.CoordinatesOf(total - 1);
  const JobCoordinates middle = plan.CoordinatesOf(total / 2 + 1);
  EXPECT_EQ(allocations.load(), before);
  EXPECT_EQ(total, 1'000'000'000u);
  EXPECT_EQ(last, (JobCoordinates{999, 999, 999}));
  EXPECT_EQ(middle, (JobCoordinates{500, 0, 1}));

  const Job job = plan.JobAt(total - 1);
  // At most one allocation per string the job copies (target, root, input).
  EXPECT_LE(allocations.load() - before, 3u);
  EXPECT_EQ(job.target, "t999");
  EXPECT_EQ(job.input, "i999");
  EXPECT_EQ(job.repeat, 999u);
}

TEST(JobIndexSetTest, InsertsOnce) {
  JobIndexSet set;
  EXPECT_FALSE(set.Contains(3));
  EXPECT_TRUE(set.Insert(3));
  EXPECT_FALSE(set.Insert(3));
  EXPECT_TRUE(set.Contains(3));
  EXPECT_FALSE(set.Contains(2));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(set.watermark(), 0u);
}

TEST(JobIndexSetTest, InOrderInsertsKeepNoWindow) {
  JobIndexSet set;
  for (uint64_t i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(set.Insert(i));
    ASSERT_LE(set.window_bytes(), sizeof(uint64_t));
  }
  EXPECT_EQ(set.watermark(), 1'000'000u);
  EXPECT_EQ(set.size(), 1'000'000u);
  EXPECT_TRUE(set.Contains(123'456));
  EXPECT_FALSE(set.Contains(1'000'000));
}

TEST(JobIndexSetTest, WindowSpansOnlyUnfinishedRange) {
  JobIndexSet set;
  for (uint64_t i = 1; i <= 1000; ++i) set.Insert(i);  // everything but 0
  EXPECT_EQ(set.watermark(), 0u);
  EXPECT_GE(set.window_bytes(), 1000u / 8);
  set.Insert(0);
  EXPECT_EQ(set.watermark(), 1001u);
  EXPECT_LE(set.window_bytes(), sizeof(uint64_t));
}

TEST(JobIndexSetTest, WorstCaseIsOneBitPerIndex) {
  JobIndexSet set;
  set.Insert(999'999);
  EXPECT_LE(set.window_bytes(), 1'000'000u / 8 + sizeof(uint64_t));
  EXPECT_FALSE(set.Contains(5));
  EXPECT_TRUE(set.Contains(999'999));
}

TEST(JobIndexSetTest, MatchesAReferenceSet) {
  std::mt19937_64 random(42);
  JobIndexSet set;
  std::set<uint64_t> reference;
  for (int i = 0; i < 20'000; ++i) {
    const uint64_t index = random() % 5'000;
    EXPECT_EQ(set.Insert(index), reference.insert(index).second);
  }
  EXPECT_EQ(set.size(), reference.size());
  uint64_t watermark = 0;
  while (reference.contains(watermark)) ++watermark;
  EXPECT_EQ(set.watermark(), watermark);
  for (uint64_t index = 0; index < 5'100; ++index) {
    EXPECT_EQ(set.Contains(index), reference.contains(index)) << index;
  }
}

}  // namespace
}  // namespace graphene
