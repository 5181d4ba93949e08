/**
 * One table of a profile view (a source's lines, or its functions): rows
 * sort on a header click, a display mode hides lines without samples, and a
 * long table keeps only the rows in its scroll window in the page (with a
 * "show all" button), so a 5,000-line profile costs what a screenful does.
 */
import { IColumn, TIME_KINDS, totalTime } from './columns';
import { CSS, el, formatMegabytes, formatPercent, stackedBar, text } from './dom';
import { IFileProfile, ILineProfile, IOmittedLines } from './profile';
import { ISparkline, sparklineHost } from './sparkline';

/** Which lines a table lists: those with samples, or every line the profile has. */
export type LineMode = 'samples' | 'all';

/** What a table needs to draw itself. */
export interface ITableOptions {
  doc: Document;
  what: 'Line' | 'Function';
  rows: ILineProfile[];
  /** Runs of lines without a record, shown as one row each in line order. */
  runs: IOmittedLines[];
  columns: IColumn[];
  leaks: IFileProfile['leaks'];
  /** A last row across the table (e.g. functions the output cap left out). */
  note?: string;
  /** Receives the sparklines of rows as they are created, to be drawn. */
  charts: (charts: ISparkline[]) => void;
  /** When given, each row with samples gets an "Optimize" button that calls this. */
  optimize?: (row: ILineProfile, button: HTMLElement) => void;
}

/**
 * The text of the one row that stands for a run of lines:
 * `lines 2-10,001: 10,000 lines without samples`, or what the output cap left out.
 */
