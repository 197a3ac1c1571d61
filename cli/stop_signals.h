// SIGINT and SIGTERM as requests to stop. Each command installs the handler
// it needs; a second signal usually means "now", so the count is passed on.
#pragma once

namespace graphene {

// Calls `stop(count)` on every SIGINT or SIGTERM, where `count` is how many
// have arrived so far (1 for the first). `stop` runs in a signal handler: it
// may only store to atomics.
void InstallStopHandler(void (*stop)(int count));

}  // namespace graphene
