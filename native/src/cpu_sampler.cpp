// cpu_sampler.cpp: the timer, the signal handler and its bookkeeping (see
// cpu_sampler.hpp). The handler is async-signal-safe: clock_gettime,
// timer_settime, tgkill, the frame reader and the lock-free record arena.
#include "cpu_sampler.hpp"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fault_guard.hpp"
#include "python_frames.hpp"
#include "state.hpp"

namespace scalene_lab {

namespace {

constexpr size_t kMaxThreads = 256;
constexpr uint64_t kRetripNs = 5000000;  // an unanswered drain request is made again after 5 ms
// Disarming waits at most this for cell threads' pending signals: only while
// one is pending, which takes a thread the scheduler has not run yet. 0.5 s
// was not always enough on two loaded cores with eight busy cell threads (a
// signal still pending when the default action came back ended the kernel).
constexpr uint64_t kSettleLimitNs = 5000000000;
constexpr size_t kMaxRanges = 32;

struct Range {
  uint64_t start;
  uint64_t end;
  int where;  // SL_WHERE_INTERPRETER or SL_WHERE_C_LIBRARY
};

struct CpuState {
  std::atomic<bool> active{false};
  std::atomic<int> in_handler{0};  // handlers between their active check and their return
  int signal_number = 0;
  int main_tid = 0;
  double interval = 0.01;
  uint64_t rng = 1;
  uint64_t drain_interval_ns = 20000000;
  uint64_t last_drain_ns = 0;
  uint64_t generation = 0;
  uint64_t start_ns = 0;
  std::atomic<uint64_t> last_tick_ns{0};
  timer_t timer{};
  bool have_timer = false;
  struct sigaction previous{};
  bool installed = false;
  int32_t threads[kMaxThreads] = {};
  std::atomic<size_t> thread_count{0};
  std::atomic<uint64_t> samples{0};
  std::atomic<uint64_t> thread_signals{0};
  Range ranges[kMaxRanges] = {};
  size_t range_count = 0;
};

CpuState g_cpu;

// Per thread: where its previous sample left its clocks, and the time the
// profiler's own code (the drain, on the main thread) has run since then,
// which no sample charges to the user.
struct ThreadClock {
  uint64_t generation = 0;
  uint64_t last_wall = 0;
  uint64_t last_cpu = 0;
  bool in_profiler = false;
  uint64_t profiler_wall = 0;  // when the profiler's current stretch began (or was last sampled)
  uint64_t profiler_cpu = 0;
  uint64_t excluded_wall = 0;  // finished stretches since the previous sample
  uint64_t excluded_cpu = 0;
};

thread_local ThreadClock t_clock __attribute__((tls_model("initial-exec")));

uint64_t read_clock(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int gettid_now() {
  return static_cast<int>(syscall(SYS_gettid));
}

// xorshift64*: a draw in (0, 1] for the exponential jitter.
double next_uniform() {
  uint64_t x = g_cpu.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  g_cpu.rng = x;
  return (static_cast<double>((x * 2685821657736338717ull) >> 11) + 1.0) / 9007199254740993.0;
}

void set_timespec(timespec* spec, double seconds) {
  const double whole = std::floor(seconds);
  spec->tv_sec = static_cast<time_t>(whole);
  spec->tv_nsec = static_cast<long>((seconds - whole) * 1e9);
  if (spec->tv_sec == 0 && spec->tv_nsec == 0) spec->tv_nsec = 1;
}

// Next expiry: exponential with the mean interval, at least 5% of it (a tiny
// draw must not flood the thread); then every mean interval until re-armed.
void arm_next() {
  double first = -std::log(next_uniform()) * g_cpu.interval;
  if (first < 0.05 * g_cpu.interval) first = 0.05 * g_cpu.interval;
  itimerspec spec{};
  set_timespec(&spec.it_value, first);
  set_timespec(&spec.it_interval, g_cpu.interval);
  timer_settime(g_cpu.timer, 0, &spec, nullptr);
}

uint64_t program_counter(void* context) {
  const ucontext_t* uc = static_cast<const ucontext_t*>(context);
  if (uc == nullptr) return 0;
#if defined(__x86_64__)
  return static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<uint64_t>(uc->uc_mcontext.pc);
#else
  return 0;
#endif
}

// Whether the signal interrupted a system call the thread was blocked in
// (sleep, a lock, I/O): the kernel hands the handler a context whose program
// counter is just past (or, to restart, at) the syscall instruction, with
// -EINTR in the result register in the first case.
bool interrupted_syscall(void* context) {
  const ucontext_t* uc = static_cast<const ucontext_t*>(context);
  if (uc == nullptr) return false;
#if defined(__x86_64__)
  const uint8_t* pc = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  const long result = static_cast<long>(uc->uc_mcontext.gregs[REG_RAX]);
  if (pc == nullptr) return false;
  return (result == -EINTR && pc[-2] == 0x0f && pc[-1] == 0x05) || (pc[0] == 0x0f && pc[1] == 0x05);
#elif defined(__aarch64__)
  const uint32_t* pc = reinterpret_cast<const uint32_t*>(uc->uc_mcontext.pc);
  const long result = static_cast<long>(uc->uc_mcontext.regs[0]);
  if (pc == nullptr) return false;
  constexpr uint32_t kSvc0 = 0xd4000001;
  return (result == -EINTR && pc[-1] == kSvc0) || pc[0] == kSvc0;
#else
  return false;
#endif
}

void take_sample(int tid, bool is_main, void* context) {
  const uint64_t now = read_clock(CLOCK_MONOTONIC);
  const uint64_t cpu = read_clock(CLOCK_THREAD_CPUTIME_ID);
  ThreadClock& clock = t_clock;
  sl_record record{};
  record.kind = SL_CPU;
  record.tid = static_cast<uint32_t>(tid);
  record.time_ns = now;
  record.cpu_ns = cpu;
  record.process_cpu_ns = read_clock(CLOCK_PROCESS_CPUTIME_ID);
  if (clock.generation == g_cpu.generation) {
    // The interval since the previous sample, less the profiler's own time
    // in it (reported in `bytes`); inside a stretch of the profiler, only
    // the part before the stretch began is the user's.
    const uint64_t end_wall = clock.in_profiler ? clock.profiler_wall : now;
    const uint64_t end_cpu = clock.in_profiler ? clock.profiler_cpu : cpu;
    const uint64_t wall = end_wall > clock.last_wall ? end_wall - clock.last_wall : 0;
    const uint64_t used = end_cpu > clock.last_cpu ? end_cpu - clock.last_cpu : 0;
    record.wall_ns = wall > clock.excluded_wall ? wall - clock.excluded_wall : 0;
    record.thread_cpu_ns = used > clock.excluded_cpu ? used - clock.excluded_cpu : 0;
    record.bytes = (now - clock.last_wall) - record.wall_ns;
  } else {
    // A thread's first sample of this run: the main thread counts from the
    // start; a cell thread from the previous tick that could have reached it.
    const uint64_t since = is_main ? g_cpu.start_ns : g_cpu.last_tick_ns.load(std::memory_order_relaxed);
    record.wall_ns = now > since ? now - since : 0;
    record.thread_cpu_ns = cpu < record.wall_ns ? cpu : record.wall_ns;
    clock.generation = g_cpu.generation;
    clock.in_profiler = false;
  }
  clock.last_wall = now;
  clock.last_cpu = cpu;
  clock.excluded_wall = clock.excluded_cpu = 0;
  if (clock.in_profiler) {
    clock.profiler_wall = now;  // the rest of this stretch is excluded from the next sample
    clock.profiler_cpu = cpu;
  }
  record.python = static_cast<uint8_t>(classify_pc(program_counter(context)));
  if (interrupted_syscall(context)) record.flags |= SL_FLAG_BLOCKED;
  capture_stack(python_layout(), current_thread_state(), &record);
  state().records.push(record);
  g_cpu.samples.fetch_add(1, std::memory_order_relaxed);
}

void on_signal(int signum, siginfo_t* info, void* context) {
  (void)signum;
  (void)info;
  const int saved_errno = errno;
  g_cpu.in_handler.fetch_add(1, std::memory_order_acq_rel);
  if (g_cpu.active.load(std::memory_order_acquire)) {
    const int tid = gettid_now();
    const bool is_main = tid == g_cpu.main_tid;
    if (is_main) {
      arm_next();
      g_cpu.last_tick_ns.store(read_clock(CLOCK_MONOTONIC), std::memory_order_relaxed);
      const size_t count = g_cpu.thread_count.load(std::memory_order_acquire);
      const pid_t pid = getpid();
      for (size_t i = 0; i < count; ++i) {
        if (syscall(SYS_tgkill, pid, g_cpu.threads[i], g_cpu.signal_number) == 0) {
          g_cpu.thread_signals.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    take_sample(tid, is_main, context);
    if (is_main) {
      const uint64_t now = read_clock(CLOCK_MONOTONIC);
      if (now - g_cpu.last_drain_ns >= g_cpu.drain_interval_ns) {
        g_cpu.last_drain_ns = now;
        request_drain();
      }
    }
  }
  g_cpu.in_handler.fetch_sub(1, std::memory_order_acq_rel);
  errno = saved_errno;
}

// Whether thread `tid` of this process has `signum` pending (its SigPnd
// mask in /proc); false once the thread is gone.
bool signal_pending_on(int tid, int signum) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[4096];
  const ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return false;
  text[length] = '\0';
  const char* line = std::strstr(text, "\nSigPnd:");
  if (line == nullptr) return false;
  const uint64_t pending = std::strtoull(line + 8, nullptr, 16);
  return signum >= 1 && signum <= 64 && ((pending >> (signum - 1)) & 1) != 0;
}

int find_ranges(dl_phdr_info* info, size_t, void* self_base) {
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  // This library counts with the C library: its allocation hooks run for
  // whoever allocates (a pure-Python loop's int objects pass through them).
  const bool self = reinterpret_cast<void*>(info->dlpi_addr) == self_base;
  // The interpreter (the executable or libpython) runs on behalf of the
  // current bytecode unless that bytecode is a call; the C runtime runs for
  // whoever called it, the interpreter or an extension.
  const bool interpreter = name[0] == '\0' || std::strstr(name, "libpython");
  const bool c_library = self || std::strstr(name, "/libc.so") || std::strstr(name, "/libm.so") ||
                         std::strstr(name, "/libpthread") || std::strstr(name, "linux-vdso") ||
                         std::strstr(name, "/ld-linux");
  if (!interpreter && !c_library) return 0;
  for (int i = 0; i < info->dlpi_phnum && g_cpu.range_count < kMaxRanges; ++i) {
    const ElfW(Phdr) & header = info->dlpi_phdr[i];
    if (header.p_type != PT_LOAD || !(header.p_flags & PF_X)) continue;
    const uint64_t start = info->dlpi_addr + header.p_vaddr;
    g_cpu.ranges[g_cpu.range_count++] =
        Range{start, start + header.p_memsz, interpreter ? SL_WHERE_INTERPRETER : SL_WHERE_C_LIBRARY};
  }
  return 0;
}

}  // namespace

void find_interpreter_ranges() {
  g_cpu.range_count = 0;
  Dl_info self{};
  dladdr(reinterpret_cast<void*>(&find_ranges), &self);
  dl_iterate_phdr(&find_ranges, self.dli_fbase);
}

int classify_pc(uint64_t pc) {
  if (pc == 0) return SL_WHERE_INTERPRETER;
  for (size_t i = 0; i < g_cpu.range_count; ++i) {
    if (pc >= g_cpu.ranges[i].start && pc < g_cpu.ranges[i].end) return g_cpu.ranges[i].where;
  }
  return SL_WHERE_LIBRARY;
}

void request_drain() {
  const sl_python_layout& layout = python_layout();
  State& shared = state();
  const int signum = shared.signal_number.load(std::memory_order_relaxed);
  if (layout.set_interrupt == 0 || signum <= 0) return;
  // One trip until the drain runs, so a full buffer does not trip the
  // handler at every push; but a trip can be swallowed (it lands while the
  // drain runs, whose re-entry guard returns at once, and nothing takes the
  // records it was for), so an outstanding trip is renewed after kRetripNs.
  const uint64_t now = read_clock(CLOCK_MONOTONIC);
  uint64_t tripped = shared.trip_pending_ns.load(std::memory_order_acquire);
  if (tripped != 0 && now - tripped < kRetripNs) return;
  if (!shared.trip_pending_ns.compare_exchange_strong(tripped, now, std::memory_order_acq_rel))
    return;  // another thread tripped it
  reinterpret_cast<int (*)(int)>(layout.set_interrupt)(signum);
}

bool cpu_start(const sl_cpu_config& config) {
  if (g_cpu.installed) return true;
  if (!acquire_fault_guard()) return false;
  find_interpreter_ranges();
  g_cpu.signal_number = config.signal_number;
  g_cpu.main_tid = config.main_tid;
  g_cpu.interval = config.interval_s > 0 ? config.interval_s : 0.01;
  g_cpu.rng = config.seed | 1;
  g_cpu.drain_interval_ns = uint64_t{config.drain_interval_us ? config.drain_interval_us : 20000} * 1000;
  g_cpu.last_drain_ns = 0;
  g_cpu.generation += 1;
  g_cpu.thread_count.store(0, std::memory_order_relaxed);
  g_cpu.samples.store(0, std::memory_order_relaxed);
  g_cpu.thread_signals.store(0, std::memory_order_relaxed);
  // The signal stays blocked on this thread while the handler and the timer
  // go in, so no expiry can find one without the other.
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, config.signal_number);
  pthread_sigmask(SIG_BLOCK, &block, &saved);
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = &on_signal;
  // No SA_RESTART, as CPython's own handler: a blocking wait (a lock, a
  // join, a sleep) returns EINTR, so CPython runs the drain handler in it.
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(config.signal_number, &action, &g_cpu.previous) != 0) {
    const int error = errno;
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    release_fault_guard();
    errno = error;
    return false;
  }
  sigevent event{};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = config.signal_number;
  event._sigev_un._tid = config.main_tid;
  if (timer_create(CLOCK_MONOTONIC, &event, &g_cpu.timer) != 0) {
    const int error = errno;
    sigaction(config.signal_number, &g_cpu.previous, nullptr);
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    release_fault_guard();
    errno = error;
    return false;
  }
  g_cpu.have_timer = true;
  g_cpu.installed = true;
  g_cpu.start_ns = read_clock(CLOCK_MONOTONIC);
  g_cpu.last_tick_ns.store(g_cpu.start_ns, std::memory_order_relaxed);
  t_clock.generation = g_cpu.generation;  // the main thread counts from now
  t_clock.last_wall = g_cpu.start_ns;
  t_clock.last_cpu = read_clock(CLOCK_THREAD_CPUTIME_ID);
  g_cpu.active.store(true, std::memory_order_release);
  arm_next();
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return true;
}

void cpu_stop() {
  if (!g_cpu.installed) return;
  const int signum = g_cpu.signal_number;
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, signum);
  pthread_sigmask(SIG_BLOCK, &block, &saved);
  g_cpu.active.store(false, std::memory_order_release);
  if (g_cpu.have_timer) {
    timer_delete(g_cpu.timer);
    g_cpu.have_timer = false;
  }
  const size_t signalled = g_cpu.thread_count.load(std::memory_order_acquire);
  g_cpu.thread_count.store(0, std::memory_order_release);
  // Handlers already past their check on other threads finish first; after
  // that nothing sends the signal any more.
  while (g_cpu.in_handler.load(std::memory_order_acquire) != 0) sched_yield();
  // Instances still queued for this thread are consumed here. A cell thread
  // runs its instance when it is next scheduled, which on a busy machine can
  // be many milliseconds away; the previous handler (the default one ends
  // the process) goes back only once none of them has it pending.
  const timespec zero{0, 0};
  while (sigtimedwait(&block, nullptr, &zero) > 0) {
  }
  if (g_cpu.thread_signals.load(std::memory_order_relaxed) != 0) {
    const uint64_t give_up = read_clock(CLOCK_MONOTONIC) + kSettleLimitNs;
    const timespec pause{0, 100000};
    for (size_t i = 0; i < signalled; ++i) {
      while (signal_pending_on(g_cpu.threads[i], signum) && read_clock(CLOCK_MONOTONIC) < give_up)
        nanosleep(&pause, nullptr);
    }
    while (sigtimedwait(&block, nullptr, &zero) > 0) {
    }
  }
  sigaction(signum, &g_cpu.previous, nullptr);
  g_cpu.installed = false;
  release_fault_guard();
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

bool cpu_running() {
  return g_cpu.installed;
}

void cpu_set_threads(const int32_t* tids, size_t count) {
  if (count > kMaxThreads) count = kMaxThreads;
  // Written on the main thread, where the handler also reads it: block the
  // signal so the handler never sees a half-written set.
  sigset_t block, saved;
  sigemptyset(&block);
  if (g_cpu.signal_number > 0) sigaddset(&block, g_cpu.signal_number);
  pthread_sigmask(SIG_BLOCK, &block, &saved);
  g_cpu.thread_count.store(0, std::memory_order_release);
  for (size_t i = 0; i < count; ++i) g_cpu.threads[i] = tids[i];
  g_cpu.thread_count.store(count, std::memory_order_release);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

void cpu_profiler_enter() {
  ThreadClock& clock = t_clock;
  if (clock.in_profiler) return;
  clock.profiler_wall = read_clock(CLOCK_MONOTONIC);
  clock.profiler_cpu = read_clock(CLOCK_THREAD_CPUTIME_ID);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the start is written before the handler can see the flag
  clock.in_profiler = true;
}

void cpu_profiler_exit() {
  ThreadClock& clock = t_clock;
  if (!clock.in_profiler) return;
  const uint64_t wall = read_clock(CLOCK_MONOTONIC);
  const uint64_t cpu = read_clock(CLOCK_THREAD_CPUTIME_ID);
  clock.in_profiler = false;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // A sample in between moved the stretch's start to its own instant.
  if (wall > clock.profiler_wall) clock.excluded_wall += wall - clock.profiler_wall;
  if (cpu > clock.profiler_cpu) clock.excluded_cpu += cpu - clock.profiler_cpu;
}

uint64_t cpu_samples() {
  return g_cpu.samples.load(std::memory_order_relaxed);
}

uint64_t cpu_thread_signals() {
  return g_cpu.thread_signals.load(std::memory_order_relaxed);
}

}  // namespace scalene_lab
