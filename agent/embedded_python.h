// The zygote's embedded CPython: started once, warmed with the modules
// targets commonly use, with graphene's runtime hooks installed, and never
// running a second thread (every execution forks from it).
#pragma once

#include <pybind11/embed.h>

#include "base/status.h"

namespace graphene {

// The real interpreter matching the libpython we embed; it becomes
// sys.executable so that multiprocessing's spawn and subprocess calls in
// targets start a genuine Python of the same version.
const char* PythonExecutable();

// Initializes the interpreter, imports the warm modules and graphene's
// runtime, and installs the hooks. Fails if any of that starts a thread.
Status StartEmbeddedPython();

// graphene's runtime module (python/graphene_runtime.py), once started.
pybind11::module_ RuntimeModule();

}  // namespace graphene