export function describeRun(run: IOmittedLines): string {
  const count = run.last - run.first + 1;
  const span =
    count === 1
      ? `line ${run.first.toLocaleString('en-US')}`
      : `lines ${run.first.toLocaleString('en-US')}-${run.last.toLocaleString('en-US')}`;
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

/**
 * Whether a line has any sample: time, memory, copies or GPU.
 */
export function hasSamples(row: ILineProfile): boolean {
  return (
    totalTime(row) >= 0.05 ||
    (row.memory_samples ?? []).length > 0 ||
    [row.n_malloc_mb, row.n_peak_mb, row.n_churn_mb, row.n_copy_mb_s, row.n_gpu_percent].some(v => (v ?? 0) >= 0.05)
  );
}

/**
 * A sortable, filterable, windowed table of lines or functions.
 */
export class ProfileTable {
  /** Tables with more rows than this keep only their scroll window in the page. */
  static readonly windowLimit = 200;
  /** The fixed height of a row in a windowed table, in pixels (CSS agrees). */
  static readonly rowHeight = 20;
  /** Rows a windowed table shows at once. */
  static readonly viewportRows = 24;
  /** Rows kept in the page beyond each end of the window, so a scroll rarely shows a gap. */
  static readonly overscan = 8;

  /**
   * Build the table (its first window, if it is long).
   */
  constructor(options: ITableOptions) {
    this._options = options;
    const { doc, what } = options;
    this.node = el(doc, 'div', `${CSS}-tableBox`);
    this._scroller = el(doc, 'div', `${CSS}-scroller`);
    this._table = el(doc, 'table', `${CSS}-table`);
    this._table.dataset.table = what.toLowerCase();
    this._body = this._table.createTBody();
    this._head();
    this._entries = Private.entries(options);
    this._order = [...this._entries];
    this._scroller.appendChild(this._table);
    this.node.appendChild(this._scroller);
    this._more = el(doc, 'button', `${CSS}-showAll`);
    this._more.type = 'button';
    this._more.addEventListener('click', () => {
      this._showAll = true;
      this._refresh();
    });
    this.node.appendChild(this._more);
    this._scroller.addEventListener('scroll', () => this._onScroll());
    this._refresh();
  }

  /** The wrapper: the scroll box with the table, and the "show all" button. */
  readonly node: HTMLDivElement;

  /** The table element. */
  get table(): HTMLTableElement {
    return this._table;
  }

  /** Rows the current mode lists (all of them, on screen or not). */
  get listedRows(): number {
    return this._visible.length;
  }

  /**
   * List only lines with samples, or every line the profile has.
   */
  setMode(mode: LineMode): void {
    if (mode !== this._mode) {
      this._mode = mode;
      this._refresh();
    }
  }

  /**
   * Sort by `column`: largest first, then smallest first on the next call;
   * the line column restores source order, runs of omitted lines in place.
   * In any other order those runs go last.
   */
  sortBy(column: IColumn): void {
    const header = this._table.tHead!.rows[0];
    const th = Array.from(header.cells).find(cell => cell.dataset.column === column.id)!;
    const descending = column.id !== 'lineno' && th.getAttribute('aria-sort') !== 'descending';
    for (const cell of Array.from(header.cells)) {
      cell.removeAttribute('aria-sort');
    }
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    const byStart = (a: Private.IEntry, b: Private.IEntry) => a.start - b.start;
    if (column.id === 'lineno') {
      this._order = [...this._entries].sort(byStart);
    } else {
      const lines = this._entries.filter(e => e.row !== null);
      lines.sort((a, b) => {
        const difference = column.value(b.row!) - column.value(a.row!);
        return (descending ? difference : -difference) || a.start - b.start;
      });
      this._order = [...lines, ...this._entries.filter(e => e.row === null)];
    }
    this._refresh();
  }

  private _head(): void {
    const { doc, what, columns } = this._options;
    const head = this._table.createTHead().insertRow();
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
        button.addEventListener('click', () => this.sortBy(column));
        th.appendChild(button);
      }
      head.appendChild(th);
    }
  }

  private _refresh(): void {
    this._visible = this._order.filter(e => this._mode === 'all' || e.sampled);
    const windowed = !this._showAll && this._visible.length > ProfileTable.windowLimit;
    this.node.classList.toggle(`${CSS}-windowed`, windowed);
    this._more.hidden = !windowed;
    this._more.textContent = `Show all ${this._visible.length.toLocaleString('en-US')} rows`;
    if (windowed && !this._seen && this._watchForView()) {
      this._renderRows(0, 0); // one spacer of the table's full height until it is seen
    } else if (windowed) {
      this._renderWindow();
    } else {
      this._renderRows(0, this._visible.length);
    }
  }

  /**
   * A long table off screen (one of many profiles in a notebook) builds its
   * rows when it first comes near the screen. False where the browser
   * cannot tell (no IntersectionObserver): the rows are built at once.
   */
  private _watchForView(): boolean {
    const view = this._options.doc.defaultView as
      (Window & { IntersectionObserver?: typeof IntersectionObserver }) | null;
    if (!view?.IntersectionObserver) {
      return false;
    }
    if (this._observer === null) {
      this._observer = new view.IntersectionObserver(
        records => {
          if (records.some(record => record.isIntersecting)) {
            this._observer?.disconnect();
            this._observer = null;
            this._seen = true;
            this._refresh();
          }
        },
        { rootMargin: '400px' }
      );
      this._observer.observe(this.node);
    }
    return true;
  }

  private _onScroll(): void {
    if (this._frame !== 0 || !this.node.classList.contains(`${CSS}-windowed`)) {
      return;
    }
    const view = this._options.doc.defaultView;
    const run = () => {
      this._frame = 0;
      this._renderWindow();
    };
    if (view?.requestAnimationFrame) {
      this._frame = view.requestAnimationFrame(run);
    } else {
      run();
    }
  }

  /** The rows in the scroll window (and a few either side), between two spacers. */
  private _renderWindow(): void {
    const height = ProfileTable.rowHeight;
    const shown = ProfileTable.viewportRows;
    const extra = ProfileTable.overscan;
    const first = Math.max(0, Math.floor(this._scroller.scrollTop / height) - extra);
    const last = Math.min(this._visible.length, first + shown + 2 * extra);
    this._renderRows(first, last);
  }

  private _renderRows(first: number, last: number): void {
    const { doc, columns } = this._options;
    const fresh: ISparkline[] = [];
    const rows: HTMLTableRowElement[] = [];
    const spacer = (count: number) => {
      const tr = el(doc, 'tr', `${CSS}-spacer`);
      const td = el(doc, 'td', '');
      td.colSpan = columns.length;
      td.style.height = `${count * ProfileTable.rowHeight}px`;
      tr.appendChild(td);
      return tr;
    };
    if (first > 0) {
      rows.push(spacer(first));
    }
    for (let i = first; i < last; i++) {
      rows.push(this._rowOf(this._visible[i], fresh));
    }
    if (last < this._visible.length) {
      rows.push(spacer(this._visible.length - last));
    }
    this._body.replaceChildren(...rows);
    if (fresh.length > 0) {
      this._options.charts(fresh);
    }
  }

  /** The row of an entry, made once and kept (its chart is drawn once). */
  private _rowOf(entry: Private.IEntry, fresh: ISparkline[]): HTMLTableRowElement {
    let tr = this._rows.get(entry);
    if (tr === undefined) {
      tr = Private.row(this._options, entry, fresh);
      this._rows.set(entry, tr);
    }
    return tr;
  }

  private _options: ITableOptions;
  private _scroller: HTMLDivElement;
  private _table: HTMLTableElement;
  private _body: HTMLTableSectionElement;
  private _more: HTMLButtonElement;
  private _entries: Private.IEntry[];
  private _order: Private.IEntry[];
  private _visible: Private.IEntry[] = [];
  private _rows = new Map<Private.IEntry, HTMLTableRowElement>();
  private _mode: LineMode = 'all';
  private _showAll = false;
  private _frame = 0;
  private _seen = false;
  private _observer: IntersectionObserver | null = null;
}

