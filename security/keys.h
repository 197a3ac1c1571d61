// CurveZMQ key pairs: generating them (`graphene keygen`), storing them in
// files, reading them back, and putting them on sockets. The coordinator is a
// CURVE server that admits only listed public keys (see zap_handler.h); agents
// and clients are CURVE clients that pin the coordinator's public key, so
// neither side talks to an impostor.
//
// Files (all keys in Z85 text, 40 characters):
//   NAME.key  mode 0600   "public-key = Z85" and "secret-key = Z85" lines
//   NAME.pub  mode 0644   the public key alone on a line
// Lines starting with '#' are comments.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "base/status.h"

namespace graphene {

// Length of a 32-byte CURVE key in Z85 text.
inline constexpr size_t kZ85KeyLength = 40;
// The ZAP domain the coordinator's sockets announce; the ZAP handler serves it.
inline constexpr std::string_view kZapDomain = "graphene";

// Both keys in Z85 text. The secret key never leaves the host it was made on.
struct KeyPair {
  std::string public_key;
  std::string secret_key;
};

// True when `text` is 40 Z85 characters that decode to a 32-byte key.
bool IsZ85Key(std::string_view text);

// `raw` (exactly 32 bytes, e.g. a ZAP credential) as 40 Z85 characters.
std::string EncodeZ85Key(std::string_view raw);

// A fresh key pair from libzmq's CSPRNG. Fails only if libzmq lacks CURVE.
Result<KeyPair> GenerateKeyPair();

// Writes `dir`/`name`.key (0600 from creation, so the secret is never readable
// by others) and `dir`/`name`.pub (0644). Creates `dir` (0700) when missing.
// Refuses when either file exists unless `overwrite`. `name` must be a plain
// file name (no '/').
Status WriteKeyPair(const KeyPair& keys, const std::string& dir, const std::string& name,
                    bool overwrite);

// Reads a .key file written by WriteKeyPair. Checks that both keys are valid
// and that the public key belongs to the secret key. Warns when the file is
// accessible to group or others. Errors are one line naming `path`.
Result<KeyPair> ReadKeyPair(const std::string& path);

// A public key from `path_or_key`: an existing .pub or .key file (its
// public-key line), or else a 40-character Z85 key literal.
Result<std::string> ReadPublicKey(const std::string& path_or_key);

// The public keys allowed to connect. `path` is either a file with one key per
// line (blank lines and '#' comments ignored; a line may be "KEY comment" or
// "public-key = KEY": the first token that is a key counts), or a folder whose
// *.pub files hold one key each. Fails when a line holds no key (naming the
// file and line), when a line is a secret key, or when no key is found.
Result<std::set<std::string>> ReadAuthorizedKeys(const std::string& path);

// Makes `socket` a CURVE server with `keys` in ZAP domain kZapDomain. Call
// before bind. `keys` must be valid (from GenerateKeyPair or ReadKeyPair).
// Without a ZapHandler in the socket's context, any client knowing the public
// key gets in. Throws zmq::error_t if libzmq lacks CURVE.
void ApplyCurveServer(zmq::socket_t& socket, const KeyPair& keys);

// Makes `socket` a CURVE client with its `own` keys that talks only to the
// server holding the secret of `server_public_key` (Z85). Call before connect.
// Throws zmq::error_t if libzmq lacks CURVE.
void ApplyCurveClient(zmq::socket_t& socket, const KeyPair& own,
                      const std::string& server_public_key);

}  // namespace graphene
