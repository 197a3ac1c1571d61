#include "security/keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace graphene {
namespace {

// A fresh temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "security_test.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

KeyPair NewKeys() {
  auto keys = GenerateKeyPair();
  EXPECT_TRUE(keys.ok()) << keys.status().message();
  return *keys;
}

TEST(KeysTest, GeneratesValidDistinctPairs) {
  const KeyPair a = NewKeys();
  const KeyPair b = NewKeys();
  EXPECT_TRUE(IsZ85Key(a.public_key));
  EXPECT_TRUE(IsZ85Key(a.secret_key));
  EXPECT_NE(a.public_key, b.public_key);
  EXPECT_NE(a.secret_key, b.secret_key);
}

TEST(KeysTest, WriteThenReadRoundTrips) {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/nested/keys";
  const KeyPair keys = NewKeys();
  ASSERT_TRUE(WriteKeyPair(keys, dir, "coordinator", false).ok());

  EXPECT_EQ(ModeOf(dir), 0700u);
  auto read = ReadKeyPair(dir + "/coordinator.key");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->public_key, keys.public_key);
  EXPECT_EQ(read->secret_key, keys.secret_key);
  EXPECT_NE(ReadAll(dir + "/coordinator.key").find("secret"), std::string::npos);
  EXPECT_EQ(ReadAll(dir + "/coordinator.pub").find(keys.secret_key), std::string::npos);
}

TEST(KeysTest, FileModesIgnoreUmask) {
  ScratchDir scratch;
  const mode_t old_umask = ::umask(0);
  const Status status = WriteKeyPair(NewKeys(), scratch.path(), "agent", false);
  ::umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(ModeOf(scratch.path() + "/agent.key"), 0600u);
  EXPECT_EQ(ModeOf(scratch.path() + "/agent.pub"), 0644u);
}

TEST(KeysTest, RefusesToOverwrite) {
  ScratchDir scratch;
  const KeyPair first = NewKeys();
  ASSERT_TRUE(WriteKeyPair(first, scratch.path(), "agent", false).ok());
  const Status status = WriteKeyPair(NewKeys(), scratch.path(), "agent", false);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), scratch.path() + "/agent.key exists; pass --force to replace it");
  EXPECT_EQ(ReadKeyPair(scratch.path() + "/agent.key")->secret_key, first.secret_key);
}

TEST(KeysTest, RefusesWhenOnlyThePublicFileExists) {
  ScratchDir scratch;
  WriteText(scratch.path() + "/agent.pub", "something\n");
  const Status status = WriteKeyPair(NewKeys(), scratch.path(), "agent", false);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("agent.pub exists"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(scratch.path() + "/agent.key"));
}

TEST(KeysTest, ForceOverwritesAndRestoresModes) {
  ScratchDir scratch;
  ASSERT_TRUE(WriteKeyPair(NewKeys(), scratch.path(), "agent", false).ok());
  ASSERT_EQ(::chmod((scratch.path() + "/agent.key").c_str(), 0644), 0);
  const KeyPair second = NewKeys();
  ASSERT_TRUE(WriteKeyPair(second, scratch.path(), "agent", true).ok());
  EXPECT_EQ(ModeOf(scratch.path() + "/agent.key"), 0600u);
  auto read = ReadKeyPair(scratch.path() + "/agent.key");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->secret_key, second.secret_key);
  EXPECT_EQ(ReadPublicKey(scratch.path() + "/agent.pub").value(), second.public_key);
}

TEST(KeysTest, RejectsNamesThatAreNotPlainFileNames) {
  ScratchDir scratch;
  EXPECT_FALSE(WriteKeyPair(NewKeys(), scratch.path(), "../escape", false).ok());
  EXPECT_FALSE(WriteKeyPair(NewKeys(), scratch.path(), "", false).ok());
}

TEST(KeysTest, RejectsMismatchedPublicAndSecretKey) {
  ScratchDir scratch;
  const std::string path = scratch.path() + "/mixed.key";
  WriteText(path, "public-key = " + NewKeys().public_key +
                      "\nsecret-key = " + NewKeys().secret_key + "\n");
  ::chmod(path.c_str(), 0600);
  auto read = ReadKeyPair(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), path + ": the public key does not belong to the secret key");
}

