/**
 * Commands that move a notebook to the "Python 3 (Scalene)" kernel (the
 * allocator preloaded, for complete memory coverage) and back. Both restart
 * the kernel, so both ask first and say that state will be lost.
 */
import { Dialog, ISessionContext, showDialog } from '@jupyterlab/apputils';
import { Kernel, KernelSpec } from '@jupyterlab/services';

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
  await Private.ensureConnected(context);
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

namespace Private {
  /** Milliseconds to wait for the new kernel's websocket before reconnecting it. */
  const CONNECT_WAIT = 5000;

  /**
   * Make sure the notebook talks to the kernel it changed to. jupyter_server
   * can fail the first websocket to a kernel that has just replaced another
   * (a 500, "'NoneType' object has no attribute 'kernel_ws_protocol'",
   * jupyter-server/jupyter_server#1265); the connection then stays down and
   * every cell waits forever. One reconnect after a short wait recovers it.
   */
  export async function ensureConnected(context: ISessionContext): Promise<void> {
    const first = context.session?.kernel;
    if (!first || (await connected(first, CONNECT_WAIT))) {
      return;
    }
    // The session may have replaced the connection meanwhile.
    const kernel = context.session?.kernel;
    if (!kernel || kernel.isDisposed || kernel.connectionStatus === 'connected') {
      return;
    }
    try {
      await kernel.reconnect();
    } catch {
      // disposed while reconnecting: the session moved on to another connection
    }
  }

  function connected(kernel: Kernel.IKernelConnection, wait: number): Promise<boolean> {
    if (kernel.connectionStatus === 'connected') {
      return Promise.resolve(true);
    }
    return new Promise(resolve => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        kernel.connectionStatusChanged.disconnect(changed);
        resolve(ok);
      };
      const changed = (_: unknown, status: Kernel.ConnectionStatus) => {
        if (status === 'connected') {
          done(true);
        }
      };
      const timer = setTimeout(() => done(kernel.connectionStatus === 'connected'), wait);
      kernel.connectionStatusChanged.connect(changed);
    });
  }
}
