// python_domains.hpp: the layout of CPython's PyMemAllocatorEx (a stable
// part of the C API) and the wrapper builder for the MEM and OBJ domains.
#pragma once

#include <cstddef>

namespace scalene_lab {

struct PyAllocator {
  void* context;
  void* (*malloc)(void* context, size_t size);
  void* (*calloc)(void* context, size_t count, size_t size);
  void* (*realloc)(void* context, void* pointer, size_t size);
  void (*free)(void* context, void* pointer);
};

// Save `current` (a domain's allocator now) in a free slot and fill `wrapper`
// with ours, forwarding to it. Returns the slot, or -1 when all are taken.
int wrap_python_domain(const PyAllocator* current, PyAllocator* wrapper);

// Whether Python's allocator serves requests up to 512 bytes from its own
// pools (pymalloc without debug hooks), so they need no re-entry guard.
void set_small_requests_pooled(bool pooled);

// The wrapper of `slot` was uninstalled cleanly: nothing forwards to it now.
void release_python_slot(int slot);

}  // namespace scalene_lab
