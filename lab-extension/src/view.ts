/**
 * DOM for a profile: a summary line, a legend, and per source a table of
 * lines with a stacked Python / native / system bar.
 *
 * Every string from the profile goes in as text (`textContent`), never as
 * markup: notebooks are untrusted.
 */
import { ILineProfile, IScaleneProfile, ISourceInfo } from './profile';

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
    file: { percent_cpu_time: number; lines: ILineProfile[]; functions: ILineProfile[] },
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
    section.appendChild(heading);
    section.appendChild(table(doc, 'Line', file.lines, memory));
    if (file.functions.length > 0) {
      section.appendChild(table(doc, 'Function', file.functions, memory));
    }
    return section;
  }

  function table(doc: Document, what: string, rows: ILineProfile[], memory: boolean): HTMLElement {
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
    for (const row of rows) {
      body.appendChild(line(doc, row, memory));
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
        tr.appendChild(text(doc, 'td', `${CSS}-percent ${CSS}-memory`, formatMegabytes(row[column.key])));
      }
    }
    const code = text(doc, 'code', '', row.line.replace(/\n$/, ''));
    const sourceCell = el(doc, 'td', `${CSS}-code`);
    sourceCell.appendChild(code);
    tr.appendChild(sourceCell);
    return tr;
  }
}
