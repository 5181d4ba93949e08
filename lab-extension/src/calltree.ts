/**
 * The sampled call stacks of a profile (Scalene's `stacks`, taken with
 * `--stacks`) as a call tree: each frame with the share of the run spent in
 * it and below it, heaviest callees first, frames named by cell (`In [N]`)
 * and file as the kernel wrote them.
 */
import { CSS, el, text } from './dom';

/** One entry of Scalene's `stacks`: frames outermost first, and their statistics. */
export type StackEntry = [string[], { count: number; python_time: number; c_time: number; cpu_samples: number }];

/** A frame of the call tree. */
export interface ICallNode {
  /** `In [8] outer:3` or `/path/file.py function:12`. */
  name: string;
  /** Percent of the run spent in this frame and below it. */
  total: number;
  /** Percent of the run spent in this frame itself. */
  self: number;
  /** Samples through this frame. */
  count: number;
  children: ICallNode[];
}

/**
 * Merge the stacks into one tree under a root that holds the whole.
 */
export function callTree(stacks: StackEntry[]): ICallNode {
  const root: ICallNode = { name: 'all', total: 0, self: 0, count: 0, children: [] };
  for (const [frames, stats] of stacks) {
    const share = 100 * (stats.cpu_samples || stats.python_time + stats.c_time);
    let node = root;
    node.total += share;
    node.count += stats.count;
    for (const raw of frames) {
      const name = raw.replace(/;$/, '');
      let child = node.children.find(c => c.name === name);
      if (child === undefined) {
        child = { name, total: 0, self: 0, count: 0, children: [] };
        node.children.push(child);
      }
      child.total += share;
      child.count += stats.count;
      node = child;
    }
    node.self += share;
  }
  const order = (node: ICallNode): void => {
    node.children.sort((a, b) => b.total - a.total);
    node.children.forEach(order);
  };
  order(root);
  return root;
}

/**
 * The call tree as nested, foldable rows: a bar for the frame's total
 * share, and its numbers in text.
 */
export function renderCallTree(stacks: StackEntry[], doc: Document = document): HTMLElement {
  const root = callTree(stacks);
  const node = el(doc, 'div', `${CSS}-callTree`);
  node.setAttribute('role', 'tree');
  node.setAttribute('aria-label', 'Sampled call stacks');
  if (root.children.length === 0) {
    node.appendChild(
      text(doc, 'div', `${CSS}-empty`, 'No call stacks were sampled (run with --stacks to collect them).')
    );
    return node;
  }
  for (const child of root.children) {
    node.appendChild(Private.frame(doc, child, 1));
  }
  return node;
}

namespace Private {
  export function frame(doc: Document, call: ICallNode, depth: number): HTMLElement {
    const label = el(doc, 'span', `${CSS}-frame`);
    const bar = el(doc, 'span', `${CSS}-frameBar`);
    bar.style.width = `${Math.max(0, Math.min(100, call.total))}%`;
    const barBox = el(doc, 'span', `${CSS}-frameBarBox`);
    barBox.appendChild(bar);
    label.appendChild(barBox);
    label.appendChild(text(doc, 'span', `${CSS}-frameName`, call.name));
    const numbers = `${call.total.toFixed(1)}%` + (call.children.length > 0 ? ` (self ${call.self.toFixed(1)}%)` : '');
    label.appendChild(text(doc, 'span', `${CSS}-frameShare`, numbers));
    if (call.children.length === 0) {
      const leaf = el(doc, 'div', `${CSS}-frameLeaf`);
      leaf.setAttribute('role', 'treeitem');
      leaf.setAttribute('aria-level', String(depth));
      leaf.appendChild(label);
      return leaf;
    }
    const details = el(doc, 'details', `${CSS}-frameNode`);
    details.open = true;
    details.setAttribute('role', 'treeitem');
    details.setAttribute('aria-level', String(depth));
    const summary = el(doc, 'summary', '');
    summary.appendChild(label);
    details.appendChild(summary);
    for (const child of call.children) {
      details.appendChild(frame(doc, child, depth + 1));
    }
    return details;
  }
}
