// fake_nvml.c: a stand-in for NVIDIA's NVML (libnvidia-ml.so.1), for tests.
//
// CI has no GPU, yet the GPU sampler's whole path (the real nvidia-ml-py
// binding, the sampler thread, the rendered profile) should run there. The
// binding dlopen()s "libnvidia-ml.so.1", so a directory holding this library
// first on LD_LIBRARY_PATH puts it in NVML's place. It exports the entry
// points the sampler uses, with NVML's C signatures, struct layouts, error
// codes and protocols, and reports whatever the scenario file named by
// $FAKE_NVML_SCENARIO says (README.md has the format). The file is re-read
// whenever it changes, so a test, or a cell in a profiled kernel, can change
// what the "GPU" reports while the sampler is reading it.
//
// Built by the tests (fake_nvml/__init__.py), with no library but libc's:
//   cc -shared -fPIC -O2 -Wall -Wextra -Werror -pthread
//      -Wl,-soname,libnvidia-ml.so.1 -o DIR/libnvidia-ml.so.1 fake_nvml.c
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

// ---- NVML's ABI (the subset of nvml.h this fake implements) ----

typedef enum nvmlReturn_enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

typedef enum nvmlEnableState_enum { NVML_FEATURE_DISABLED = 0, NVML_FEATURE_ENABLED = 1 } nvmlEnableState_t;

typedef struct nvmlDevice_st* nvmlDevice_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlUtilization_st {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlProcessInfo_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct nvmlAccountingStats_st {
  unsigned int gpuUtilization;
  unsigned int memoryUtilization;
  unsigned long long maxMemoryUsage;
  unsigned long long time;
  unsigned long long startTime;
  unsigned int isRunning;
  unsigned int reserved[5];
} nvmlAccountingStats_t;

// What NVML reports for an instance id on a GPU that is not MIG-partitioned.
#define NVML_VALUE_NOT_AVAILABLE_UINT 0xFFFFFFFFu

// ---- The fake's state ----

// Every exported NVML entry point, for call counting and `fail` injection.
#define FAKE_ENTRY_POINTS(X)                 \
  X(nvmlInit_v2)                             \
  X(nvmlInit)                                \
  X(nvmlInitWithFlags)                       \
  X(nvmlShutdown)                            \
  X(nvmlErrorString)                         \
  X(nvmlSystemGetDriverVersion)              \
  X(nvmlSystemGetNVMLVersion)                \
  X(nvmlDeviceGetCount_v2)                   \
  X(nvmlDeviceGetHandleByIndex_v2)           \
  X(nvmlDeviceGetName)                       \
  X(nvmlDeviceGetUUID)                       \
  X(nvmlDeviceGetMemoryInfo)                 \
  X(nvmlDeviceGetUtilizationRates)           \
  X(nvmlDeviceGetComputeRunningProcesses_v3) \
  X(nvmlDeviceGetAccountingMode)             \
  X(nvmlDeviceGetAccountingStats)

#define FAKE_ENUM(name) EP_##name,
enum entry_point { FAKE_ENTRY_POINTS(FAKE_ENUM) EP_COUNT };
#define FAKE_NAME(name) #name,
static const char* const entry_point_names[EP_COUNT] = {FAKE_ENTRY_POINTS(FAKE_NAME)};

#define MAX_DEVICES 8
#define MAX_PROCESSES 256  // per device: more than any test needs, and a scenario stays ~60 KiB
#define MAX_ACCOUNTING 256
#define NAME_SIZE 96    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
#define DRIVER_SIZE 80  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
#define DEFAULT_DRIVER "560.35.03"

struct fake_process {
  unsigned pid;
  unsigned long long bytes;
};

struct fake_accounting {
  unsigned pid;
  unsigned gpu;
  unsigned memory;
};

struct fake_device {
  char name[NAME_SIZE];
  unsigned long long memory_total;
  unsigned gpu_utilization;
  unsigned memory_utilization;
  int accounting;
  unsigned process_count;
  struct fake_process processes[MAX_PROCESSES];
  unsigned accounting_count;
  struct fake_accounting accounting_stats[MAX_ACCOUNTING];
  int fail[EP_COUNT];  // 0: no injected failure; overrides the scenario-wide entry
};

struct scenario {
  unsigned device_count;
  char driver[DRIVER_SIZE];
  int fail[EP_COUNT];
  int errors;  // directives that did not parse
  struct fake_device devices[MAX_DEVICES];
};

// Handles point here, not into a scenario, so they stay valid across reloads.
struct nvmlDevice_st {
  unsigned index;
};
static struct nvmlDevice_st device_handles[MAX_DEVICES] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};

