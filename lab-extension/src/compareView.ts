/**
 * Two runs of a cell compared, so an optimisation can be checked: as a
 * difference (per line: time and net allocation before, after, and the
 * change) or side by side (the two full views).
 */
import { CSS, el, text } from './dom';
import { IScaleneProfile } from './profile';
import { compareRuns } from './sidebarModel';
import { renderProfile } from './view';

/** How two runs are shown. */
export type CompareMode = 'difference' | 'side-by-side';

/**
 * Build the comparison of `before` and `after`.
 */
export function renderComparison(
  before: IScaleneProfile,
  after: IScaleneProfile,
  mode: CompareMode,
  doc: Document = document
): HTMLElement {
  const node = el(doc, 'div', `${CSS}-compare ${CSS}-compare-${mode}`);
  const speedup = after.elapsed_time_sec > 0 ? before.elapsed_time_sec / after.elapsed_time_sec : 0;
  node.appendChild(
    text(
      doc,
      'div',
      `${CSS}-compareSummary`,
      `${before.elapsed_time_sec.toFixed(3)} s → ${after.elapsed_time_sec.toFixed(3)} s` +
        (speedup > 0
          ? ` (${speedup >= 1 ? `${speedup.toFixed(2)}x faster` : `${(1 / speedup).toFixed(2)}x slower`})`
          : '')
    )
  );
  if (mode === 'side-by-side') {
    const pair = el(doc, 'div', `${CSS}-comparePair`);
    for (const [label, profile] of [
      ['Before', before],
      ['After', after]
    ] as const) {
      const side = el(doc, 'div', `${CSS}-compareSide`);
      side.appendChild(text(doc, 'div', `${CSS}-compareLabel`, label));
      side.appendChild(renderProfile(profile, doc));
      pair.appendChild(side);
    }
    node.appendChild(pair);
    return node;
  }
  const table = el(doc, 'table', `${CSS}-table ${CSS}-compareTable`);
  const head = table.createTHead().insertRow();
  for (const label of [
    'Line before',
    'Line after',
    'Time before (s)',
    'Time after (s)',
    'Δ time (s)',
    'Alloc before (MB)',
    'Alloc after (MB)',
    'Δ alloc (MB)',
    'Source'
  ]) {
    head.appendChild(text(doc, 'th', '', label));
  }
  const body = table.createTBody();
  for (const change of compareRuns(before, after)) {
    const tr = el(doc, 'tr', `${CSS}-row`);
    if (change.before === null) {
      tr.classList.add(`${CSS}-added`);
    } else if (change.after === null) {
      tr.classList.add(`${CSS}-removed`);
    }
    const number = (value: number | null) => (value === null ? '' : String(value));
    const delta = (value: number, digits: number) => {
      const least = 0.5 * 10 ** -digits; // what rounds to nothing at this many digits
      const shown = Math.abs(value) >= least ? `${value > 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}` : '';
      const cell = text(doc, 'td', `${CSS}-percent`, shown);
      cell.classList.add(value >= least ? `${CSS}-worse` : value <= -least ? `${CSS}-better` : `${CSS}-same`);
      return cell;
    };
    const cells = [
      text(doc, 'td', `${CSS}-lineno`, number(change.before)),
      text(doc, 'td', `${CSS}-lineno`, number(change.after)),
      text(doc, 'td', `${CSS}-percent`, change.before === null ? '' : change.timeBefore.toFixed(3)),
      text(doc, 'td', `${CSS}-percent`, change.after === null ? '' : change.timeAfter.toFixed(3)),
      delta(change.timeAfter - change.timeBefore, 3),
      text(doc, 'td', `${CSS}-percent`, change.before === null ? '' : change.memoryBefore.toFixed(1)),
      text(doc, 'td', `${CSS}-percent`, change.after === null ? '' : change.memoryAfter.toFixed(1)),
      delta(change.memoryAfter - change.memoryBefore, 1)
    ];
    cells.forEach(cell => tr.appendChild(cell));
    const code = el(doc, 'td', `${CSS}-code`);
    code.appendChild(text(doc, 'code', '', change.text));
    tr.appendChild(code);
    body.appendChild(tr);
  }
  node.appendChild(table);
  return node;
}
