/**
 * Commands that move a notebook to the "Python 3 (Scalene)" kernel (the
 * allocator preloaded, for complete memory coverage) and back. Both restart
 * the kernel, so both ask first and say that state will be lost.
 */
import { Dialog, ISessionContext, showDialog } from '@jupyterlab/apputils';
import { KernelSpec } from '@jupyterlab/services';

/** The kernelspec the scalene-lab set-up installs (`scalene-lab kernelspec install`). */
export const PRELOAD_KERNEL = 'scalene-python3';

/** Command ids of this module. */
export namespace CommandIDs {
  export const restartWithMemory = 'scalene-lab:restart-with-memory-profiling';
  export const restartWithoutPreload = 'scalene-lab:restart-without-memory-preload';
}

/**
 * Whether the preload kernelspec is installed where the server looks.
 */
export function hasPreloadKernel(specs: KernelSpec.ISpecModels | null | undefined): boolean {
  return Boolean(specs?.kernelspecs[PRELOAD_KERNEL]);
}

/**
 * Ask, then restart `context` in `kernelName`. Resolves to whether it switched.
 */
export async function switchKernel(
  context: ISessionContext,
  kernelName: string,
  title: string,
  body: string
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Restart' })]
  });
  if (!result.button.accept) {
    return false;
  }
  await context.changeKernel({ name: kernelName });
  return true;
}

/** The dialog text for moving to the preloaded kernel. */
export const TO_PRELOAD = {
  title: 'Restart with full memory profiling?',
  body:
    'The kernel restarts as "Python 3 (Scalene)", with the sampling allocator ' +
    'preloaded so memory is profiled from the first allocation. All variables ' +
    'and other state of the current kernel will be lost.'
};

/** The dialog text for moving back. */
export const FROM_PRELOAD = {
  title: 'Restart without the preloaded allocator?',
  body:
    'The kernel restarts as the kernel this notebook used before. All variables ' +
    'and other state of the current kernel will be lost.'
};
