#include "security/keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/log.h"
#include "base/unique_fd.h"

namespace graphene {
namespace {

constexpr Logger kLog("security");

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
constexpr std::string_view kPublicKeyName = "public-key";
constexpr std::string_view kSecretKeyName = "secret-key";
// Key files are tiny; a bigger file is not one (and /dev/zero must not hang us).
constexpr size_t kMaxKeyFileBytes = 1 << 20;

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// "name = value" with `name` one of the key names. Keys may contain '=', so
// only the first '=' separates.
std::optional<std::string_view> ValueOf(std::string_view line, std::string_view name) {
  line = Trim(line);
  if (!line.starts_with(name)) return std::nullopt;
  const std::string_view rest = Trim(line.substr(name.size()));
  if (!rest.starts_with('=')) return std::nullopt;
  return Trim(rest.substr(1));
}

Result<std::string> ReadSmallFile(const std::string& path, mode_t* mode) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::Error(ErrnoMessage("reading " + path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::Error(ErrnoMessage("reading " + path));
  if (!S_ISREG(st.st_mode)) return Status::Error("reading " + path + ": not a regular file");
  if (mode != nullptr) *mode = st.st_mode;
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(ErrnoMessage("reading " + path));
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxKeyFileBytes) {
      return Status::Error("reading " + path + ": too large for a key file");
    }
  }
  return content;
}

// Writes `content` to `path` with exactly `mode` (not widened by the umask,
// and set before any byte is written, so an overwritten file never exposes
// the new secret under its old mode).
Status WriteFileWithMode(const std::string& path, std::string_view content, mode_t mode,
                         bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL);
  UniqueFd fd(::open(path.c_str(), flags, mode));
  if (!fd.valid()) return Status::Error(ErrnoMessage("creating " + path));
  if (::fchmod(fd.get(), mode) != 0) return Status::Error(ErrnoMessage("chmod " + path));
  while (!content.empty()) {
    const ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(ErrnoMessage("writing " + path));
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return Status::Error(ErrnoMessage("writing " + path));
  const int raw = fd.release();
  if (::close(raw) != 0) return Status::Error(ErrnoMessage("writing " + path));
  return Status::Ok();
}

// mkdir -p, each created level 0700: the folder holds secret keys.
Status MakeDirectories(const std::string& dir) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return Status::Error(ErrnoMessage("creating " + prefix));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::Error(ErrnoMessage("creating " + dir));
  if (!S_ISDIR(st.st_mode)) return Status::Error("creating " + dir + ": not a directory");
  return Status::Ok();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The first whitespace-separated token of `line` that is a key.
std::optional<std::string> FirstKeyToken(std::string_view line) {
  while (true) {
    line = Trim(line);
    if (line.empty()) return std::nullopt;
    const auto end = line.find_first_of(" \t");
    const std::string_view token = line.substr(0, end);
    if (IsZ85Key(token)) return std::string(token);
    if (end == std::string_view::npos) return std::nullopt;
    line.remove_prefix(end);
  }
}

// '#' never starts a key: a 5-character group starting with it exceeds 2^32.
bool IsBlankOrComment(std::string_view line) {
  line = Trim(line);
  return line.empty() || line.starts_with('#');
}

// The public key of a .key or .pub file's `content`: the "public-key = KEY"
// line, else the first line that is not a comment.
Result<std::string> PublicKeyFromContent(const std::string& path, std::string_view content) {
  const auto lines = SplitLines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (const auto value = ValueOf(lines[i], kPublicKeyName)) {
      if (!IsZ85Key(*value)) {
        return Status::Error(
            fmt::format("{}:{}: invalid public key (expected 40 Z85 characters)", path, i + 1));
      }
      return std::string(*value);
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsBlankOrComment(lines[i])) continue;
    const std::string_view line = Trim(lines[i]);
    if (!IsZ85Key(line)) {
      return Status::Error(
          fmt::format("{}:{}: invalid public key (expected 40 Z85 characters)", path, i + 1));
    }
    return std::string(line);
  }
  return Status::Error(path + ": no public key found");
}

Result<std::set<std::string>> AuthorizedKeysFromFolder(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
  if (handle == nullptr) return Status::Error(ErrnoMessage("reading " + dir));
  std::vector<std::string> files;
  while (const dirent* entry = ::readdir(handle.get())) {
    const std::string_view name = entry->d_name;
    if (name.size() > 4 && name.ends_with(".pub")) files.push_back(dir + "/" + std::string(name));
  }
  std::sort(files.begin(), files.end());  // Deterministic: the first bad file is reported.
  std::set<std::string> keys;
  for (const std::string& file : files) {
    auto content = ReadSmallFile(file, nullptr);
    if (!content.ok()) return content.status();
    auto key = PublicKeyFromContent(file, *content);
    if (!key.ok()) return key.status();
    keys.insert(std::move(key).value());
  }
  if (keys.empty()) return Status::Error(dir + ": no *.pub files with public keys");
  return keys;
}

Result<std::set<std::string>> AuthorizedKeysFromFile(const std::string& path) {
  auto content = ReadSmallFile(path, nullptr);
  if (!content.ok()) return content.status();
  std::set<std::string> keys;
  const auto lines = SplitLines(*content);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsBlankOrComment(lines[i])) continue;
    if (ValueOf(lines[i], kSecretKeyName)) {
      return Status::Error(
          fmt::format("{}:{}: a secret key does not belong in the authorized keys (list .pub keys)",
                      path, i + 1));
    }
    auto key = FirstKeyToken(lines[i]);
    if (!key) {
      return Status::Error(fmt::format(
          "{}:{}: no public key on this line (expected 40 Z85 characters)", path, i + 1));
    }
    keys.insert(std::move(*key));
  }
  if (keys.empty()) return Status::Error(path + ": no public keys");
  return keys;
}

}  // namespace

