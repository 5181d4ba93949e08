// test_cpu_sampler.cpp: the CPU timer's native signal handler, through the
// library's C API as the kernel side drives it: samples come at the rate
// asked, tell running time from time blocked in a system call, reach the
// threads registered for them, and a stop (also right after a start, also
// while a thread is being signalled) leaves no timer and the previous
// handler back. It drives the built library (library_api.hpp). No Python
// here: the layout is unset, so records carry no frames, which is what the
// handler must cope with anyway.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "../src/records.hpp"
#include "harness.hpp"
#include "library_api.hpp"

namespace {

using scalene_lab_test::api;

int sl_cpu_start(const sl_cpu_config* config) {
  return api()->cpu_start(config);
}
void sl_cpu_stop() {
  api()->cpu_stop();
}
int sl_cpu_running() {
  return api()->cpu_running();
}
void sl_cpu_set_threads(const int32_t* tids, size_t count) {
  api()->cpu_set_threads(tids, count);
}
size_t sl_drain(sl_record* out, size_t capacity) {
  return api()->drain(out, capacity);
}

constexpr uint64_t kMs = 1000 * 1000;

uint64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int32_t gettid_now() {
  return static_cast<int32_t>(syscall(SYS_gettid));
}

void sentinel(int) {}

// A real-time signal nobody handles, with a sentinel handler standing in for
// the kernel side's Python-level one (installed before the native handler).
int take_signal(struct sigaction* previous) {
  for (int signum = SIGRTMIN + 2; signum <= SIGRTMAX; ++signum) {
    struct sigaction current;
    sigaction(signum, nullptr, &current);
    if (current.sa_handler != SIG_DFL) continue;
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = &sentinel;
    sigaction(signum, &action, previous);
    return signum;
  }
  return -1;
}

bool handler_is_sentinel(int signum) {
  struct sigaction current;
  sigaction(signum, nullptr, &current);
  return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == &sentinel;
}

void give_back(int signum, const struct sigaction& previous) {
  sigaction(signum, &previous, nullptr);
}

int posix_timers() {
  const int fd = open("/proc/self/timers", O_RDONLY);
  if (fd < 0) return -1;
  char buffer[4096];
  int count = 0;
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) {
    // Lines "ID: n" (not "ClockID: n"): one per timer.
    for (ssize_t i = 0; i + 3 < got; ++i)
      count += (i == 0 || buffer[i - 1] == '\n') && std::memcmp(buffer + i, "ID: ", 4) == 0;
  }
  close(fd);
  return count;
}

void spin_for(uint64_t ns) {
  volatile uint64_t sink = 0;
  const uint64_t end = now_ns() + ns;
  while (now_ns() < end) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<uint64_t>(i) * 7;
  }
}

// A sleep the signal interrupts (no SA_RESTART): resumed until done.
void sleep_for(uint64_t ns) {
  const uint64_t end = now_ns() + ns;
  for (uint64_t now = now_ns(); now < end; now = now_ns()) {
    timespec left{static_cast<time_t>((end - now) / 1000000000ull), static_cast<long>((end - now) % 1000000000ull)};
    nanosleep(&left, nullptr);
  }
}

struct Tally {
  int samples = 0;
  int blocked = 0;
  uint64_t wall = 0;
  uint64_t cpu = 0;
};

// Drain every record; CPU samples of `tid` are tallied by when they were taken.
void drain_into(int32_t tid, uint64_t split, Tally* before, Tally* after, int* other_threads) {
  static sl_record records[4096];
  size_t got;
  while ((got = sl_drain(records, 4096)) > 0) {
    for (size_t i = 0; i < got; ++i) {
      const sl_record& record = records[i];
      if (record.kind != SL_CPU) continue;
      if (static_cast<int32_t>(record.tid) != tid) {
        if (other_threads) ++*other_threads;
        continue;
      }
      Tally* tally = record.time_ns < split ? before : after;
      tally->samples += 1;
      tally->blocked += (record.flags & SL_FLAG_BLOCKED) != 0;
      tally->wall += record.wall_ns;
      tally->cpu += record.thread_cpu_ns;
    }
  }
}

}  // namespace

