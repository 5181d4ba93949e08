// library_api.hpp: the built allocator library, dlopen'ed as the kernel side
// loads it, and its C API resolved by name: for the test programs that drive
// the real library (the signal stress tests, the CPU sampler tests). A
// program whose name ends in "_sanitized" loads the ASan/UBSan build.
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "../src/records.hpp"

namespace scalene_lab_test {

// The library's C API, as the kernel side calls it.
struct Api {
  void (*set_python_layout)(const sl_python_layout*);
  void (*begin_run)(int);
  void (*end_run)();
  long (*attach)(const sl_config*);
  void (*set_sampling)(int);
  void (*detach)();
  size_t (*drain)(sl_record*, size_t);
  void (*get_stats)(sl_stats*);
  int (*cpu_start)(const sl_cpu_config*);
  void (*cpu_stop)();
  void (*cpu_set_threads)(const int32_t*, size_t);
  int (*attached)();
  int (*cpu_running)();
};

template <typename Function>
bool resolve(void* library, const char* name, Function* out) {
  *out = reinterpret_cast<Function>(dlsym(library, name));
  return *out != nullptr;
}

// The library next to this executable: the sanitized build for the sanitized tests.
inline const Api* api() {
  static Api loaded{};
  static bool tried = false;
  static bool ok = false;
  if (tried) return ok ? &loaded : nullptr;
  tried = true;
  char self[4096] = {};
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return nullptr;
  std::string path(self, static_cast<size_t>(length));
  const bool sanitized = path.size() > 10 && path.compare(path.size() - 10, 10, "_sanitized") == 0;
  path = path.substr(0, path.rfind('/') + 1) + (sanitized ? "scalene_lab_alloc_sanitized.so" : "scalene_lab_alloc.so");
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::printf("  cannot load %s: %s\n", path.c_str(), dlerror());
    return nullptr;
  }
  ok = resolve(library, "sl_set_python_layout", &loaded.set_python_layout) &&
       resolve(library, "sl_begin_run", &loaded.begin_run) && resolve(library, "sl_end_run", &loaded.end_run) &&
       resolve(library, "sl_attach", &loaded.attach) && resolve(library, "sl_set_sampling", &loaded.set_sampling) &&
       resolve(library, "sl_detach", &loaded.detach) && resolve(library, "sl_drain", &loaded.drain) &&
       resolve(library, "sl_get_stats", &loaded.get_stats) && resolve(library, "sl_cpu_start", &loaded.cpu_start) &&
       resolve(library, "sl_cpu_stop", &loaded.cpu_stop) &&
       resolve(library, "sl_cpu_set_threads", &loaded.cpu_set_threads) &&
       resolve(library, "sl_attached", &loaded.attached) && resolve(library, "sl_cpu_running", &loaded.cpu_running);
  return ok ? &loaded : nullptr;
}

}  // namespace scalene_lab_test
