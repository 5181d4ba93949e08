/**
 * DOM for a profile: a header (summary, time and memory bars, peak, growth,
 * leaks), a legend, and per source a collapsible table of lines whose
 * columns sort on a click.
 *
 * Every string from the profile goes in as text (`textContent`), never as
 * markup: notebooks are untrusted.
 */
import { StackEntry, renderCallTree } from './calltree';
import { IColumn, TIME_KINDS, visibleColumns } from './columns';
import { CSS, IBarPart, el, stackedBar, text } from './dom';
import {
  IFileProfile,
  IOmittedLines,
  IScaleneProfile,
  INotebookInfo,
  ISourceInfo,
  notebookFacts,
  orderedSources
} from './profile';
import { ChartQueue, ISparkline, sparklineHost } from './sparkline';
import { IOptimizeTarget, functionTarget, requestOptimize } from './optimizeRequest';
import { LineMode, ProfileTable } from './table';

export { CSS, TIME_KINDS };
export { formatMegabytes, formatPercent } from './dom';
export { describeRun } from './table';

/**
 * What the view lists: lines with samples, all lines, functions, or (when
 * the profile has them) the sampled call stacks.
 */
export type DisplayMode = LineMode | 'functions' | 'stacks';

/** Options of a view. */
export interface IViewOptions {
  /** The display mode the view opens in (a stacks mode falls back to all lines without stacks). */
  mode?: DisplayMode;
  /** The column id the tables are sorted by when the view opens (`lineno`: source order). */
  sort?: string;
}

/**
 * The options inline views open with: the Settings Editor's defaults,
 * kept here by the commands plugin (the renderer has no settings of its own).
 */
export const viewDefaults: IViewOptions = {};

const CHARTS = new WeakMap<HTMLElement, ChartQueue>();

/**
 * The sparklines of a view built by `renderProfile`: its hosts are in the
 * view; attach a drawer (`drawSparklines`, which loads vega) to draw them
 * and those the view makes later.
 */
export function chartsOf(root: HTMLElement): ChartQueue {
  let queue = CHARTS.get(root);
  if (queue === undefined) {
    queue = new ChartQueue();
    CHARTS.set(root, queue);
  }
  return queue;
}

/**
 * The sparklines of a view still waiting to be drawn.
 */
export function pendingCharts(root: HTMLElement): readonly ISparkline[] {
  return chartsOf(root).pending;
}

/**
 * Build the view of `profile`.
 *
 * @param profile - a profile already checked by `parseProfile`.
 * @param doc - the document to create nodes in.
 */
export function renderProfile(
  profile: IScaleneProfile,
  doc: Document = document,
  options: IViewOptions = {}
): HTMLElement {
  const root = el(doc, 'div', CSS);
  const charts = chartsOf(root);
  const notebook = notebookFacts(profile);
  root.appendChild(Private.summary(doc, profile, notebook));
  root.appendChild(Private.header(doc, profile, notebook, charts));
  if (notebook.status !== 'completed') {
    const status = el(doc, 'div', `${CSS}-status ${CSS}-status-${notebook.status}`);
    status.textContent =
      notebook.status === 'interrupted'
        ? `Interrupted: the profile covers the run up to the interrupt.`
        : `Stopped by an error (${notebook.error ?? 'unknown'}): the profile covers the run up to it.`;
    root.appendChild(status);
  }
  for (const message of notebook.messages) {
    const note = el(doc, 'div', `${CSS}-message`);
    note.textContent = message;
    root.appendChild(note);
  }
  const stacks = (profile as { stacks?: StackEntry[] }).stacks ?? [];
  const controls = el(doc, 'div', `${CSS}-controls`);
  controls.appendChild(Private.legend(doc));
  const select = Private.modeSelect(doc, stacks.length > 0);
  controls.appendChild(select);
  root.appendChild(controls);
  const keys = orderedSources(profile);
  if (keys.length === 0) {
    root.appendChild(text(doc, 'div', `${CSS}-empty`, 'No samples were taken: the code ran too briefly.'));
  }
  const columns = visibleColumns(profile);
  const tables: ProfileTable[] = [];
  const sources = el(doc, 'div', `${CSS}-sources`);
  for (const key of keys) {
    const optimize = (target: IOptimizeTarget, button: HTMLElement) => requestOptimize(button, profile, target);
    sources.appendChild(
      Private.source(doc, key, profile.files[key], columns, charts, tables, notebook.sources[key], optimize)
    );
  }
  root.appendChild(sources);
  let callTree: HTMLElement | null = null;
  const apply = (mode: DisplayMode) => {
    root.dataset.mode = mode;
    select.value = mode;
    if (mode === 'stacks' && callTree === null) {
      callTree = renderCallTree(stacks, doc);
      root.appendChild(callTree);
    }
    if (callTree) {
      callTree.hidden = mode !== 'stacks';
    }
    sources.hidden = mode === 'stacks';
    for (const table of tables) {
      if (table.table.dataset.table === 'line') {
        table.node.hidden = mode === 'functions';
        table.setMode(mode === 'samples' ? 'samples' : 'all');
      }
    }
  };
  select.addEventListener('change', () => apply(select.value as DisplayMode));
  const sort = columns.find(column => column.id === options.sort);
  if (sort && sort.id !== 'lineno') {
    tables.forEach(table => table.sortBy(sort));
  }
  const wanted = options.mode ?? 'all';
  apply(wanted === 'stacks' && stacks.length === 0 ? 'all' : wanted);
  return root;
}