// One lock for everything: the binding is called from a sampler thread while
// a test thread rewrites the scenario, and a call must see one scenario whole.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_refcount;
static int call_counts[EP_COUNT];
static struct scenario* current;  // NULL: no scenario file, so no devices

// What identifies the version of the file `current` was read from.
static struct {
  int present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  int racy;
} loaded;

// ---- The scenario file ----

static void set_defaults(struct scenario* s) {
  memset(s, 0, sizeof *s);
  s->device_count = 1;
  snprintf(s->driver, sizeof s->driver, "%s", DEFAULT_DRIVER);
  for (unsigned d = 0; d < MAX_DEVICES; d++) {
    snprintf(s->devices[d].name, sizeof s->devices[d].name, "%s", "NVIDIA Fake GPU");
    s->devices[d].memory_total = 81920ull << 20;
  }
}

static int find_entry_point(const char* name) {
  for (int i = 0; i < EP_COUNT; i++)
    if (strcmp(entry_point_names[i], name) == 0) return i;
  return -1;
}

static int parse_unsigned(const char* text, unsigned long max, unsigned long* out) {
  char* end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || value > max) return 0;
  *out = value;
  return 1;
}

static int parse_double(const char* text, double min, double max, double* out) {
  char* end;
  errno = 0;
  double value = strtod(text, &end);
  if (errno || end == text || *end || !(value >= min && value <= max)) return 0;
  *out = value;
  return 1;
}

// Values are never negative; rounding by hand keeps libm out of the link.
static unsigned long long round_up_half(double value) {
  return (unsigned long long)(value + 0.5);
}

static int parse_percent(const char* text, unsigned* out) {
  double value;
  if (!parse_double(text, 0.0, 100.0, &value)) return 0;
  *out = (unsigned)round_up_half(value);
  return 1;
}

static void add_process(struct fake_device* d, unsigned pid, unsigned long long bytes, int* errors) {
  for (unsigned i = 0; i < d->process_count; i++)
    if (d->processes[i].pid == pid) {
      d->processes[i].bytes = bytes;  // a pid is listed once per device, as NVML does
      return;
    }
  if (d->process_count == MAX_PROCESSES) {
    (*errors)++;
    return;
  }
  d->processes[d->process_count++] = (struct fake_process){pid, bytes};
}

static void add_accounting(struct fake_device* d, unsigned pid, unsigned gpu, unsigned memory, int* errors) {
  for (unsigned i = 0; i < d->accounting_count; i++)
    if (d->accounting_stats[i].pid == pid) {
      d->accounting_stats[i] = (struct fake_accounting){pid, gpu, memory};
      return;
    }
  if (d->accounting_count == MAX_ACCOUNTING) {
    (*errors)++;
    return;
  }
  d->accounting_stats[d->accounting_count++] = (struct fake_accounting){pid, gpu, memory};
}

