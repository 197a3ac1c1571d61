#include "bundle/bundle.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <msgpack.hpp>
#include <string>
#include <vector>

#include "base/test_util.h"

namespace graphene {
namespace {

using namespace std::string_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Bundle paths and modes, in order.
std::vector<std::string> Listing(const Bundle& bundle) {
  Result<std::vector<BundleFile>> files = DecodeBundle(bundle.bytes);
  EXPECT_TRUE(files.ok()) << files.status().message();
  std::vector<std::string> listing;
  if (!files.ok()) return listing;
  for (const BundleFile& file : *files)
    listing.push_back(fmt::format("{} {:o}", file.path, file.mode));
  return listing;
}

Bundle MustPack(const std::string& root, const std::vector<std::string>& paths) {
  Result<Bundle> bundle = PackBundle(root, paths);
  EXPECT_TRUE(bundle.ok()) << bundle.status().message();
  return bundle.ok() ? std::move(bundle).value() : Bundle{};
}

void WriteTree(const TempDir& dir) {
  dir.Write("a.py", "print('a')\n");
  dir.Write("pkg/__init__.py", "");
  dir.Write("pkg/mod.py", "x = 1\n");
  dir.Write("data/blob.bin", "\0\xff\x01"s);
}

std::string Encode(const std::vector<BundleFile>& files) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, files);
  return std::string(buffer.data(), buffer.size());
}

