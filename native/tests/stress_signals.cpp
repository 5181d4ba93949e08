// stress_signals.cpp: the built allocator library (dlopen'ed, as the kernel
// side loads it, and attached to this process by GOT patching) under
// signals: CPU-sampling signals every 100-200 microseconds on the main
// thread and on four allocating threads, a second handler that drains from
// inside whatever the main thread is doing (a drain included), and attach
// and detach repeated while all of that runs. It checks that no record is
// lost or read twice, that each thread's sampled bytes add up to what it
// allocated, that a drain never runs inside a drain, and that the threads'
// memory stays intact and the process unpatched after the last detach.
// native_stress loads scalene_lab_alloc.so; native_stress_sanitized (built
// with ASan and UBSan) loads scalene_lab_alloc_sanitized.so, built the same way.
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "../src/records.hpp"
#include "harness.hpp"
#include "library_api.hpp"

namespace {

using scalene_lab_test::api;

int current_tid() {
  return static_cast<int>(syscall(SYS_gettid));
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Stands in for PyErr_SetInterruptEx: the library "trips the handler" by
// calling this (from hooks and from its signal handler), and counts on it
// being async-signal-safe.
std::atomic<uint64_t> g_trips{0};
extern "C" int count_trip(int) {
  g_trips.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

constexpr int kCpuSignalOffset = 6;    // SIGRTMIN + 6: the CPU sampler's signal
constexpr int kDrainSignalOffset = 5;  // SIGRTMIN + 5: named to the library for trips
constexpr int kWorkers = 4;

// Records taken by either consumer, kept for the checks (no allocation
// while the run is under way: the arrays are sized up front).
struct Taken {
  uint8_t kind;
  uint32_t tid;
  uint64_t bytes;
  uint64_t pointer;
  uint64_t time_ns;
};

struct Log {
  std::vector<Taken> records;
  std::atomic<size_t> count{0};
  void add(const sl_record& record) {
    const size_t at = count.fetch_add(1, std::memory_order_relaxed);
    if (at < records.size()) records[at] = Taken{record.kind, record.tid, record.bytes, record.pointer, record.time_ns};
  }
};

Log* g_log = nullptr;
std::atomic<bool> g_main_draining{false};
std::atomic<uint64_t> g_nested_tries{0};  // handler drains that landed while the main thread was draining
std::atomic<uint64_t> g_handler_records{0};
sl_record g_handler_buffer[64];

// SIGUSR2 on the main thread: a drain from inside whatever it interrupted.
void drain_from_handler(int) {
  const int saved = errno;
  if (g_main_draining.load(std::memory_order_acquire)) g_nested_tries.fetch_add(1, std::memory_order_relaxed);
  const size_t count = api()->drain(g_handler_buffer, 64);
  for (size_t i = 0; i < count; ++i) g_log->add(g_handler_buffer[i]);
  g_handler_records.fetch_add(count, std::memory_order_relaxed);
  errno = saved;
}

size_t main_drain(sl_record* buffer, size_t capacity) {
  g_main_draining.store(true, std::memory_order_release);
  const size_t count = api()->drain(buffer, capacity);
  g_main_draining.store(false, std::memory_order_release);
  for (size_t i = 0; i < count; ++i) g_log->add(buffer[i]);
  return count;
}

void drain_everything(sl_record* buffer, size_t capacity) {
  while (main_drain(buffer, capacity) != 0) {
  }
}

// An allocating thread: malloc, calloc, realloc, memcpy and free through this
// executable's own PLT (patched while attached), each block filled with a
// pattern checked before it is freed. It counts the bytes it asked for.
struct Worker {
  std::atomic<int> tid{0};
  uint64_t allocated = 0;
  uint64_t corrupt = 0;
  uint64_t rng;
};

void fill(unsigned char* block, size_t size, unsigned char seed) {
  for (size_t i = 0; i < size; i += 61) block[i] = static_cast<unsigned char>(seed + i);
}

bool intact(const unsigned char* block, size_t size, unsigned char seed) {
  for (size_t i = 0; i < size; i += 61) {
    if (block[i] != static_cast<unsigned char>(seed + i)) return false;
  }
  return true;
}

void work(Worker* worker, const std::atomic<bool>* stop) {
  worker->tid.store(current_tid(), std::memory_order_release);
  constexpr int kSlots = 16;
  unsigned char* blocks[kSlots] = {};
  size_t sizes[kSlots] = {};
  unsigned char seeds[kSlots] = {};
  while (!stop->load(std::memory_order_relaxed)) {
    uint64_t x = worker->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    worker->rng = x;
    const int slot = static_cast<int>(x % kSlots);
    const size_t size = 16 + (x >> 8) % 65536;
    const unsigned char seed = static_cast<unsigned char>(x >> 40);
    if (blocks[slot] != nullptr && !intact(blocks[slot], sizes[slot], seeds[slot])) ++worker->corrupt;
    switch ((x >> 32) % 4) {
      case 0:
        std::free(blocks[slot]);
        blocks[slot] = static_cast<unsigned char*>(std::malloc(size));
        break;
      case 1:
        std::free(blocks[slot]);
        blocks[slot] = static_cast<unsigned char*>(std::calloc(1, size));
        break;
      case 2: {
        // realloc keeps the old contents up to the smaller size
        unsigned char* grown = static_cast<unsigned char*>(std::realloc(blocks[slot], size));
        if (blocks[slot] != nullptr && grown != nullptr &&
            !intact(grown, size < sizes[slot] ? size : sizes[slot], seeds[slot])) {
          ++worker->corrupt;
        }
        blocks[slot] = grown;
        break;
      }
      default: {
        std::free(blocks[slot]);
        blocks[slot] = static_cast<unsigned char*>(std::malloc(size));
        const int other = (slot + 1) % kSlots;
        if (blocks[other] != nullptr && blocks[slot] != nullptr) {
          std::memcpy(blocks[slot], blocks[other], size < sizes[other] ? size : sizes[other]);
          if (!intact(blocks[slot], size < sizes[other] ? size : sizes[other], seeds[other])) ++worker->corrupt;
        }
        break;
      }
    }
    if ((x & 63) == 0) sched_yield();  // leave the two-core test machines' consumer some time
    if (blocks[slot] == nullptr) continue;
    worker->allocated += size;
    sizes[slot] = size;
    seeds[slot] = seed;
    fill(blocks[slot], size, seed);
  }
  for (auto* block : blocks) std::free(block);
}

// Sends SIGUSR2 to the main thread every ~50 microseconds until stopped.
void poke(int main_tid, const std::atomic<bool>* stop) {
  const timespec gap{0, 50000};
  while (!stop->load(std::memory_order_relaxed)) {
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR2);
    nanosleep(&gap, nullptr);
  }
}

struct Scene {
  std::atomic<bool> stop{false};
  Worker workers[kWorkers];
  std::vector<std::thread> threads;
  std::vector<sl_record> buffer = std::vector<sl_record>(256);

  void start_workers() {
    for (int i = 0; i < kWorkers; ++i) {
      workers[i].rng = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
      threads.emplace_back(work, &workers[i], &stop);
    }
    for (auto& worker : workers) {
      while (worker.tid.load(std::memory_order_acquire) == 0) sched_yield();
    }
  }

  void start_cpu_sampler(double interval_s) {
    sl_cpu_config cpu{};
    cpu.interval_s = interval_s;
    cpu.signal_number = SIGRTMIN + kCpuSignalOffset;
    cpu.main_tid = current_tid();
    cpu.seed = 12345;
    cpu.drain_interval_us = 500;
    CHECK(api()->cpu_start(&cpu) == 0);
    int32_t tids[kWorkers];
    for (int i = 0; i < kWorkers; ++i) tids[i] = workers[i].tid.load();
    api()->cpu_set_threads(tids, kWorkers);
  }

  void join() {
    stop.store(true);
    for (auto& thread : threads) thread.join();
    threads.clear();
  }
};

void set_trip_only_layout() {
  sl_python_layout layout{};  // version 0: no Python frames to read here
  layout.set_interrupt = reinterpret_cast<uint64_t>(&count_trip);
  api()->set_python_layout(&layout);
}

void run_for(Scene& scene, double seconds) {
  const uint64_t end = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  while (now_ns() < end) main_drain(scene.buffer.data(), scene.buffer.size());
}

}  // namespace

NATIVE_TEST(signals_during_drains_lose_and_double_nothing) {
  if (api() == nullptr) {
    CHECK(!"the allocator library loads");
    return;
  }
  Log log;
  log.records.resize(size_t{1} << 23);
  g_log = &log;
  struct sigaction action{};
  action.sa_handler = &drain_from_handler;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);

