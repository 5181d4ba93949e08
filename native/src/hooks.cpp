// hooks.cpp: the replacement functions that GOT/PLT patching points callers
// at. Each calls the real function, then (outside any re-entrant call) lets
// the sampler see the bytes. Nothing here allocates or throws.
#include "hooks.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <cstring>

#include "state.hpp"

namespace scalene_lab {

RealFunctions& real() {
  static RealFunctions functions;
  return functions;
}

namespace hooks {

void* malloc(size_t size) {
  void* pointer = real().malloc(size);
  if (!g_sampling.load(std::memory_order_relaxed)) return pointer;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(pointer, size, false);
  return pointer;
}

void* calloc(size_t count, size_t size) {
  void* pointer = real().calloc(count, size);
  if (!g_sampling.load(std::memory_order_relaxed)) return pointer;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(pointer, calloc_bytes(count, size), false);
  return pointer;
}

void* realloc(void* old_pointer, size_t size) {
  ReentryGuard guard;
  if (guard.entered() && old_pointer != nullptr) on_free(old_pointer);
  void* pointer = real().realloc(old_pointer, size);
  if (guard.entered()) on_allocation(pointer, size, false);
  return pointer;
}

void free(void* pointer) {
  on_free(pointer);  // never allocates: no guard needed
  real().free(pointer);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  const int result = real().posix_memalign(out, alignment, size);
  if (result != 0 || !g_sampling.load(std::memory_order_relaxed)) return result;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(*out, size, false);
  return result;
}

void* aligned_alloc(size_t alignment, size_t size) {
  void* pointer = real().aligned_alloc(alignment, size);
  if (!g_sampling.load(std::memory_order_relaxed)) return pointer;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(pointer, size, false);
  return pointer;
}

void* memalign(size_t alignment, size_t size) {
  void* pointer = real().memalign(alignment, size);
  if (!g_sampling.load(std::memory_order_relaxed)) return pointer;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(pointer, size, false);
  return pointer;
}

void* valloc(size_t size) {
  void* pointer = real().valloc(size);
  if (!g_sampling.load(std::memory_order_relaxed)) return pointer;
  ReentryGuard guard;
  if (guard.entered()) on_allocation(pointer, size, false);
  return pointer;
}

void* memcpy(void* to, const void* from, size_t size) {
  void* result = real().memcpy(to, from, size);
  if (!g_sampling.load(std::memory_order_relaxed)) return result;
  ReentryGuard guard;
  if (guard.entered()) on_copy(size);
  return result;
}

void* memmove(void* to, const void* from, size_t size) {
  void* result = real().memmove(to, from, size);
  if (!g_sampling.load(std::memory_order_relaxed)) return result;
  ReentryGuard guard;
  if (guard.entered()) on_copy(size);
  return result;
}

void* dlopen(const char* file, int mode) {
  void* handle = real().dlopen(file, mode);
  // Libraries loaded while attached get their GOTs patched too.
  if (handle != nullptr) repatch_after_dlopen();
  return handle;
}

}  // namespace hooks

bool resolve_real_functions() {
  RealFunctions& functions = real();
  // Preloaded, the global malloc family is this library's own (preload.cpp)
  // and its hooks are never installed; only memcpy, memmove and dlopen's
  // real functions are called then.
#define SL_RESOLVE(name, ret, params, args)                                                 \
  functions.name = reinterpret_cast<decltype(functions.name)>(dlsym(RTLD_DEFAULT, #name)); \
  if (functions.name == nullptr) return false;
  SL_HOOKED_SYMBOLS(SL_RESOLVE)
#undef SL_RESOLVE
  return true;
}

}  // namespace scalene_lab
