// Length-prefixed frames over a pipe or socket: a 4-byte little-endian length
// followed by that many bytes. Used between the agent, its zygote and the
// per-execution supervisors, where there is no ZeroMQ.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace graphene {

// Frames larger than this are refused on both ends.
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

// Appends `payload` as one frame to `out`, for writers that buffer.
void AppendFrame(std::string& out, std::string_view payload);

// Writes one whole frame to blocking `fd`, retrying on EINTR and short writes.
Status WriteFrame(int fd, std::string_view payload);

// Reads one whole frame from blocking `fd`. Returns nullopt on clean EOF
// before any byte of a frame; an error on a torn frame or an oversized length.
Result<std::optional<std::string>> ReadFrame(int fd);

// Accumulates bytes read from a non-blocking fd and yields complete frames.
class FrameReader {
 public:
  // Reads what is available from `fd`. Returns false once the peer closed
  // the fd (EOF) or on a read error other than EAGAIN.
  bool Fill(int fd);
  // The next complete frame, if one is buffered.
  std::optional<std::string> Next();
  // True when a frame has started but not finished.
  bool HasPartial() const { return !buffer_.empty(); }
  // Set when a frame announced a size over kMaxFrameBytes.
  bool corrupt() const { return corrupt_; }

 private:
  std::string buffer_;
  bool corrupt_ = false;
};

}  // namespace graphene
