import { defaultModelSpec, modelSpec, TEXT_MODEL_DEFAULTS } from './spec';

describe('defaultModelSpec', () => {
  it('gives text projects the text defaults and other kinds the generic ones', () => {
    expect(defaultModelSpec('text')).toEqual(modelSpec({ ...TEXT_MODEL_DEFAULTS }));
    expect(defaultModelSpec('text')).toMatchObject({ architecture: 'linear', hiddenUnits: [] });
    expect(defaultModelSpec('image')).toEqual(modelSpec());
    expect(defaultModelSpec('tabular', { seed: 3 })).toEqual(modelSpec({ seed: 3 }));
  });

  it('lets the stored spec override any field', () => {
    const spec = defaultModelSpec('text', { seed: 7, epochs: 4, learningRate: undefined });
    expect(spec).toMatchObject({ architecture: 'linear', seed: 7, epochs: 4 });
    expect(spec.learningRate).toBe(TEXT_MODEL_DEFAULTS.learningRate);
  });

  it('uses the generic defaults of another architecture asked for a text project', () => {
    expect(defaultModelSpec('text', { architecture: 'mlp', seed: 1 })).toEqual(
      modelSpec({ architecture: 'mlp', seed: 1 }),
    );
    expect(defaultModelSpec('text', { architecture: 'mlp', hiddenUnits: [32] }).hiddenUnits).toEqual([32]);
  });
});
