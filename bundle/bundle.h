// Content-addressed bundles: a campaign's test folder packed into one byte
// string (the format is schema/bundle.h) named by the SHA-256 of its bytes.
// The client packs it, the coordinator stores it opaque, agents check and
// unpack it (bundle_cache.h). Packing is deterministic, so an unchanged folder
// keeps its hash and agents reuse what they already unpacked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "schema/bundle.h"

namespace graphene {

// A bundle must fit in one ZeroMQ message (kMaxWireMessageBytes, 64 MiB) with
// room to spare for the message around it.
inline constexpr size_t kMaxBundleBytes = 48u << 20;

struct Bundle {
  std::string hash;   // BundleHash(bytes)
  std::string bytes;  // msgpack, as schema/bundle.h describes
};

// The lowercase hex SHA-256 of `bytes` (64 characters). Thread-safe.
std::string BundleHash(std::string_view bytes);

// Whether `text` has the shape of a BundleHash: 64 lowercase hex digits.
bool IsBundleHash(std::string_view text);

// Packs the regular files under `paths` into a bundle. Each path is relative
// to `root` and names a file or a folder ("." is all of `root`); folders are
// walked recursively and overlapping paths add each file once. Left out while
// walking: the folders __pycache__, .git, .graphene, .hg, .svn, .mypy_cache,
// .pytest_cache and .venv, *.pyc files, anything not a regular file, symlinked
// folders, and symlinked files whose target is not inside `root`. A file's mode
// is 0755 if any execute bit is set, else 0644. Fails, with a one-line message,
// when a path is missing or outside `root`, a file cannot be read, or the
// bundle would be larger than `max_bytes`.
Result<Bundle> PackBundle(const std::string& root, const std::vector<std::string>& paths,
                          size_t max_bytes = kMaxBundleBytes);

// Parses and checks bundle bytes from an untrusted peer: at most
// kMaxBundleBytes, a msgpack array of {path, mode, content} maps, every path
// valid, paths strictly ascending, modes 0644 or 0755, and no path that is
// both a file and a folder of another path. Anything else is a one-line error,
// never a crash or a huge allocation. Files that pass can be written under a
// fresh folder without escaping it.
Result<std::vector<BundleFile>> DecodeBundle(std::string_view bytes);

}  // namespace graphene
