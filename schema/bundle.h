// The byte format of a bundle: a campaign's test folder as it travels from a
// client to the coordinator (which stores it opaque, with its hash) and on to
// agents (which unpack it into their cache), so that agents need no shared
// filesystem. This is the one place the format is defined; bundle/ packs,
// hashes, checks and unpacks it.
//
// A bundle's bytes are a msgpack array of BundleFile maps sorted by `path` in
// strictly ascending byte order. Paths are relative, '/'-separated, with no
// empty, "." or ".." component. Nothing else (no timestamps, no owners) goes
// in, so the same tree always gives the same bytes and the same hash.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <string>

namespace graphene {

struct BundleFile {
  std::string path;      // relative to the bundle's root, e.g. "pkg/mod.py"
  uint32_t mode = 0644;  // 0644, or 0755 for an executable file
  std::string content;   // the file's bytes
  MSGPACK_DEFINE_MAP(path, mode, content);
};

}  // namespace graphene
