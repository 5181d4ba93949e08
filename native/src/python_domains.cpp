// python_domains.cpp: pass-through wrappers for Python's MEM and OBJ
// allocator domains. They add no header to blocks, so they can be installed
// and removed while objects are alive: a block allocated through a wrapper is
// freed correctly by the original allocator after removal. The kernel side
// installs them with PyMem_SetAllocator (ctypes), keeping the GIL rules.
#include "python_domains.hpp"

#include "state.hpp"

namespace scalene_lab {

namespace {

// Saved originals, one slot per installed wrapper. A slot stays taken while
// any wrapper may still forward to it: a wrapper another tool (tracemalloc)
// wrapped in turn stays in that tool's chain after detach, so its slot is
// never reused; reusing it could make a chain forward into itself.
constexpr int kSlots = 64;
PyAllocator g_saved[kSlots];
bool g_taken[kSlots];  // changed only with the GIL held (from the kernel side)

PyAllocator& original(void* context) { return *static_cast<PyAllocator*>(context); }

// Python's allocator may itself call malloc (blocks above pymalloc's 512-byte
// limit, or every block under PYTHONMALLOC=malloc or debug hooks); the guard
// keeps those from being counted a second time as native allocations. Small
// requests served from pymalloc's pools need no guard. These run for every
// Python object, so the idle path is a single load.
constexpr size_t kPooledLimit = 512;
std::atomic<bool> g_small_requests_pooled{false};

void* wrapped_malloc(void* context, size_t size) {
  PyAllocator& next = original(context);
  if (!g_sampling.load(std::memory_order_relaxed)) return next.malloc(next.context, size);
  if (size <= kPooledLimit && g_small_requests_pooled.load(std::memory_order_relaxed)) {
    void* pointer = next.malloc(next.context, size);
    if (!thread_state().busy) on_allocation(pointer, size, true);
    return pointer;
  }
  ReentryGuard guard;
  void* pointer = next.malloc(next.context, size);
  if (guard.entered()) on_allocation(pointer, size, true);
  return pointer;
}

void* wrapped_calloc(void* context, size_t count, size_t size) {
  ReentryGuard guard;
  void* pointer = original(context).calloc(original(context).context, count, size);
  if (guard.entered()) on_allocation(pointer, calloc_bytes(count, size), true);
  return pointer;
}

void* wrapped_realloc(void* context, void* old_pointer, size_t size) {
  ReentryGuard guard;
  if (guard.entered() && old_pointer != nullptr) on_free(old_pointer);
  void* pointer = original(context).realloc(original(context).context, old_pointer, size);
  if (guard.entered()) on_allocation(pointer, size, true);
  return pointer;
}

// Matching a free never allocates, so it needs no guard.
void wrapped_free(void* context, void* pointer) {
  PyAllocator& next = original(context);
  on_free(pointer);
  next.free(next.context, pointer);
}

}  // namespace

int wrap_python_domain(const PyAllocator* current, PyAllocator* wrapper) {
  int slot = 0;
  while (slot < kSlots && g_taken[slot]) ++slot;
  if (slot == kSlots) return -1;
  g_taken[slot] = true;
  g_saved[slot] = *current;
  wrapper->context = &g_saved[slot];
  wrapper->malloc = &wrapped_malloc;
  wrapper->calloc = &wrapped_calloc;
  wrapper->realloc = &wrapped_realloc;
  wrapper->free = &wrapped_free;
  return slot;
}

void set_small_requests_pooled(bool pooled) { g_small_requests_pooled.store(pooled, std::memory_order_relaxed); }

void release_python_slot(int slot) {
  if (slot >= 0 && slot < kSlots) g_taken[slot] = false;
}

}  // namespace scalene_lab
