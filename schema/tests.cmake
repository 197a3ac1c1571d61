# The wire protocol's tests. Included from schema/CMakeLists.txt.
add_executable(messages_test ${CMAKE_CURRENT_LIST_DIR}/messages_test.cc)
target_link_libraries(messages_test graphene_schema GTest::gtest_main)
gtest_discover_tests(messages_test)
