/**
 * The profile contract (schema/profile.schema.json) as TypeScript types,
 * and a checked parse of untrusted output data into them.
 */

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
  n_copy_mb_s: number;
  n_gpu_percent: number;
  n_python_fraction: number;
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
  magic: string;
  profiled_source: string;
  status: 'completed' | 'error' | 'interrupted';
  error?: string | null;
  attach_mode: string;
  memory?: {
    coverage: number | null;
    buffer_overflow: number;
    table_refused: number;
  };
  sources: { [key: string]: ISourceInfo };
  messages: string[];
  sampling: {
    interval_s: number;
    samples: number;
    timer: string;
    total_time_s: number;
    unattributed_time_s: number;
    handler_errors: number;
  };
}

/** A scalene-lab profile: Scalene's JSON plus `notebook`. */
export interface IScaleneProfile {
  program: string;
  elapsed_time_sec: number;
  memory: boolean;
  max_footprint_mb: number;
  gpu: boolean;
  files: { [key: string]: IFileProfile };
  notebook: INotebookInfo;
}

/** Raised when output data is not a profile this renderer can read. */
export class ProfileError extends Error {}

/**
 * Check that `value` has the shape the renderer reads, and return it typed.
 *
 * @throws ProfileError naming the first field that is missing or wrong.
 */
export function parseProfile(value: unknown): IScaleneProfile {
  const root = Private.object(value, 'profile');
  Private.number(root.elapsed_time_sec, 'elapsed_time_sec');
  Private.string(root.program, 'program');
  const files = Private.object(root.files, 'files');
  for (const [key, file] of Object.entries(files)) {
    const detail = Private.object(file, `files["${key}"]`);
    Private.number(detail.percent_cpu_time, `files["${key}"].percent_cpu_time`);
    for (const field of ['lines', 'functions'] as const) {
      const rows = Private.array(detail[field], `files["${key}"].${field}`);
      rows.forEach((row, i) => Private.line(row, `files["${key}"].${field}[${i}]`));
    }
    if (detail.omitted_lines !== undefined) {
      const gaps = Private.array(detail.omitted_lines, `files["${key}"].omitted_lines`);
      gaps.forEach((gap, i) => Private.gap(gap, `files["${key}"].omitted_lines[${i}]`));
    }
    if (detail.omitted_functions !== undefined) {
      const cut = Private.object(detail.omitted_functions, `files["${key}"].omitted_functions`);
      Private.number(cut.count, `files["${key}"].omitted_functions.count`);
      Private.number(cut.percent_cpu_time, `files["${key}"].omitted_functions.percent_cpu_time`);
    }
  }
  const notebook = Private.object(root.notebook, 'notebook');
  Private.string(notebook.magic, 'notebook.magic');
  Private.object(notebook.sources, 'notebook.sources');
  Private.object(notebook.sampling, 'notebook.sampling');
  Private.array(notebook.messages, 'notebook.messages');
  return value as IScaleneProfile;
}

namespace Private {
  type Json = { [key: string]: unknown };

  export function object(value: unknown, where: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ProfileError(`${where} should be an object`);
    }
    return value as Json;
  }

  export function array(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) {
      throw new ProfileError(`${where} should be a list`);
    }
    return value;
  }

  export function number(value: unknown, where: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ProfileError(`${where} should be a number`);
    }
    return value;
  }

  export function string(value: unknown, where: string): string {
    if (typeof value !== 'string') {
      throw new ProfileError(`${where} should be text`);
    }
    return value;
  }

  export function gap(value: unknown, where: string): void {
    const run = object(value, where);
    for (const field of ['first', 'last', 'sampled_lines', 'percent_cpu_time', 'n_malloc_mb']) {
      number(run[field], `${where}.${field}`);
    }
  }

  export function line(value: unknown, where: string): void {
    const row = object(value, where);
    string(row.line, `${where}.line`);
    number(row.lineno, `${where}.lineno`);
    for (const field of [
      'n_cpu_percent_python',
      'n_cpu_percent_c',
      'n_sys_percent'
    ]) {
      number(row[field], `${where}.${field}`);
    }
  }
}
