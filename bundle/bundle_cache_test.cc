#include "bundle/bundle_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "base/test_util.h"

namespace graphene {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Bundle Encode(const std::vector<BundleFile>& files) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, files);
  Bundle bundle;
  bundle.bytes.assign(buffer.data(), buffer.size());
  bundle.hash = BundleHash(bundle.bytes);
  return bundle;
}

BundleCache MustOpen(const std::string& dir) {
  Result<BundleCache> cache = BundleCache::Open(dir);
  EXPECT_TRUE(cache.ok()) << cache.status().message();
  return std::move(cache).value();
}

std::string MustInstall(BundleCache& cache, const Bundle& bundle) {
  Result<std::string> path = cache.Install(bundle.hash, bundle.bytes);
  EXPECT_TRUE(path.ok()) << path.status().message();
  return path.ok() ? *path : "";
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

void SetMtime(const std::string& path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

// Runs a test body with a restrictive umask, restoring the old one after.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

TEST(BundleCacheTest, OpenCreatesReadableFolders) {
  TempDir scratch;
  ScopedUmask mask(077);
  BundleCache cache = MustOpen(scratch.File("a/b/cache/"));
  EXPECT_EQ(cache.dir(), scratch.File("a/b/cache"));
  EXPECT_EQ(Mode(scratch.File("a")), 0755u);
  EXPECT_EQ(Mode(scratch.File("a/b/cache")), 0755u);
  EXPECT_EQ(cache.PathOf(std::string(64, 'a')), scratch.File("a/b/cache/" + std::string(64, 'a')));
}

TEST(BundleCacheTest, OpenFailsUnderAFile) {
  TempDir scratch;
  scratch.Write("file", "");
  Result<BundleCache> cache = BundleCache::Open(scratch.File("file/cache"));
  ASSERT_FALSE(cache.ok());
  EXPECT_THAT(cache.status().message(), HasSubstr("bundle cache"));
  EXPECT_EQ(cache.status().message().find('\n'), std::string::npos);
}

TEST(BundleCacheTest, InstallUnpacksContentAndModes) {
  TempDir scratch;
  ScopedUmask mask(077);
  BundleCache cache = MustOpen(scratch.File("cache"));
  Bundle bundle = Encode({{"a.py", 0644, "print(1)\n"},
                          {"pkg/run.sh", 0755, "#!/bin/sh\n"},
                          {"pkg/sub/deep.py", 0644, std::string("\0\xff", 2)}});
  EXPECT_FALSE(cache.Has(bundle.hash));
  std::string path = MustInstall(cache, bundle);
  EXPECT_EQ(path, cache.PathOf(bundle.hash));
  EXPECT_TRUE(cache.Has(bundle.hash));
  EXPECT_EQ(Read(path + "/a.py"), "print(1)\n");
  EXPECT_EQ(Read(path + "/pkg/run.sh"), "#!/bin/sh\n");
  EXPECT_EQ(Read(path + "/pkg/sub/deep.py"), std::string("\0\xff", 2));
  EXPECT_EQ(Mode(path), 0755u);
  EXPECT_EQ(Mode(path + "/a.py"), 0644u);
  EXPECT_EQ(Mode(path + "/pkg"), 0755u);
  EXPECT_EQ(Mode(path + "/pkg/run.sh"), 0755u);
  EXPECT_EQ(Mode(path + "/pkg/sub"), 0755u);
  EXPECT_EQ(Mode(path + "/pkg/sub/deep.py"), 0644u);
  EXPECT_THAT(Entries(cache.dir()), ElementsAre(bundle.hash));
}

TEST(BundleCacheTest, PackedFolderRoundTrips) {
  TempDir source, scratch;
  source.Write("t/test_x.py", "def f(): pass\n");
  source.Write("t/helper", "#!/bin/sh\n", 0755);
  Result<Bundle> bundle = PackBundle(source.path(), {"."});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  BundleCache cache = MustOpen(scratch.File("cache"));
  std::string path = MustInstall(cache, *bundle);
  EXPECT_EQ(Read(path + "/t/test_x.py"), "def f(): pass\n");
  EXPECT_EQ(Mode(path + "/t/helper"), 0755u);
  // Packing the unpacked folder gives the same bundle back.
  Result<Bundle> again = PackBundle(path, {"."});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->hash, bundle->hash);
}

TEST(BundleCacheTest, InstallRejectsAMismatchedHashAndLeavesNothing) {
  TempDir scratch;
  BundleCache cache = MustOpen(scratch.File("cache"));
  Bundle bundle = Encode({{"a.py", 0644, "x"}});
  Bundle other = Encode({{"a.py", 0644, "y"}});
  Result<std::string> path = cache.Install(other.hash, bundle.bytes);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().message(),
            fmt::format("bundle content does not match its hash {}", other.hash));
  EXPECT_FALSE(cache.Has(other.hash));
  EXPECT_THAT(Entries(cache.dir()), IsEmpty());
}

