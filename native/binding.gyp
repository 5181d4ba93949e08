# binding.gyp: the native part of scalene-lab, built with node-gyp.
# native_tests runs the unit tests of the sampling allocator's parts;
# native_tests_sanitized is the same program under ASan and UBSan.
{
  "variables": {
    "test_sources": [
      "tests/test_main.cpp",
      "tests/test_byte_sampler.cpp",
      "tests/test_live_table.cpp",
      "tests/test_record_buffer.cpp"
    ]
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions"],
    "cflags_cc!": ["-std=gnu++17"],
    "ldflags": ["-pthread"]
  },
  "targets": [
    {
      "target_name": "native_tests",
      "type": "executable",
      "sources": ["<@(test_sources)"]
    },
    {
      "target_name": "native_tests_sanitized",
      "type": "executable",
      "sources": ["<@(test_sources)"],
      "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1"],
      "ldflags": ["-fsanitize=address,undefined"]
    }
  ]
}
