// harness.hpp: a minimal test harness for the native unit tests (no
// exceptions, no dependencies). Each CHECK failure is printed with its
// location; main() ends with "native: N passed, N failed".
#pragma once

#include <cstdio>

namespace scalene_lab_test {

struct Test {
  const char* name;
  void (*run)();
  Test* next;
};

inline Test*& registry() {
  static Test* head = nullptr;
  return head;
}

inline int& failures_in_current_test() {
  static int failures = 0;
  return failures;
}

struct Register {
  Register(Test* test) {
    test->next = registry();
    registry() = test;
  }
};

}  // namespace scalene_lab_test

#define NATIVE_TEST(name)                                           \
  static void name();                                               \
  static scalene_lab_test::Test name##_test{#name, &name, nullptr}; \
  static scalene_lab_test::Register name##_register(&name##_test);  \
  static void name()

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition); \
      ++scalene_lab_test::failures_in_current_test();                             \
    }                                                                             \
  } while (0)