TEST(BundleCacheTest, InstallRejectsBadHashesAndMalformedBundles) {
  TempDir scratch;
  BundleCache cache = MustOpen(scratch.File("cache"));
  Bundle bundle = Encode({{"a.py", 0644, "x"}});
  EXPECT_FALSE(cache.Install("../../etc", bundle.bytes).ok());
  std::string upper = bundle.hash;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_FALSE(cache.Install(upper, bundle.bytes).ok());

  Bundle escaping = Encode({{"../evil.py", 0644, "x"}});
  Result<std::string> path = cache.Install(escaping.hash, escaping.bytes);
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(path.status().message(), HasSubstr("'../evil.py'"));
  EXPECT_FALSE(std::filesystem::exists(scratch.File("evil.py")));
  EXPECT_THAT(Entries(cache.dir()), IsEmpty());
}

TEST(BundleCacheTest, SecondInstallKeepsTheFirst) {
  TempDir scratch;
  BundleCache cache = MustOpen(scratch.File("cache"));
  Bundle bundle = Encode({{"a.py", 0644, "x"}});
  std::string path = MustInstall(cache, bundle);
  scratch.Write("cache/" + bundle.hash + "/marker", "");
  EXPECT_EQ(MustInstall(cache, bundle), path);
  EXPECT_TRUE(std::filesystem::exists(path + "/marker"));
  // Another process sharing the folder sees the same install.
  BundleCache other = MustOpen(scratch.File("cache"));
  EXPECT_TRUE(other.Has(bundle.hash));
  EXPECT_EQ(MustInstall(other, bundle), path);
  EXPECT_THAT(Entries(cache.dir()), ElementsAre(bundle.hash));
}

TEST(BundleCacheTest, PruneKeepsTheMostRecentlyUsed) {
  TempDir scratch;
  BundleCache cache = MustOpen(scratch.File("cache"));
  std::vector<Bundle> bundles;
  for (int i = 0; i < 4; ++i) {
    bundles.push_back(Encode({{"a.py", 0644, std::to_string(i)}}));
    SetMtime(MustInstall(cache, bundles.back()), 1000000 + i);
  }
  cache.Touch(bundles[0].hash);  // used just now: the most recent
  ASSERT_TRUE(cache.Prune(2).ok());
  EXPECT_THAT(Entries(cache.dir()), UnorderedElementsAre(bundles[0].hash, bundles[3].hash));
  ASSERT_TRUE(cache.Prune(0).ok());
  EXPECT_THAT(Entries(cache.dir()), IsEmpty());
}

TEST(BundleCacheTest, PruneRemovesStaleTemporaryFolders) {
  TempDir scratch;
  BundleCache cache = MustOpen(scratch.File("cache"));
  scratch.Write("cache/.tmp-old-1-1/a.py", "");
  SetMtime(scratch.File("cache/.tmp-old-1-1"), time(nullptr) - 7200);
  scratch.Write("cache/.tmp-new-1-2/a.py", "");
  scratch.Write("cache/unrelated", "");
  ASSERT_TRUE(cache.Prune(10).ok());
  EXPECT_THAT(Entries(cache.dir()), UnorderedElementsAre(".tmp-new-1-2", "unrelated"));
}

}  // namespace
}  // namespace graphene
