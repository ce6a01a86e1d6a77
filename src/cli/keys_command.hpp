#pragma once

namespace tracker::cli {

// `event-tracker keys create --scope=write|read|admin --name=NAME [--origins=a,b]`,
// `keys list`, `keys revoke NAME|PREFIX`: API key management against the database of
// --pg-dsn / TRACKER_PG_DSN (other server options are accepted and ignored). `create`
// prints the new key as its last line, the only time it is shown. argv[1] is "keys".
// Returns the process's exit code: 0 done, 1 refused or the database failed, 2 bad usage.
int keys_command(int argc, char** argv);

}  // namespace tracker::cli
