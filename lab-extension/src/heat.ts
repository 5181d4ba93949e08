/**
 * Line heat in the cell editors: a gutter mark per profiled line (its CPU
 * share, or memory for lines that only allocate), exact numbers on hover.
 * Editing a cell clears its heat, which would no longer match the code; a
 * new run of the cell brings it back.
 */
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Extension, RangeSet, StateEffect, StateField, EditorState } from '@codemirror/state';
import { GutterMarker, gutter } from '@codemirror/view';

import { ILineHeat, notebookHeat } from './heatModel';
import { notebookCells } from './notebookCells';

/** CSS class prefix of the heat marks. */
export const HEAT_CSS = 'jp-ScaleneHeat';

const setHeat = StateEffect.define<ILineHeat[]>();

class HeatMarker extends GutterMarker {
  constructor(readonly heat: ILineHeat) {
    super();
  }

  eq(other: GutterMarker): boolean {
    return other instanceof HeatMarker && other.heat.level === this.heat.level && other.heat.label === this.heat.label;
  }

  toDOM(): Node {
    const mark = document.createElement('span');
    mark.className = `${HEAT_CSS}-mark ${HEAT_CSS}-level${this.heat.level}`;
    mark.title = this.heat.label;
    mark.setAttribute('aria-label', this.heat.label);
    mark.dataset.line = String(this.heat.line + 1);
    return mark;
  }
}

function markers(state: EditorState, heat: ILineHeat[]): RangeSet<GutterMarker> {
  const ranges = heat
    .filter(h => h.line < state.doc.lines)
    .map(h => new HeatMarker(h).range(state.doc.line(h.line + 1).from));
  return RangeSet.of(ranges, true);
}

const heatField = StateField.define<RangeSet<GutterMarker>>({
  create: () => RangeSet.empty,
  update(value, transaction) {
    for (const effect of transaction.effects) {
      if (effect.is(setHeat)) {
        return markers(transaction.state, effect.value);
      }
    }
    return transaction.docChanged ? RangeSet.empty : value;
  }
});

/** The editor extension: the heat state and its gutter. */
export const heatExtension: Extension = [
  heatField,
  gutter({ class: `${HEAT_CSS}-gutter`, markers: view => view.state.field(heatField) })
];

/**
 * Keeps the heat of the current notebook's cells in step with its profiles.
 */
export class HeatController {
  /**
   * Follow `tracker`'s current notebook.
   */
  constructor(tracker: INotebookTracker) {
    this._tracker = tracker;
    tracker.currentChanged.connect(() => this._bind(tracker.currentWidget));
    this._bind(tracker.currentWidget);
  }

  /** Whether heat is shown. */
  get enabled(): boolean {
    return this._enabled;
  }

  set enabled(value: boolean) {
    if (value !== this._enabled) {
      this._enabled = value;
      this._applied = new Map();
      this.update();
    }
  }

  /**
   * Apply the profiles' heat to the current notebook's cells now.
   */
  update(): void {
    this._timer = null;
    const panel = this._tracker.currentWidget;
    if (!panel?.model) {
      return;
    }
    const cells = notebookCells(panel);
    const heat = this._enabled ? notebookHeat(cells) : new Map();
    const sources = new Map(cells.map(cell => [cell.cellId, cell.source]));
    for (const widget of panel.content.widgets) {
      const editor = widget.editor;
      if (widget.model.type !== 'code' || !(editor instanceof CodeMirrorEditor)) {
        continue;
      }
      const id = widget.model.id;
      const wanted = heat.get(id);
      const applied = this._applied.get(id);
      const source = sources.get(id) ?? '';
      if (wanted && applied && applied.run === wanted.run && applied.source !== source) {
        continue; // edited since this run's heat went on: it stays cleared
      }
      const key = wanted ? `${wanted.run}\n${source}` : '';
      if (applied?.key === key) {
        continue;
      }
      if (!this._injected.has(editor)) {
        editor.injectExtension(heatExtension);
        this._injected.add(editor);
      }
      editor.editor.dispatch({ effects: setHeat.of(wanted?.lines ?? []) });
      if (editor.editor.state.field(heatField, false) === undefined) {
        // The extension is injected by a reconfiguration that lands after
        // this call: try again once it is in.
        this._schedule();
        continue;
      }
      this._applied.set(id, { run: wanted?.run ?? '', source, key });
    }
  }

  private _bind(panel: NotebookPanel | null): void {
    if (this._panel?.model) {
      this._panel.model.contentChanged.disconnect(this._schedule, this);
    }
    this._panel = panel;
    this._applied = new Map();
    panel?.model?.contentChanged.connect(this._schedule, this);
    void panel?.revealed.then(() => this.update());
  }

  private _schedule(): void {
    if (this._timer === null) {
      this._timer = setTimeout(() => this.update(), 250);
    }
  }

  private _tracker: INotebookTracker;
  private _panel: NotebookPanel | null = null;
  private _enabled = true;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _injected = new WeakSet<object>();
  private _applied = new Map<string, { run: string; source: string; key: string }>();
}
