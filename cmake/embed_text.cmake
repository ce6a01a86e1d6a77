# Turns the files DIR/PATTERN into string constants in one header, each named after its
# file without the extension (ingest.lua -> ingest), so the binary needs no files at run time;
# kAll lists them all as (name, text), for tests that check every one.
#   cmake -DOUT=header -DDIR=dir -DPATTERN=*.lua -DNAMESPACE=a::b -P embed_text.cmake
file(GLOB files ${DIR}/${PATTERN})
list(SORT files)
file(RELATIVE_PATH source ${CMAKE_CURRENT_LIST_DIR}/.. ${DIR})
set(all "")
set(content "#pragma once\n// Generated from ${source}/${PATTERN}; edit those files.\n#include <string_view>\n#include <utility>\nnamespace ${NAMESPACE} {\n")
foreach(path ${files})
  get_filename_component(name ${path} NAME_WE)
  file(READ ${path} body)
  string(APPEND content "inline constexpr std::string_view ${name} = R\"embed(${body})embed\";\n")
  string(APPEND all "    {\"${name}\", ${name}},\n")
endforeach()
string(APPEND content "inline constexpr std::pair<std::string_view, std::string_view> kAll[] = {\n${all}};\n")
string(APPEND content "}  // namespace ${NAMESPACE}\n")
file(WRITE ${OUT} "${content}")
