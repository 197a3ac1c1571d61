// Unpacking trusts nothing in the bundle beyond what DecodeBundle checked:
// files are created with O_EXCL | O_NOFOLLOW in a folder we just made, and
// modes are set explicitly so that the umask cannot make them unreadable.
#include "bundle/bundle_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <system_error>
#include <vector>

#include "base/unique_fd.h"
#include "bundle/bundle.h"
#include "bundle/list_folder.h"

namespace graphene {
namespace {

constexpr char kTempPrefix[] = ".tmp-";
// A temporary folder this old was left by a crashed install.
constexpr time_t kStaleTempSeconds = 3600;

// Creates `path` as a folder with mode 0755 (not narrowed by the umask), or
// accepts it if it exists. Returns false with errno set on failure.
bool MakeFolder(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0) return chmod(path.c_str(), 0755) == 0;
  return errno == EEXIST;
}

// Removes a folder tree on destruction unless released: an install that fails
// halfway leaves nothing behind.
class TempFolder {
 public:
  explicit TempFolder(std::string path) : path_(std::move(path)) {}
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(ErrnoMessage("writing " + path));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Writes `file` under `root`, creating its folders; `made` remembers folders
// already created.
Status WriteBundleFile(const std::string& root, const BundleFile& file,
                       std::set<std::string>& made) {
  for (size_t slash = file.path.find('/'); slash != std::string::npos;
       slash = file.path.find('/', slash + 1)) {
    std::string folder = root + "/" + file.path.substr(0, slash);
    if (made.contains(folder)) continue;
    if (!MakeFolder(folder)) return Status::Error(ErrnoMessage("creating " + folder));
    made.insert(folder);
  }
  std::string path = root + "/" + file.path;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::Error(ErrnoMessage("creating " + path));
  Status status = WriteAll(fd.get(), file.content, path);
  if (!status.ok()) return status;
  if (fchmod(fd.get(), file.mode) != 0) return Status::Error(ErrnoMessage("chmod " + path));
  if (close(fd.release()) != 0) return Status::Error(ErrnoMessage("writing " + path));
  return Status::Ok();
}

struct Installed {
  struct timespec mtime;
  std::string hash;
};

bool MoreRecent(const Installed& a, const Installed& b) {
  if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec > b.mtime.tv_sec;
  if (a.mtime.tv_nsec != b.mtime.tv_nsec) return a.mtime.tv_nsec > b.mtime.tv_nsec;
  return a.hash < b.hash;
}

}  // namespace

Result<BundleCache> BundleCache::Open(std::string dir) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(dir, error);
  if (error) {
    return Status::Error(fmt::format("cannot open the bundle cache {}: {}", dir, error.message()));
  }
  std::string path = absolute.lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (!MakeFolder(path.substr(0, slash))) {
      return Status::Error(ErrnoMessage("creating the bundle cache " + dir));
    }
  }
  if (!MakeFolder(path)) return Status::Error(ErrnoMessage("creating the bundle cache " + dir));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::Error(ErrnoMessage("opening the bundle cache " + dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(fmt::format("the bundle cache {} is not a folder", dir));
  }
  if (access(path.c_str(), W_OK | X_OK) != 0) {
    return Status::Error(ErrnoMessage("opening the bundle cache " + dir));
  }
  return BundleCache(std::move(path));
}

bool BundleCache::Has(std::string_view hash) const {
  struct stat st;
  return IsBundleHash(hash) && lstat(PathOf(hash).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string BundleCache::PathOf(std::string_view hash) const {
  return fmt::format("{}/{}", dir_, hash);
}

std::string BundleCache::TempPath(std::string_view what, std::string_view hash) const {
  // Unique across processes (pid) and across objects in this process.
  static std::atomic<uint64_t> counter = 0;
  return fmt::format("{}/{}{}{}-{}-{}", dir_, kTempPrefix, what, hash, getpid(), counter++);
}

Result<std::string> BundleCache::Install(std::string_view hash, std::string_view bytes) {
  if (!IsBundleHash(hash)) {
    return Status::Error(fmt::format("'{}' is not a bundle hash (64 lowercase hex digits)", hash));
  }
  std::string final_path = PathOf(hash);
  if (Has(hash)) {
    Touch(hash);
    return final_path;
  }
  if (BundleHash(bytes) != hash) {
    return Status::Error(fmt::format("bundle content does not match its hash {}", hash));
  }
  Result<std::vector<BundleFile>> files = DecodeBundle(bytes);
  if (!files.ok())
    return Status::Error(fmt::format("bundle {}: {}", hash, files.status().message()));

  std::string temp = TempPath("", hash);
  if (!MakeFolder(temp)) return Status::Error(ErrnoMessage("creating " + temp));
  TempFolder guard(temp);
  std::set<std::string> made;
  for (const BundleFile& file : *files) {
    Status status = WriteBundleFile(temp, file, made);
    if (!status.ok()) return status;
  }
  // Once renamed, the folder counts as complete: its files must be on disk
  // first, or a power cut could leave a truncated bundle under its hash.
  UniqueFd folder(open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!folder.valid() || syncfs(folder.get()) != 0) {
    return Status::Error(ErrnoMessage("syncing " + temp));
  }
  if (rename(temp.c_str(), final_path.c_str()) != 0) {
    // Another process installed it first: its copy is as good as ours.
    if ((errno == EEXIST || errno == ENOTEMPTY) && Has(hash)) return final_path;
    return Status::Error(ErrnoMessage(fmt::format("renaming {} to {}", temp, final_path)));
  }
  guard.Release();
  Touch(hash);
  return final_path;
}

void BundleCache::Touch(std::string_view hash) {
  if (!IsBundleHash(hash)) return;
  // Failure only makes Prune's choice less accurate.
  (void)utimensat(AT_FDCWD, PathOf(hash).c_str(), nullptr, 0);
}

Status BundleCache::Prune(size_t keep) {
  Result<std::vector<std::string>> names = ListFolder(dir_);
  if (!names.ok()) return names.status();
  std::vector<Installed> installed;
  const time_t stale_before = time(nullptr) - kStaleTempSeconds;
  for (const std::string& name : *names) {
    std::string path = dir_ + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;  // removed by another process
    if (IsBundleHash(name) && S_ISDIR(st.st_mode)) {
      installed.push_back(Installed{st.st_mtim, name});
    } else if (name.starts_with(kTempPrefix) && st.st_mtime < stale_before) {
      std::error_code ignored;  // best effort: the next Prune tries again
      std::filesystem::remove_all(path, ignored);
    }
  }
  std::sort(installed.begin(), installed.end(), MoreRecent);
  Status result;
  for (size_t i = keep; i < installed.size(); ++i) {
    // Renamed away first so that no one sees a half-removed bundle as installed.
    std::string doomed = TempPath("prune-", installed[i].hash);
    if (rename(PathOf(installed[i].hash).c_str(), doomed.c_str()) != 0) {
      if (errno != ENOENT && result.ok()) {
        result = Status::Error(ErrnoMessage("removing bundle " + installed[i].hash));
      }
      continue;
    }
    std::error_code error;
    std::filesystem::remove_all(doomed, error);
    if (error && result.ok()) {
      result =
          Status::Error(fmt::format("removing bundle {}: {}", installed[i].hash, error.message()));
    }
  }
  return result;
}

}  // namespace graphene
