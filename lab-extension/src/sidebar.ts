/**
 * The "Scalene" panel in JupyterLab's right sidebar: every profile of the
 * active notebook (the saved outputs, new runs as they finish, and earlier
 * runs of a cell seen in this session), one selected in full, its lines
 * leading to the cell and line they profile, and two runs of a cell
 * compared.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { CompareMode, renderComparison } from './compareView';
import { CSS as VIEW, el, text } from './dom';
import { IScaleneProfile } from './profile';
import { ChartQueue, IChartSet, drawSparklines } from './sparkline';
import { notebookCells } from './notebookCells';
import { IProfileEntry, cellLine, collectProfiles, sourceCell } from './sidebarModel';
import { DisplayMode, chartsOf, renderProfile } from './view';

/** CSS class prefix of the sidebar. */
export const SIDEBAR_CSS = 'jp-ScaleneSidebar';

/** Options of the sidebar. */
export interface ISidebarOptions {
  tracker: INotebookTracker;
  /** The display mode selected profiles open in. */
  mode?: () => DisplayMode;
}

/**
 * The sidebar widget. It follows the tracker's current notebook.
 */
export class ScaleneSidebar extends Widget {
  /**
   * Build the panel and bind it to the current notebook.
   */
  constructor(options: ISidebarOptions) {
    super();
    this._options = options;
    this.id = 'scalene-lab-sidebar';
    this.addClass(SIDEBAR_CSS);
    this.title.caption = 'Scalene profiles of this notebook';
    const doc = this.node.ownerDocument;
    this._heading = text(doc, 'div', `${SIDEBAR_CSS}-heading`, 'Scalene');
    this._list = el(doc, 'ul', `${SIDEBAR_CSS}-list`);
    this._list.setAttribute('aria-label', 'Profiles');
    this._detail = el(doc, 'div', `${SIDEBAR_CSS}-detail`);
    this._detail.addEventListener('click', event => this._onDetailClick(event));
    this.node.append(this._heading, this._list, this._detail);
    options.tracker.currentChanged.connect(() => this._bind(options.tracker.currentWidget));
    this._bind(options.tracker.currentWidget);
  }

  /** The profiles listed now, newest run of each cell first in notebook order. */
  get entries(): readonly IProfileEntry[] {
    return this._entries;
  }

  /** The notebook the panel shows. */
  get panel(): NotebookPanel | null {
    return this._panel;
  }

  /**
   * Show `id`'s profile in full (null: none).
   */
  select(id: string | null): void {
    this._selected = id;
    this._shown = null;
    this.refresh();
  }

  /**
   * Rebuild the list from the notebook's outputs now.
   */
  refresh(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    const panel = this._panel;
    const model = panel?.model ?? null;
    if (panel === null || model === null) {
      this._entries = [];
    } else {
      const current = collectProfiles(notebookCells(panel));
      let history = this._history.get(model);
      if (history === undefined) {
        history = new Map();
        this._history.set(model, history);
      }
      const present = new Set(current.map(entry => entry.id));
      for (const entry of current) {
        history.set(entry.id, entry);
      }
      // Earlier runs of a cell stay listed (after the notebook's own) so a
      // cell can be compared with how it ran before.
      const earlier = [...history.values()].filter(entry => !present.has(entry.id) && entry.profile !== null);
      this._entries = [...current, ...earlier.reverse()];
      this._present = present;
    }
    this._heading.textContent = panel ? `Scalene · ${panel.title.label}` : 'Scalene · no notebook';
    if (this._selected !== null && !this._entries.some(e => e.id === this._selected)) {
      this._selected = null;
    }
    // Outputs change many times while a cell runs (streams, progress bars):
    // the panel is redrawn only when what it lists has changed.
    const shown = [
      panel?.id ?? '',
      this._selected ?? '',
      ...this._entries.map(e => `${e.id}|${this._present.has(e.id)}|${e.error ?? ''}`)
    ].join('\n');
    if (shown !== this._shown) {
      this._shown = shown;
      this._renderList();
      this._renderDetail();
    }
  }

  /**
   * Release the panel's charts and signals with it.
   */
  dispose(): void {
    this._unbind();
    this._disposeCharts(this._listCharts);
    this._disposeCharts(this._detailCharts);
    super.dispose();
  }

  private _bind(panel: NotebookPanel | null): void {
    this._unbind();
    this._panel = panel;
    if (panel?.model) {
      panel.model.contentChanged.connect(this._schedule, this);
      panel.disposed.connect(this._onPanelDisposed, this);
    }
    this._selected = null;
    this.refresh();
  }

