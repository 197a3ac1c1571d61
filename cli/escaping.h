// Showing untrusted text safely. Targets' names, their inputs, commands and
// paths come from users and may hold any bytes: ShowBytes makes them readable
// on one line, HtmlEscape makes them inert inside an HTML page.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace graphene {

// `bytes` as readable text: control bytes (below 0x20, and 0x7f) and bytes
// that are not part of valid UTF-8 become "\xNN"; valid UTF-8 stays as it is.
// When the result would be longer than `max_chars` characters (an escape
// counts as one), it is cut there and "..." is appended.
std::string ShowBytes(std::string_view bytes, size_t max_chars = std::string_view::npos);

// `text` with &, <, >, " and ' replaced by character references, so that it
// can be put in an element's content or in a quoted attribute value. A
// <script> or <style> element's content must not hold untrusted text.
std::string HtmlEscape(std::string_view text);

}  // namespace graphene
