/**
 * Per-line heat for cell editors, worked out from the profiles in a
 * notebook's outputs: for each cell, the lines a profile measured (the
 * profiled cell's, and those of earlier cells whose functions ran), placed
 * in the cell's current text, with their CPU share and memory.
 */
import { totalTime } from './columns';
import { IScaleneProfile } from './profile';
import { ICellOutputs, cellLine, collectProfiles, sourceCell } from './sidebarModel';

/** The heat of one line of a cell. */
export interface ILineHeat {
  /** 0-based line in the cell's current text. */
  line: number;
  /** CPU time, percent of its run. */
  cpu: number;
  /** Net allocation in MB; null when the run did not profile memory. */
  memory: number | null;
  /** 1 (coolest) to 5 (hottest), by CPU share, or by memory for memory-only lines. */
  level: number;
  /** The exact numbers, for the hover text. */
  label: string;
}

/** A cell's heat and the run it comes from. */
export interface ICellHeat {
  /** The profile entry's id (a new run of the cell has a new one). */
  run: string;
  lines: ILineHeat[];
}

/**
 * The heat of every cell that a profile in `cells` measured, by cell id.
 * A cell measured by several profiles shows the latest run's figures.
 */
export function notebookHeat(cells: ICellOutputs[]): Map<string, ICellHeat> {
  const entries = collectProfiles(cells).filter(entry => entry.profile !== null);
  entries.sort((a, b) => (a.started?.getTime() ?? 0) - (b.started?.getTime() ?? 0));
  const byId = new Map(cells.map(cell => [cell.cellId, cell]));
  const heat = new Map<string, ICellHeat>();
  for (const entry of entries) {
    for (const key of Object.keys(entry.profile!.files)) {
      const id = sourceCell(entry, key, cells);
      const cell = id === null ? undefined : byId.get(id);
      if (cell) {
        heat.set(cell.cellId, { run: entry.id, lines: Private.lines(entry.profile!, key, cell.source) });
      }
    }
  }
  return heat;
}

/**
 * The heat level (1-5) of a CPU share: a fifth of the hottest line's is 1.
 */
export function heatLevel(share: number, hottest: number): number {
  if (hottest <= 0) {
    return 1;
  }
  return Math.max(1, Math.min(5, Math.ceil((share / hottest) * 5)));
}

namespace Private {
  export function lines(profile: IScaleneProfile, key: string, source: string): ILineHeat[] {
    const rows = profile.files[key].lines.filter(
      row => totalTime(row) >= 0.05 || (profile.memory && row.n_malloc_mb >= 0.05)
    );
    const hottest = Math.max(0, ...rows.map(totalTime));
    const heaviest = Math.max(0, ...rows.map(row => row.n_malloc_mb));
    const heat: ILineHeat[] = [];
    for (const row of rows) {
      const line = cellLine(source, row.lineno, row.line);
      if (line === null) {
        continue;
      }
      const cpu = totalTime(row);
      const memory = profile.memory ? row.n_malloc_mb : null;
      const parts = [
        `CPU ${cpu.toFixed(1)}% (Python ${row.n_cpu_percent_python.toFixed(1)}%, native ${row.n_cpu_percent_c.toFixed(1)}%, system ${row.n_sys_percent.toFixed(1)}%)`
      ];
      if (memory !== null) {
        parts.push(`${memory.toFixed(1)} MB allocated, peak ${row.n_peak_mb.toFixed(1)} MB`);
      }
      const level = cpu >= 0.05 ? heatLevel(cpu, hottest) : heatLevel(memory ?? 0, heaviest);
      heat.push({ line, cpu, memory, level, label: parts.join(' · ') });
    }
    return heat;
  }
}
