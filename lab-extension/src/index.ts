/**
 * The JupyterLab plugins of scalene-lab (the renderer is in `mime.ts`).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { KernelWatcher } from './autoload';
import {
  CommandIDs,
  FROM_PRELOAD,
  PRELOAD_KERNEL,
  TO_PRELOAD,
  hasPreloadKernel,
  switchKernel
} from './memoryKernel';

/**
 * `scalene-lab:autoload`: load the kernel bridge into every Python kernel of
 * notebooks and consoles, so `%%scalene` works without `%load_ext`.
 */
const autoload: JupyterFrontEndPlugin<void> = {
  id: 'scalene-lab:autoload',
  description: 'Loads the scalene_lab IPython extension into Python kernels.',
  autoStart: true,
  optional: [INotebookTracker, IConsoleTracker],
  activate: (
    _app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    consoles: IConsoleTracker | null
  ) => {
    notebooks?.widgetAdded.connect((_, panel) => {
      new KernelWatcher(panel.sessionContext);
    });
    consoles?.widgetAdded.connect((_, panel) => {
      new KernelWatcher(panel.sessionContext);
    });
  }
};

/**
 * `scalene-lab:memory-kernel`: commands to restart a notebook in the
 * "Python 3 (Scalene)" kernel (allocator preloaded) and back.
 */
const memoryKernel: JupyterFrontEndPlugin<void> = {
  id: 'scalene-lab:memory-kernel',
  description: 'Restart a notebook with full memory profiling, and back.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null
  ) => {
    const previous = new WeakMap<NotebookPanel, string>();
    const current = () => notebooks.currentWidget;
    const kernelName = (panel: NotebookPanel | null) =>
      panel?.sessionContext.session?.kernel?.name ?? '';

    app.commands.addCommand(CommandIDs.restartWithMemory, {
      label: 'Restart Kernel with Full Memory Profiling…',
      caption: 'Restart in "Python 3 (Scalene)": memory profiled from the first allocation',
      isEnabled: () =>
        current() !== null &&
        kernelName(current()) !== PRELOAD_KERNEL &&
        hasPreloadKernel(app.serviceManager.kernelspecs.specs),
      execute: async () => {
        const panel = current();
        if (!panel) {
          return;
        }
        const before = kernelName(panel);
        if (await switchKernel(panel.sessionContext, PRELOAD_KERNEL, TO_PRELOAD.title, TO_PRELOAD.body)) {
          previous.set(panel, before || 'python3');
        }
      }
    });
    app.commands.addCommand(CommandIDs.restartWithoutPreload, {
      label: 'Restart Kernel without Full Memory Profiling…',
      caption: 'Restart in the kernel this notebook used before',
      isEnabled: () => kernelName(current()) === PRELOAD_KERNEL,
      execute: async () => {
        const panel = current();
        if (!panel) {
          return;
        }
        const back = previous.get(panel) ?? 'python3';
        if (await switchKernel(panel.sessionContext, back, FROM_PRELOAD.title, FROM_PRELOAD.body)) {
          previous.delete(panel);
        }
      }
    });
    for (const command of [CommandIDs.restartWithMemory, CommandIDs.restartWithoutPreload]) {
      palette?.addItem({ command, category: 'Kernel' });
    }
  }
};

export default [autoload, memoryKernel];
