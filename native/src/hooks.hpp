// hooks.hpp: the hook functions, the real functions they forward to, and the
// table that maps each hooked symbol name to its hook.
#pragma once

#include <cstddef>

#include "hook_list.hpp"

namespace scalene_lab {

struct RealFunctions {
#define SL_POINTER(name, ret, params, args) ret(*name) params = nullptr;
  SL_HOOKED_SYMBOLS(SL_POINTER)
#undef SL_POINTER
};

// The real functions, resolved once (outside any hook) by resolve_real_functions.
RealFunctions& real();
bool resolve_real_functions();

namespace hooks {
#define SL_DECLARE(name, ret, params, args) ret name params;
SL_HOOKED_SYMBOLS(SL_DECLARE)
#undef SL_DECLARE
}  // namespace hooks

struct HookEntry {
  const char* symbol;
  void* hook;
};

// Every hooked symbol and its replacement, in SL_HOOKED_SYMBOLS order.
const HookEntry* hook_table(size_t* count);

// Patch objects loaded since the last pass (called from the dlopen hook).
void repatch_after_dlopen();

}  // namespace scalene_lab
