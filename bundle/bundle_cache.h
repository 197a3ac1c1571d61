// BundleCache: an agent's on-disk cache of unpacked bundles, one folder per
// bundle named by its hash (DIR/HASH), reused across campaigns. A bundle is
// unpacked into a temporary folder inside DIR and renamed into place, so a
// DIR/HASH folder is always complete, and several processes (agents on one
// host) may share DIR safely: when two install the same bundle, one rename
// wins and the other keeps the winner's folder.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace graphene {

// Not thread-safe: use one object from one thread (other processes may use
// the same folder at the same time).
class BundleCache {
 public:
  // Opens the cache in `dir`, creating it and its parents (mode 0755) if
  // missing.
  static Result<BundleCache> Open(std::string dir);

  // Whether the bundle `hash` is unpacked in the cache.
  bool Has(std::string_view hash) const;
  // The folder bundle `hash` is (or would be) unpacked in: DIR/HASH.
  std::string PathOf(std::string_view hash) const;

  // Checks that `bytes` hash to `hash` and decode as a bundle, unpacks them
  // (files 0644 or 0755, folders 0755, readable by every user: an agent
  // started as root runs targets as an unprivileged user) and returns the
  // bundle's folder. An already installed bundle is not rewritten, only
  // touched. On failure nothing is left in the cache.
  Result<std::string> Install(std::string_view hash, std::string_view bytes);

  // Marks bundle `hash` as just used (sets its folder's mtime to now), so
  // Prune keeps it longer. Does nothing if it is not installed.
  void Touch(std::string_view hash);

  // Removes all but the `keep` most recently used bundles, and temporary
  // folders left over an hour ago by crashed installs. The caller must not
  // prune a bundle that a running target is using.
  Status Prune(size_t keep);

  const std::string& dir() const { return dir_; }

 private:
  explicit BundleCache(std::string dir) : dir_(std::move(dir)) {}
  // A fresh name in `dir_` for a temporary folder about `hash`.
  std::string TempPath(std::string_view what, std::string_view hash) const;

  std::string dir_;
};

}  // namespace graphene
