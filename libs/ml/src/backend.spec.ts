import { currentBackend, resolveBackend } from './backend';
import { tf } from './tf';

describe('resolveBackend', () => {
  const saved = process.env.ML_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.ML_BACKEND;
    else process.env.ML_BACKEND = saved;
  });

  it('honours ML_BACKEND', async () => {
    process.env.ML_BACKEND = 'cpu';
    const report = await resolveBackend();
    expect(report).toMatchObject({ candidate: 'cpu', backend: 'cpu', skipped: [], trainsConvolutions: true });
    expect(tf.getBackend()).toBe('cpu');
    expect(currentBackend().backend).toBe('cpu');
  });

  it('takes the best working candidate and says why the better ones were skipped', async () => {
    delete process.env.ML_BACKEND;
    const report = await resolveBackend();
    const order = ['tensorflow-gpu', 'webgpu', 'tensorflow-cpu', 'wasm', 'cpu'];
    const taken = order.indexOf(report.candidate);
    expect(report.skipped.map((s) => s.candidate)).toEqual(order.slice(0, taken));
    for (const s of report.skipped) expect(s.reason.length).toBeGreaterThan(5);
    expect(tf.getBackend()).toBe(report.backend);
  });

  it('rejects an unknown backend name', async () => {
    await expect(resolveBackend({ prefer: 'tpu' })).rejects.toThrow(/not one of/);
  });
});