  set_trip_only_layout();
  api()->begin_run(SIGRTMIN + kDrainSignalOffset);
  sl_config config{32768, 65536};
  CHECK(api()->attach(&config) > 0);
  api()->set_sampling(1);
  Scene scene;
  scene.start_workers();
  scene.start_cpu_sampler(0.0002);
  std::atomic<bool> stop_poking{false};
  std::thread poker(poke, current_tid(), &stop_poking);
  run_for(scene, 1.5);
  scene.join();
  api()->cpu_stop();
  api()->set_sampling(0);
  drain_everything(scene.buffer.data(), scene.buffer.size());
  api()->detach();
  stop_poking.store(true);
  poker.join();
  drain_everything(scene.buffer.data(), scene.buffer.size());
  api()->end_run();
  action.sa_handler = SIG_DFL;
  sigaction(SIGUSR2, &action, nullptr);

  sl_stats stats{};
  api()->get_stats(&stats);
  const size_t taken = log.count.load();
  std::printf("  %zu records (%llu taken by the handler), %llu handler drains during a drain, %llu trips\n", taken,
              static_cast<unsigned long long>(g_handler_records.load()),
              static_cast<unsigned long long>(g_nested_tries.load()), static_cast<unsigned long long>(g_trips.load()));
  std::printf("  pushed %llu, drained %llu, lost %llu\n", static_cast<unsigned long long>(stats.records_pushed),
              static_cast<unsigned long long>(stats.records_drained),
              static_cast<unsigned long long>(stats.buffer_overflow));
  CHECK(taken <= log.records.size());
  CHECK(stats.buffer_overflow == 0);
  CHECK(stats.records_pushed == stats.records_drained);
  CHECK(stats.records_drained == taken);  // every record taken once, by one of the two
  CHECK(g_nested_tries.load() > 100);     // drains were tried inside drains (and refused: no duplicates below)
  CHECK(g_handler_records.load() > 0);    // the handler drained between the main thread's drains
  CHECK(g_trips.load() > 0);
  CHECK(stats.cpu_samples > 1000 && stats.thread_signals > 1000);

