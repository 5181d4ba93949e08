// hook_list.hpp: the symbols the allocator hooks, as an X-macro so the GOT
// patcher, the hook table and the resolver of the real functions stay in
// step. X(name, return type, parameter list, argument list)
#pragma once

#include <cstddef>

#define SL_HOOKED_SYMBOLS(X)                                                                  \
  X(malloc, void*, (size_t size), (size))                                                     \
  X(calloc, void*, (size_t count, size_t size), (count, size))                                \
  X(realloc, void*, (void* pointer, size_t size), (pointer, size))                            \
  X(free, void, (void* pointer), (pointer))                                                   \
  X(posix_memalign, int, (void** out, size_t alignment, size_t size), (out, alignment, size)) \
  X(aligned_alloc, void*, (size_t alignment, size_t size), (alignment, size))                 \
  X(memalign, void*, (size_t alignment, size_t size), (alignment, size))                      \
  X(valloc, void*, (size_t size), (size))                                                     \
  X(memcpy, void*, (void* to, const void* from, size_t size), (to, from, size))               \
  X(memmove, void*, (void* to, const void* from, size_t size), (to, from, size))              \
  X(dlopen, void*, (const char* file, int mode), (file, mode))
