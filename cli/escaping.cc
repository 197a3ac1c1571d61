#include "cli/escaping.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace graphene {
namespace {

// The length of the valid UTF-8 sequence starting at `at`, or 0 if there is
// none (a stray continuation byte, an overlong form, a surrogate, a code
// point above U+10FFFF, or a truncated sequence).
size_t Utf8SequenceLength(std::string_view bytes, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(at);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (at + length > bytes.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
  }
  return length;
}

}  // namespace

std::string ShowBytes(std::string_view bytes, size_t max_chars) {
  std::string shown;
  size_t chars = 0;
  for (size_t at = 0; at < bytes.size(); ++chars) {
    if (chars == max_chars) return shown + "...";
    const unsigned char c = static_cast<unsigned char>(bytes[at]);
    if (c >= 0x20 && c < 0x7f) {
      shown += static_cast<char>(c);
      ++at;
    } else if (size_t length = c >= 0x80 ? Utf8SequenceLength(bytes, at) : 0; length > 0) {
      shown += bytes.substr(at, length);
      at += length;
    } else {
      shown += fmt::format("\\x{:02x}", c);
      ++at;
    }
  }
  return shown;
}

std::string HtmlEscape(std::string_view text) {
  static constexpr std::pair<char, std::string_view> kReferences[] = {
      {'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}};
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    const auto* reference = std::find_if(std::begin(kReferences), std::end(kReferences),
                                         [c](const auto& entry) { return entry.first == c; });
    if (reference == std::end(kReferences)) {
      escaped += c;
    } else {
      escaped += reference->second;
    }
  }
  return escaped;
}

}  // namespace graphene