NATIVE_TEST(cpu_samples_tell_running_from_blocked_time_and_stop_cleanly) {
  CHECK(api() != nullptr);
  if (api() == nullptr) return;
  struct sigaction previous;
  const int signum = take_signal(&previous);
  CHECK(signum > 0);
  sl_record scratch[64];
  while (sl_drain(scratch, 64) > 0) {
  }
  const int timers_before = posix_timers();
  api()->begin_run(signum);  // maps the record arena, as a run's start does
  sl_cpu_config config{0.001, signum, gettid_now(), 42, 20000, 0};
  CHECK(sl_cpu_start(&config) == 0);
  CHECK(sl_cpu_running() == 1);
  CHECK(posix_timers() == timers_before + 1);
  spin_for(300 * kMs);
  const uint64_t split = now_ns();
  sleep_for(300 * kMs);
  sl_cpu_stop();
  CHECK(sl_cpu_running() == 0);
  CHECK(posix_timers() == timers_before);
  CHECK(handler_is_sentinel(signum));
  Tally running, sleeping;
  drain_into(gettid_now(), split, &running, &sleeping, nullptr);
  api()->end_run();
  std::printf("  running: %d samples, cpu/wall %.2f; sleeping: %d samples, %d blocked, cpu/wall %.2f\n",
              running.samples, running.wall ? double(running.cpu) / double(running.wall) : 0.0, sleeping.samples,
              sleeping.blocked, sleeping.wall ? double(sleeping.cpu) / double(sleeping.wall) : 0.0);
  // ~300 samples each at 1 ms; loose for a loaded machine, tight enough to
  // catch a timer that is not re-armed or fires at the wrong rate.
  CHECK(running.samples >= 100 && running.samples <= 600);
  CHECK(sleeping.samples >= 100 && sleeping.samples <= 600);
  // Time accounted is the time that passed, less than 10% lost either way.
  CHECK(running.wall >= 270 * kMs && running.wall <= 330 * kMs);
  CHECK(running.cpu >= running.wall / 2);  // it ran (a busy CI box shares the CPU)
  CHECK(sleeping.blocked * 10 >= sleeping.samples * 9);
  CHECK(sleeping.cpu * 10 <= sleeping.wall);
  give_back(signum, previous);
}

namespace {
// A thread that spins on a CPU until stopped (or destroyed); its tid is
// known once the constructor returns.
class SpinningWorker {
 public:
  SpinningWorker() {
    pthread_create(&thread_, nullptr, &SpinningWorker::run, this);
    while (tid_.load() == 0) sleep_for(kMs);
  }
  SpinningWorker(const SpinningWorker&) = delete;
  SpinningWorker& operator=(const SpinningWorker&) = delete;
  ~SpinningWorker() { stop(); }

  int32_t tid() const { return tid_.load(); }

  void stop() {
    if (joined_) return;
    stop_.store(true);
    pthread_join(thread_, nullptr);
    joined_ = true;
  }

 private:
  static void* run(void* self) {
    auto* worker = static_cast<SpinningWorker*>(self);
    worker->tid_.store(gettid_now());
    while (!worker->stop_.load()) spin_for(1 * kMs);
    return nullptr;
  }

  pthread_t thread_{};
  std::atomic<int32_t> tid_{0};
  std::atomic<bool> stop_{false};
  bool joined_ = false;
};
}  // namespace

NATIVE_TEST(registered_threads_are_sampled_by_the_passed_on_signal) {
  CHECK(api() != nullptr);
  if (api() == nullptr) return;
  struct sigaction previous;
  const int signum = take_signal(&previous);
  CHECK(signum > 0);
  SpinningWorker worker;
  const int32_t tid = worker.tid();
  api()->begin_run(signum);
  sl_cpu_config config{0.001, signum, gettid_now(), 7, 20000, 0};
  CHECK(sl_cpu_start(&config) == 0);
  sl_cpu_set_threads(&tid, 1);
  sleep_for(300 * kMs);  // the main thread waits; the worker runs
  sl_cpu_stop();
  worker.stop();
  Tally worked, unused;
  int others = 0;
  drain_into(tid, ~uint64_t{0}, &worked, &unused, &others);
  api()->end_run();
  std::printf("  worker: %d samples, cpu/wall %.2f; main thread: %d\n", worked.samples,
              worked.wall ? double(worked.cpu) / double(worked.wall) : 0.0, others);
  CHECK(worked.samples >= 100);
  CHECK(worked.blocked * 10 <= worked.samples);
  CHECK(handler_is_sentinel(signum));
  give_back(signum, previous);
}

NATIVE_TEST(start_and_stop_in_a_tight_loop_leave_nothing_behind) {
  CHECK(api() != nullptr);
  if (api() == nullptr) return;
  // A signal arriving during start or stop, a stop right after a start, a
  // thread being signalled at that moment: 300 cycles at 0.1 ms.
  struct sigaction previous;
  const int signum = take_signal(&previous);
  CHECK(signum > 0);
  SpinningWorker worker;
  const int32_t tid = worker.tid();
  const int timers_before = posix_timers();
  api()->begin_run(signum);
  sl_record scratch[256];
  for (int cycle = 0; cycle < 300; ++cycle) {
    sl_cpu_config config{0.0001, signum, gettid_now(), static_cast<uint64_t>(cycle) + 1, 20000, 0};
    CHECK(sl_cpu_start(&config) == 0);
    sl_cpu_set_threads(&tid, 1);
    if (cycle % 3) spin_for(static_cast<uint64_t>(cycle % 7) * 100 * 1000);
    sl_cpu_stop();
    while (sl_drain(scratch, 256) > 0) {
    }
  }
  worker.stop();
  api()->end_run();
  CHECK(sl_cpu_running() == 0);
  CHECK(posix_timers() == timers_before);
  CHECK(handler_is_sentinel(signum));
  give_back(signum, previous);
}
