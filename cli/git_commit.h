// Which git commit the tested code is at, so that a campaign's results can
// be tied to the code they came from (campaigns.git_commit).
#pragma once

#include <string>
#include <vector>

#include "schema/execution.h"

namespace graphene {

// The commit HEAD names in the git checkout holding the targets: the folder
// of the first target's file (relative to `root`), or `root` when targets
// have no file. Empty when that is not a git checkout, git is not installed
// or it fails: a campaign then simply has no commit.
std::string GitCommitOf(const std::vector<TargetInfo>& targets, const std::string& root);

}  // namespace graphene
