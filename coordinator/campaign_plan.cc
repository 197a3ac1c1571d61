#include "coordinator/campaign_plan.h"

#include <bit>

namespace graphene {
namespace {

constexpr uint64_t kBitsPerWord = 64;
constexpr uint64_t kAllOnes = ~uint64_t{0};

}  // namespace

uint64_t CampaignPlan::TotalJobs() const {
  return static_cast<uint64_t>(targets.size()) * inputs.size() * repeat;
}

JobCoordinates CampaignPlan::CoordinatesOf(uint64_t index) const {
  const uint64_t per_target = static_cast<uint64_t>(inputs.size()) * repeat;
  const uint64_t within_target = index % per_target;
  return JobCoordinates{.target_i = index / per_target,
                        .input_i = within_target / repeat,
                        .repeat_i = static_cast<uint32_t>(within_target % repeat)};
}

Job CampaignPlan::JobAt(uint64_t index) const {
  const JobCoordinates at = CoordinatesOf(index);
  return Job{.campaign = campaign,
             .index = index,
             .target = targets[at.target_i],
             .root = root,
             .input = inputs[at.input_i],
             .repeat = at.repeat_i,
             .limits = limits,
             .bundle = bundle};
}

bool JobIndexSet::Contains(uint64_t index) const {
  if (index < base_) return true;
  const uint64_t word = (index - base_) / kBitsPerWord;
  if (word >= words_.size()) return false;
  return (words_[word] >> (index % kBitsPerWord)) & 1;
}

bool JobIndexSet::Insert(uint64_t index) {
  if (Contains(index)) return false;
  const uint64_t word = (index - base_) / kBitsPerWord;
  if (word >= words_.size()) words_.resize(word + 1, 0);
  words_[word] |= uint64_t{1} << (index % kBitsPerWord);
  ++size_;
  // Full words at the front carry no information beyond the watermark.
  while (!words_.empty() && words_.front() == kAllOnes) {
    words_.pop_front();
    base_ += kBitsPerWord;
  }
  return true;
}

uint64_t JobIndexSet::watermark() const {
  if (words_.empty()) return base_;
  return base_ + std::countr_one(words_.front());
}

}  // namespace graphene
