#include "agent/native_thread_origin.h"

#include <Python.h>
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>

#include "agent/embedded_python.h"

namespace graphene {
namespace {

using CreateFunction = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

std::atomic<bool> recording{false};
std::mutex origins_mutex;
std::map<int64_t, NativeOrigin>* origins = nullptr;  // never freed: threads may outlive exit

// The Python frame that is calling into C right now, as an origin.
std::optional<NativeOrigin> CurrentOrigin() {
  PyFrameObject* frame = PyEval_GetFrame();
  if (frame == nullptr) return std::nullopt;
  try {
    auto where = RuntimeModule()
                     .attr("origin")(pybind11::handle(reinterpret_cast<PyObject*>(frame)))
                     .cast<pybind11::tuple>();
    return NativeOrigin{where[0].cast<std::string>(), where[1].cast<std::string>()};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Runs in the new thread: files its origin under its id, then runs it.
struct Trampoline {
  void* (*start)(void*);
  void* arg;
  NativeOrigin origin;

  static void* Run(void* self) {
    auto* trampoline = static_cast<Trampoline*>(self);
    auto start = trampoline->start;
    auto arg = trampoline->arg;
    {
      std::lock_guard<std::mutex> lock(origins_mutex);
      (*origins)[::gettid()] = std::move(trampoline->origin);
    }
    delete trampoline;
    return start(arg);
  }
};

}  // namespace

void StartRecordingThreadOrigins() {
  origins = new std::map<int64_t, NativeOrigin>();
  recording.store(true);
}

std::optional<NativeOrigin> NativeThreadOrigin(int64_t tid) {
  std::lock_guard<std::mutex> lock(origins_mutex);
  if (origins == nullptr) return std::nullopt;
  auto found = origins->find(tid);
  if (found == origins->end()) return std::nullopt;
  return found->second;
}

}  // namespace graphene

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attributes,
                              void* (*start)(void*), void* arg) {
  static auto real = reinterpret_cast<graphene::CreateFunction>(dlsym(RTLD_NEXT, "pthread_create"));
  if (!graphene::recording.load() || !PyGILState_Check()) {
    return real(thread, attributes, start, arg);
  }
  std::optional<graphene::NativeOrigin> origin = graphene::CurrentOrigin();
  if (!origin) return real(thread, attributes, start, arg);
  auto* trampoline = new graphene::Trampoline{start, arg, std::move(*origin)};
  int result = real(thread, attributes, &graphene::Trampoline::Run, trampoline);
  if (result != 0) delete trampoline;
  return result;
}
