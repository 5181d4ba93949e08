// jsdom has no DragEvent, which @lumino/dragdrop subclasses at import time.
if (typeof globalThis.DragEvent === 'undefined') {
  globalThis.DragEvent = class DragEvent extends MouseEvent {};
}

// jsdom has no canvas; vega probes one at import time to measure text and
// falls back to estimates when there is none. Say "none" without jsdom's
// not-implemented error.
HTMLCanvasElement.prototype.getContext = () => null;