// One directive: `word[@N] args…`. Returns 0 when it does not parse.
static int parse_line(struct scenario* s, char* line, unsigned* highest_device) {
  char* rest = line + strspn(line, " \t");
  char* directive = rest;
  rest += strcspn(rest, " \t");
  if (*rest) *rest++ = '\0';
  rest += strspn(rest, " \t");

  // `@N` scopes a directive to device N; without it, to every device.
  int scoped = 0;
  unsigned lo = 0, hi = MAX_DEVICES;
  char* at = strchr(directive, '@');
  if (at) {
    unsigned long index;
    *at = '\0';
    if (!parse_unsigned(at + 1, MAX_DEVICES - 1, &index)) return 0;
    scoped = 1;
    lo = (unsigned)index;
    hi = lo + 1;
    if (lo > *highest_device) *highest_device = lo;
  }

  // `name` takes the rest of the line; the others, whitespace-separated words.
  if (strcmp(directive, "name") == 0) {
    if (!*rest || strlen(rest) >= NAME_SIZE) return 0;
    for (unsigned d = lo; d < hi; d++) snprintf(s->devices[d].name, NAME_SIZE, "%s", rest);
    return 1;
  }
  char* args[4];
  int argc = 0;
  char* save = NULL;
  for (char* word = strtok_r(rest, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
    if (argc == 4) return 0;
    args[argc++] = word;
  }

  if (strcmp(directive, "devices") == 0 && !scoped && argc == 1) {
    unsigned long count;
    if (!parse_unsigned(args[0], MAX_DEVICES, &count)) return 0;
    s->device_count = (unsigned)count;
  } else if (strcmp(directive, "driver") == 0 && !scoped && argc == 1) {
    if (strlen(args[0]) >= DRIVER_SIZE - 3) return 0;  // room for the NVML version's "12." prefix
    snprintf(s->driver, sizeof s->driver, "%s", args[0]);
  } else if (strcmp(directive, "memory_total_mib") == 0 && argc == 1) {
    double mib;
    if (!parse_double(args[0], 0.0, 1 << 30, &mib)) return 0;
    for (unsigned d = lo; d < hi; d++) s->devices[d].memory_total = round_up_half(mib * 1048576.0);
  } else if (strcmp(directive, "utilization") == 0 && (argc == 1 || argc == 2)) {
    unsigned gpu, memory = 0;
    if (!parse_percent(args[0], &gpu) || (argc == 2 && !parse_percent(args[1], &memory))) return 0;
    for (unsigned d = lo; d < hi; d++) {
      s->devices[d].gpu_utilization = gpu;
      s->devices[d].memory_utilization = memory;
    }
  } else if (strcmp(directive, "process") == 0 && argc == 2) {
    unsigned long pid;
    double mib;
    if (!parse_unsigned(args[0], 0xFFFFFFFFul, &pid) || !parse_double(args[1], 0.0, 1 << 30, &mib)) return 0;
    // A process lives on one GPU: unscoped means device 0.
    add_process(&s->devices[scoped ? lo : 0], (unsigned)pid, round_up_half(mib * 1048576.0), &s->errors);
  } else if (strcmp(directive, "accounting") == 0 && argc == 1) {
    int on = strcmp(args[0], "on") == 0;
    if (!on && strcmp(args[0], "off") != 0) return 0;
    for (unsigned d = lo; d < hi; d++) s->devices[d].accounting = on;
  } else if (strcmp(directive, "accounting_utilization") == 0 && (argc == 2 || argc == 3)) {
    unsigned long pid;
    unsigned gpu, memory = 0;
    if (!parse_unsigned(args[0], 0xFFFFFFFFul, &pid) || !parse_percent(args[1], &gpu) ||
        (argc == 3 && !parse_percent(args[2], &memory)))
      return 0;
    for (unsigned d = lo; d < hi; d++) add_accounting(&s->devices[d], (unsigned)pid, gpu, memory, &s->errors);
  } else if (strcmp(directive, "fail") == 0 && argc == 2) {
    unsigned long code;
    int entry = find_entry_point(args[0]);
    // A name this fake does not export is a typo; a failure that never fires would hide it.
    if (entry < 0 || !parse_unsigned(args[1], 0x7FFFFFFF, &code)) return 0;
    if (scoped)
      s->devices[lo].fail[entry] = (int)code;
    else
      s->fail[entry] = (int)code;
  } else {
    return 0;
  }
  return 1;
}

// Parses into a fresh scenario; the caller swaps it in.
static struct scenario* read_scenario(const char* path) {
  struct scenario* s = malloc(sizeof *s);
  if (!s) return NULL;
  set_defaults(s);
  FILE* file = fopen(path, "r");
  if (!file) {
    s->device_count = 0;
    s->errors = 1;
    return s;
  }
  char* line = NULL;
  size_t capacity = 0;
  unsigned highest_device = 0;
  while (getline(&line, &capacity, file) >= 0) {
    line[strcspn(line, "#\r\n")] = '\0';
    size_t end = strlen(line);
    while (end && (line[end - 1] == ' ' || line[end - 1] == '\t')) line[--end] = '\0';
    if (line[strspn(line, " \t")] == '\0') continue;
    if (!parse_line(s, line, &highest_device)) s->errors++;
  }
  free(line);
  fclose(file);
  if (highest_device >= s->device_count && highest_device > 0) s->errors++;  // `@N` names a device that isn't there
  return s;
}

static double seconds_since(const struct timespec* then) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (double)(now.tv_sec - then->tv_sec) + (double)(now.tv_nsec - then->tv_nsec) / 1e9;
}

