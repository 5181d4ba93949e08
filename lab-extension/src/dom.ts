/**
 * Small DOM helpers shared by the profile view's parts. Text goes in as
 * text (`textContent`), never as markup: profiles come from untrusted
 * notebooks.
 */

/** CSS class prefix of every element the profile view creates. */
export const CSS = 'jp-ScaleneProfile';

/**
 * Create an element with a class.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className: string
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  node.className = className;
  return node;
}

/**
 * Create an element with a class and text content.
 */
export function text<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className: string,
  content: string
): HTMLElementTagNameMap[K] {
  const node = el(doc, tag, className);
  node.textContent = content;
  return node;
}

/**
 * Format a share in percent for a table cell; blank when it rounds to nothing.
 */
export function formatPercent(value: number): string {
  return value >= 0.05 ? `${value.toFixed(1)}%` : '';
}

/**
 * Format a size in MB for a table cell; blank when it rounds to nothing.
 */
export function formatMegabytes(value: number): string {
  return value >= 0.05 ? value.toFixed(1) : '';
}

/** One segment of a stacked bar: a share in percent and its CSS kind. */
export interface IBarPart {
  label: string;
  css: string;
  value: number;
}

/**
 * A stacked bar (one segment per share, clamped to 0-100%), its numbers in
 * its title and, prefixed by `label`, in its accessible label.
 */
export function stackedBar(doc: Document, label: string, parts: readonly IBarPart[]): HTMLDivElement {
  const bar = el(doc, 'div', `${CSS}-bar`);
  const description = parts.map(p => `${p.label} ${p.value.toFixed(1)}%`).join(', ');
  bar.title = description;
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', `${label}: ${description}`);
  for (const part of parts) {
    const width = Math.max(0, Math.min(100, part.value));
    if (width > 0) {
      const segment = el(doc, 'span', `${CSS}-segment ${CSS}-${part.css}`);
      segment.style.width = `${width}%`;
      bar.appendChild(segment);
    }
  }
  return bar;
}
