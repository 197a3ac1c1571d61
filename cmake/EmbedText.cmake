# graphene_embed_text(TARGET VAR FILE): makes `FILE`'s text available as
# `inline constexpr std::string_view VAR` in the generated header `VAR.inc`,
# so the binary carries its Python helper and SQL schema with it.
function(graphene_embed_text target var file)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded/${var}.inc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DVAR=${var}
            -P "${PROJECT_SOURCE_DIR}/cmake/EmbedTextScript.cmake"
    DEPENDS "${file}" "${PROJECT_SOURCE_DIR}/cmake/EmbedTextScript.cmake"
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE "${out}")
  target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}/embedded")
endfunction()