namespace Private {
  /** A row to be: a line, a run of omitted lines, or a note. */
  export interface IEntry {
    row: ILineProfile | null;
    run: IOmittedLines | null;
    note: string | null;
    start: number;
    sampled: boolean;
  }

  export function entries(options: ITableOptions): IEntry[] {
    const list: IEntry[] = [];
    let next = 0;
    const runs = options.runs;
    const gap = (run: IOmittedLines): IEntry => ({
      row: null,
      run,
      note: null,
      start: run.first,
      sampled: run.sampled_lines > 0
    });
    for (const row of options.rows) {
      while (next < runs.length && runs[next].first < row.lineno) {
        list.push(gap(runs[next++]));
      }
      list.push({ row, run: null, note: null, start: row.lineno, sampled: hasSamples(row) });
    }
    for (; next < runs.length; next++) {
      list.push(gap(runs[next]));
    }
    if (options.note) {
      list.push({ row: null, run: null, note: options.note, start: Number.MAX_SAFE_INTEGER, sampled: true });
    }
    return list;
  }

  export function row(options: ITableOptions, entry: IEntry, charts: ISparkline[]): HTMLTableRowElement {
    if (entry.row !== null) {
      return line(options, entry.row, charts);
    }
    const tr = note(options, entry.run ? describeRun(entry.run) : entry.note!);
    if (entry.run) {
      tr.dataset.first = String(entry.run.first);
      tr.dataset.last = String(entry.run.last);
      if (entry.run.sampled_lines > 0) {
        tr.classList.add(`${CSS}-gapCut`);
      }
    }
    return tr;
  }

  /** A summary row across the table: a run of lines, or functions left out. */
  function note(options: ITableOptions, content: string): HTMLTableRowElement {
    const { doc, columns } = options;
    const tr = el(doc, 'tr', `${CSS}-gap`);
    tr.appendChild(text(doc, 'td', `${CSS}-lineno`, '⋯'));
    const cell = text(doc, 'td', `${CSS}-gapText`, content);
    cell.colSpan = columns.length - 1;
    tr.appendChild(cell);
    return tr;
  }

  function line(options: ITableOptions, row: ILineProfile, charts: ISparkline[]): HTMLTableRowElement {
    const { doc, columns } = options;
    const tr = el(doc, 'tr', `${CSS}-row`);
    tr.dataset.lineno = String(row.lineno);
    if (totalTime(row) < 0.05) {
      tr.classList.add(`${CSS}-idle`);
    }
    for (const column of columns) {
      const td = cell(options, row, column, charts);
      td.dataset.column = column.id;
      tr.appendChild(td);
    }
    return tr;
  }

  function cell(
    options: ITableOptions,
    row: ILineProfile,
    column: IColumn,
    charts: ISparkline[]
  ): HTMLTableCellElement {
    const doc = options.doc;
    switch (column.kind) {
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
      case 'sparkline':
        return timeline(options, row, charts);
      case 'source': {
        const content = row.line.replace(/\n$/, '');
        const code = text(doc, 'code', '', content);
        code.title = content;
        const sourceCell = el(doc, 'td', `${CSS}-code`);
        const optimize = options.optimize;
        if (optimize !== undefined && hasSamples(row)) {
          const button = text(doc, 'button', `${CSS}-optimize`, 'Optimize');
          button.type = 'button';
          button.title = `Ask an AI provider for a faster or leaner version of ${options.what === 'Function' ? 'this function' : 'this line'}`;
          button.addEventListener('click', event => {
            event.stopPropagation(); // a row click selects the line; this one asks
            optimize(row, button);
          });
          sourceCell.appendChild(button);
        }
        sourceCell.appendChild(code);
        return sourceCell;
      }
    }
  }

  function timeline(options: ITableOptions, row: ILineProfile, charts: ISparkline[]): HTMLTableCellElement {
    const doc = options.doc;
    const td = el(doc, 'td', `${CSS}-timeline`);
    const { host, chart } = sparklineHost(doc, `${CSS}-sparkline`, row.memory_samples ?? [], 80, 14);
    if (chart) {
      charts.push(chart);
    }
    td.appendChild(host);
    const leak = options.leaks[String(row.lineno)];
    if (leak) {
      const mark = text(doc, 'span', `${CSS}-leak`, 'leak');
      mark.title = `Likely leak: likelihood ${Math.round(leak.likelihood * 100)}%, growing ${leak.velocity_mb_s.toFixed(1)} MB/s`;
      mark.setAttribute('aria-label', mark.title);
      td.appendChild(mark);
    }
    return td;
  }

  function timeBar(doc: Document, row: ILineProfile): HTMLTableCellElement {
    const barCell = el(doc, 'td', `${CSS}-barCell`);
    const parts = TIME_KINDS.map(kind => ({ label: kind.label, css: kind.css, value: row[kind.key] }));
    barCell.appendChild(stackedBar(doc, 'Time', parts));
    return barCell;
  }
}