  private _unbind(): void {
    if (this._panel) {
      this._panel.model?.contentChanged.disconnect(this._schedule, this);
      this._panel.disposed.disconnect(this._onPanelDisposed, this);
    }
    this._panel = null;
  }

  private _onPanelDisposed(): void {
    this._bind(null);
  }

  /** Outputs change many times while a cell runs: read them once things settle. */
  private _schedule(): void {
    if (this._timer === null) {
      this._timer = setTimeout(() => this.refresh(), 250);
    }
  }

  private _renderList(): void {
    const doc = this.node.ownerDocument;
    this._disposeCharts(this._listCharts);
    const charts = new ChartQueue();
    const items = this._entries.map(entry => {
      const item = el(doc, 'li', `${SIDEBAR_CSS}-item`);
      const button = el(doc, 'button', `${SIDEBAR_CSS}-entry`);
      button.type = 'button';
      button.dataset.entry = entry.id;
      button.setAttribute('aria-pressed', String(entry.id === this._selected));
      button.addEventListener('click', () => this.select(entry.id === this._selected ? null : entry.id));
      const title = `In [${entry.executionCount ?? ' '}]` + (this._present.has(entry.id) ? '' : ' (earlier run)');
      button.appendChild(text(doc, 'span', `${SIDEBAR_CSS}-cell`, title));
      const facts: string[] = [];
      if (entry.started) {
        facts.push(entry.started.toLocaleTimeString());
      }
      if (entry.profile) {
        facts.push(`${entry.elapsed.toFixed(2)} s`);
        if (entry.peakMb !== null) {
          facts.push(`peak ${entry.peakMb.toFixed(1)} MB`);
        }
      } else {
        facts.push(`cannot be read: ${entry.error}`);
      }
      button.appendChild(text(doc, 'span', `${SIDEBAR_CSS}-facts`, facts.join(' · ')));
      if (entry.top) {
        button.appendChild(
          text(
            doc,
            'span',
            `${SIDEBAR_CSS}-top`,
            `${entry.top.percent.toFixed(1)}% line ${entry.top.lineno}: ${entry.top.text}`
          )
        );
      }
      const points = entry.profile ? Private.activity(entry.profile) : [];
      if (points.length >= 2) {
        const host = el(doc, 'span', `${VIEW}-sparkline ${SIDEBAR_CSS}-spark`);
        host.setAttribute('role', 'img');
        host.setAttribute('aria-label', entry.profile!.memory ? 'Memory over time' : 'CPU samples over time');
        charts.add([{ host, points, width: 60, height: 12 }]);
        button.appendChild(host);
      }
      item.appendChild(button);
      return item;
    });
    this._list.replaceChildren(...items);
    if (items.length === 0) {
      this._list.appendChild(
        text(
          doc,
          'li',
          `${SIDEBAR_CSS}-empty`,
          this._panel
            ? 'No profiles in this notebook yet: run a cell with %%scalene.'
            : 'Open a notebook to see its profiles.'
        )
      );
    }
    this._listCharts = this._draw(charts);
  }

  private _renderDetail(): void {
    const doc = this.node.ownerDocument;
    this._disposeCharts(this._detailCharts);
    this._detail.replaceChildren();
    const entry = this._entries.find(e => e.id === this._selected);
    if (!entry?.profile) {
      return;
    }
    const others = this._entries.filter(e => e.cellId === entry.cellId && e.id !== entry.id && e.profile);
    if (others.length > 0) {
      this._detail.appendChild(this._compareControls(entry, others));
    }
    const view = renderProfile(entry.profile, doc, { mode: this._options.mode?.() });
    this._detail.appendChild(view);
    this._detailCharts = this._draw(chartsOf(view));
  }

