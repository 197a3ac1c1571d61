#include "base/frame_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace graphene {
namespace {

std::string EncodeLength(uint32_t n) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

uint32_t DecodeLength(const char* p) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return n;
}

Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(ErrnoMessage("writing frame"));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Reads exactly `size` bytes; returns the count read before EOF.
Result<size_t> ReadAll(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(ErrnoMessage("reading frame"));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  out += EncodeLength(static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

Status WriteFrame(int fd, std::string_view payload) {
  if (payload.size() > kMaxFrameBytes) return Status::Error("frame too large to send");
  std::string framed;
  AppendFrame(framed, payload);
  return WriteAll(fd, framed.data(), framed.size());
}

Result<std::optional<std::string>> ReadFrame(int fd) {
  char header[4];
  auto got = ReadAll(fd, header, 4);
  if (!got.ok()) return got.status();
  if (*got == 0) return std::optional<std::string>();
  if (*got < 4) return Status::Error("reading frame: torn length header");
  uint32_t length = DecodeLength(header);
  if (length > kMaxFrameBytes) return Status::Error("reading frame: oversized frame");
  std::string payload(length, '\0');
  auto body = ReadAll(fd, payload.data(), length);
  if (!body.ok()) return body.status();
  if (*body < length) return Status::Error("reading frame: torn frame body");
  return std::optional<std::string>(std::move(payload));
}

bool FrameReader::Fill(int fd) {
  char chunk[65536];
  bool is_socket = true;
  while (true) {
    // recv(MSG_DONTWAIT) lets a blocking socket be drained without blocking.
    ssize_t n = is_socket ? ::recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)
                          : ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == ENOTSOCK) {
      is_socket = false;
      continue;
    }
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

std::optional<std::string> FrameReader::Next() {
  if (buffer_.size() < 4) return std::nullopt;
  uint32_t length = DecodeLength(buffer_.data());
  if (length > kMaxFrameBytes) {
    corrupt_ = true;
    buffer_.clear();
    return std::nullopt;
  }
  if (buffer_.size() < 4 + static_cast<size_t>(length)) return std::nullopt;
  std::string frame = buffer_.substr(4, length);
  buffer_.erase(0, 4 + static_cast<size_t>(length));
  return frame;
}

}  // namespace graphene
