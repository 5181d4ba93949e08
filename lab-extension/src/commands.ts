/**
 * The Profile Cell commands: run the active cell under `%%scalene` without
 * changing its source, its output and execution count as a normal run's.
 */
import { CodeCell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { OutputArea } from '@jupyterlab/outputarea';

import { profiledCode } from './profiledCode';

/** Command ids of scalene-lab's commands plugin. */
export namespace CommandIDs {
  export const profileCpu = 'scalene-lab:profile-cell-cpu';
  export const profileMemory = 'scalene-lab:profile-cell-memory';
  export const showSidebar = 'scalene-lab:show-sidebar';
  export const toggleHeat = 'scalene-lab:toggle-heat';
}

/**
 * Run `panel`'s active code cell under the profiler. Resolves to false when
 * there is no code cell to run.
 */
export async function profileCell(panel: NotebookPanel, memory: boolean, options: string): Promise<boolean> {
  const cell = panel.content.activeCell;
  if (!(cell instanceof CodeCell)) {
    return false;
  }
  await runInCell(panel, cell, profiledCode(cell.model.sharedModel.getSource(), memory, options));
  return true;
}

/**
 * Run `code` in `panel`'s kernel as if it were `cell`'s source: its outputs
 * and execution count go to the cell, whose source is left as it is.
 */
export async function runInCell(panel: NotebookPanel, cell: CodeCell, code: string): Promise<void> {
  const model = cell.model as ICodeCellModel;
  model.sharedModel.transact(() => model.clearExecution(), false);
  cell.setPrompt('*');
  try {
    const reply = await OutputArea.execute(code, cell.outputArea, panel.sessionContext, { cellId: model.id });
    if (reply?.content.execution_count !== undefined) {
      model.executionCount = reply.content.execution_count;
    }
  } finally {
    cell.setPrompt(model.executionCount === null ? '' : String(model.executionCount));
  }
}