  std::unordered_set<std::string> seen;
  uint64_t duplicates = 0;
  uint64_t sampled[kWorkers] = {};
  for (size_t i = 0; i < taken && i < log.records.size(); ++i) {
    const Taken& record = log.records[i];
    std::string key(reinterpret_cast<const char*>(&record), sizeof record);
    if (!seen.insert(key).second) ++duplicates;
    if (record.kind != SL_ALLOC) continue;
    for (int w = 0; w < kWorkers; ++w) {
      if (record.tid == static_cast<uint32_t>(scene.workers[w].tid.load())) sampled[w] += record.bytes;
    }
  }
  CHECK(duplicates == 0);
  for (int w = 0; w < kWorkers; ++w) {
    const double truth = static_cast<double>(scene.workers[w].allocated);
    const double ratio = static_cast<double>(sampled[w]) / truth;
    std::printf("  thread %d: %.1f MB allocated, sampled %.4f of it\n", w, truth / 1e6, ratio);
    CHECK(ratio > 0.98 && ratio < 1.02);  // each byte once
    CHECK(scene.workers[w].corrupt == 0);
  }
  g_log = nullptr;
}

NATIVE_TEST(signals_during_attach_and_detach_leave_memory_and_process_intact) {
  if (api() == nullptr) {
    CHECK(!"the allocator library loads");
    return;
  }
  Log log;
  log.records.resize(size_t{1} << 20);
  g_log = &log;
  set_trip_only_layout();
  Scene scene;
  scene.start_workers();
  api()->begin_run(SIGRTMIN + kDrainSignalOffset);
  // The CPU signal keeps arriving on every thread throughout: while the GOT
  // slots are patched and put back, and while hooks run on the workers.
  scene.start_cpu_sampler(0.0001);
  sl_config config{4096, 65536};
  int cycles = 0;
  bool every_attach_patched = true;
  const uint64_t end = now_ns() + 1500000000ull;
  while (now_ns() < end || cycles < 50) {
    api()->begin_run(SIGRTMIN + kDrainSignalOffset);
    every_attach_patched = every_attach_patched && api()->attach(&config) > 0;
    api()->set_sampling(1);
    for (int i = 0; i < 20; ++i) main_drain(scene.buffer.data(), scene.buffer.size());
    api()->set_sampling(0);
    main_drain(scene.buffer.data(), scene.buffer.size());
    api()->detach();
    api()->end_run();
    drain_everything(scene.buffer.data(), scene.buffer.size());
    log.count.store(0);
    ++cycles;
  }
  api()->cpu_stop();
  scene.join();
  sl_stats stats{};
  api()->get_stats(&stats);
  std::printf("  %d attach/detach cycles under CPU signals every 100 us\n", cycles);
  CHECK(every_attach_patched);
  CHECK(api()->attached() == 0);
  CHECK(stats.patched_slots == 0 && stats.patched_objects == 0);
  for (const Worker& worker : scene.workers) CHECK(worker.corrupt == 0);
  // Detached: this thread's allocations reach no hook any more.
  drain_everything(scene.buffer.data(), scene.buffer.size());
  log.count.store(0);
  void* volatile after = std::malloc(1 << 20);
  std::free(after);
  CHECK(api()->drain(scene.buffer.data(), scene.buffer.size()) == 0);
  g_log = nullptr;
}
