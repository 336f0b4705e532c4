import { existsSync } from 'node:fs';
import { tf } from './tf';

/** Candidates, best first. `tensorflow-gpu` and `tensorflow-cpu` both run as tfjs backend `tensorflow`. */
export const BACKEND_CANDIDATES = ['tensorflow-gpu', 'webgpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const;
export type BackendCandidate = (typeof BACKEND_CANDIDATES)[number];

export interface BackendReport {
  /** The candidate that was taken. */
  candidate: BackendCandidate;
  /** The tfjs backend name now active (`tf.getBackend()`). */
  backend: string;
  /** Why each better candidate was not taken. */
  skipped: { candidate: BackendCandidate; reason: string }[];
  /** Whether convolutions can be trained here (CNN models). */
  trainsConvolutions: boolean;
}

export interface ResolveOptions {
  /** A candidate name, or `tensorflow` for either native one; defaults to the ML_BACKEND environment variable. */
  prefer?: string;
}

let current: BackendReport | undefined;

/**
 * Picks and activates the best backend that works here. The native and WebGPU packages are optional
 * dependencies (their install needs a download or a GPU), so each is required lazily and any failure only
 * moves on to the next candidate. With `prefer` (or ML_BACKEND) only that backend is tried and failing is an error.
 */
export async function resolveBackend(options: ResolveOptions = {}): Promise<BackendReport> {
  const prefer = (options.prefer ?? process.env.ML_BACKEND ?? '').trim().toLowerCase();
  let candidates: BackendCandidate[] = [...BACKEND_CANDIDATES];
  if (prefer) {
    if (prefer === 'tensorflow') candidates = ['tensorflow-gpu', 'tensorflow-cpu'];
    else if ((BACKEND_CANDIDATES as readonly string[]).includes(prefer))
      candidates = [prefer as BackendCandidate];
    else throw new Error(`ML_BACKEND=${prefer} is not one of tensorflow, ${BACKEND_CANDIDATES.join(', ')}`);
  }
  const skipped: BackendReport['skipped'] = [];
  for (const candidate of candidates) {
    const reason = await activate(candidate);
    if (reason === null) {
      current = { candidate, backend: tf.getBackend(), skipped, trainsConvolutions: trainsConvolutions() };
      return current;
    }
    skipped.push({ candidate, reason });
  }
  throw new Error(`no usable ML backend: ${skipped.map((s) => `${s.candidate}: ${s.reason}`).join('; ')}`);
}

/** The last resolved backend, or the active tfjs backend when resolveBackend was never called. */
export function currentBackend(): BackendReport {
  if (current && current.backend === tf.getBackend()) return current;
  const backend = tf.getBackend();
  return {
    candidate: (backend === 'tensorflow' ? 'tensorflow-cpu' : backend) as BackendCandidate,
    backend,
    skipped: [],
    trainsConvolutions: trainsConvolutions(),
  };
}

/** Convolution training needs the filter-gradient kernel; the wasm backend has none. */
export function trainsConvolutions(backend = tf.getBackend()): boolean {
  return tf.getKernel('Conv2DBackpropFilter', backend) !== undefined;
}

/** Returns null when the candidate is active, else why not. */
async function activate(candidate: BackendCandidate): Promise<string | null> {
  try {
    switch (candidate) {
      case 'tensorflow-gpu': {
        // libtensorflow's GPU build silently runs on the CPU when there is no device, so look for one first.
        if (!existsSync('/dev/nvidiactl') && !existsSync('/dev/nvidia0')) return 'no NVIDIA GPU device';
        const loaded = lazyRequire('@tensorflow/tfjs-node-gpu');
        if (loaded) return loaded;
        return (await setBackend('tensorflow')) ? null : 'tensorflow backend did not initialize';
      }
      case 'webgpu':
        return await activateWebgpu();
      case 'tensorflow-cpu': {
        const loaded = lazyRequire('@tensorflow/tfjs-node');
        if (loaded) return loaded;
        return (await setBackend('tensorflow')) ? null : 'tensorflow backend did not initialize';
      }
      case 'wasm': {
        const loaded = lazyRequire('@tensorflow/tfjs-backend-wasm');
        if (loaded) return loaded;
        return (await setBackend('wasm')) ? null : 'wasm backend did not initialize';
      }
      case 'cpu':
        return (await setBackend('cpu')) ? null : 'cpu backend did not initialize';
    }
  } catch (err) {
    return (err as Error).message;
  }
}

async function activateWebgpu(): Promise<string | null> {
  let webgpu: { create(flags: string[]): { requestAdapter(): Promise<unknown> }; globals: object };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependency, loaded only when tried
    webgpu = require('webgpu');
  } catch (err) {
    return `package webgpu not loadable: ${(err as Error).message.split('\n')[0]}`;
  }
  const gpu = webgpu.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) return 'no GPU adapter found (Dawn needs a Vulkan driver for a real GPU)';
  Object.assign(globalThis, webgpu.globals);
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav) nav.gpu = gpu;
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const loaded = lazyRequire('@tensorflow/tfjs-backend-webgpu');
  if (loaded) return loaded;
  return (await setBackend('webgpu')) ? null : 'webgpu backend did not initialize';
}

/** Returns null when loaded, else the reason. */
function lazyRequire(name: string): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependencies, loaded only when tried
    require(name);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND') return `package ${name} is not installed`;
    return `package ${name} failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function setBackend(name: string): Promise<boolean> {
  if (!tf.findBackendFactory(name)) return false;
  const ok = await tf.setBackend(name);
  await tf.ready();
  return ok;
}
