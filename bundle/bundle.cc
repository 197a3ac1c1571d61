// Packing walks the folder with lstat so that it decides about every symlink
// itself: following one blindly could pack /etc/passwd, or loop forever.
#include "bundle/bundle.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <utility>

#include "base/unique_fd.h"
#include "bundle/list_folder.h"

namespace graphene {
namespace {

// Tools' caches and version-control metadata: large, machine-specific, and
// never needed to run a test.
const std::set<std::string, std::less<>> kSkippedFolders = {
    "__pycache__", ".git", ".graphene", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".venv",
};

// Longer paths or names would fail to unpack on Linux (PATH_MAX, NAME_MAX).
constexpr size_t kMaxPathBytes = 4000;
constexpr size_t kMaxNameBytes = 255;

void InitSodium() {
  // Thread-safe once: a function-local static is initialized exactly once.
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      std::fputs("graphene: libsodium failed to initialize\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

// "48 MB", "3 KB" or "12 bytes", rounded up so that a size over a limit never
// prints as equal to it.
std::string HumanSize(size_t bytes) {
  if (bytes >= (1u << 20)) return fmt::format("{} MB", (bytes + (1u << 20) - 1) >> 20);
  if (bytes >= (1u << 10)) return fmt::format("{} KB", (bytes + (1u << 10) - 1) >> 10);
  return fmt::format("{} bytes", bytes);
}

// Why `path` may not be a bundle path, or "" when it may.
std::string PathProblem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.size() > kMaxPathBytes) return "is too long";
  if (path.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (path.find('\\') != std::string_view::npos) return "contains a backslash";
  if (path.front() == '/') return "is absolute";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view name = path.substr(start, end - start);
    if (name.empty()) return "has an empty component";
    if (name == "." || name == "..") return fmt::format("has a '{}' component", name);
    if (name.size() > kMaxNameBytes) return "has a component that is too long";
    start = end + 1;
  }
  return "";
}

bool IsInside(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

std::string RealPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(realpath(path.c_str(), nullptr), &std::free);
  return real ? std::string(real.get()) : std::string();
}

std::string Join(const std::string& folder, const std::string& name) {
  if (folder.empty()) return name;
  return folder + "/" + name;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::Error(ErrnoMessage("reading " + path));
  std::string content;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(ErrnoMessage("reading " + path));
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

// Collects the files to pack, by bundle path, before reading any of them: the
// size check then costs a stat per file, not reading a huge folder.
class Packer {
 public:
  Packer(std::string root_arg, std::string root)
      : root_arg_(std::move(root_arg)), root_(std::move(root)) {}

  // Adds the file or folder `arg` names, relative to the root.
  Status AddNamed(const std::string& arg) {
    std::string rel = std::filesystem::path(arg).lexically_normal().generic_string();
    while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
    if (rel == ".") rel.clear();
    if (arg.empty()) return Status::Error("an empty path was given for the folder " + root_arg_);
    if (arg.front() == '/' || rel == ".." || rel.starts_with("../")) {
      return Outside(arg);
    }
    std::string full = rel.empty() ? root_ : root_ + "/" + rel;
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return Status::Error(
            fmt::format("path '{}' does not exist in the folder {}", arg, root_arg_));
      }
      return Status::Error(ErrnoMessage(fmt::format("reading '{}' in {}", arg, root_arg_)));
    }
    // Resolving also catches a symlinked folder on the way ("link/x").
    std::string real = RealPath(full);
    if (real.empty()) {
      return Status::Error(ErrnoMessage(fmt::format("resolving '{}' in {}", arg, root_arg_)));
    }
    if (!IsInside(real, root_)) return Outside(arg);
    if (stat(real.c_str(), &st) != 0) {
      return Status::Error(ErrnoMessage(fmt::format("reading '{}' in {}", arg, root_arg_)));
    }
    if (S_ISDIR(st.st_mode)) return AddFolder(rel, real);
    if (S_ISREG(st.st_mode)) return AddFile(rel, real, st);
    return Status::Error(
        fmt::format("path '{}' in {} is not a regular file or folder", arg, root_arg_));
  }