// Called with the lock held, once per NVML call: one stat(), and a re-read
// when the file is another version than the one loaded.
static void refresh(void) {
  const char* path = getenv("FAKE_NVML_SCENARIO");
  struct stat st;
  if (!path || !*path || stat(path, &st) != 0) {
    free(current);
    current = NULL;
    loaded.present = 0;
    return;
  }
  if (loaded.present && !loaded.racy && loaded.dev == st.st_dev && loaded.ino == st.st_ino &&
      loaded.size == st.st_size && loaded.mtime.tv_sec == st.st_mtim.tv_sec &&
      loaded.mtime.tv_nsec == st.st_mtim.tv_nsec)
    return;
  struct scenario* fresh = read_scenario(path);
  if (!fresh) return;  // out of memory: keep reporting the previous version
  free(current);
  current = fresh;
  loaded.present = 1;
  loaded.dev = st.st_dev;
  loaded.ino = st.st_ino;
  loaded.size = st.st_size;
  loaded.mtime = st.st_mtim;
  // File times tick coarsely (a jiffy): a rewrite within the same tick can
  // keep size and mtime, and an inode number can be reused. Until the tick
  // is safely past, re-read on every call rather than trust the key.
  loaded.racy = seconds_since(&st.st_mtim) < 0.1;
}

// ---- Entry points ----

// Takes the lock (the caller returns through leave()), counts the call and
// picks up a rewritten scenario.
static nvmlReturn_t begin(enum entry_point entry) {
  pthread_mutex_lock(&lock);
  call_counts[entry]++;
  refresh();
  return init_refcount ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
}

static nvmlReturn_t injected(const int* fail, enum entry_point entry) {
  return fail[entry] ? (nvmlReturn_t)fail[entry] : NVML_SUCCESS;
}

static nvmlReturn_t enter(enum entry_point entry) {
  nvmlReturn_t ret = begin(entry);
  if (ret == NVML_SUCCESS && current) ret = injected(current->fail, entry);
  return ret;
}

// As enter(), for a call on a device: a handle for a device the scenario
// lacks (it was rewritten with fewer) is an invalid argument, as NVML's
// handles for a device that is gone are.
static nvmlReturn_t enter_device(enum entry_point entry, nvmlDevice_t handle, struct fake_device** device) {
  nvmlReturn_t ret = begin(entry);
  if (ret != NVML_SUCCESS) return ret;
  unsigned index = MAX_DEVICES;
  for (unsigned i = 0; i < MAX_DEVICES; i++)
    if (handle == &device_handles[i]) index = i;
  if (!current || index >= current->device_count) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &current->devices[index];
  ret = injected((*device)->fail, entry);
  return ret != NVML_SUCCESS ? ret : injected(current->fail, entry);
}

static nvmlReturn_t leave(nvmlReturn_t ret) {
  pthread_mutex_unlock(&lock);
  return ret;
}

