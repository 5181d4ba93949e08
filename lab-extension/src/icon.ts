/**
 * The Scalene icon (a scale's beam over three bars of rising heat) for the
 * sidebar tab, the cell toolbar button and the Settings Editor.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="2" width="12" height="1.6" rx="0.8"/>
    <rect x="3" y="10" width="2.4" height="4"/>
    <rect x="6.8" y="7" width="2.4" height="7"/>
    <rect x="10.6" y="4.5" width="2.4" height="9.5"/>
  </g>
</svg>`;

/** The icon, registered as `scalene-lab:icon`. */
export const scaleneIcon = new LabIcon({ name: 'scalene-lab:icon', svgstr: SVG });
