// preload.cpp: the malloc family, exported for LD_PRELOAD. In the "Python 3
// (Scalene)" kernel the library is preloaded, so every allocation of the
// process reaches these functions from its very first one, including the
// ones GOT patching cannot see (pointers taken with dlsym, objects linked
// with -Bsymbolic). They forward to glibc's __libc_* entry points and sample
// only while a cell is profiled. Loaded with dlopen instead (hot-attach),
// the library is not in the global scope and these definitions stay unused.
#include <dlfcn.h>
#include <errno.h>

#include <cstddef>

#include "state.hpp"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void __libc_free(void* pointer);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
}

using scalene_lab::calloc_bytes;
using scalene_lab::guarded_allocation;
using scalene_lab::native_allocation_passes;
using scalene_lab::on_free;

#define SL_INTERPOSE extern "C" __attribute__((visibility("default")))

// malloc is defined through a hidden alias so this library can tell, by
// address, whether its own malloc is the one the process uses.
extern "C" __attribute__((visibility("hidden"))) void* sl_preload_malloc(size_t size) {
  if (native_allocation_passes(size)) return __libc_malloc(size);
  return guarded_allocation(size, false, [size] { return __libc_malloc(size); });
}

SL_INTERPOSE void* malloc(size_t size) __attribute__((alias("sl_preload_malloc")));

namespace scalene_lab {

bool is_preloaded() {
  return dlsym(RTLD_DEFAULT, "malloc") == reinterpret_cast<void*>(&sl_preload_malloc);
}

}  // namespace scalene_lab

SL_INTERPOSE void* calloc(size_t count, size_t size) {
  const uint64_t bytes = calloc_bytes(count, size);
  if (native_allocation_passes(bytes)) return __libc_calloc(count, size);
  return guarded_allocation(bytes, false, [count, size] { return __libc_calloc(count, size); });
}

SL_INTERPOSE void* realloc(void* old_pointer, size_t size) {
  on_free(old_pointer);  // never allocates; a block already matched is not found twice
  if (native_allocation_passes(size)) return __libc_realloc(old_pointer, size);
  return guarded_allocation(size, false, [old_pointer, size] { return __libc_realloc(old_pointer, size); }, true);
}

SL_INTERPOSE void free(void* pointer) {
  on_free(pointer);  // never allocates: no guard needed
  __libc_free(pointer);
}

SL_INTERPOSE void* memalign(size_t alignment, size_t size) {
  if (native_allocation_passes(size)) return __libc_memalign(alignment, size);
  return guarded_allocation(size, false, [alignment, size] { return __libc_memalign(alignment, size); });
}

SL_INTERPOSE void* aligned_alloc(size_t alignment, size_t size) {
  return memalign(alignment, size);
}

SL_INTERPOSE void* valloc(size_t size) {
  if (native_allocation_passes(size)) return __libc_valloc(size);
  return guarded_allocation(size, false, [size] { return __libc_valloc(size); });
}

SL_INTERPOSE int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* pointer = memalign(alignment, size);
  if (pointer == nullptr && size != 0) return ENOMEM;
  *out = pointer;
  return 0;
}