  // Reads every collected file and encodes the bundle.
  Result<Bundle> Finish(size_t max_bytes) {
    if (total_ > max_bytes) return TooLarge(total_, max_bytes);
    std::vector<BundleFile> files;
    files.reserve(entries_.size());
    for (auto& [path, entry] : entries_) {
      Result<std::string> content = ReadFile(entry.source);
      if (!content.ok()) return content.status();
      files.push_back(BundleFile{path, entry.mode, std::move(content).value()});
    }
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, files);
    // Files may have grown since they were measured; the encoded size is the
    // one that has to fit.
    if (buffer.size() > max_bytes) return TooLarge(buffer.size(), max_bytes);
    Bundle bundle;
    bundle.bytes.assign(buffer.data(), buffer.size());
    bundle.hash = BundleHash(bundle.bytes);
    return bundle;
  }

 private:
  struct Entry {
    std::string source;  // the real path to read
    uint32_t mode = 0644;
  };

  Status Outside(const std::string& arg) const {
    return Status::Error(fmt::format("path '{}' is outside the folder {}", arg, root_arg_));
  }

  Status TooLarge(size_t bytes, size_t max_bytes) const {
    return Status::Error(
        fmt::format("test files under {} take {}, more than the {} a bundle may hold", root_arg_,
                    HumanSize(bytes), HumanSize(max_bytes)));
  }

  // Adds the file `real` as bundle path `path`.
  Status AddFile(const std::string& path, const std::string& real, const struct stat& st) {
    std::string problem = PathProblem(path);
    if (!problem.empty()) {
      return Status::Error(
          fmt::format("cannot bundle '{}' from {}: the path {}", path, root_arg_, problem));
    }
    uint32_t mode = (st.st_mode & 0111) != 0 ? 0755 : 0644;
    auto [it, added] = entries_.try_emplace(path, Entry{real, mode});
    if (added) total_ += static_cast<size_t>(st.st_size);
    return Status::Ok();
  }

  // Adds what the skip rules let through of the folder `real`, whose bundle
  // path is `path` ("" for the root).
  Status AddFolder(const std::string& path, const std::string& real) {
    Result<std::vector<std::string>> names = ListFolder(real);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      Status status = AddChild(Join(path, name), real + "/" + name, name);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  Status AddChild(const std::string& path, const std::string& full, const std::string& name) {
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();  // removed while we walk
      return Status::Error(ErrnoMessage("reading " + full));
    }
    if (S_ISDIR(st.st_mode)) {
      if (kSkippedFolders.contains(name)) return Status::Ok();
      return AddFolder(path, full);
    }
    if (EndsWith(name, ".pyc")) return Status::Ok();
    if (S_ISREG(st.st_mode)) return AddFile(path, full, st);
    if (!S_ISLNK(st.st_mode)) return Status::Ok();
    // Only a symlinked file inside the root: anything else would pack files
    // the user did not mean to send, or loop.
    std::string real = RealPath(full);
    if (real.empty() || !IsInside(real, root_)) return Status::Ok();
    if (stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Status::Ok();
    return AddFile(path, real, st);
  }

  std::string root_arg_;                  // the root as the caller wrote it, for messages
  std::string root_;                      // the root's real path
  std::map<std::string, Entry> entries_;  // std::string orders by unsigned bytes
  size_t total_ = 0;
};

// The BundleFile that `object` (entry number `index`) describes.
Result<BundleFile> DecodeFile(const msgpack::object& object, size_t index) {
  if (object.type != msgpack::type::MAP) {
    return Status::Error(fmt::format("bundle entry {} is not a map", index));
  }
  BundleFile file;
  bool has_path = false, has_mode = false, has_content = false;
  for (const msgpack::object_kv& kv : std::span(object.via.map.ptr, object.via.map.size)) {
    if (kv.key.type != msgpack::type::STR) {
      return Status::Error(fmt::format("bundle entry {} has a key that is not a string", index));
    }
    std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    const msgpack::object& value = kv.val;
    bool* seen = key == "path"      ? &has_path
                 : key == "mode"    ? &has_mode
                 : key == "content" ? &has_content
                                    : nullptr;
    if (seen == nullptr) continue;  // a field from a newer peer
    if (*seen) return Status::Error(fmt::format("bundle entry {} repeats '{}'", index, key));
    *seen = true;
    if (key == "path") {
      if (value.type != msgpack::type::STR) {
        return Status::Error(fmt::format("bundle entry {} has a path that is not a string", index));
      }
      file.path.assign(value.via.str.ptr, value.via.str.size);
    } else if (key == "mode") {
      if (value.type != msgpack::type::POSITIVE_INTEGER ||
          (value.via.u64 != 0644 && value.via.u64 != 0755)) {
        return Status::Error(
            fmt::format("bundle entry {} has a mode other than 0644 or 0755", index));
      }
      file.mode = static_cast<uint32_t>(value.via.u64);
    } else if (value.type == msgpack::type::STR) {
      file.content.assign(value.via.str.ptr, value.via.str.size);
    } else if (value.type == msgpack::type::BIN) {
      file.content.assign(value.via.bin.ptr, value.via.bin.size);
    } else {
      return Status::Error(fmt::format("bundle entry {} has content that is not bytes", index));
    }
  }
  if (!has_path || !has_mode || !has_content) {
    return Status::Error(fmt::format("bundle entry {} lacks path, mode or content", index));
  }
  std::string problem = PathProblem(file.path);
  if (!problem.empty()) {
    return Status::Error(fmt::format("bundle path '{}' {}", file.path, problem));
  }
  return file;
}

// Fails if a file's path is also a folder of another file ("a" and "a/b").
Status CheckNoFileIsAFolder(const std::vector<BundleFile>& files) {
  std::set<std::string_view> paths;
  for (const BundleFile& file : files) paths.insert(file.path);
  for (const BundleFile& file : files) {
    std::string_view path = file.path;
    for (size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      if (paths.contains(path.substr(0, slash))) {
        return Status::Error(fmt::format("bundle path '{}' is both a file and the folder of '{}'",
                                         path.substr(0, slash), path));
      }
    }
  }
  return Status::Ok();
}

bool ReferenceAll(msgpack::type::object_type, size_t, void*) { return true; }

}  // namespace

