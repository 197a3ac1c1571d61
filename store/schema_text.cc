// Embeds schema/database.sql and database_derived.sql (see graphene_embed_text in store/CMakeLists.txt).
#include <string_view>

#include "schema/database.h"

namespace graphene {
namespace {
#include "kDatabaseSql.inc"
#include "kDatabaseDerivedSql.inc"
}  // namespace

std::string_view DatabaseSql() { return kDatabaseSql; }
std::string_view DatabaseDerivedSql() { return kDatabaseDerivedSql; }

}  // namespace graphene
