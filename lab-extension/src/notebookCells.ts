/**
 * A notebook's code cells as the sidebar and the heat read them: id,
 * execution count, current text and output bundles.
 */
import { ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { outputData } from './outputData';
import { ICellOutputs } from './sidebarModel';

/**
 * The code cells of `panel`'s notebook, in order.
 */
export function notebookCells(panel: NotebookPanel): ICellOutputs[] {
  const list: ICellOutputs[] = [];
  const model = panel.model;
  if (!model) {
    return list;
  }
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') {
      continue;
    }
    const code = cell as ICodeCellModel;
    const outputs: { [mime: string]: unknown }[] = [];
    for (let j = 0; j < code.outputs.length; j++) {
      outputs.push(outputData(code.outputs.get(j)) as { [mime: string]: unknown });
    }
    list.push({ cellId: code.id, executionCount: code.executionCount, source: code.sharedModel.getSource(), outputs });
  }
  return list;
}
