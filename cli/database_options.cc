#include "cli/database_options.h"

#include "cli/table_output.h"

namespace graphene {

void AddDatabaseOption(CLI::App& command, std::string& db, const std::string& help) {
  command.add_option("--db", db, help)->capture_default_str()->envname("GRAPHENE_DB");
}

void AddTableFormatOption(CLI::App& command, std::string& format) {
  command.add_option("--format", format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember(kTableFormats));
}

}  // namespace graphene
