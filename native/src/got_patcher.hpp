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

size_t patch_all_objects();
void unpatch_all_objects();
PatchCounts patch_counts();

}  // namespace scalene_lab
