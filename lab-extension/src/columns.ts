/**
 * The columns of a profile table, as Scalene's web GUI has them: time, the
 * memory figures, copy volume, core and GPU use. A column none of whose rows
 * has data in this profile is left out.
 */
import { ILineProfile, IScaleneProfile } from './profile';

/** How a column's cells are drawn. */
export type ColumnKind = 'lineno' | 'bar' | 'percent' | 'megabytes' | 'sparkline' | 'source';

/** One column of a line or function table. */
export interface IColumn {
  /** Stable id, also the cells' `data-column`. */
  readonly id: string;
  /** Header text. */
  readonly label: string;
  /** What the column means, shown on hover over the header. */
  readonly description: string;
  readonly kind: ColumnKind;
  /** The number the column shows and sorts by. */
  value(row: ILineProfile): number;
}

/** The three kinds of CPU time, in drawing order. */
export const TIME_KINDS = [
  { key: 'n_cpu_percent_python', label: 'Python', css: 'python' },
  { key: 'n_cpu_percent_c', label: 'Native', css: 'native' },
  { key: 'n_sys_percent', label: 'System', css: 'system' }
] as const;

/** A line's CPU time in percent of the run: Python + native + system. */
export function totalTime(row: ILineProfile): number {
  return TIME_KINDS.reduce((sum, kind) => sum + (row[kind.key] ?? 0), 0);
}

function field(key: keyof ILineProfile, scale = 1): (row: ILineProfile) => number {
  return row => {
    const value = row[key];
    return typeof value === 'number' ? value * scale : 0;
  };
}

/** Every column this renderer knows, in display order. */
export const ALL_COLUMNS: readonly IColumn[] = [
  {
    id: 'lineno',
    label: 'Line',
    description: 'Line number in its cell or file',
    kind: 'lineno',
    value: field('lineno')
  },
  {
    id: 'time',
    label: 'Time',
    description: 'Share of the run: Python, native and system time',
    kind: 'bar',
    value: totalTime
  },
  ...TIME_KINDS.map(kind => ({
    id: kind.css,
    label: kind.label,
    description: `${kind.label} time, percent of the run`,
    kind: 'percent' as const,
    value: field(kind.key)
  })),
  {
    id: 'peak',
    label: 'Peak MB',
    description: 'Peak memory the line held',
    kind: 'megabytes',
    value: field('n_peak_mb')
  },
  {
    id: 'average',
    label: 'Avg MB',
    description: 'Average memory the line held',
    kind: 'megabytes',
    value: field('n_avg_mb')
  },
  {
    id: 'timeline',
    label: 'Timeline',
    description:
      "The line's memory footprint over the run (sorts by its peak); a leak mark where Scalene's leak test flags the line",
    kind: 'sparkline',
    value: row => (row.memory_samples ?? []).reduce((peak, point) => Math.max(peak, point[1] ?? 0), 0)
  },
  {
    id: 'activity',
    label: 'Mem %',
    description: 'Share of all memory activity (allocation and free) on this line',
    kind: 'percent',
    value: field('n_usage_fraction', 100)
  },
  {
    id: 'pythonMemory',
    label: 'Py mem %',
    description: "Share of the line's allocation made by Python (the rest is native)",
    kind: 'percent',
    value: field('n_python_fraction', 100)
  },
  {
    id: 'malloc',
    label: 'Alloc MB',
    description: 'Net allocation: what the line allocated and kept past the sampling window (Scalene n_malloc_mb)',
    kind: 'megabytes',
    value: field('n_malloc_mb')
  },
  {
    id: 'churn',
    label: 'Churn MB',
    description: 'Gross allocation, temporaries included: allocation work that costs time',
    kind: 'megabytes',
    value: field('n_churn_mb')
  },
  {
    id: 'copy',
    label: 'Copy MB/s',
    description: 'Memory copy volume per second',
    kind: 'megabytes',
    value: field('n_copy_mb_s')
  },
  {
    id: 'core',
    label: 'Core %',
    description: 'How much of the cores the process used while this line ran',
    kind: 'percent',
    value: field('n_core_utilization', 100)
  },
  {
    id: 'gpu',
    label: 'GPU %',
    description: 'GPU utilisation while this line ran',
    kind: 'percent',
    value: field('n_gpu_percent')
  },
  {
    id: 'gpuMemory',
    label: 'GPU MB',
    description: 'Peak GPU memory while this line ran',
    kind: 'megabytes',
    value: field('n_gpu_peak_memory_mb')
  },
  { id: 'source', label: 'Source', description: 'The source line', kind: 'source', value: field('lineno') }
];

const MEMORY_IDS = new Set(['peak', 'average', 'timeline', 'activity', 'pythonMemory', 'malloc', 'churn', 'copy']);
const GPU_IDS = new Set(['gpu', 'gpuMemory']);
const ALWAYS = new Set(['lineno', 'time', 'source']);

/**
 * The columns to show for `profile` (the same in all its tables): line, time
 * and source always; memory columns only when memory was profiled, GPU
 * columns only when a GPU was; any other column only when some line or
 * function of the profile has a value for it.
 */
export function visibleColumns(profile: IScaleneProfile): IColumn[] {
  const rows = Object.values(profile.files).flatMap(file => [...file.lines, ...file.functions]);
  return ALL_COLUMNS.filter(column => {
    if (ALWAYS.has(column.id)) {
      return true;
    }
    if (MEMORY_IDS.has(column.id) && !profile.memory) {
      return false;
    }
    if (GPU_IDS.has(column.id) && !profile.gpu) {
      return false;
    }
    if (column.kind === 'sparkline') {
      return rows.some(row => (row.memory_samples ?? []).length >= 2);
    }
    return rows.some(row => column.value(row) >= 0.05);
  });
}
