/**
 * The code the Profile Cell commands send for a cell (no JupyterLab
 * imports, so it is tested on its own).
 */

/**
 * The code a Profile Cell command sends: the cell under a `%%scalene` line
 * (`--cpu-only` or `--memory`, then the user's default options). A cell that
 * already starts with `%%scalene` runs as it is.
 */
export function profiledCode(source: string, memory: boolean, options: string): string {
  if (/^\s*%%scalene\b/.test(source)) {
    return source;
  }
  const line = ['%%scalene', memory ? '--memory' : '--cpu-only', options.trim()].filter(Boolean).join(' ');
  return `${line}\n${source}`;
}