std::string BundleHash(std::string_view bytes) {
  InitSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

bool IsBundleHash(std::string_view text) {
  if (text.size() != crypto_hash_sha256_BYTES * 2) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Bundle> PackBundle(const std::string& root, const std::vector<std::string>& paths,
                          size_t max_bytes) {
  std::string real_root = RealPath(root);
  struct stat st;
  if (real_root.empty() || stat(real_root.c_str(), &st) != 0) {
    return Status::Error(ErrnoMessage("reading the folder " + root));
  }
  if (!S_ISDIR(st.st_mode)) return Status::Error(fmt::format("{} is not a folder", root));
  Packer packer(root, real_root);
  for (const std::string& path : paths) {
    Status status = packer.AddNamed(path);
    if (!status.ok()) return status;
  }
  return packer.Finish(max_bytes);
}

Result<std::vector<BundleFile>> DecodeBundle(std::string_view bytes) {
  if (bytes.size() > kMaxBundleBytes) {
    return Status::Error(fmt::format("bundle takes {}, more than the {} a bundle may hold",
                                     HumanSize(bytes.size()), HumanSize(kMaxBundleBytes)));
  }
  std::vector<BundleFile> files;
  try {
    // No honest container claims more elements than the bundle has bytes; the
    // format nests three deep (array, map, value).
    const size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, 3);
    size_t consumed = 0;
    // Referencing `bytes` rather than copying: the handle dies before we return.
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), consumed, ReferenceAll, nullptr, limit);
    if (consumed != bytes.size()) {
      return Status::Error(fmt::format("{} stray bytes after the bundle", bytes.size() - consumed));
    }
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::ARRAY) return Status::Error("bundle is not an array of files");
    files.reserve(root.via.array.size);
    for (size_t i = 0; i < root.via.array.size; ++i) {
      Result<BundleFile> file = DecodeFile(root.via.array.ptr[i], i);
      if (!file.ok()) return file.status();
      if (!files.empty() && !(files.back().path < file->path)) {
        return Status::Error(
            fmt::format("bundle path '{}' is out of order or repeated", file->path));
      }
      files.push_back(std::move(file).value());
    }
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("bundle is not valid msgpack: {}", e.what()));
  }
  Status status = CheckNoFileIsAFolder(files);
  if (!status.ok()) return status;
  return files;
}

}  // namespace graphene
