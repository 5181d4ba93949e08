/**
 * Loads the `scalene_lab` IPython extension into every Python kernel that a
 * notebook or console starts or restarts, silently: no output, no history
 * entry, no execution count.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';

/**
 * The code sent to the kernel. One expression, so it leaves no names behind;
 * it does nothing where scalene_lab is not installed in that environment.
 */
export const LOAD_CODE =
  '(lambda ip, spec: ip.extension_manager.load_extension("scalene_lab") ' +
  'if ip is not None and spec("scalene_lab") else None)' +
  '(get_ipython(), __import__("importlib.util").util.find_spec)';

/**
 * Whether a kernel speaks Python (IPython-based kernels report "python").
 */
export async function isPythonKernel(kernel: Kernel.IKernelConnection): Promise<boolean> {
  const info = await kernel.info;
  return info.language_info.name.toLowerCase() === 'python';
}

/**
 * Send the silent load request to `kernel` if it is a Python kernel.
 */
export async function loadInto(kernel: Kernel.IKernelConnection): Promise<boolean> {
  if (!(await isPythonKernel(kernel))) {
    return false;
  }
  const future = kernel.requestExecute(
    {
      code: LOAD_CODE,
      silent: true,
      store_history: false,
      allow_stdin: false,
      stop_on_error: false
    },
    true
  );
  await future.done;
  return true;
}

/**
 * Follows one session context and loads scalene_lab after every kernel
 * start, change or restart.
 */
export class KernelWatcher {
  /**
   * Start following `context`.
   */
  constructor(context: ISessionContext) {
    this._context = context;
    context.kernelChanged.connect(this._onKernelChanged, this);
    context.statusChanged.connect(this._onStatus, this);
    context.disposed.connect(this.dispose, this);
    void context.ready.then(() => this._maybeLoad());
  }

  /**
   * Stop following the context.
   */
  dispose(): void {
    this._context.kernelChanged.disconnect(this._onKernelChanged, this);
    this._context.statusChanged.disconnect(this._onStatus, this);
    this._context.disposed.disconnect(this.dispose, this);
  }

  private _onKernelChanged(): void {
    this._loadedFor = null;
    this._maybeLoad();
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      this._loadedFor = null;
    } else if (status === 'idle' || status === 'starting') {
      this._maybeLoad();
    }
  }

  private _maybeLoad(): void {
    const kernel = this._context.session?.kernel;
    if (!kernel || this._loadedFor === kernel) {
      return;
    }
    this._loadedFor = kernel;
    loadInto(kernel).catch(reason => {
      this._loadedFor = null;
      console.warn('scalene-lab: could not load the kernel extension', reason);
    });
  }

  private _context: ISessionContext;
  private _loadedFor: Kernel.IKernelConnection | null = null;
}
