/**
 * DOM for a profile: a summary line, a legend, and per source a table of
 * lines with a stacked Python / native / system bar.
 *
 * Every string from the profile goes in as text (`textContent`), never as
 * markup: notebooks are untrusted.
 */
import {
  IFileProfile,
  ILineProfile,
  IOmittedLines,
  IScaleneProfile,
  ISourceInfo
} from './profile';

/** The three kinds of CPU time, in drawing order. */
export const TIME_KINDS = [
  { key: 'n_cpu_percent_python', label: 'Python', css: 'python' },
  { key: 'n_cpu_percent_c', label: 'Native', css: 'native' },
  { key: 'n_sys_percent', label: 'System', css: 'system' }
] as const;

/** The memory columns, shown when the profile has memory samples. */
export const MEMORY_COLUMNS = [
  { key: 'n_peak_mb', label: 'Peak MB' },
  { key: 'n_malloc_mb', label: 'Alloc MB' },
  { key: 'n_churn_mb', label: 'Churn MB' },
  { key: 'n_copy_mb_s', label: 'Copy MB/s' }
] as const;

/** CSS class prefix of every element this module creates. */
export const CSS = 'jp-ScaleneProfile';

/**
 * Build the view of `profile`.
 *
 * @param profile - a profile already checked by `parseProfile`.
 * @param doc - the document to create nodes in.
 */
export function renderProfile(
  profile: IScaleneProfile,
  doc: Document = document
): HTMLElement {
  const root = Private.el(doc, 'div', CSS);
  root.appendChild(Private.summary(doc, profile));
  const notebook = profile.notebook;
  if (notebook.status !== 'completed') {
    const status = Private.el(
      doc,
      'div',
      `${CSS}-status ${CSS}-status-${notebook.status}`
    );
    status.textContent =
      notebook.status === 'interrupted'
        ? `Interrupted: the profile covers the run up to the interrupt.`
        : `Stopped by an error (${notebook.error ?? 'unknown'}): the profile covers the run up to it.`;
    root.appendChild(status);
  }
  for (const message of notebook.messages) {
    const note = Private.el(doc, 'div', `${CSS}-message`);
    note.textContent = message;
    root.appendChild(note);
  }
  root.appendChild(Private.legend(doc));
  const keys = Object.keys(profile.files);
  if (keys.length === 0) {
    const empty = Private.el(doc, 'div', `${CSS}-empty`);
    empty.textContent = 'No samples were taken: the code ran too briefly.';
    root.appendChild(empty);
  }
  for (const key of keys) {
    root.appendChild(
      Private.source(doc, key, profile.files[key], profile.memory, notebook.sources[key])
    );
  }
  return root;
}

/**
 * Build the message shown instead of a profile that cannot be read.
 */
export function renderError(
  message: string,
  doc: Document = document
): HTMLElement {
  const node = Private.el(doc, 'div', `${CSS} ${CSS}-error`);
  node.textContent = `This scalene-lab profile cannot be shown: ${message}.`;
  return node;
}

/**
 * Format a share in percent for a table cell; blank when it rounds to nothing.
 */
export function formatPercent(value: number): string {
  return value >= 0.05 ? `${value.toFixed(1)}%` : '';
}

/**
 * Format a size in MB for a table cell; blank when it rounds to nothing.
 */
