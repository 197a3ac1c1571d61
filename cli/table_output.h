// Tables for the history commands, in the three formats they offer: text
// (aligned columns for people), json (an array of objects, one per row) and
// csv (RFC 4180, a header line then one line per row).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace graphene {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;  // each as long as `columns`
};

// The formats RenderTable knows, for CLI11's IsMember check.
inline const std::vector<std::string> kTableFormats = {"text", "json", "csv"};

// `table` in `format` ("text", "json" or "csv"), ending with a newline.
std::string RenderTable(const Table& table, std::string_view format);

}  // namespace graphene