  private _compareControls(entry: IProfileEntry, others: IProfileEntry[]): HTMLElement {
    const doc = this.node.ownerDocument;
    const box = el(doc, 'div', `${SIDEBAR_CSS}-compareControls`);
    const other = el(doc, 'select', `${SIDEBAR_CSS}-compareWith`);
    other.setAttribute('aria-label', 'Compare with');
    other.appendChild(text(doc, 'option', '', 'Compare with…'));
    for (const candidate of others) {
      const option = text(
        doc,
        'option',
        '',
        `In [${candidate.executionCount ?? ' '}] ${candidate.started?.toLocaleTimeString() ?? ''} · ${candidate.elapsed.toFixed(2)} s`
      );
      option.value = candidate.id;
      other.appendChild(option);
    }
    const how = el(doc, 'select', `${SIDEBAR_CSS}-compareMode`);
    how.setAttribute('aria-label', 'Comparison');
    for (const [value, label] of [
      ['difference', 'Difference'],
      ['side-by-side', 'Side by side']
    ]) {
      const option = text(doc, 'option', '', label);
      option.value = value;
      how.appendChild(option);
    }
    const result = el(doc, 'div', `${SIDEBAR_CSS}-comparison`);
    const update = () => {
      result.replaceChildren();
      const chosen = others.find(o => o.id === other.value);
      if (!chosen) {
        return;
      }
      // The earlier run is "before", whichever was selected first.
      const [before, after] = Private.byTime(chosen, entry);
      result.appendChild(renderComparison(before.profile!, after.profile!, how.value as CompareMode, doc));
    };
    other.addEventListener('change', update);
    how.addEventListener('change', update);
    box.append(other, how, result);
    return box;
  }

  /** A click on a line of the selected profile: go to that cell and line. */
  private _onDetailClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const row = target.closest('tr[data-lineno]') as HTMLElement | null;
    const section = target.closest('section[data-source-key]') as HTMLElement | null;
    const entry = this._entries.find(e => e.id === this._selected);
    if (!row || !section || !entry?.profile || target.closest('button, select')) {
      return;
    }
    const code = row.querySelector('code')?.textContent ?? '';
    void this.reveal(entry, section.dataset.sourceKey!, Number(row.dataset.lineno), code);
  }

  /**
   * Scroll the notebook to the cell a profile line belongs to and put the
   * cursor on that line. Resolves to whether the line was found.
   */
  async reveal(entry: IProfileEntry, sourceKey: string, lineno: number, lineText: string): Promise<boolean> {
    const panel = this._panel;
    if (!panel || !entry.profile) {
      return false;
    }
    const notebook = panel.content;
    const cellId = sourceCell(entry, sourceKey, notebookCells(panel));
    const index = cellId === null ? -1 : notebook.widgets.findIndex(w => w.model.id === cellId);
    if (index < 0) {
      return false;
    }
    const cell = notebook.widgets[index];
    const line = cellLine(cell.model.sharedModel.getSource(), lineno, lineText) ?? Math.max(0, lineno - 1);
    notebook.activeCellIndex = index;
    await notebook.scrollToItem(index, 'center');
    notebook.mode = 'edit';
    cell.editor?.setCursorPosition({ line: Math.min(line, Math.max(0, (cell.editor?.lineCount ?? 1) - 1)), column: 0 });
    cell.editor?.focus();
    return true;
  }

  private _draw(queue: ChartQueue): IChartSet[] {
    const sets: IChartSet[] = [];
    queue.attach(charts => {
      void drawSparklines(charts).then(set => sets.push(set));
    });
    return sets;
  }

  private _disposeCharts(sets: IChartSet[]): void {
    sets.splice(0).forEach(set => set.dispose());
  }

  private _options: ISidebarOptions;
  private _heading: HTMLElement;
  private _list: HTMLUListElement;
  private _detail: HTMLDivElement;
  private _panel: NotebookPanel | null = null;
  private _entries: IProfileEntry[] = [];
  private _present = new Set<string>();
  private _shown: string | null = null;
  private _selected: string | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _history = new WeakMap<object, Map<string, IProfileEntry>>();
  private _listCharts: IChartSet[] = [];
  private _detailCharts: IChartSet[] = [];
}

namespace Private {
  /** Memory over time, or for a CPU-only profile the CPU samples over time (20 bins). */
  export function activity(profile: IScaleneProfile): number[][] {
    if (profile.memory && (profile.samples ?? []).length >= 2) {
      return profile.samples;
    }
    const times = Object.values(profile.files).flatMap(file => file.lines.flatMap(line => line.cpu_samples_list ?? []));
    if (times.length < 2) {
      return [];
    }
    const first = Math.min(...times);
    const span = Math.max(...times) - first || 1;
    const bins = new Array<number>(20).fill(0);
    for (const time of times) {
      bins[Math.min(19, Math.floor(((time - first) / span) * 20))] += 1;
    }
    return bins.map((count, i) => [i, count]);
  }

  export function byTime(a: IProfileEntry, b: IProfileEntry): [IProfileEntry, IProfileEntry] {
    const time = (e: IProfileEntry) => e.started?.getTime() ?? 0;
    return time(a) <= time(b) ? [a, b] : [b, a];
  }
}
