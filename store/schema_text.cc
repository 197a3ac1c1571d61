// Embeds schema/database.sql (see graphene_embed_text in store/CMakeLists.txt).
#include <string_view>

#include "schema/database.h"

namespace graphene {
namespace {
#include "kDatabaseSql.inc"
}  // namespace

std::string_view DatabaseSql() { return kDatabaseSql; }

}  // namespace graphene
