/**
 * How an AI proposal panel reaches its notebook: which cell a profiled source
 * is, the request body, applying a proposal (one undo step), and running the
 * changed code under the profiler again. Loaded when the first Optimize
 * action comes.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { AiSettings } from './aiClient';
import { runInCell } from './commands';
import { notebookCells } from './notebookCells';
import { IContextSource, IOptimizeTarget, optimizeRequest, reprofileCode } from './optimizeRequest';
import { IScaleneProfile, PROFILE_MIME_TYPE, checkedProfile, notebookFacts } from './profile';
import { IProposalHost } from './proposalPanel';
import { IProfileEntry, collectProfiles, sourceCell } from './sidebarModel';

/**
 * The cell model id of the source `key` of `profile` in `panel`, if it is a
 * cell there; `outputCellId` is the cell whose output the action came from
 * (it holds the profiled source when it holds a profile).
 */
export function cellIdOf(
  panel: NotebookPanel,
  profile: IScaleneProfile,
  key: string,
  outputCellId: string | null
): string | null {
  if (!profile.notebook) {
    return null; // a profile from Scalene's own CLI: its sources are files, never cells
  }
  const cells = notebookCells(panel);
  const holder = cells.find(c => c.cellId === outputCellId && c.outputs.some(d => d[PROFILE_MIME_TYPE] !== undefined));
  // The sidebar's own rule, with the holding cell as the profile's entry.
  const entry = { cellId: holder?.cellId ?? '', profile } as IProfileEntry;
  return sourceCell(entry, key, cells);
}

/** A source's text as the profile has it (its line records), for code not in a cell. */
export function profiledText(profile: IScaleneProfile, key: string): string {
  const lines = profile.files[key]?.lines ?? [];
  const last = lines.reduce((most, row) => Math.max(most, row.lineno), 0);
  const text = new Array<string>(last).fill('');
  for (const row of lines) {
    text[row.lineno - 1] = row.line.replace(/\n$/, '');
  }
  return text.join('\n');
}

/** The newest profile in `panel` that has a source for the cell `cellId`, and that source's key. */
export function latestProfileOf(
  panel: NotebookPanel,
  cellId: string
): { profile: IScaleneProfile; key: string } | null {
  const entries = collectProfiles(notebookCells(panel)).filter(e => e.profile !== null);
  for (const entry of entries.reverse()) {
    const profile = entry.profile!;
    for (const key of Object.keys(profile.files)) {
      if (cellIdOf(panel, profile, key, entry.cellId) === cellId) {
        return { profile, key };
      }
    }
  }
  return null;
}

/** Replace a cell's source as one step of its editor's undo history, apart from typing just before or after. */
function setSourceUndoably(cell: CodeCell, code: string): void {
  const shared = cell.model.sharedModel;
  // The shared cell's undo manager (a Y.UndoManager) is not in its interface.
  const undo = (shared as unknown as { undoManager?: { stopCapturing(): void } | null }).undoManager;
  undo?.stopCapturing();
  shared.setSource(code);
  undo?.stopCapturing();
}

function codeCell(panel: NotebookPanel, id: string | null): CodeCell | null {
  if (panel.isDisposed) {
    return null;
  }
  const cell = panel.content.widgets.find(w => w.model.id === id);
  return cell instanceof CodeCell ? cell : null;
}

/** What a proposal panel needs from this notebook. */
export function host(
  panel: NotebookPanel,
  profile: IScaleneProfile,
  target: IOptimizeTarget,
  outputCellId: string | null,
  settings: () => AiSettings,
  save: (key: string, value: string) => Promise<void>
): IProposalHost {
  const facts = notebookFacts(profile);
  const targetId = cellIdOf(panel, profile, target.sourceKey, outputCellId);
  const profiledId = cellIdOf(panel, profile, facts.profiled_source, outputCellId);
  const source = (id: string | null) => codeCell(panel, id)?.model.sharedModel.getSource() ?? null;
  return {
    settings,
    save,
    cellSource: () => source(targetId),
    request: () => {
      const context: IContextSource[] = Object.keys(profile.files)
        .filter(key => key !== target.sourceKey && facts.sources[key]?.kind === 'cell')
        .map(key => ({
          key,
          source: source(cellIdOf(panel, profile, key, outputCellId)) ?? profiledText(profile, key)
        }));
      return optimizeRequest(profile, target, source(targetId) ?? profiledText(profile, target.sourceKey), context);
    },
    apply: code => {
      const cell = codeCell(panel, targetId);
      if (cell) {
        setSourceUndoably(cell, code);
      }
    },
    reprofile: async code => {
      const changed = codeCell(panel, targetId);
      const profiled = codeCell(panel, profiledId);
      if (!changed || !profiled) {
        throw new Error('the cell is no longer in the notebook');
      }
      setSourceUndoably(changed, code);
      if (changed !== profiled) {
        await runInCell(panel, changed, code); // define the changed functions first
      }
      await runInCell(panel, profiled, reprofileCode(profiled.model.sharedModel.getSource(), profile));
      for (let i = profiled.model.outputs.length - 1; i >= 0; i--) {
        const data = profiled.model.outputs.get(i).data[PROFILE_MIME_TYPE];
        const parsed = data === undefined ? null : checkedProfile(data);
        if (parsed !== null && typeof parsed !== 'string') {
          return parsed;
        }
      }
      return null;
    },
    copy: code => Clipboard.copyToSystem(code)
  };
}