static nvmlReturn_t copy_string(const char* value, char* buffer, unsigned length) {
  if (!buffer) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(buffer, value, strlen(value) + 1);
  return NVML_SUCCESS;
}

static nvmlReturn_t init(enum entry_point entry) {
  pthread_mutex_lock(&lock);
  call_counts[entry]++;
  refresh();
  nvmlReturn_t ret = current ? injected(current->fail, entry) : NVML_SUCCESS;
  if (ret == NVML_SUCCESS) init_refcount++;
  return leave(ret);
}

nvmlReturn_t nvmlInit_v2(void) {
  return init(EP_nvmlInit_v2);
}
nvmlReturn_t nvmlInit(void) {
  return init(EP_nvmlInit);
}
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags;  // NO_GPUS / NO_ATTACH change nothing a fake device does
  return init(EP_nvmlInitWithFlags);
}

nvmlReturn_t nvmlShutdown(void) {
  nvmlReturn_t ret = enter(EP_nvmlShutdown);
  if (ret == NVML_SUCCESS) init_refcount--;
  return leave(ret);
}

const char* nvmlErrorString(nvmlReturn_t result) {
  pthread_mutex_lock(&lock);
  call_counts[EP_nvmlErrorString]++;
  pthread_mutex_unlock(&lock);
  switch ((int)result) {
    case 0:
      return "Success";
    case 1:
      return "Uninitialized";
    case 2:
      return "Invalid Argument";
    case 3:
      return "Not Supported";
    case 4:
      return "Insufficient Permissions";
    case 5:
      return "Already Initialized";
    case 6:
      return "Not Found";
    case 7:
      return "Insufficient Size";
    case 8:
      return "Insufficient External Power";
    case 9:
      return "Driver Not Loaded";
    case 10:
      return "Timeout";
    case 11:
      return "Interrupt Request Issue";
    case 12:
      return "NVML Shared Library Not Found";
    case 13:
      return "Function Not Found";
    case 14:
      return "Corrupted infoROM";
    case 15:
      return "GPU is lost";
    case 16:
      return "GPU requires restart";
    case 17:
      return "The operating system has blocked the request.";
    case 18:
      return "RM has detected an NVML/RM version mismatch.";
    case 20:
      return "Insufficient Memory";
    default:
      return "Unknown Error";
  }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  nvmlReturn_t ret = enter(EP_nvmlSystemGetDriverVersion);
  if (ret == NVML_SUCCESS) ret = copy_string(current ? current->driver : DEFAULT_DRIVER, version, length);
  return leave(ret);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  nvmlReturn_t ret = enter(EP_nvmlSystemGetNVMLVersion);
  if (ret == NVML_SUCCESS) {
    // NVML's version is the CUDA major version, then the driver's.
    char text[DRIVER_SIZE + 3];
    snprintf(text, sizeof text, "12.%s", current ? current->driver : DEFAULT_DRIVER);
    ret = copy_string(text, version, length);
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* device_count) {
  nvmlReturn_t ret = enter(EP_nvmlDeviceGetCount_v2);
  if (ret == NVML_SUCCESS) {
    if (!device_count)
      ret = NVML_ERROR_INVALID_ARGUMENT;
    else
      *device_count = current ? current->device_count : 0;
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  nvmlReturn_t ret = enter(EP_nvmlDeviceGetHandleByIndex_v2);
  if (ret == NVML_SUCCESS) {
    if (!device || !current || index >= current->device_count)
      ret = NVML_ERROR_INVALID_ARGUMENT;
    else
      *device = &device_handles[index];
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t handle, char* name, unsigned int length) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetName, handle, &device);
  if (ret == NVML_SUCCESS) ret = copy_string(device->name, name, length);
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t handle, char* uuid, unsigned int length) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetUUID, handle, &device);
  if (ret == NVML_SUCCESS) {
    char text[48];
    snprintf(text, sizeof text, "GPU-fa4e0000-0000-0000-0000-%012u", handle->index);
    ret = copy_string(text, uuid, length);
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t handle, nvmlMemory_t* memory) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetMemoryInfo, handle, &device);
  if (ret == NVML_SUCCESS) {
    if (!memory) return leave(NVML_ERROR_INVALID_ARGUMENT);
    // Used memory is what the listed processes use.
    unsigned long long used = 0;
    for (unsigned i = 0; i < device->process_count; i++) used += device->processes[i].bytes;
    if (used > device->memory_total) used = device->memory_total;
    memory->total = device->memory_total;
    memory->used = used;
    memory->free = device->memory_total - used;
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t handle, nvmlUtilization_t* utilization) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetUtilizationRates, handle, &device);
  if (ret == NVML_SUCCESS) {
    if (!utilization) return leave(NVML_ERROR_INVALID_ARGUMENT);
    utilization->gpu = device->gpu_utilization;
    utilization->memory = device->memory_utilization;
  }
  return leave(ret);
}

