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
