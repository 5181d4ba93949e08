/**
 * The JupyterLab plugins of scalene-lab (the renderer is in `mime.ts`).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker } from '@jupyterlab/notebook';

import { KernelWatcher } from './autoload';

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

export default [autoload];