/**
 * Build the message shown instead of a profile that cannot be read.
 */
export function renderError(message: string, doc: Document = document): HTMLElement {
  const node = el(doc, 'div', `${CSS} ${CSS}-error`);
  node.textContent = `This scalene-lab profile cannot be shown: ${message}.`;
  return node;
}

/**
 * The heading of a source: `In [5]` for a cell, the path for a file.
 */
export function sourceTitle(key: string, info?: ISourceInfo): string {
  if (info?.kind === 'cell') {
    return `In [${info.execution_count ?? '?'}]`;
  }
  return key;
}

/**
 * The runs of lines a source has no record for: the profile's
 * `omitted_lines`, or for a profile without them (Scalene's own
 * `--reduced-profile`) the holes between consecutive line numbers.
 */
export function omittedRuns(file: IFileProfile): IOmittedLines[] {
  if (Array.isArray(file.omitted_lines)) {
    return [...file.omitted_lines].sort((a, b) => a.first - b.first);
  }
  const numbers = file.lines.map(l => l.lineno).sort((a, b) => a - b);
  const runs: IOmittedLines[] = [];
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] - numbers[i - 1] > 1) {
      runs.push({
        first: numbers[i - 1] + 1,
        last: numbers[i] - 1,
        sampled_lines: 0,
        percent_cpu_time: 0,
        n_malloc_mb: 0
      });
    }
  }
  return runs;
}

namespace Private {
  export function summary(doc: Document, profile: IScaleneProfile, nb: INotebookInfo): HTMLElement {
    const parts = profile.notebook
      ? [nb.magic, sourceTitle(nb.profiled_source, nb.sources[nb.profiled_source])]
      : [`Scalene profile of ${profile.program}`];
    parts.push(`${profile.elapsed_time_sec.toFixed(3)} s`);
    if (nb.sampling) {
      parts.push(`${nb.sampling.samples} CPU samples`);
    }
    if (profile.memory) {
      parts.push(`peak ${profile.max_footprint_mb.toFixed(1)} MB`);
      const coverage = nb.memory?.coverage;
      if (profile.notebook) {
        parts.push(
          `memory by ${nb.attach_mode}` +
            (typeof coverage === 'number' ? ` (covers ~${Math.round(coverage * 100)}% of RSS growth)` : '')
        );
      }
      const lost = (nb.memory?.buffer_overflow ?? 0) + (nb.memory?.table_refused ?? 0);
      if (lost > 0) {
        parts.push(`${lost} memory samples lost to full buffers`);
      }
    }
    return text(doc, 'div', `${CSS}-summary`, parts.join(' · '));
  }

