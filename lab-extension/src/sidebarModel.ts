/**
 * What the Scalene sidebar knows, without any widget: the profiles in a
 * notebook's outputs (so a reopened notebook lists its saved runs), a
 * one-line summary of each, where a profile line sits in a cell's current
 * text, and the comparison of two runs line by line.
 */
import { totalTime } from './columns';
import { ILineProfile, IScaleneProfile, PROFILE_MIME_TYPE, checkedProfile, notebookFacts } from './profile';

/** A code cell's facts the sidebar reads. */
export interface ICellOutputs {
  cellId: string;
  executionCount: number | null;
  /** The cell's current text (to place profile lines in it). */
  source: string;
  /** The `data` bundles of its outputs. */
  outputs: { [mime: string]: unknown }[];
}

/** One profile found in a notebook. */
export interface IProfileEntry {
  /** Stable within a notebook: the cell id and the run's start time (else the output's position). */
  id: string;
  cellId: string;
  /** The run's cell number (`In [N]`), from the profile or the cell. */
  executionCount: number | null;
  /** The profile, or null with `error` saying why it cannot be read. */
  profile: IScaleneProfile | null;
  error: string | null;
  /** When the run started, if the profile says. */
  started: Date | null;
  elapsed: number;
  top: ITopLine | null;
  /** Peak footprint in MB when memory was profiled. */
  peakMb: number | null;
}

/** The line with the most time in a profile. */
export interface ITopLine {
  sourceKey: string;
  lineno: number;
  text: string;
  percent: number;
}

/**
 * Every profile in the cells' outputs, in notebook order. A profile already
 * checked is not checked again (see `checkedProfile`).
 */
export function collectProfiles(cells: ICellOutputs[]): IProfileEntry[] {
  const entries: IProfileEntry[] = [];
  for (const cell of cells) {
    cell.outputs.forEach((data, index) => {
      const raw = data[PROFILE_MIME_TYPE];
      if (raw === undefined) {
        return;
      }
      const parsed = checkedProfile(raw);
      const profile = typeof parsed === 'string' ? null : parsed;
      const facts = profile ? notebookFacts(profile) : null;
      const source = facts?.sources[facts.profiled_source];
      const started = profile ? (profile as { start_time_absolute?: number }).start_time_absolute : undefined;
      entries.push({
        id: `${cell.cellId}:${typeof started === 'number' ? started : `output${index}`}`,
        cellId: cell.cellId,
        executionCount: source?.execution_count ?? cell.executionCount,
        profile,
        error: typeof parsed === 'string' ? parsed : null,
        started: typeof started === 'number' && started > 0 ? new Date(started * 1000) : null,
        elapsed: profile?.elapsed_time_sec ?? 0,
        top: profile ? topLine(profile) : null,
        peakMb: profile?.memory ? profile.max_footprint_mb : null
      });
    });
  }
  return entries;
}

/**
 * The line of `profile` with the most CPU time (any source), or null when
 * no line has any.
 */
export function topLine(profile: IScaleneProfile): ITopLine | null {
  let best: ITopLine | null = null;
  for (const [sourceKey, file] of Object.entries(profile.files)) {
    for (const row of file.lines) {
      const percent = totalTime(row);
      if (percent >= 0.05 && (best === null || percent > best.percent)) {
        best = { sourceKey, lineno: row.lineno, text: row.line.replace(/\n$/, '').trim(), percent };
      }
    }
  }
  return best;
}

/**
 * The 0-based line of `source` that a profile's line `lineno` with text
 * `text` stands for: the same line when its text matches, else the nearest
 * line with that text (a magic line added or removed above it); null when
 * the cell no longer has that line.
 */