bool IsZ85Key(std::string_view text) {
  if (text.size() != kZ85KeyLength) return false;
  // Every 5 characters encode 4 bytes; a group above 2^32-1 is not Z85.
  for (size_t group = 0; group < text.size(); group += 5) {
    uint64_t value = 0;
    for (size_t i = group; i < group + 5; ++i) {
      const auto digit = kZ85Alphabet.find(text[i]);
      if (digit == std::string_view::npos) return false;
      value = value * 85 + digit;
    }
    if (value > UINT32_MAX) return false;
  }
  return true;
}

std::string EncodeZ85Key(std::string_view raw) {
  char text[kZ85KeyLength + 1];
  if (raw.size() != 32 ||
      zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) == nullptr) {
    return {};
  }
  return std::string(text, kZ85KeyLength);
}

Result<KeyPair> GenerateKeyPair() {
  char public_key[kZ85KeyLength + 1];
  char secret_key[kZ85KeyLength + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Error(std::string("generating a CURVE key pair: ") + zmq_strerror(zmq_errno()));
  }
  return KeyPair{std::string(public_key, kZ85KeyLength), std::string(secret_key, kZ85KeyLength)};
}

Status WriteKeyPair(const KeyPair& keys, const std::string& dir, const std::string& name,
                    bool overwrite) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return Status::Error("key name '" + name + "' must be a plain file name (no '/')");
  }
  if (!IsZ85Key(keys.public_key) || !IsZ85Key(keys.secret_key)) {
    return Status::Error("writing key pair '" + name + "': keys are not valid Z85");
  }
  const std::string base = (dir.empty() ? std::string(".") : dir) + "/" + name;
  const std::string key_path = base + ".key";
  const std::string pub_path = base + ".pub";
  // Check both before writing either, so a refusal leaves nothing half-done.
  for (const std::string& path : {key_path, pub_path}) {
    if (!overwrite && Exists(path)) {
      return Status::Error(path + " exists; pass --force to replace it");
    }
  }
  if (!dir.empty()) {
    if (Status status = MakeDirectories(dir); !status.ok()) return status;
  }
  const std::string key_text = fmt::format(
      "# graphene CURVE key pair '{}'. Keep this file secret: whoever holds it can act as {}.\n"
      "{} = {}\n{} = {}\n",
      name, name, kPublicKeyName, keys.public_key, kSecretKeyName, keys.secret_key);
  const std::string pub_text = fmt::format(
      "# graphene CURVE public key '{}'. Share it: list it in the coordinator's authorized "
      "keys, or pin it on agents and clients.\n{}\n",
      name, keys.public_key);
  if (Status status = WriteFileWithMode(key_path, key_text, 0600, overwrite); !status.ok()) {
    return status;
  }
  return WriteFileWithMode(pub_path, pub_text, 0644, overwrite);
}

Result<KeyPair> ReadKeyPair(const std::string& path) {
  mode_t mode = 0;
  auto content = ReadSmallFile(path, &mode);
  if (!content.ok()) return content.status();
  KeyPair keys;
  for (const std::string_view line : SplitLines(*content)) {
    if (const auto value = ValueOf(line, kPublicKeyName)) keys.public_key = *value;
    if (const auto value = ValueOf(line, kSecretKeyName)) keys.secret_key = *value;
  }
  if (keys.public_key.empty() || keys.secret_key.empty()) {
    return Status::Error(path +
                         ": not a key file (needs 'public-key = ' and 'secret-key = ' lines)");
  }
  if (!IsZ85Key(keys.public_key)) {
    return Status::Error(path + ": invalid public key (expected 40 Z85 characters)");
  }
  if (!IsZ85Key(keys.secret_key)) {
    return Status::Error(path + ": invalid secret key (expected 40 Z85 characters)");
  }
  char derived[kZ85KeyLength + 1];
  if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0) {
    return Status::Error(path + ": deriving the public key: " + zmq_strerror(zmq_errno()));
  }
  if (keys.public_key != std::string_view(derived, kZ85KeyLength)) {
    return Status::Error(path + ": the public key does not belong to the secret key");
  }
  // Only a real key is worth the warning.
  if ((mode & (S_IRWXG | S_IRWXO)) != 0) {
    kLog.Warn("{} holds a secret key but is accessible to others (mode {:04o}); chmod 600 it", path,
              mode & 07777);
  }
  return keys;
}

Result<std::string> ReadPublicKey(const std::string& path_or_key) {
  // A file wins over a literal: Z85 has '/' and '.', so a path can look like a key.
  if (!Exists(path_or_key)) {
    if (IsZ85Key(path_or_key)) return path_or_key;
    return Status::Error("public key '" + path_or_key +
                         "' is neither a file nor a 40-character Z85 key");
  }
  auto content = ReadSmallFile(path_or_key, nullptr);
  if (!content.ok()) return content.status();
  return PublicKeyFromContent(path_or_key, *content);
}

Result<std::set<std::string>> ReadAuthorizedKeys(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Error(ErrnoMessage("reading " + path));
  if (S_ISDIR(st.st_mode)) return AuthorizedKeysFromFolder(path);
  return AuthorizedKeysFromFile(path);
}

void ApplyCurveServer(zmq::socket_t& socket, const KeyPair& keys) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::zap_domain, std::string(kZapDomain));
}

void ApplyCurveClient(zmq::socket_t& socket, const KeyPair& own,
                      const std::string& server_public_key) {
  socket.set(zmq::sockopt::curve_serverkey, server_public_key);
  socket.set(zmq::sockopt::curve_publickey, own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
}

}  // namespace graphene
