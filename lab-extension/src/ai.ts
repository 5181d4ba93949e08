/**
 * `scalene-lab:ai`: AI optimization proposals. Catches the Optimize buttons'
 * events from the inline view and the sidebar, adds "Optimize Selected
 * Lines…" for a range selected in a cell's editor, finds the notebook and
 * cell the code lives in, and opens a proposal panel beside the notebook.
 * The provider, model and options are this plugin's settings
 * (schema/ai.json).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import type { AiSettings } from './aiClient';
import { scaleneIcon } from './icon';
// The event's name is needed when the plugin activates; the rest loads on the first Optimize.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { IOptimizeDetail, IOptimizeTarget, OPTIMIZE_EVENT } from './optimizeRequest';
import type { IScaleneProfile } from './profile';

/** Command ids of the AI plugin. */
export namespace CommandIDs {
  export const optimizeSelection = 'scalene-lab:optimize-selection';
}

/**
 * The plugin.
 */
export const aiPlugin: JupyterFrontEndPlugin<void> = {
  id: 'scalene-lab:ai',
  description: 'AI optimization proposals for profiled lines, functions and selections.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null
  ) => {
    let settings: ISettingRegistry.ISettings | null = null;
    void registry
      ?.load(aiPlugin.id)
      .then(loaded => {
        settings = loaded;
      })
      .catch(reason => console.warn('scalene-lab: AI settings could not be loaded', reason));
    const current = (): AiSettings => ({ ...((settings?.composite as AiSettings | undefined) ?? {}) });
    const save = async (key: string, value: string) => {
      await settings?.set(key, key === 'provider' && value === '' ? 'auto' : value);
    };

    const open = async (
      panel: NotebookPanel,
      profile: IScaleneProfile,
      target: IOptimizeTarget,
      outputCellId: string | null
    ) => {
      const [{ host }, { ProposalPanel }] = await Promise.all([import('./aiHost'), import('./proposalPanel')]);
      const proposal = new ProposalPanel(profile, target, host(panel, profile, target, outputCellId, current, save));
      proposal.title.icon = scaleneIcon;
      panel.disposed.connect(() => proposal.dispose()); // its cells are gone with it
      app.shell.add(proposal, 'main', { mode: 'split-right', ref: panel.id });
      app.shell.activateById(proposal.id);
    };

    app.shell.node.addEventListener(OPTIMIZE_EVENT, event => {
      const { profile, target } = (event as CustomEvent<IOptimizeDetail>).detail;
      const origin = event.target instanceof Node ? event.target : null;
      // From an output, the notebook around it; from the sidebar, the active one.
      const panel = notebooks.find(p => origin !== null && p.node.contains(origin)) ?? notebooks.currentWidget;
      if (!panel) {
        Notification.warning('Optimize: open the notebook this profile belongs to first.');
        return;
      }
      const cell = panel.content.widgets.find(w => origin !== null && w.node.contains(origin));
      void open(panel, profile, target, cell?.model.id ?? null);
    });

    app.commands.addCommand(CommandIDs.optimizeSelection, {
      label: 'Optimize Selected Lines…',
      caption: 'Ask an AI provider for a faster or leaner version of the lines selected in the active cell',
      describedBy: { args: { type: 'object', properties: {} } },
      isEnabled: () => notebooks.activeCell instanceof CodeCell,
      execute: async () => {
        const panel = notebooks.currentWidget;
        const cell = notebooks.activeCell;
        if (!panel || !(cell instanceof CodeCell) || !cell.editor) {
          return;
        }
        const { latestProfileOf } = await import('./aiHost');
        const found = latestProfileOf(panel, cell.model.id);
        if (found === null) {
          Notification.warning('Optimize: this cell has no profile yet. Run it under %%scalene first.');
          return;
        }
        const selection = cell.editor.getSelection();
        let last = selection.end.line + 1;
        if (selection.end.column === 0 && selection.end.line > selection.start.line) {
          last -= 1; // a selection that ends at a line's start does not take that line
        }
        const first = Math.min(selection.start.line + 1, last);
        const target: IOptimizeTarget = { sourceKey: found.key, kind: 'range', first, last };
        await open(panel, found.profile, target, cell.model.id);
      }
    });
    palette?.addItem({ command: CommandIDs.optimizeSelection, category: 'Scalene' });
  }
};
