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

PyAllocator& original(void* context) {
  return *static_cast<PyAllocator*>(context);
}

// Python's allocator may itself call malloc (blocks above pymalloc's 512-byte
// limit, reallocs, or every block under PYTHONMALLOC=malloc or debug hooks):
// those calls go under the re-entry guard so our malloc hook does not count
// them a second time as native allocations. Small requests served from
// pymalloc's pools never reach malloc, and they are most of the calls (these
// wrappers run for every Python object): with no sample due they forward as
// a tail call after one countdown step.
constexpr size_t kPooledLimit = 512;
std::atomic<bool> g_small_requests_pooled{false};

inline bool python_allocation_passes(uint64_t size) {
  if (!g_sampling.load(std::memory_order_relaxed)) return true;
  return size <= kPooledLimit && g_small_requests_pooled.load(std::memory_order_relaxed) &&
         allocation_skipped(thread_state(), size);
}

void* wrapped_malloc(void* context, size_t size) {
  PyAllocator& next = original(context);
  if (python_allocation_passes(size)) return next.malloc(next.context, size);
  return guarded_allocation(size, true, [&next, size] { return next.malloc(next.context, size); });
}

void* wrapped_calloc(void* context, size_t count, size_t size) {
  PyAllocator& next = original(context);
  const uint64_t bytes = calloc_bytes(count, size);
  if (python_allocation_passes(bytes)) return next.calloc(next.context, count, size);
  return guarded_allocation(bytes, true, [&next, count, size] { return next.calloc(next.context, count, size); });
}

// A realloc may move a pooled block out to malloc (a list outgrowing 512
// bytes), so while sampling it always goes under the guard.
void* wrapped_realloc(void* context, void* old_pointer, size_t size) {
  PyAllocator& next = original(context);
  on_free(old_pointer);
  if (!g_sampling.load(std::memory_order_relaxed)) return next.realloc(next.context, old_pointer, size);
  return guarded_allocation(
      size, true, [&next, old_pointer, size] { return next.realloc(next.context, old_pointer, size); }, true);
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

void set_small_requests_pooled(bool pooled) {
  g_small_requests_pooled.store(pooled, std::memory_order_relaxed);
}

void release_python_slot(int slot) {
  if (slot >= 0 && slot < kSlots) g_taken[slot] = false;
}

}  // namespace scalene_lab
