// fault_guard.cpp: the SIGSEGV/SIGBUS side of fault_guard.hpp. The handler
// is installed with SA_NODEFER, so the signal mask inside it is the one of
// the interrupted code, and jumping back with a plain (mask-less) siglongjmp
// leaves the mask exactly as it was.
#include "fault_guard.hpp"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cstring>

namespace scalene_lab {

namespace {

struct GuardFrame {
  sigjmp_buf env;
  GuardFrame* outer;
};

thread_local GuardFrame* t_guard __attribute__((tls_model("initial-exec"))) = nullptr;

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;  // install/remove only, never in a handler
int g_users = 0;
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

void on_fault(int signum, siginfo_t* info, void* context);

void chain(int signum, siginfo_t* info, void* context) {
  const struct sigaction& previous = signum == SIGSEGV ? g_previous_segv : g_previous_bus;
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) previous.sa_sigaction(signum, info, context);
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  if (previous.sa_handler == SIG_DFL) {
    // Put the default back and return: the faulting instruction runs again
    // and the process ends as it would have without us.
    sigaction(signum, &previous, nullptr);
    return;
  }
  previous.sa_handler(signum);
}

void on_fault(int signum, siginfo_t* info, void* context) {
  GuardFrame* guard = t_guard;
  if (guard != nullptr) {
    t_guard = guard->outer;
    siglongjmp(guard->env, 1);
  }
  chain(signum, info, context);
}

bool install(int signum, struct sigaction* previous) {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = &on_fault;
  action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  return sigaction(signum, &action, previous) == 0;
}

void restore(int signum, const struct sigaction& previous) {
  struct sigaction current;
  if (sigaction(signum, nullptr, &current) != 0) return;
  // Someone installed their own handler since: theirs stays, and it chains
  // to ours or not as it chooses.
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &on_fault) sigaction(signum, &previous, nullptr);
}

}  // namespace

bool acquire_fault_guard() {
  pthread_mutex_lock(&g_lock);
  bool ok = true;
  if (g_users == 0) {
    ok = install(SIGSEGV, &g_previous_segv);
    if (ok && !install(SIGBUS, &g_previous_bus)) {
      restore(SIGSEGV, g_previous_segv);
      ok = false;
    }
  }
  if (ok) ++g_users;
  pthread_mutex_unlock(&g_lock);
  return ok;
}

void release_fault_guard() {
  pthread_mutex_lock(&g_lock);
  if (g_users > 0 && --g_users == 0) {
    restore(SIGBUS, g_previous_bus);
    restore(SIGSEGV, g_previous_segv);
  }
  pthread_mutex_unlock(&g_lock);
}

bool run_guarded(void (*fn)(void*), void* context) {
  GuardFrame frame;
  frame.outer = t_guard;
  if (sigsetjmp(frame.env, 0) != 0) return false;  // on_fault already popped the frame
  t_guard = &frame;
  fn(context);
  t_guard = frame.outer;
  return true;
}

}  // namespace scalene_lab
