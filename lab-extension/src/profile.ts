/**
 * The profile contract (schema/profile.schema.json) as TypeScript types,
 * and a checked parse of untrusted output data into them.
 */
import { ProfileError, validateProfile } from './validate';

/** The MIME type that carries a scalene-lab profile. */
export const PROFILE_MIME_TYPE = 'application/vnd.scalene.profile+json';

/** Per-line (and per-function) figures, as in Scalene's JSON. */
export interface ILineProfile {
  line: string;
  lineno: number;
  n_cpu_percent_python: number;
  n_cpu_percent_c: number;
  n_sys_percent: number;
  n_core_utilization: number;
  cpu_samples_list: number[];
  n_malloc_mb: number;
  /** Beyond Scalene: gross allocation, temporaries included (absent in Scalene's own profiles). */
  n_churn_mb?: number;
  n_peak_mb: number;
  n_avg_mb: number;
  n_usage_fraction: number;
  n_copy_mb_s: number;
  n_gpu_percent: number;
  n_gpu_peak_memory_mb: number;
  /** Beyond Scalene, with PyTorch's CUDA in use: the most its allocator held for tensors at this line's samples. */
  n_gpu_torch_allocated_mb?: number;
  /** Beyond Scalene, with PyTorch's CUDA in use: the most its allocator had reserved (what NVML sees). */
  n_gpu_torch_reserved_mb?: number;
  n_python_fraction: number;
  /** [time, footprint MB] pairs: the line's memory over time. */
  memory_samples: number[][];
}

/**
 * A run of lines the profile has no record for (beyond Scalene: scalene-lab
 * keeps records for sampled lines and their context, not for every line).
 * The counts are zero unless the output cap left sampled lines out.
 */
export interface IOmittedLines {
  first: number;
  last: number;
  sampled_lines: number;
  percent_cpu_time: number;
  n_malloc_mb: number;
}

/** One source (a cell or a file) of the profile. */
export interface IFileProfile {
  percent_cpu_time: number;
  lines: ILineProfile[];
  functions: ILineProfile[];
  imports: string[];
  /** Likely leaks by line number: Scalene's likelihood and growth rate. */
  leaks: { [lineno: string]: { likelihood: number; velocity_mb_s: number } };
  omitted_lines?: IOmittedLines[];
  omitted_functions?: { count: number; percent_cpu_time: number };
}

/** Where a source came from, from the profile's `notebook` object. */
export interface ISourceInfo {
  kind: 'cell' | 'file';
  filename: string;
  profiled: boolean;
  execution_count?: number | null;
  cell_id?: string | null;
}

/** The notebook facts scalene-lab adds to Scalene's fields. */
export interface INotebookInfo {
  /** `%%scalene` or `%scrun`; `Scalene` for a plain Scalene profile. */
  magic: string;
  profiled_source: string;
  status: 'completed' | 'error' | 'interrupted';
  error?: string | null;
  /** `cpu-only`, `hot-attach` or `preload`; `scalene` for a plain Scalene profile with memory. */
  attach_mode: string;
  memory?: {
    coverage: number | null;
    buffer_overflow: number;
    table_refused: number;
  };
  /** The run's options (`argv`: the magic's option tokens as typed). */
  options?: { argv?: string[]; [key: string]: unknown };
  /** When the GPU was profiled: the devices NVML found and how the reads went. */
  gpu?: {
    devices: string[];
    driver?: string;
    per_process_utilization: boolean;
    reads: number;
    read_errors: number;
    torch?: boolean;
  };
  sources: { [key: string]: ISourceInfo };
  messages: string[];
  /** Null for a plain Scalene profile, which does not report its sampling. */
  sampling: {
    interval_s: number;
    samples: number;
    timer: string;
    total_time_s: number;
    unattributed_time_s: number;
    handler_errors: number;
  } | null;
}

/**
 * A scalene-lab profile: Scalene's JSON plus `notebook`. A profile written
 * by Scalene's own CLI has no `notebook`.
 */
export interface IScaleneProfile {
  program: string;
  elapsed_time_sec: number;
  memory: boolean;
  max_footprint_mb: number;
  max_footprint_python_fraction: number;
  max_footprint_fname: string | null;
  max_footprint_lineno: number | null;
  growth_rate: number;
  /** [time, footprint MB] pairs: the whole run's memory over time. */
  samples: number[][];
  gpu: boolean;
  files: { [key: string]: IFileProfile };
  notebook?: INotebookInfo;
}

export { ProfileError };

/**
 * Check `value` against the profile contract and return it typed.
 *
 * @throws ProfileError naming the first field that is missing or wrong.
 */
export function parseProfile(value: unknown): IScaleneProfile {
  validateProfile(value);
  return value as IScaleneProfile;
}

const CHECKED = new WeakMap<object, IScaleneProfile | string>();

/**
 * The profile in an output's data, checked once per data object however
 * many readers (the inline view, the sidebar, the heat) ask: a profile of
 * 1,000 lines takes milliseconds to check, and a notebook may hold fifty.
 * Output data is never changed in place (a new output is a new object).
 *
 * @returns the profile, or the reason it cannot be read.
 */
export function checkedProfile(value: unknown): IScaleneProfile | string {
  const key = typeof value === 'object' && value !== null ? value : null;
  const known = key ? CHECKED.get(key) : undefined;
  if (known !== undefined) {
    return known;
  }
  let result: IScaleneProfile | string;
  try {
    result = parseProfile(value);
  } catch (error) {
    result = error instanceof Error ? error.message : String(error);
  }
  if (key) {
    CHECKED.set(key, result);
  }
  return result;
}

/**
 * The notebook facts of `profile`; for a plain Scalene profile, those of a
 * completed run of its program, every source a file.
 */
export function notebookFacts(profile: IScaleneProfile): INotebookInfo {
  if (profile.notebook) {
    return profile.notebook;
  }
  const keys = Object.keys(profile.files);
  return {
    magic: 'Scalene',
    profiled_source: keys[0] ?? profile.program,
    status: 'completed',
    attach_mode: profile.memory ? 'scalene' : 'cpu-only',
    sources: {},
    messages: [],
    sampling: null
  };
}

/**
 * The sources of `profile` in the order the kernel gives them, whatever
 * order the keys came in (saving a notebook sorts them): the profiled
 * source first, then by share of time, then by key.
 */
export function orderedSources(profile: IScaleneProfile): string[] {
  const first = notebookFacts(profile).profiled_source;
  return Object.keys(profile.files).sort((a, b) => {
    if ((a === first) !== (b === first)) {
      return a === first ? -1 : 1;
    }
    const share = profile.files[b].percent_cpu_time - profile.files[a].percent_cpu_time;
    return share !== 0 ? share : a < b ? -1 : a > b ? 1 : 0;
  });
}
