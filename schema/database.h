// The SQLite schema of graphene's history database (schema/database.sql) and
// the names stored in it. The store embeds database.sql into the binary, so a
// graphene can create its database wherever it runs.
#pragma once

#include <string_view>

namespace graphene {

// The schema version database.sql describes, kept in PRAGMA user_version.
// Bump it with every change to database.sql and add a migration step from the
// previous version (store/migrate_*.sql).
// Version 2 added what a standalone coordinator needs to resume campaigns and
// serve their results: submissions, bundles, plan parameters and inputs.
// Version 3 added count tables kept by triggers, so that the history queries
// stay fast on tens of millions of executions.
inline constexpr int kSchemaVersion = 3;

// The text of schema/database.sql: creates the whole schema at
// kSchemaVersion on an empty database. Defined in the store library
// (graphene_store), which embeds the file.
std::string_view DatabaseSql();
// The text of schema/database_derived.sql: the views and triggers, created
// again over the tables whenever the schema version changes.
std::string_view DatabaseDerivedSql();

// A campaign's lifecycle (campaigns.status).
inline constexpr std::string_view kCampaignRunning = "running";
inline constexpr std::string_view kCampaignDone = "done";
inline constexpr std::string_view kCampaignFailed = "failed";
// Stopped before all its jobs ran, e.g. by Ctrl-C.
inline constexpr std::string_view kCampaignInterrupted = "interrupted";

}  // namespace graphene
