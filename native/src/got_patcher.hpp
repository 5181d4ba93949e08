// got_patcher.hpp: point every loaded object's GOT slots for the hooked
// symbols at our hooks, and put them back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace scalene_lab {

struct PatchCounts {
  size_t slots;
  uint64_t objects;
  uint64_t dropped;  // slots beyond the fixed table
};

// With `malloc_family` false only memcpy, memmove and dlopen are patched (the
// malloc family is already ours when the library is preloaded).
size_t patch_all_objects(bool malloc_family);
void unpatch_all_objects();
PatchCounts patch_counts();

}  // namespace scalene_lab