  /** A labelled stacked bar with its numbers written beside it. */
  function headerBar(doc: Document, label: string, parts: IBarPart[]): HTMLElement {
    const row = el(doc, 'div', `${CSS}-headerBar`);
    row.appendChild(text(doc, 'span', `${CSS}-headerLabel`, label));
    const bar = stackedBar(doc, label, parts);
    row.appendChild(bar);
    row.appendChild(text(doc, 'span', `${CSS}-headerText`, bar.title));
    return row;
  }

  /** The whole run at a glance: time and memory bars, peak, growth, leaks, GPU. */
  export function header(doc: Document, profile: IScaleneProfile, nb: INotebookInfo, charts: ChartQueue): HTMLElement {
    const node = el(doc, 'div', `${CSS}-header`);
    const totals = TIME_KINDS.map(kind => ({
      label: kind.label,
      css: kind.css,
      value: Object.values(profile.files).reduce(
        (sum, file) => sum + file.lines.reduce((s, row) => s + (row[kind.key] ?? 0), 0),
        0
      )
    }));
    node.appendChild(headerBar(doc, 'Time', totals));
    if (profile.memory) {
      const python = Math.max(0, Math.min(1, profile.max_footprint_python_fraction ?? 0)) * 100;
      node.appendChild(
        headerBar(doc, 'Memory', [
          { label: 'Python', css: 'python', value: python },
          { label: 'Native', css: 'native', value: 100 - python }
        ])
      );
      const facts: string[] = [`Peak ${profile.max_footprint_mb.toFixed(1)} MB`];
      const where = profile.max_footprint_fname;
      if (where && profile.max_footprint_lineno) {
        facts[0] += ` at ${sourceTitle(where, nb.sources[where])}, line ${profile.max_footprint_lineno}`;
      }
      facts.push(`growth ${profile.growth_rate.toFixed(1)}% of allocation kept`);
      const memory = el(doc, 'div', `${CSS}-memoryFacts`);
      const timeline = sparklineHost(doc, `${CSS}-sparkline`, profile.samples ?? [], 240, 28);
      if (timeline.chart) {
        memory.appendChild(timeline.host);
        charts.add([timeline.chart]);
      }
      memory.appendChild(text(doc, 'span', '', facts.join(' · ')));
      node.appendChild(memory);
      const leaks = Object.entries(profile.files).flatMap(([key, file]) =>
        Object.entries(file.leaks ?? {}).map(
          ([line, leak]) =>
            `${sourceTitle(key, nb.sources[key])} line ${line} (likelihood ${Math.round(leak.likelihood * 100)}%, ${leak.velocity_mb_s.toFixed(1)} MB/s)`
        )
      );
      if (leaks.length > 0) {
        node.appendChild(text(doc, 'div', `${CSS}-leaks`, `Likely leaks: ${leaks.join('; ')}`));
      }
    }
    if (profile.gpu) {
      const rows = Object.values(profile.files).flatMap(file => file.lines);
      const busiest = rows.reduce((best, row) => Math.max(best, row.n_gpu_percent ?? 0), 0);
      const memory = rows.reduce((best, row) => Math.max(best, row.n_gpu_peak_memory_mb ?? 0), 0);
      const gpu = nb.gpu;
      const devices = gpu && gpu.devices.length > 0 ? ` (${gpu.devices.join(', ')})` : '';
      const facts = [`up to ${busiest.toFixed(1)}% utilisation on a line`, `peak GPU memory ${memory.toFixed(1)} MB`];
      if (gpu?.torch) {
        const allocated = rows.reduce((best, row) => Math.max(best, row.n_gpu_torch_allocated_mb ?? 0), 0);
        const reserved = rows.reduce((best, row) => Math.max(best, row.n_gpu_torch_reserved_mb ?? 0), 0);
        facts.push(`PyTorch allocated up to ${allocated.toFixed(1)} MB of ${reserved.toFixed(1)} MB reserved`);
      }
      if (gpu && !gpu.per_process_utilization) {
        facts.push("utilisation is the device's, not this kernel's alone");
      }
      node.appendChild(text(doc, 'div', `${CSS}-gpuFacts`, `GPU${devices}: ${facts.join(', ')}`));
    }
    return node;
  }

