# binding.gyp: the native part of scalene-lab, built with node-gyp.
# scalene_lab_alloc is the sampling allocator the kernel bridge attaches;
# native_tests runs the unit tests of its parts;
# native_tests_sanitized is the same program under ASan and UBSan;
# native_stress drives the built library under signals (attach, detach,
# drains) and tests the CPU sampler's handler through it, and
# native_stress_sanitized does the same with the library and
# the program built under ASan and UBSan (scalene_lab_alloc_sanitized).
{
  "variables": {
    "library_sources": [
      "src/api.cpp",
      "src/cpu_sampler.cpp",
      "src/fault_guard.cpp",
      "src/got_patcher.cpp",
      "src/hooks.cpp",
      "src/preload.cpp",
      "src/python_domains.cpp",
      "src/python_frames.cpp",
      "src/state.cpp"
    ],
    "test_sources": [
      "tests/test_main.cpp",
      "tests/test_byte_sampler.cpp",
      "tests/test_fate_group.cpp",
      "tests/test_free_filter.cpp",
      "tests/test_heap_release.cpp",
      "tests/test_live_table.cpp",
      "tests/test_python_frames.cpp",
      "tests/test_record_arena.cpp",
      "src/fault_guard.cpp",
      "src/python_frames.cpp"
    ]
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions"],
    "cflags_cc!": ["-std=gnu++17"],
    "ldflags": ["-pthread"]
  },
  "targets": [
    {
      "target_name": "scalene_lab_alloc",
      "type": "shared_library",
      "sources": ["<@(library_sources)"],
      "cflags_cc": ["-fvisibility=hidden", "-fno-rtti", "-O2", "-fomit-frame-pointer"],
      "ldflags": ["-Wl,-z,nodelete"],
      "libraries": ["-ldl", "-lrt"]
    },
    {
      "target_name": "scalene_lab_alloc_sanitized",
      "type": "shared_library",
      "sources": ["<@(library_sources)"],
      "cflags_cc": ["-fvisibility=hidden", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1"],
      "ldflags": ["-Wl,-z,nodelete", "-fsanitize=address,undefined"],
      "libraries": ["-ldl", "-lrt"]
    },
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
    },
    {
      "target_name": "native_stress",
      "type": "executable",
      "sources": ["tests/test_main.cpp", "tests/stress_signals.cpp", "tests/test_cpu_sampler.cpp"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "native_stress_sanitized",
      "type": "executable",
      "sources": ["tests/test_main.cpp", "tests/stress_signals.cpp", "tests/test_cpu_sampler.cpp"],
      "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1"],
      "ldflags": ["-fsanitize=address,undefined"],
      "libraries": ["-ldl"]
    }
  ]
}