std::string DecodeError(std::string_view bytes) {
  Result<std::vector<BundleFile>> files = DecodeBundle(bytes);
  EXPECT_FALSE(files.ok());
  std::string message = files.status().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

std::string DecodeError(const std::vector<BundleFile>& files) { return DecodeError(Encode(files)); }

TEST(BundleHashTest, IsLowercaseHexSha256) {
  EXPECT_EQ(BundleHash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(IsBundleHash(BundleHash("abc")));
  EXPECT_FALSE(IsBundleHash("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  EXPECT_FALSE(IsBundleHash("e3b0"));
  EXPECT_FALSE(IsBundleHash("../../../../../../../../../../../../../../../../../../../../etc"));
}

TEST(PackBundleTest, SameTreeGivesSameBytes) {
  TempDir one, two;
  WriteTree(one);
  WriteTree(two);
  Bundle first = MustPack(one.path(), {"."});
  EXPECT_TRUE(IsBundleHash(first.hash));
  EXPECT_EQ(first.hash, BundleHash(first.bytes));
  EXPECT_EQ(MustPack(one.path(), {"."}).bytes, first.bytes);
  EXPECT_EQ(MustPack(two.path(), {"."}).hash, first.hash);

  two.Write("pkg/mod.py", "x = 2\n");
  EXPECT_NE(MustPack(two.path(), {"."}).hash, first.hash);
}

TEST(PackBundleTest, KeepsContentAndSortsPaths) {
  TempDir dir;
  WriteTree(dir);
  Result<std::vector<BundleFile>> files = DecodeBundle(MustPack(dir.path(), {"."}).bytes);
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 4u);
  EXPECT_EQ((*files)[0].path, "a.py");
  EXPECT_EQ((*files)[0].content, "print('a')\n");
  EXPECT_EQ((*files)[1].path, "data/blob.bin");
  EXPECT_EQ((*files)[1].content, "\0\xff\x01"s);
  EXPECT_EQ((*files)[2].path, "pkg/__init__.py");
  EXPECT_EQ((*files)[3].path, "pkg/mod.py");
}

TEST(PackBundleTest, SkipsCachesAndMetadata) {
  TempDir dir;
  dir.Write("a.py", "");
  dir.Write("a.pyc", "");
  dir.Write("pkg/__pycache__/mod.cpython-311.pyc", "");
  dir.Write("pkg/__pycache__/notes.txt", "");
  for (const char* folder :
       {".git", ".graphene", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".venv"}) {
    dir.Write(std::string(folder) + "/x", "");
  }
  dir.Write(".github/workflow.yml", "");
  dir.Write(".env", "");
  dir.Write("venv/site.py", "");
  dir.Write("build/gen.py", "");
  ASSERT_EQ(mkfifo(dir.File("fifo").c_str(), 0644), 0);
  EXPECT_THAT(Listing(MustPack(dir.path(), {"."})),
              ElementsAre(".env 644", ".github/workflow.yml 644", "a.py 644", "build/gen.py 644",
                          "venv/site.py 644"));
}

TEST(PackBundleTest, KeepsExecutableBit) {
  TempDir dir;
  dir.Write("run.sh", "#!/bin/sh\n", 0700);
  dir.Write("lib.py", "", 0600);
  dir.Write("tool", "", 0751);
  EXPECT_THAT(Listing(MustPack(dir.path(), {"."})),
              ElementsAre("lib.py 644", "run.sh 755", "tool 755"));
}

TEST(PackBundleTest, FollowsOnlySymlinkedFilesInsideTheRoot) {
  TempDir outside, dir;
  outside.Write("secret", "password");
  outside.Write("folder/x.py", "");
  dir.Write("real.py", "real", 0755);
  dir.Write("sub/inner.py", "");
  ASSERT_EQ(symlink("real.py", dir.File("alias.py").c_str()), 0);
  ASSERT_EQ(symlink(outside.File("secret").c_str(), dir.File("secret").c_str()), 0);
  ASSERT_EQ(symlink(outside.File("folder").c_str(), dir.File("out").c_str()), 0);
  ASSERT_EQ(symlink("sub", dir.File("subalias").c_str()), 0);
  ASSERT_EQ(symlink(".", dir.File("loop").c_str()), 0);
  ASSERT_EQ(symlink("missing", dir.File("dangling").c_str()), 0);
  Bundle bundle = MustPack(dir.path(), {"."});
  EXPECT_THAT(Listing(bundle), ElementsAre("alias.py 755", "real.py 755", "sub/inner.py 644"));
  EXPECT_THAT(bundle.bytes, Not(HasSubstr("password")));
}

TEST(PackBundleTest, PacksNamedPathsOnceEach) {
  TempDir dir;
  WriteTree(dir);
  EXPECT_THAT(Listing(MustPack(dir.path(), {"pkg"})),
              ElementsAre("pkg/__init__.py 644", "pkg/mod.py 644"));
  EXPECT_THAT(Listing(MustPack(dir.path(), {"pkg/mod.py", "./a.py", "pkg/"})),
              ElementsAre("a.py 644", "pkg/__init__.py 644", "pkg/mod.py 644"));
  EXPECT_EQ(MustPack(dir.path(), {"pkg", ".", "a.py"}).hash, MustPack(dir.path(), {"."}).hash);
}

TEST(PackBundleTest, RefusesPathsOutsideTheRoot) {
  TempDir outside, dir;
  outside.Write("x.py", "");
  dir.Write("a.py", "");
  ASSERT_EQ(symlink(outside.path().c_str(), dir.File("out").c_str()), 0);
  for (const char* path : {"../x", "pkg/../../x", "/etc/passwd", "out/x.py", "out"}) {
    Result<Bundle> bundle = PackBundle(dir.path(), {path});
    ASSERT_FALSE(bundle.ok()) << path;
    EXPECT_EQ(bundle.status().message(),
              fmt::format("path '{}' is outside the folder {}", path, dir.path()));
  }
}

TEST(PackBundleTest, NamesAMissingPath) {
  TempDir dir;
  dir.Write("a.py", "");
  Result<Bundle> bundle = PackBundle(dir.path(), {"a.py", "tests/nope.py"});
  ASSERT_FALSE(bundle.ok());
  EXPECT_THAT(bundle.status().message(), HasSubstr("'tests/nope.py'"));
  EXPECT_FALSE(PackBundle(dir.File("missing"), {"."}).ok());
}

TEST(PackBundleTest, RefusesTooMuch) {
  TempDir dir;
  dir.Write("a.py", std::string(3000, 'x'));
  Result<Bundle> bundle = PackBundle(dir.path(), {"."}, 2000);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.status().message(),
            fmt::format("test files under {} take 3 KB, more than the 2 KB a bundle may hold",
                        dir.path()));
  // The limit counts the encoded bundle, not only file contents.
  EXPECT_FALSE(PackBundle(dir.path(), {"."}, 3000).ok());
  EXPECT_TRUE(PackBundle(dir.path(), {"."}, 3100).ok());
}

TEST(DecodeBundleTest, AcceptsEmptyAndValidBundles) {
  Result<std::vector<BundleFile>> empty = DecodeBundle(Encode({}));
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());
  std::vector<BundleFile> files = {{"a", 0644, "1"}, {"a-b", 0755, ""}, {"b/c/d", 0644, "x"}};
  Result<std::vector<BundleFile>> decoded = DecodeBundle(Encode(files));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[1].mode, 0755u);
  EXPECT_EQ((*decoded)[2].content, "x");
}

