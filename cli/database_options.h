// The options of the commands that read or serve a results database, declared
// once so that they read the same everywhere: `--db` (GRAPHENE_DB, default
// kDefaultDatabase) and a table's `--format`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace graphene {

// Where results go when no --db or GRAPHENE_DB says otherwise.
inline constexpr const char* kDefaultDatabase = ".graphene/results.db";

// `--db PATH` bound to `db`, which holds its default.
void AddDatabaseOption(CLI::App& command, std::string& db,
                       const std::string& help = "SQLite database of results");
// `--format text|json|csv` (cli/table_output.h) bound to `format`.
void AddTableFormatOption(CLI::App& command, std::string& format);

}  // namespace graphene
