/**
 * DOM for a profile: a header (summary, time and memory bars, peak, growth,
 * leaks), a legend, and per source a collapsible table of lines whose
 * columns sort on a click.
 *
 * Every string from the profile goes in as text (`textContent`), never as
 * markup: notebooks are untrusted.
 */
import { IColumn, TIME_KINDS, totalTime, visibleColumns } from './columns';
import { ISparkline, describeTimeline } from './sparkline';
import {
  IFileProfile,
  ILineProfile,
  INotebookInfo,
  IOmittedLines,
  IScaleneProfile,
  ISourceInfo,
  notebookFacts,
  orderedSources
} from './profile';

export { TIME_KINDS };

/** CSS class prefix of every element this module creates. */
export const CSS = 'jp-ScaleneProfile';

type Leaks = IFileProfile['leaks'];

const CHARTS = new WeakMap<HTMLElement, ISparkline[]>();

/**
 * The sparklines of a view built by `renderProfile`, still to be drawn
 * (with `drawSparklines`, which loads vega): the hosts are in the view.
 */
export function pendingCharts(root: HTMLElement): ISparkline[] {
  return CHARTS.get(root) ?? [];
}

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
  const charts: ISparkline[] = [];
  CHARTS.set(root, charts);
  const notebook = notebookFacts(profile);
  root.appendChild(Private.summary(doc, profile, notebook));
  root.appendChild(Private.header(doc, profile, notebook, charts));
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
  const keys = orderedSources(profile);
  if (keys.length === 0) {
    const empty = Private.el(doc, 'div', `${CSS}-empty`);
    empty.textContent = 'No samples were taken: the code ran too briefly.';
    root.appendChild(empty);
  }
  const columns = visibleColumns(profile);
  for (const key of keys) {
    root.appendChild(
      Private.source(doc, key, profile.files[key], columns, charts, notebook.sources[key])
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

  /** A labelled stacked bar: one segment per share, numbers in its label. */
  function stackedBar(
    doc: Document,
    label: string,
    parts: { label: string; css: string; value: number }[]
  ): HTMLElement {
    const row = el(doc, 'div', `${CSS}-headerBar`);
    row.appendChild(text(doc, 'span', `${CSS}-headerLabel`, label));
    const bar = el(doc, 'div', `${CSS}-bar`);
    const description = parts.map(p => `${p.label} ${p.value.toFixed(1)}%`).join(', ');
    bar.title = description;
    bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', `${label}: ${description}`);
    for (const part of parts) {
      const width = Math.max(0, Math.min(100, part.value));
      if (width > 0) {
        const segment = el(doc, 'span', `${CSS}-segment ${CSS}-${part.css}`);
        segment.style.width = `${width}%`;
        bar.appendChild(segment);
      }
    }
    row.appendChild(bar);
    row.appendChild(text(doc, 'span', `${CSS}-headerText`, description));
    return row;
  }

  /** The whole run at a glance: time and memory bars, peak, growth, leaks. */
  /** A host for a sparkline, described for screen readers; drawn later. */
  function sparkline(doc: Document, charts: ISparkline[], points: number[][], width: number, height: number): HTMLElement {
    const host = el(doc, 'span', `${CSS}-sparkline`);
    if (points.length >= 2) {
      host.setAttribute('role', 'img');
      host.setAttribute('aria-label', describeTimeline(points));
      host.title = describeTimeline(points);
      charts.push({ host, points, width, height });
    }
    return host;
  }

  export function header(doc: Document, profile: IScaleneProfile, nb: INotebookInfo, charts: ISparkline[]): HTMLElement {
    const node = el(doc, 'div', `${CSS}-header`);
    const totals = TIME_KINDS.map(kind => ({
      label: kind.label,
      css: kind.css,
      value: Object.values(profile.files).reduce(
        (sum, file) => sum + file.lines.reduce((s, row) => s + (row[kind.key] ?? 0), 0),
        0
      )
    }));
    node.appendChild(stackedBar(doc, 'Time', totals));
    if (profile.memory) {
      const python = Math.max(0, Math.min(1, profile.max_footprint_python_fraction ?? 0)) * 100;
      node.appendChild(
        stackedBar(doc, 'Memory', [
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
      if ((profile.samples ?? []).length >= 2) {
        memory.appendChild(sparkline(doc, charts, profile.samples, 240, 28));
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

  export function source(
    doc: Document,
    key: string,
    file: IFileProfile,
    columns: IColumn[],
    charts: ISparkline[],
    info?: ISourceInfo
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
    const leaks = file.leaks ?? {};
    details.appendChild(table(doc, 'Line', file.lines, columns, runs, charts, leaks));
    const cutFunctions = file.omitted_functions?.count ?? 0;
    if (file.functions.length > 0 || cutFunctions > 0) {
      const functions = table(doc, 'Function', file.functions, columns, [], charts, {});
      if (cutFunctions > 0) {
        functions.tBodies[0].appendChild(
          note(
            doc,
            `${cutFunctions.toLocaleString('en-US')} more functions not shown to keep the output small (${file.omitted_functions!.percent_cpu_time.toFixed(1)}% of time)`,
            columns
          )
        );
      }
      details.appendChild(functions);
    }
    section.appendChild(details);
    return section;
  }

  /** A summary row across the table: a run of lines, or functions left out. */
  function note(doc: Document, content: string, columns: IColumn[]): HTMLTableRowElement {
    const tr = el(doc, 'tr', `${CSS}-gap`);
    tr.appendChild(text(doc, 'td', `${CSS}-lineno`, '⋯'));
    const cell = text(doc, 'td', `${CSS}-gapText`, content);
    cell.colSpan = columns.length - 1;
    tr.appendChild(cell);
    return tr;
  }

  function gapRow(doc: Document, run: IOmittedLines, columns: IColumn[]): HTMLTableRowElement {
    const tr = note(doc, describeRun(run), columns);
    tr.dataset.first = String(run.first);
    tr.dataset.last = String(run.last);
    if (run.sampled_lines > 0) {
      tr.classList.add(`${CSS}-gapCut`);
    }
    return tr;
  }

  function table(
    doc: Document,
    what: 'Line' | 'Function',
    rows: ILineProfile[],
    columns: IColumn[],
    runs: IOmittedLines[],
    charts: ISparkline[],
    leaks: Leaks
  ): HTMLTableElement {
    const node = el(doc, 'table', `${CSS}-table`);
    node.dataset.table = what.toLowerCase();
    const head = node.createTHead().insertRow();
    const body = node.createTBody();
    const lineRows = new Map<HTMLTableRowElement, ILineProfile>();
    for (const column of columns) {
      const th = el(doc, 'th', `${CSS}-column-${column.id}`);
      th.dataset.column = column.id;
      th.title = column.description;
      const label = column.id === 'source' && what === 'Function' ? 'Function' : column.label;
      if (column.kind === 'source') {
        th.textContent = label;
      } else {
        const button = text(doc, 'button', `${CSS}-sort`, label);
        button.type = 'button';
        button.addEventListener('click', () => sortBy(node, column, lineRows));
        th.appendChild(button);
      }
      head.appendChild(th);
    }
    let next = 0;
    for (const row of rows) {
      while (next < runs.length && runs[next].first < row.lineno) {
        body.appendChild(gapRow(doc, runs[next++], columns));
      }
      const tr = line(doc, row, columns, charts, leaks);
      lineRows.set(tr, row);
      body.appendChild(tr);
    }
    for (; next < runs.length; next++) {
      body.appendChild(gapRow(doc, runs[next], columns));
    }
    return node;
  }

  /**
   * Sort the table's rows by `column`: largest first, then smallest first
   * on the next click; the line column restores source order, runs of
   * omitted lines in place. In any other order those runs go last.
   */
  function sortBy(node: HTMLTableElement, column: IColumn, lineRows: Map<HTMLTableRowElement, ILineProfile>): void {
    const header = node.tHead!.rows[0];
    const th = Array.from(header.cells).find(cell => cell.dataset.column === column.id)!;
    const descending = column.id !== 'lineno' && th.getAttribute('aria-sort') !== 'descending';
    for (const cell of Array.from(header.cells)) {
      cell.removeAttribute('aria-sort');
    }
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    const body = node.tBodies[0];
    const all = Array.from(body.rows);
    const start = (tr: HTMLTableRowElement) => Number(tr.dataset.first ?? tr.dataset.lineno ?? 0);
    const ordered =
      column.id === 'lineno'
        ? [...all].sort((a, b) => start(a) - start(b))
        : [
            ...all
              .filter(tr => lineRows.has(tr))
              .sort((a, b) => {
                const difference = column.value(lineRows.get(b)!) - column.value(lineRows.get(a)!);
                return (descending ? difference : -difference) || start(a) - start(b);
              }),
            ...all.filter(tr => !lineRows.has(tr))
          ];
    for (const tr of ordered) {
      body.appendChild(tr);
    }
  }

  function cell(doc: Document, row: ILineProfile, column: IColumn, charts: ISparkline[], leaks: Leaks): HTMLTableCellElement {
    switch (column.kind) {
      case 'sparkline': {
        const td = el(doc, 'td', `${CSS}-timeline`);
        td.appendChild(sparkline(doc, charts, row.memory_samples ?? [], 80, 14));
        const leak = leaks[String(row.lineno)];
        if (leak) {
          const mark = text(doc, 'span', `${CSS}-leak`, 'leak');
          mark.title = `Likely leak: likelihood ${Math.round(leak.likelihood * 100)}%, growing ${leak.velocity_mb_s.toFixed(1)} MB/s`;
          mark.setAttribute('aria-label', mark.title);
          td.appendChild(mark);
        }
        return td;
      }
      case 'lineno':
        return text(doc, 'td', `${CSS}-lineno`, String(row.lineno));
      case 'bar':
        return timeBar(doc, row);
      case 'percent': {
        const css = TIME_KINDS.some(kind => kind.css === column.id) ? ` ${CSS}-${column.id}Text` : '';
        return text(doc, 'td', `${CSS}-percent${css}`, formatPercent(column.value(row)));
      }
      case 'megabytes':
        return text(doc, 'td', `${CSS}-percent ${CSS}-memory`, formatMegabytes(column.value(row)));
      case 'source': {
        const content = row.line.replace(/\n$/, '');
        const code = text(doc, 'code', '', content);
        code.title = content;
        const sourceCell = el(doc, 'td', `${CSS}-code`);
        sourceCell.appendChild(code);
        return sourceCell;
      }
    }
  }

  function timeBar(doc: Document, row: ILineProfile): HTMLTableCellElement {
    const barCell = el(doc, 'td', `${CSS}-barCell`);
    const bar = el(doc, 'div', `${CSS}-bar`);
    const description = TIME_KINDS.map(k => `${k.label} ${row[k.key].toFixed(1)}%`).join(', ');
    bar.title = description;
    bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', `Time: ${description}`);
    for (const kind of TIME_KINDS) {
      const width = Math.max(0, Math.min(100, row[kind.key]));
      if (width > 0) {
        const part = el(doc, 'span', `${CSS}-segment ${CSS}-${kind.css}`);
        part.style.width = `${width}%`;
        bar.appendChild(part);
      }
    }
    barCell.appendChild(bar);
    return barCell;
  }

  function line(doc: Document, row: ILineProfile, columns: IColumn[], charts: ISparkline[], leaks: Leaks): HTMLTableRowElement {
    const tr = el(doc, 'tr', `${CSS}-row`);
    tr.dataset.lineno = String(row.lineno);
    if (totalTime(row) < 0.05) {
      tr.classList.add(`${CSS}-idle`);
    }
    for (const column of columns) {
      const td = cell(doc, row, column, charts, leaks);
      td.dataset.column = column.id;
      tr.appendChild(td);
    }
    return tr;
  }
}