TEST(KeysTest, RejectsBadZ85) {
  const KeyPair keys = NewKeys();
  EXPECT_FALSE(IsZ85Key(keys.public_key.substr(1)));
  EXPECT_FALSE(IsZ85Key("~" + keys.public_key.substr(1)));  // '~' is not in Z85.
  EXPECT_FALSE(IsZ85Key(std::string(40, '#')));             // Groups above 2^32.
  EXPECT_FALSE(IsZ85Key(""));

  ScratchDir scratch;
  const std::string path = scratch.path() + "/bad.key";
  WriteText(path, "public-key = " + keys.public_key + "\nsecret-key = ~" +
                      keys.secret_key.substr(1) + "\n");
  ::chmod(path.c_str(), 0600);
  auto read = ReadKeyPair(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), path + ": invalid secret key (expected 40 Z85 characters)");
}

TEST(KeysTest, WarnsWhenKeyFileIsReadableByOthers) {
  ScratchDir scratch;
  ASSERT_TRUE(WriteKeyPair(NewKeys(), scratch.path(), "agent", false).ok());
  const std::string path = scratch.path() + "/agent.key";
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  testing::internal::CaptureStderr();
  EXPECT_TRUE(ReadKeyPair(path).ok());
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(path), std::string::npos) << log;
  EXPECT_NE(log.find("0644"), std::string::npos) << log;
}

TEST(KeysTest, ReadPublicKeyFromLiteralPubAndKeyFiles) {
  ScratchDir scratch;
  const KeyPair keys = NewKeys();
  ASSERT_TRUE(WriteKeyPair(keys, scratch.path(), "coordinator", false).ok());
  EXPECT_EQ(ReadPublicKey(keys.public_key).value(), keys.public_key);
  EXPECT_EQ(ReadPublicKey(scratch.path() + "/coordinator.pub").value(), keys.public_key);
  EXPECT_EQ(ReadPublicKey(scratch.path() + "/coordinator.key").value(), keys.public_key);

  EXPECT_FALSE(ReadPublicKey("not-a-key").ok());
  EXPECT_FALSE(ReadPublicKey(scratch.path() + "/missing.pub").ok());
  WriteText(scratch.path() + "/bad.pub", "# comment\nnot a key\n");
  auto bad = ReadPublicKey(scratch.path() + "/bad.pub");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.pub:2:"), std::string::npos);
}

TEST(KeysTest, AuthorizedKeysFileSkipsCommentsAndTakesFirstKeyToken) {
  ScratchDir scratch;
  const KeyPair a = NewKeys(), b = NewKeys(), c = NewKeys();
  const std::string path = scratch.path() + "/authorized";
  WriteText(path, "# agents of the lab\n\n" + a.public_key + "\n  public-key = " + b.public_key +
                      "\n" + c.public_key + " build-host-3\n   # trailing comment\n");
  auto keys = ReadAuthorizedKeys(path);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(*keys, (std::set<std::string>{a.public_key, b.public_key, c.public_key}));
}

TEST(KeysTest, AuthorizedKeysFolderReadsPubFiles) {
  ScratchDir scratch;
  const KeyPair a = NewKeys(), b = NewKeys();
  ASSERT_TRUE(WriteKeyPair(a, scratch.path(), "agent-a", false).ok());
  ASSERT_TRUE(WriteKeyPair(b, scratch.path(), "agent-b", false).ok());
  WriteText(scratch.path() + "/README", "not a key\n");
  auto keys = ReadAuthorizedKeys(scratch.path());
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(*keys, (std::set<std::string>{a.public_key, b.public_key}));
}

TEST(KeysTest, AuthorizedKeysBadLineNamesFileAndLine) {
  ScratchDir scratch;
  const std::string path = scratch.path() + "/authorized";
  WriteText(path, "# ok\n" + NewKeys().public_key + "\nnot-a-key here\n");
  auto keys = ReadAuthorizedKeys(path);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message(),
            path + ":3: no public key on this line (expected 40 Z85 characters)");
}

TEST(KeysTest, AuthorizedKeysRefusesSecretKeysAndEmptyLists) {
  ScratchDir scratch;
  const std::string with_secret = scratch.path() + "/with_secret";
  WriteText(with_secret, "secret-key = " + NewKeys().secret_key + "\n");
  EXPECT_FALSE(ReadAuthorizedKeys(with_secret).ok());

  const std::string empty = scratch.path() + "/empty";
  WriteText(empty, "# nobody yet\n\n");
  EXPECT_FALSE(ReadAuthorizedKeys(empty).ok());

  const std::string empty_dir = scratch.path() + "/empty_dir";
  std::filesystem::create_directory(empty_dir);
  EXPECT_FALSE(ReadAuthorizedKeys(empty_dir).ok());
  EXPECT_FALSE(ReadAuthorizedKeys(scratch.path() + "/missing").ok());
}

}  // namespace
}  // namespace graphene
