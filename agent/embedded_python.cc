#include "agent/embedded_python.h"

#include <fmt/format.h>

#include "agent/os_threads.h"

namespace graphene {
namespace py = pybind11;
namespace {

#include "kGrapheneRuntimePy.inc"

constexpr const char* kRuntimeName = "graphene_runtime";

// Imported in the zygote so each forked execution finds them loaded.
constexpr const char* kWarmModules[] = {
    "threading",
    "multiprocessing",
    "multiprocessing.pool",
    "concurrent.futures",
    "subprocess",
    "asyncio",
    "queue",
    "signal",
    "traceback",
    "inspect",
    "json",
    "socket",
    "multiprocessing.resource_tracker",
    "multiprocessing.forkserver",
    "multiprocessing.popen_fork",
    "multiprocessing.popen_spawn_posix",
};

Status InitializeInterpreter() {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, PythonExecutable());
  if (!PyStatus_Exception(status)) {
    status = PyConfig_SetBytesString(&config, &config.executable, PythonExecutable());
  }
  if (PyStatus_Exception(status)) {
    PyConfig_Clear(&config);
    return Status::Error("configuring the embedded Python failed");
  }
  config.parse_argv = 0;
  try {
    py::initialize_interpreter(&config, 0, nullptr, false);
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("starting the embedded Python failed: {}", e.what()));
  }
  return Status::Ok();
}

void LoadRuntime() {
  py::module_ types = py::module_::import("types");
  py::module_ runtime = types.attr("ModuleType")(kRuntimeName);
  runtime.attr("__file__") = "<graphene-runtime>";
  py::object code =
      py::module_::import("builtins")
          .attr("compile")(std::string(kGrapheneRuntimePy), "<graphene-runtime>", "exec");
  py::module_::import("sys").attr("modules")[kRuntimeName] = runtime;
  py::module_::import("builtins").attr("exec")(code, runtime.attr("__dict__"));
  runtime.attr("install_hooks")();
}

}  // namespace

const char* PythonExecutable() { return GRAPHENE_PYTHON_EXECUTABLE; }

Status StartEmbeddedPython() {
  Status started = InitializeInterpreter();
  if (!started.ok()) return started;
  try {
    py::module_::import("sys").attr("argv") = py::list(py::make_tuple(""));
    for (const char* name : kWarmModules) py::module_::import(name);
    LoadRuntime();
    // Keep the warm objects out of every child's garbage collections, which
    // would otherwise touch (and so copy) most of the zygote's pages.
    py::module_::import("gc").attr("freeze")();
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("warming the embedded Python failed: {}", e.what()));
  }
  size_t threads = ListOsThreadIds().size();
  if (threads != 1) {
    return Status::Error(fmt::format(
        "the embedded Python started {} threads while warming up; forking it would be unsafe",
        threads - 1));
  }
  return Status::Ok();
}

py::module_ RuntimeModule() { return py::module_::import(kRuntimeName); }

}  // namespace graphene
