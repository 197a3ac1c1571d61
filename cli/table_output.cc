#include "cli/table_output.h"

#include <fmt/format.h>

#include <algorithm>

namespace graphene {
namespace {

// A cell as people read it: strings bare, null as "-", reals to 4 places.
std::string Plain(const nlohmann::json& cell) {
  if (cell.is_null()) return "-";
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_number_float()) return fmt::format("{:.4f}", cell.get<double>());
  return cell.dump();
}

std::string CsvField(const nlohmann::json& cell) {
  // Machines read CSV: numbers keep their full precision.
  const std::string text = cell.is_null()           ? ""
                           : cell.is_number_float() ? fmt::format("{}", cell.get<double>())
                                                    : Plain(cell);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Text(const Table& table) {
  std::vector<size_t> widths;
  for (const std::string& column : table.columns) widths.push_back(column.size());
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : table.rows) {
    std::vector<std::string>& line = cells.emplace_back();
    for (size_t i = 0; i < row.size(); ++i) {
      line.push_back(Plain(row[i]));
      // Newlines would break the columns.
      std::replace(line.back().begin(), line.back().end(), '\n', ' ');
      widths[i] = std::max(widths[i], line.back().size());
    }
  }
  auto render = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      // The last column is left unpadded, so long commands do not pad lines.
      out += i + 1 == line.size() ? line[i] : fmt::format("{:<{}}  ", line[i], widths[i]);
    }
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const std::string& column : table.columns) {
    std::string upper = column;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    header.push_back(upper);
  }
  std::string out = render(header);
  for (const auto& line : cells) out += render(line);
  return out;
}

}  // namespace

std::string RenderTable(const Table& table, std::string_view format) {
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : table.rows) {
      nlohmann::json object = nlohmann::json::object();
      for (size_t i = 0; i < row.size(); ++i) object[table.columns[i]] = row[i];
      rows.push_back(std::move(object));
    }
    return rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (format == "csv") {
    std::string out;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      out += (i ? "," : "") + CsvField(table.columns[i]);
    }
    out += "\r\n";
    for (const auto& row : table.rows) {
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + CsvField(row[i]);
      out += "\r\n";
    }
    return out;
  }
  return Text(table);
}

}  // namespace graphene