  export function legend(doc: Document): HTMLElement {
    const node = el(doc, 'div', `${CSS}-legend`);
    for (const kind of TIME_KINDS) {
      const item = el(doc, 'span', `${CSS}-legendItem`);
      item.appendChild(el(doc, 'span', `${CSS}-swatch ${CSS}-${kind.css}`));
      item.appendChild(doc.createTextNode(kind.label));
      node.appendChild(item);
    }
    return node;
  }

  /** The display-mode chooser. */
  export function modeSelect(doc: Document, withStacks: boolean): HTMLSelectElement {
    const select = el(doc, 'select', `${CSS}-mode`);
    select.setAttribute('aria-label', 'Show');
    const modes: [DisplayMode, string][] = [
      ['samples', 'Lines with samples'],
      ['all', 'All lines'],
      ['functions', 'Functions']
    ];
    if (withStacks) {
      modes.push(['stacks', 'Call stacks']);
    }
    for (const [value, label] of modes) {
      const option = text(doc, 'option', '', label);
      option.value = value;
      select.appendChild(option);
    }
    return select;
  }

  export function source(
    doc: Document,
    key: string,
    file: IFileProfile,
    columns: IColumn[],
    charts: ChartQueue,
    tables: ProfileTable[],
    info: ISourceInfo | undefined,
    optimize: (target: IOptimizeTarget, button: HTMLElement) => void
  ): HTMLElement {
    const section = el(doc, 'section', `${CSS}-source`);
    section.dataset.sourceKey = key;
    const details = el(doc, 'details', `${CSS}-details`);
    details.open = true;
    const heading = el(doc, 'summary', `${CSS}-sourceTitle`);
    heading.appendChild(text(doc, 'span', `${CSS}-sourceName`, sourceTitle(key, info)));
    if (info?.kind === 'cell' && info.cell_id) {
      heading.appendChild(text(doc, 'span', `${CSS}-cellId`, `cell ${info.cell_id}`));
    }
    heading.appendChild(text(doc, 'span', `${CSS}-share`, `${file.percent_cpu_time.toFixed(1)}% of time`));
    const runs = omittedRuns(file);
    const listed = file.lines.length;
    if (runs.length > 0) {
      const all = runs.reduce((sum, run) => sum + run.last - run.first + 1, listed);
      heading.appendChild(
        text(
          doc,
          'span',
          `${CSS}-coverage`,
          `${listed.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} lines listed`
        )
      );
    }
    details.appendChild(heading);
    const cut = runs.filter(run => run.sampled_lines > 0);
    if (cut.length > 0) {
      const lines = cut.reduce((sum, run) => sum + run.sampled_lines, 0);
      const share = cut.reduce((sum, run) => sum + run.percent_cpu_time, 0);
      details.appendChild(
        text(
          doc,
          'div',
          `${CSS}-message ${CSS}-cut`,
          `${lines.toLocaleString('en-US')} sampled lines (${share.toFixed(1)}% of time) are left out to keep the output small; the heaviest are shown, the rest are counted in the ⋯ rows.`
        )
      );
    }
    const sink = (fresh: ISparkline[]) => charts.add(fresh);
    const leaks = file.leaks ?? {};
    const lines = new ProfileTable({
      doc,
      what: 'Line',
      rows: file.lines,
      runs,
      columns,
      leaks,
      charts: sink,
      optimize: (row, button) => optimize({ sourceKey: key, kind: 'line', first: row.lineno, last: row.lineno }, button)
    });
    tables.push(lines);
    details.appendChild(lines.node);
    const cutFunctions = file.omitted_functions?.count ?? 0;
    if (file.functions.length > 0 || cutFunctions > 0) {
      const note =
        cutFunctions > 0
          ? `${cutFunctions.toLocaleString('en-US')} more functions not shown to keep the output small (${file.omitted_functions!.percent_cpu_time.toFixed(1)}% of time)`
          : undefined;
      const functions = new ProfileTable({
        doc,
        what: 'Function',
        rows: file.functions,
        runs: [],
        columns,
        leaks: {},
        note,
        charts: sink,
        optimize: (row, button) => optimize(functionTarget(file.lines, key, row), button)
      });
      tables.push(functions);
      details.appendChild(functions.node);
    }
    section.appendChild(details);
    return section;
  }
}
