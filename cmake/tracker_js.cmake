# Makes the two scripts of the JavaScript client from its one source, web/tracker.mjs:
#   OUT_DIR/tracker.mjs  the ES module, as written
#   OUT_DIR/tracker.js   a classic script: the module without its "export" keywords (and
#                        without the "export default" line) inside a function that sets
#                        the global eventTracker
# Both without whole-line comments, indentation and blank lines (about a third less
# gzipped); the source keeps them.
#   cmake -DSOURCE=web/tracker.mjs -DOUT_DIR=dir -P tracker_js.cmake
file(READ "${SOURCE}" text)
string(PREPEND text "\n")
string(REGEX REPLACE "\n[ ]*//[^\n]*" "" text "${text}")
string(REGEX REPLACE "\n[ ]+" "\n" text "${text}")
string(REGEX REPLACE "\n\n+" "\n" text "${text}")
string(REGEX REPLACE "^\n" "" text "${text}")
set(header "// eventTracker, the event tracker's JavaScript client. Source: web/tracker.mjs; docs/CLIENT.md.\n")

string(REGEX REPLACE "\nexport default [^\n]*" "" classic "\n${text}")
string(REPLACE "\nexport " "\n" classic "${classic}")
if(classic MATCHES "(^|\n)export |import\\.meta|(^|\n)import ")
  message(FATAL_ERROR "${SOURCE}: an export, import or import.meta the classic script cannot hold")
endif()
set(classic "${header}(function () {\n\"use strict\";${classic}globalThis.eventTracker = eventTracker;\n})();\n")

function(write_if_changed name body)
  file(WRITE "${OUT_DIR}/${name}.tmp" "${body}")
  file(COPY_FILE "${OUT_DIR}/${name}.tmp" "${OUT_DIR}/${name}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT_DIR}/${name}.tmp")
endfunction()
write_if_changed(tracker.mjs "${header}${text}")
write_if_changed(tracker.js "${classic}")