export function cellLine(source: string, lineno: number, text: string): number | null {
  const lines = source.split('\n');
  const wanted = text.replace(/\n$/, '');
  const at = lineno - 1;
  if (lines[at] === wanted) {
    return at;
  }
  let nearest: number | null = null;
  lines.forEach((line, i) => {
    if (line === wanted && (nearest === null || Math.abs(i - at) < Math.abs(nearest - at))) {
      nearest = i;
    }
  });
  return nearest;
}

/**
 * The id of the cell that source `key` of `entry`'s profile came from: for
 * the profiled source the cell holding the output; for an earlier cell (or
 * a profiled cell no longer in the notebook) the cell with its id, else the
 * one with its execution count; null for a file or a cell that is gone.
 */
export function sourceCell(entry: IProfileEntry, key: string, cells: ICellOutputs[]): string | null {
  const facts = notebookFacts(entry.profile!);
  if (key === facts.profiled_source && cells.some(c => c.cellId === entry.cellId)) {
    return entry.cellId;
  }
  const info = facts.sources[key];
  if (info?.kind !== 'cell') {
    return null;
  }
  const cell =
    cells.find(c => info.cell_id && c.cellId === info.cell_id) ??
    cells.find(c => c.executionCount !== null && c.executionCount === info.execution_count);
  return cell?.cellId ?? null;
}

/** One row of a comparison of two runs. */
export interface ILineChange {
  text: string;
  /** Line numbers in each run; null where the line is not in that run. */
  before: number | null;
  after: number | null;
  /** CPU time of the line in seconds (its share of its run times the run's length). */
  timeBefore: number;
  timeAfter: number;
  memoryBefore: number;
  memoryAfter: number;
}

/**
 * Compare the profiled sources of two runs line by line: lines are paired
 * by their text in source order (a longest common subsequence), so an
 * edited line shows as removed and added, and unchanged lines compare
 * their time (seconds: shares of two runs of different lengths do not
 * compare) and net allocation (MB).
 */
export function compareRuns(before: IScaleneProfile, after: IScaleneProfile): ILineChange[] {
  const a = Private.profiledLines(before);
  const b = Private.profiledLines(after);
  const pairs = Private.align(a.map(Private.key), b.map(Private.key));
  const changes: ILineChange[] = [];
  for (const [i, j] of pairs) {
    const left = i === null ? null : a[i];
    const right = j === null ? null : b[j];
    changes.push({
      text: (left ?? right)!.line.replace(/\n$/, ''),
      before: left?.lineno ?? null,
      after: right?.lineno ?? null,
      timeBefore: left ? (totalTime(left) / 100) * before.elapsed_time_sec : 0,
      timeAfter: right ? (totalTime(right) / 100) * after.elapsed_time_sec : 0,
      memoryBefore: left?.n_malloc_mb ?? 0,
      memoryAfter: right?.n_malloc_mb ?? 0
    });
  }
  return changes;
}

namespace Private {
  export function profiledLines(profile: IScaleneProfile): ILineProfile[] {
    const file = profile.files[notebookFacts(profile).profiled_source];
    return file ? [...file.lines].sort((x, y) => x.lineno - y.lineno) : [];
  }

  export function key(row: ILineProfile): string {
    return row.line.replace(/\n$/, '').trim();
  }

  // Above this many cells of the table, lines pair by position instead.
  const ALIGN_LIMIT = 4_000_000;

  /** Pairs of indices in order; null on one side for a line only the other has. */
  export function align(a: string[], b: string[]): [number | null, number | null][] {
    const n = a.length;
    const m = b.length;
    if (n * m > ALIGN_LIMIT) {
      return Array.from({ length: Math.max(n, m) }, (_, i) => [i < n ? i : null, i < m ? i : null]);
    }
    const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    const pairs: [number | null, number | null][] = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] === b[j]) {
        pairs.push([i++, j++]);
      } else if (j >= m || (i < n && table[i + 1][j] >= table[i][j + 1])) {
        pairs.push([i++, null]);
      } else {
        pairs.push([null, j++]);
      }
    }
    return pairs;
  }
}