export function formatMegabytes(value: number): string {
  return value >= 0.05 ? value.toFixed(1) : '';
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

/**
 * The text of the one row that stands for a run of lines:
 * `lines 2-10,001: 10,000 lines without samples`, or what the output cap left out.
 */
export function describeRun(run: IOmittedLines): string {
  const count = run.last - run.first + 1;
  const span =
    count === 1 ? `line ${run.first.toLocaleString('en-US')}` : `lines ${run.first.toLocaleString('en-US')}-${run.last.toLocaleString('en-US')}`;
  const noun = count === 1 ? 'line' : 'lines';
  if (!run.sampled_lines) {
    return `${span}: ${count.toLocaleString('en-US')} ${noun} without samples`;
  }
  const held = [`${run.percent_cpu_time.toFixed(1)}% of time`];
  if (run.n_malloc_mb >= 0.05) {
    held.push(`${run.n_malloc_mb.toFixed(1)} MB allocated`);
  }
  return `${span}: ${count.toLocaleString('en-US')} ${noun} not shown, ${run.sampled_lines.toLocaleString('en-US')} with samples (${held.join(', ')})`;
}

namespace Private {
  export function el<K extends keyof HTMLElementTagNameMap>(
    doc: Document,
    tag: K,
    className: string
  ): HTMLElementTagNameMap[K] {
    const node = doc.createElement(tag);
    node.className = className;
    return node;
  }

  function text<K extends keyof HTMLElementTagNameMap>(
    doc: Document,
    tag: K,
    className: string,
    content: string
  ): HTMLElementTagNameMap[K] {
    const node = el(doc, tag, className);
    node.textContent = content;
    return node;
  }

  export function summary(doc: Document, profile: IScaleneProfile): HTMLElement {
    const nb = profile.notebook;
    const parts = [
      nb.magic,
      sourceTitle(nb.profiled_source, nb.sources[nb.profiled_source]),
      `${profile.elapsed_time_sec.toFixed(3)} s`,
      `${nb.sampling.samples} CPU samples`
    ];
    if (profile.memory) {
      parts.push(`peak ${profile.max_footprint_mb.toFixed(1)} MB`);
      const coverage = nb.memory?.coverage;
      parts.push(
        `memory by ${nb.attach_mode}` +
          (typeof coverage === 'number' ? ` (covers ~${Math.round(coverage * 100)}% of RSS growth)` : '')
      );
      const lost = (nb.memory?.buffer_overflow ?? 0) + (nb.memory?.table_refused ?? 0);
      if (lost > 0) {
        parts.push(`${lost} memory samples lost to full buffers`);
      }
    }
    return text(doc, 'div', `${CSS}-summary`, parts.join(' · '));
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

  export function source(
    doc: Document,
    key: string,
    file: IFileProfile,
    memory: boolean,
    info?: ISourceInfo
  ): HTMLElement {
    const section = el(doc, 'section', `${CSS}-source`);
    section.dataset.sourceKey = key;
    const heading = el(doc, 'div', `${CSS}-sourceTitle`);
    heading.appendChild(text(doc, 'span', `${CSS}-sourceName`, sourceTitle(key, info)));
    if (info?.kind === 'cell' && info.cell_id) {
      heading.appendChild(text(doc, 'span', `${CSS}-cellId`, `cell ${info.cell_id}`));
    }
    heading.appendChild(
      text(doc, 'span', `${CSS}-share`, `${file.percent_cpu_time.toFixed(1)}% of time`)
    );
    const runs = omittedRuns(file);
    const listed = file.lines.length;
    if (runs.length > 0) {
      const all = runs.reduce((sum, run) => sum + run.last - run.first + 1, listed);
      heading.appendChild(
        text(doc, 'span', `${CSS}-coverage`, `${listed.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} lines listed`)
      );
    }
    section.appendChild(heading);
    const cut = runs.filter(run => run.sampled_lines > 0);
    if (cut.length > 0) {
      const lines = cut.reduce((sum, run) => sum + run.sampled_lines, 0);
      const share = cut.reduce((sum, run) => sum + run.percent_cpu_time, 0);
      section.appendChild(
        text(
          doc,
          'div',
          `${CSS}-message ${CSS}-cut`,
          `${lines.toLocaleString('en-US')} sampled lines (${share.toFixed(1)}% of time) are left out to keep the output small; the heaviest are shown, the rest are counted in the ⋯ rows.`
        )
      );
    }
    section.appendChild(table(doc, 'Line', file.lines, memory, runs));
    const cutFunctions = file.omitted_functions?.count ?? 0;
    if (file.functions.length > 0 || cutFunctions > 0) {
      const functions = table(doc, 'Function', file.functions, memory, []);
      if (cutFunctions > 0) {
        functions.tBodies[0].appendChild(
          note(
            doc,
            `${cutFunctions.toLocaleString('en-US')} more functions not shown to keep the output small (${file.omitted_functions!.percent_cpu_time.toFixed(1)}% of time)`,
            memory
          )
        );
      }
      section.appendChild(functions);
    }
    return section;
  }

  /** A summary row across the table: a run of lines, or functions left out. */
  function note(doc: Document, content: string, memory: boolean): HTMLTableRowElement {
    const tr = el(doc, 'tr', `${CSS}-gap`);
    tr.appendChild(text(doc, 'td', `${CSS}-lineno`, '⋯'));
    const cell = text(doc, 'td', `${CSS}-gapText`, content);
    cell.colSpan = 1 + TIME_KINDS.length + (memory ? MEMORY_COLUMNS.length : 0) + 1;
    tr.appendChild(cell);
    return tr;
  }

  function gapRow(doc: Document, run: IOmittedLines, memory: boolean): HTMLTableRowElement {
    const tr = note(doc, describeRun(run), memory);
    tr.dataset.first = String(run.first);
    tr.dataset.last = String(run.last);
    if (run.sampled_lines > 0) {
      tr.classList.add(`${CSS}-gapCut`);
    }
    return tr;
  }

  function table(
    doc: Document,
    what: string,
    rows: ILineProfile[],
    memory: boolean,
    runs: IOmittedLines[]
  ): HTMLTableElement {
    const node = el(doc, 'table', `${CSS}-table`);
    const head = node.createTHead().insertRow();
    const labels = [
      'Line',
      'Time',
      ...TIME_KINDS.map(k => k.label),
      ...(memory ? MEMORY_COLUMNS.map(c => c.label) : []),
      what === 'Line' ? 'Source' : 'Function'
    ];
    for (const label of labels) {
      head.appendChild(text(doc, 'th', '', label));
    }
    const body = node.createTBody();
    let next = 0;
    for (const row of rows) {
      while (next < runs.length && runs[next].first < row.lineno) {
        body.appendChild(gapRow(doc, runs[next++], memory));
      }
      body.appendChild(line(doc, row, memory));
    }
    for (; next < runs.length; next++) {
      body.appendChild(gapRow(doc, runs[next], memory));
    }
    return node;
  }

  function line(doc: Document, row: ILineProfile, memory: boolean): HTMLTableRowElement {
    const tr = el(doc, 'tr', `${CSS}-row`);
    tr.dataset.lineno = String(row.lineno);
    const total = TIME_KINDS.reduce((sum, kind) => sum + row[kind.key], 0);
    if (total < 0.05) {
      tr.classList.add(`${CSS}-idle`);
    }
    tr.appendChild(text(doc, 'td', `${CSS}-lineno`, String(row.lineno)));
    const barCell = el(doc, 'td', `${CSS}-barCell`);
    const bar = el(doc, 'div', `${CSS}-bar`);
    bar.title = TIME_KINDS.map(k => `${k.label} ${row[k.key].toFixed(1)}%`).join(', ');
    for (const kind of TIME_KINDS) {
      const width = Math.max(0, Math.min(100, row[kind.key]));
      if (width > 0) {
        const part = el(doc, 'span', `${CSS}-segment ${CSS}-${kind.css}`);
        part.style.width = `${width}%`;
        bar.appendChild(part);
      }
    }
    barCell.appendChild(bar);
    tr.appendChild(barCell);
    for (const kind of TIME_KINDS) {
      tr.appendChild(text(doc, 'td', `${CSS}-percent ${CSS}-${kind.css}Text`, formatPercent(row[kind.key])));
    }
    if (memory) {
      for (const column of MEMORY_COLUMNS) {
        tr.appendChild(text(doc, 'td', `${CSS}-percent ${CSS}-memory`, formatMegabytes(row[column.key] ?? 0)));
      }
    }
    const code = text(doc, 'code', '', row.line.replace(/\n$/, ''));
    const sourceCell = el(doc, 'td', `${CSS}-code`);
    sourceCell.appendChild(code);
    tr.appendChild(sourceCell);
    return tr;
  }
}
