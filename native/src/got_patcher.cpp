// got_patcher.cpp: hot-attach without LD_PRELOAD. Every loaded ELF object
// calls the malloc family through its GOT; pointing those slots at our hooks
// redirects the calls, and writing the saved values back undoes it. Skipped:
// the dynamic loader, the vDSO and this library. Slots are recorded in a
// fixed table, so patching and unpatching never allocate.
#include "got_patcher.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "hooks.hpp"

namespace scalene_lab {

namespace {

constexpr size_t kMaxSlots = 1 << 15;

struct PatchedSlot {
  void** slot;
  void* original;
  void* hook;
};

PatchedSlot g_slots[kMaxSlots];
std::atomic<size_t> g_slot_count{0};
std::atomic<uint64_t> g_objects{0};
std::atomic<uint64_t> g_dropped{0};
std::atomic<bool> g_attached{false};
const char* g_self_name = nullptr;  // this library's path, found before iterating
bool g_malloc_family = true;        // patch the malloc family too (hot-attach)

#if defined(__x86_64__)
constexpr uint32_t kJumpSlot = R_X86_64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_X86_64_GLOB_DAT;
#elif defined(__aarch64__)
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
#else
#error "scalene-lab's GOT patcher supports x86-64 and AArch64"
#endif

bool ends_with(const char* text, const char* suffix) {
  const size_t n = std::strlen(text);
  const size_t m = std::strlen(suffix);
  return n >= m && std::strcmp(text + n - m, suffix) == 0;
}

bool skip_object(const dl_phdr_info* info) {
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  if (std::strstr(name, "linux-vdso") || std::strstr(name, "linux-gate") || std::strstr(name, "/ld-linux") ||
      std::strstr(name, "/ld-musl") || ends_with(name, "/ld.so")) {
    return true;
  }
  // This library: its own calls must reach the real functions.
  return g_self_name != nullptr && std::strcmp(name, g_self_name) == 0;
}

// Dynamic-section pointers are usually relocated in place by the loader,
// but not on every platform: rebase the ones that still look like offsets.
uintptr_t rebase(const dl_phdr_info* info, uintptr_t value) {
  return value < info->dlpi_addr ? value + info->dlpi_addr : value;
}

bool is_copy_or_loader(const char* name) {
  return std::strcmp(name, "memcpy") == 0 || std::strcmp(name, "memmove") == 0 || std::strcmp(name, "dlopen") == 0;
}

void* hook_for(const char* name) {
  if (!g_malloc_family && !is_copy_or_loader(name)) return nullptr;
  size_t count = 0;
  const HookEntry* table = hook_table(&count);
  for (size_t i = 0; i < count; ++i) {
    if (std::strcmp(table[i].symbol, name) == 0) return table[i].hook;
  }
  return nullptr;
}

bool make_writable(void** slot) {
  const uintptr_t page_size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t page = reinterpret_cast<uintptr_t>(slot) & ~(page_size - 1);
  return mprotect(reinterpret_cast<void*>(page), page_size, PROT_READ | PROT_WRITE) == 0;
}

void patch_slot(void** slot, void* hook, bool* patched_any) {
  void* current = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (current == hook) return;  // already ours (a second pass after dlopen)
  const size_t index = g_slot_count.load(std::memory_order_relaxed);
  if (index >= kMaxSlots) {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!make_writable(slot)) return;
  g_slots[index] = PatchedSlot{slot, current, hook};
  g_slot_count.store(index + 1, std::memory_order_release);
  __atomic_store_n(slot, hook, __ATOMIC_RELEASE);
  *patched_any = true;
}

void patch_relocations(const dl_phdr_info* info, const ElfW(Rela) * relocations, size_t bytes,
                       const ElfW(Sym) * symbols, const char* strings, bool* patched_any) {
  const size_t count = bytes / sizeof(ElfW(Rela));
  for (size_t i = 0; i < count; ++i) {
    const ElfW(Rela) & relocation = relocations[i];
    const uint32_t type = ELF64_R_TYPE(relocation.r_info);
    if (type != kJumpSlot && type != kGlobDat) continue;
    const ElfW(Sym) & symbol = symbols[ELF64_R_SYM(relocation.r_info)];
    void* hook = hook_for(strings + symbol.st_name);
    if (hook == nullptr) continue;
    patch_slot(reinterpret_cast<void**>(info->dlpi_addr + relocation.r_offset), hook, patched_any);
  }
}

int patch_object(dl_phdr_info* info, size_t, void*) {
  if (skip_object(info)) return 0;
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    }
  }
  if (dynamic == nullptr) return 0;
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  const ElfW(Rela)* plt = nullptr;
  size_t plt_bytes = 0;
  const ElfW(Rela)* rela = nullptr;
  size_t rela_bytes = 0;
  bool plt_is_rela = true;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; ++entry) {
    switch (entry->d_tag) {
      case DT_SYMTAB:
        symbols = reinterpret_cast<const ElfW(Sym)*>(rebase(info, entry->d_un.d_ptr));
        break;
      case DT_STRTAB:
        strings = reinterpret_cast<const char*>(rebase(info, entry->d_un.d_ptr));
        break;
      case DT_JMPREL:
        plt = reinterpret_cast<const ElfW(Rela)*>(rebase(info, entry->d_un.d_ptr));
        break;
      case DT_PLTRELSZ:
        plt_bytes = entry->d_un.d_val;
        break;
      case DT_PLTREL:
        plt_is_rela = entry->d_un.d_val == DT_RELA;
        break;
      case DT_RELA:
        rela = reinterpret_cast<const ElfW(Rela)*>(rebase(info, entry->d_un.d_ptr));
        break;
      case DT_RELASZ:
        rela_bytes = entry->d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (symbols == nullptr || strings == nullptr) return 0;
  bool patched_any = false;
  if (plt != nullptr && plt_is_rela) patch_relocations(info, plt, plt_bytes, symbols, strings, &patched_any);
  if (rela != nullptr) patch_relocations(info, rela, rela_bytes, symbols, strings, &patched_any);
  if (patched_any) g_objects.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

}  // namespace

const HookEntry* hook_table(size_t* count) {
  static const HookEntry table[] = {
#define SL_ENTRY(name, ret, params, args) {#name, reinterpret_cast<void*>(&hooks::name)},
      SL_HOOKED_SYMBOLS(SL_ENTRY)
#undef SL_ENTRY
  };
  *count = sizeof(table) / sizeof(table[0]);
  return table;
}

size_t patch_all_objects(bool malloc_family) {
  g_malloc_family = malloc_family;
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&patch_all_objects), &self) != 0) g_self_name = self.dli_fname;
  g_attached.store(true, std::memory_order_release);
  dl_iterate_phdr(&patch_object, nullptr);
  return g_slot_count.load(std::memory_order_acquire);
}

void repatch_after_dlopen() {
  if (g_attached.load(std::memory_order_acquire)) dl_iterate_phdr(&patch_object, nullptr);
}

void unpatch_all_objects() {
  g_attached.store(false, std::memory_order_release);
  const size_t count = g_slot_count.load(std::memory_order_acquire);
  for (size_t i = count; i-- > 0;) {
    PatchedSlot& entry = g_slots[i];
    // A slot someone else re-pointed since (another tool) is left to them.
    void* expected = entry.hook;
    __atomic_compare_exchange_n(entry.slot, &expected, entry.original, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  }
  g_slot_count.store(0, std::memory_order_release);
  g_objects.store(0, std::memory_order_relaxed);
}

PatchCounts patch_counts() {
  return PatchCounts{g_slot_count.load(std::memory_order_acquire), g_objects.load(std::memory_order_relaxed),
                     g_dropped.load(std::memory_order_relaxed)};
}

}  // namespace scalene_lab
