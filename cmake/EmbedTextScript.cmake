# Writes IN's bytes as a raw string literal named VAR into OUT.
file(READ "${IN}" content)
set(delim "GRAPHENE_TEXT")
file(WRITE "${OUT}" "inline constexpr std::string_view ${VAR} = R\"${delim}(${content})${delim}\";\n")
