/**
 * The JupyterLab plugins of scalene-lab (the renderer is in `mime.ts`).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { aiPlugin } from './ai';
import { KernelWatcher } from './autoload';
import { CommandIDs as ProfileCommandIDs, profileCell } from './commands';
// The heat, the sidebar and the view defaults are needed when the plugins
// activate (the heat's editor extension, the sidebar panel, the settings the
// renderers read before the first profile is drawn), so they load at start.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { HeatController } from './heat';
import { scaleneIcon } from './icon';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { ScaleneSidebar } from './sidebar';
import { IHeatController, IScaleneSidebar } from './tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { DisplayMode, viewDefaults } from './view';
import { CommandIDs, FROM_PRELOAD, PRELOAD_KERNEL, TO_PRELOAD, hasPreloadKernel, switchKernel } from './memoryKernel';

/**
 * `scalene-lab:autoload`: load the kernel bridge into every Python kernel of
 * notebooks and consoles, so `%%scalene` works without `%load_ext`.
 */
const autoload: JupyterFrontEndPlugin<void> = {
  id: 'scalene-lab:autoload',
  description: 'Loads the scalene_lab IPython extension into Python kernels.',
  autoStart: true,
  optional: [INotebookTracker, IConsoleTracker],
  activate: (_app: JupyterFrontEnd, notebooks: INotebookTracker | null, consoles: IConsoleTracker | null) => {
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
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker, palette: ICommandPalette | null) => {
    const previous = new WeakMap<NotebookPanel, string>();
    const current = () => notebooks.currentWidget;
    const kernelName = (panel: NotebookPanel | null) => panel?.sessionContext.session?.kernel?.name ?? '';

    app.commands.addCommand(CommandIDs.restartWithMemory, {
      describedBy: Private.noArguments,
      label: 'Restart Kernel with Scalene Memory Preload…',
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
      describedBy: Private.noArguments,
      label: 'Restart Kernel without Scalene Memory Preload…',
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
      palette?.addItem({ command, category: 'Scalene' });
    }
  }
};

/**
 * `scalene-lab:sidebar`: the "Scalene" panel in the right sidebar, listing
 * the active notebook's profiles.
 */
const sidebar: JupyterFrontEndPlugin<ScaleneSidebar> = {
  id: 'scalene-lab:sidebar',
  description: 'The Scalene sidebar: the profiles of the active notebook.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: IScaleneSidebar,
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker) => {
    const panel = new ScaleneSidebar({ tracker: notebooks, mode: () => viewDefaults.mode ?? 'all' });
    panel.title.icon = scaleneIcon;
    app.shell.add(panel, 'right', { rank: 650 });
    return panel;
  }
};

/**
 * `scalene-lab:heat`: per-line heat in the cell editors of the active notebook.
 */
const heat: JupyterFrontEndPlugin<HeatController> = {
  id: 'scalene-lab:heat',
  description: 'Marks each profiled line in the cell editors.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: IHeatController,
  activate: (_app: JupyterFrontEnd, notebooks: INotebookTracker) => new HeatController(notebooks)
};

/**
 * `scalene-lab:commands`: Profile Cell (CPU, CPU + Memory), Show Scalene
 * Sidebar and Toggle Line Heat, in the palette, the cell context menu and
 * toolbar, with the settings of schema/commands.json.
 */
const commands: JupyterFrontEndPlugin<void> = {
  id: 'scalene-lab:commands',
  description: 'Scalene commands and settings.',
  autoStart: true,
  requires: [INotebookTracker, IScaleneSidebar, IHeatController],
  optional: [ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    panel: ScaleneSidebar,
    heatController: HeatController,
    palette: ICommandPalette | null,
    settings: ISettingRegistry | null
  ) => {
    let magicOptions = '';
    const hasCodeCell = () => notebooks.activeCell?.model.type === 'code';
    const profile = (memory: boolean) => async () => {
      const current = notebooks.currentWidget;
      if (current) {
        await profileCell(current, memory, magicOptions);
      }
    };
    app.commands.addCommand(ProfileCommandIDs.profileCpu, {
      describedBy: Private.toolbarArgument,
      label: 'Profile Cell (CPU)',
      caption: 'Run the active cell under %%scalene --cpu-only, without changing its source',
      icon: args => (args.toolbar ? scaleneIcon : undefined),
      isEnabled: hasCodeCell,
      execute: profile(false)
    });
    app.commands.addCommand(ProfileCommandIDs.profileMemory, {
      describedBy: Private.toolbarArgument,
      label: 'Profile Cell (CPU + Memory)',
      caption: 'Run the active cell under %%scalene --memory, without changing its source',
      isEnabled: hasCodeCell,
      execute: profile(true)
    });
    app.commands.addCommand(ProfileCommandIDs.showSidebar, {
      describedBy: Private.noArguments,
      label: 'Show Scalene Sidebar',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(ProfileCommandIDs.toggleHeat, {
      describedBy: Private.noArguments,
      label: 'Toggle Line Heat',
      isToggled: () => heatController.enabled,
      execute: () => {
        heatController.enabled = !heatController.enabled;
      }
    });
    for (const command of Object.values(ProfileCommandIDs)) {
      palette?.addItem({ command, category: 'Scalene' });
    }
    const apply = (values: ISettingRegistry.ISettings) => {
      magicOptions = String(values.composite.magicOptions ?? '');
      heatController.enabled = values.composite.heat !== false;
      viewDefaults.mode = (values.composite.displayMode as DisplayMode) ?? 'all';
      viewDefaults.sort = String(values.composite.sort ?? 'lineno');
    };
    void settings
      ?.load(commands.id)
      .then(values => {
        apply(values);
        values.changed.connect(apply);
      })
      .catch(reason => console.warn('scalene-lab: settings could not be loaded', reason));
  }
};

export default [autoload, memoryKernel, sidebar, heat, commands, aiPlugin];

namespace Private {
  /** What the commands without arguments accept (the command palette and API docs read it). */
  export const noArguments = { args: { type: 'object', properties: {} } };

  /** The profile commands: `toolbar` asks for the icon form of the cell toolbar button. */
  export const toolbarArgument = {
    args: {
      type: 'object',
      properties: {
        toolbar: { type: 'boolean', description: 'Shown as a cell toolbar button (icon only)' }
      }
    }
  };
}
