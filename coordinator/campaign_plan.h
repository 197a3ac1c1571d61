// A campaign's jobs, expanded lazily. A campaign runs every target with every
// input, `repeat` times; CampaignPlan computes the job at any index on demand,
// so a million-job campaign costs its targets and inputs, never a job list.
// JobIndexSet records which of those indices are finished, in memory that
// grows with how far results run ahead of the oldest unfinished job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "schema/execution.h"

namespace graphene {

// Where a job sits in its campaign's expansion.
struct JobCoordinates {
  uint64_t target_i = 0;
  uint64_t input_i = 0;
  uint32_t repeat_i = 0;
  bool operator==(const JobCoordinates&) const = default;
};

// Every (target, input, repeat) of one campaign, in the order
// index = (target_i * inputs.size() + input_i) * repeat + repeat_i,
// so one target's jobs are contiguous and a job's repeats are adjacent.
struct CampaignPlan {
  uint64_t campaign = 0;
  std::vector<std::string> targets;
  std::vector<std::string> inputs;
  uint32_t repeat = 1;
  ExecutionLimits limits{};
  std::string root;    // folder targets are resolved from
  std::string bundle{};  // hash of the bundle holding the targets' code; empty: use `root`

  // targets.size() * inputs.size() * repeat: 0 when any of them is 0. The
  // caller keeps the product below 2^64.
  uint64_t TotalJobs() const;
  // The coordinates of job `index`, which must be < TotalJobs().
  JobCoordinates CoordinatesOf(uint64_t index) const;
  // The job at `index` (< TotalJobs()), built on demand; costs its strings.
  Job JobAt(uint64_t index) const;
};

// A set of job indices, for "which jobs of this campaign are done". It keeps
// a watermark below which every index is present and a bitmap from there up
// to the highest index inserted: one bit per index in that window, so jobs
// finished roughly in order cost almost nothing and the worst case is
// TotalJobs() / 8 bytes.
class JobIndexSet {
 public:
  bool Contains(uint64_t index) const;
  // Adds `index`; returns false if it was already present.
  bool Insert(uint64_t index);
  // How many indices are present.
  uint64_t size() const { return size_; }
  // Every index below this one is present.
  uint64_t watermark() const;
  // Bytes of bitmap currently held, to show that memory stays bounded.
  size_t window_bytes() const { return words_.size() * sizeof(uint64_t); }

 private:
  uint64_t base_ = 0;  // index of the lowest bit of words_.front(); a multiple of 64
  std::deque<uint64_t> words_;
  uint64_t size_ = 0;
};

}  // namespace graphene
