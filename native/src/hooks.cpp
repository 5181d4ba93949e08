// hooks.cpp: the replacement functions that GOT/PLT patching points callers
// at. Each asks the inline fast path first and, with no sample due, forwards
// to the real function as a tail call; only a call with a sample point
// inside its bytes takes the guarded slow side. Nothing here allocates or
// throws.
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

namespace {

template <typename Call>
__attribute__((noinline)) void* sampled_copy(uint64_t size, Call call) {
  ReentryGuard guard;
  void* result = call();
  if (guard.entered()) on_copy_slow(size);
  return result;
}

}  // namespace

namespace hooks {

void* malloc(size_t size) {
  if (native_allocation_passes(size)) return real().malloc(size);
  return guarded_allocation(size, false, [size] { return real().malloc(size); });
}

void* calloc(size_t count, size_t size) {
  const uint64_t bytes = calloc_bytes(count, size);
  if (native_allocation_passes(bytes)) return real().calloc(count, size);
  return guarded_allocation(bytes, false, [count, size] { return real().calloc(count, size); });
}

void* realloc(void* old_pointer, size_t size) {
  on_free(old_pointer);  // never allocates; a block already matched is not found twice
  if (native_allocation_passes(size)) return real().realloc(old_pointer, size);
  return guarded_allocation(size, false, [old_pointer, size] { return real().realloc(old_pointer, size); }, true);
}

void free(void* pointer) {
  on_free(pointer);
  real().free(pointer);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (native_allocation_passes(size)) return real().posix_memalign(out, alignment, size);
  int result = 0;
  guarded_allocation(size, false, [&] {
    result = real().posix_memalign(out, alignment, size);
    return result == 0 ? *out : nullptr;
  });
  return result;
}

void* aligned_alloc(size_t alignment, size_t size) {
  if (native_allocation_passes(size)) return real().aligned_alloc(alignment, size);
  return guarded_allocation(size, false, [alignment, size] { return real().aligned_alloc(alignment, size); });
}

void* memalign(size_t alignment, size_t size) {
  if (native_allocation_passes(size)) return real().memalign(alignment, size);
  return guarded_allocation(size, false, [alignment, size] { return real().memalign(alignment, size); });
}

void* valloc(size_t size) {
  if (native_allocation_passes(size)) return real().valloc(size);
  return guarded_allocation(size, false, [size] { return real().valloc(size); });
}

void* memcpy(void* to, const void* from, size_t size) {
  if (native_copy_passes(size)) return real().memcpy(to, from, size);
  return sampled_copy(size, [=] { return real().memcpy(to, from, size); });
}

void* memmove(void* to, const void* from, size_t size) {
  if (native_copy_passes(size)) return real().memmove(to, from, size);
  return sampled_copy(size, [=] { return real().memmove(to, from, size); });
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
#define SL_RESOLVE(name, ret, params, args)                                                \
  functions.name = reinterpret_cast<decltype(functions.name)>(dlsym(RTLD_DEFAULT, #name)); \
  if (functions.name == nullptr) return false;
  SL_HOOKED_SYMBOLS(SL_RESOLVE)
#undef SL_RESOLVE
  return true;
}

}  // namespace scalene_lab
