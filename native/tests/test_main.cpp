// test_main.cpp: runs every NATIVE_TEST and prints the closing tally.
#include "harness.hpp"

int main() {
  int passed = 0;
  int failed = 0;
  for (auto* test = scalene_lab_test::registry(); test; test = test->next) {
    scalene_lab_test::failures_in_current_test() = 0;
    test->run();
    const bool ok = scalene_lab_test::failures_in_current_test() == 0;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", test->name);
    ok ? ++passed : ++failed;
  }
  std::printf("native: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
