import { defaultModelSpec, IMAGE_MODEL_DEFAULTS, modelSpec, TEXT_MODEL_DEFAULTS } from './spec';

describe('defaultModelSpec', () => {
  it('gives text and image projects their defaults and tables the generic ones', () => {
    expect(defaultModelSpec('text')).toEqual(modelSpec({ ...TEXT_MODEL_DEFAULTS }));
    expect(defaultModelSpec('text')).toMatchObject({ architecture: 'linear', hiddenUnits: [] });
    expect(defaultModelSpec('image')).toEqual(modelSpec({ ...IMAGE_MODEL_DEFAULTS }));
    expect(defaultModelSpec('image')).toMatchObject({
      architecture: 'mlp',
      hiddenUnits: [256, 128],
      patience: 0,
      learningRateDecay: 'cosine',
    });
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
    expect(defaultModelSpec('image', { architecture: 'cnn' })).toEqual(modelSpec({ architecture: 'cnn' }));
  });

  it('keeps the image defaults under the fields an image project set', () => {
    expect(defaultModelSpec('image', { architecture: 'mlp', hiddenUnits: [64], patience: 3 })).toMatchObject({
      hiddenUnits: [64],
      patience: 3,
      learningRateDecay: 'cosine',
      learningRate: IMAGE_MODEL_DEFAULTS.learningRate,
    });
  });
});