TEST(DecodeBundleTest, RejectsGarbage) {
  EXPECT_THAT(DecodeError(""), HasSubstr("msgpack"));
  EXPECT_THAT(DecodeError("\xc1"), HasSubstr("msgpack"));
  EXPECT_THAT(DecodeError("hello"), HasSubstr("bundle"));
  // An array claiming four billion elements in five bytes.
  EXPECT_THAT(DecodeError("\xdd\xff\xff\xff\xff"), HasSubstr("msgpack"));
  EXPECT_THAT(DecodeError(Encode({}) + "x"), HasSubstr("stray"));
}

TEST(DecodeBundleTest, RejectsWrongTypes) {
  auto encode = [](auto build) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    build(packer);
    return std::string(buffer.data(), buffer.size());
  };
  EXPECT_THAT(DecodeError(encode([](auto& p) { p.pack_map(0); })), HasSubstr("not an array"));
  EXPECT_THAT(DecodeError(encode([](auto& p) {
                p.pack(std::vector<int>{1, 2});
              })),
              HasSubstr("not a map"));
  EXPECT_THAT(DecodeError(encode([](auto& p) {
                p.pack_array(1).pack_map(3);
                p.pack("path").pack(7).pack("mode").pack(0644).pack("content").pack("");
              })),
              HasSubstr("path that is not a string"));
  EXPECT_THAT(DecodeError(encode([](auto& p) {
                p.pack_array(1).pack_map(2);
                p.pack("path").pack("a").pack("mode").pack(0644);
              })),
              HasSubstr("lacks"));
  EXPECT_THAT(DecodeError(encode([](auto& p) {
                p.pack_array(1).pack_map(3);
                p.pack("path").pack("a").pack("mode").pack(0644).pack("content").pack(1.5);
              })),
              HasSubstr("content"));
  EXPECT_THAT(DecodeError({{"a", 04755, ""}}), HasSubstr("mode"));
  EXPECT_THAT(DecodeError({{"a", 0777, ""}}), HasSubstr("mode"));
}

TEST(DecodeBundleTest, RejectsBadPaths) {
  for (const std::string& path :
       {"../x"s, "/abs"s, "a//b"s, "a/./b"s, "a/.."s, "."s, ""s, "a/"s, "a\\b"s, "a\0b"s}) {
    EXPECT_THAT(DecodeError({{path, 0644, ""}}), HasSubstr("bundle path")) << path;
  }
  EXPECT_THAT(DecodeError({{std::string(300, 'a'), 0644, ""}}), HasSubstr("too long"));
}

TEST(DecodeBundleTest, RejectsDisorderDuplicatesAndConflicts) {
  EXPECT_THAT(DecodeError({{"b", 0644, ""}, {"a", 0644, ""}}), HasSubstr("out of order"));
  EXPECT_THAT(DecodeError({{"a", 0644, ""}, {"a", 0644, ""}}), HasSubstr("repeated"));
  EXPECT_THAT(DecodeError({{"a", 0644, ""}, {"a-b", 0644, ""}, {"a/b", 0644, ""}}),
              HasSubstr("both a file and the folder"));
  EXPECT_THAT(DecodeError({{"x/a", 0644, ""}, {"x/a/b/c", 0644, ""}}),
              HasSubstr("both a file and the folder"));
}

}  // namespace
}  // namespace graphene
