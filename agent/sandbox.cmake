# The sandbox: zygote, supervisor and runner around an embedded CPython.
# Included from agent/CMakeLists.txt.
file(REAL_PATH "${Python3_EXECUTABLE}" graphene_python_executable)

add_library(graphene_sandbox STATIC
  embedded_python.cc native_thread_origin.cc os_threads.cc process_cap.cc process_tree.cc run_as.cc runner.cc
  sandbox.cc
  snapshot_diff.cc supervisor.cc zygote.cc)
target_include_directories(graphene_sandbox PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(graphene_sandbox PUBLIC graphene_schema pybind11::embed fmt::fmt ${CMAKE_DL_LIBS})
# Libraries' pthread_create calls must reach ours (native_thread_origin.cc).
target_link_options(graphene_sandbox INTERFACE "LINKER:--export-dynamic-symbol=pthread_create")
target_compile_definitions(graphene_sandbox PRIVATE
  GRAPHENE_PYTHON_EXECUTABLE="${graphene_python_executable}")
graphene_embed_text(graphene_sandbox kGrapheneRuntimePy
  ${PROJECT_SOURCE_DIR}/python/graphene_runtime.py)

add_executable(sandbox_test sandbox_test.cc snapshot_diff_test.cc process_tree_test.cc
  os_threads_test.cc)
target_link_libraries(sandbox_test graphene_sandbox GTest::gtest)
target_compile_definitions(sandbox_test PRIVATE
  GRAPHENE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(sandbox_test DISCOVERY_TIMEOUT 30)