// NVML's two-call protocol: ask with no array (or too small a one) and learn
// the count from INSUFFICIENT_SIZE; SUCCESS with 0 when nothing runs.
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t handle, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetComputeRunningProcesses_v3, handle, &device);
  if (ret != NVML_SUCCESS) return leave(ret);
  if (!count) return leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned have = device->process_count;
  if (have == 0) {
    *count = 0;
    return leave(NVML_SUCCESS);
  }
  if (!infos || *count < have) {
    *count = have;
    return leave(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  for (unsigned i = 0; i < have; i++)
    infos[i] = (nvmlProcessInfo_t){device->processes[i].pid, device->processes[i].bytes, NVML_VALUE_NOT_AVAILABLE_UINT,
                                   NVML_VALUE_NOT_AVAILABLE_UINT};
  *count = have;
  return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetAccountingMode(nvmlDevice_t handle, nvmlEnableState_t* mode) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetAccountingMode, handle, &device);
  if (ret == NVML_SUCCESS) {
    if (!mode) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *mode = device->accounting ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  }
  return leave(ret);
}

nvmlReturn_t nvmlDeviceGetAccountingStats(nvmlDevice_t handle, unsigned int pid, nvmlAccountingStats_t* stats) {
  struct fake_device* device;
  nvmlReturn_t ret = enter_device(EP_nvmlDeviceGetAccountingStats, handle, &device);
  if (ret != NVML_SUCCESS) return leave(ret);
  if (!stats) return leave(NVML_ERROR_INVALID_ARGUMENT);
  // As NVML: no stats at all while accounting mode is off.
  if (!device->accounting) return leave(NVML_ERROR_NOT_SUPPORTED);
  for (unsigned i = 0; i < device->accounting_count; i++) {
    if (device->accounting_stats[i].pid != pid) continue;
    memset(stats, 0, sizeof *stats);
    stats->gpuUtilization = device->accounting_stats[i].gpu;
    stats->memoryUtilization = device->accounting_stats[i].memory;
    for (unsigned p = 0; p < device->process_count; p++)
      if (device->processes[p].pid == pid) {
        stats->maxMemoryUsage = device->processes[p].bytes;
        stats->isRunning = 1;
      }
    return leave(NVML_SUCCESS);
  }
  return leave(NVML_ERROR_NOT_FOUND);
}

// ---- Test-only exports ----

// How many times an NVML entry point was called since load or the last reset.
int fakeNvmlCallCount(const char* function_name) {
  int entry = function_name ? find_entry_point(function_name) : -1;
  if (entry < 0) return 0;
  pthread_mutex_lock(&lock);
  int count = call_counts[entry];
  pthread_mutex_unlock(&lock);
  return count;
}

void fakeNvmlResetCounts(void) {
  pthread_mutex_lock(&lock);
  memset(call_counts, 0, sizeof call_counts);
  pthread_mutex_unlock(&lock);
}

// Directives in the current scenario file that did not parse (0 when absent).
int fakeNvmlScenarioErrors(void) {
  pthread_mutex_lock(&lock);
  refresh();
  int errors = current ? current->errors : 0;
  pthread_mutex_unlock(&lock);
  return errors;
}
