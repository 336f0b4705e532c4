import { resolveBackend } from '../backend';
import { Classifier } from '../models/classifier';
import { scoreRows } from '../scoring';
import { acquisitionSpec, modelSpec } from '../spec';
import { blobs } from '../test-data';
import { trainClassifier } from '../train';
import { margin } from './uncertainty';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

describe('scoreRows with mc_margin', () => {
  it('scores the margin of the same MC-dropout mean that bald samples', async () => {
    const { features, labels } = blobs(20, 2, 6, 4, 2);
    const spec = modelSpec({ architecture: 'linear', dropout: 0.3, epochs: 5, minSteps: 0, seed: 1 });
    const { model } = await trainClassifier({ features, labels, numClasses: 2, spec });
    const mc = scoreRows(model, features, acquisitionSpec({ strategy: 'mc_margin', mcPasses: 6, seed: 4 }));
    const baldRun = scoreRows(model, features, acquisitionSpec({ strategy: 'bald', mcPasses: 6, seed: 4 }));
    const single = scoreRows(model, features, acquisitionSpec({ strategy: 'margin', seed: 4 }));
    expect(Array.from(mc.probabilities)).toEqual(Array.from(baldRun.probabilities));
    Array.from(margin(baldRun.probabilities, 2)).forEach((v, i) => expect(mc.scores[i]).toBeCloseTo(v, 6));
    // The dropout passes move the prediction: it is not the deterministic margin.
    expect(Array.from(mc.scores)).not.toEqual(Array.from(single.scores));
    model.dispose();
  });

  it('refuses a model without dropout', () => {
    const model = Classifier.create(modelSpec({ architecture: 'linear', dropout: 0 }), {
      inputDim: 3,
      numClasses: 2,
    });
    const { features } = blobs(2, 2, 3, 0);
    expect(() => scoreRows(model, features, acquisitionSpec({ strategy: 'mc_margin' }))).toThrow(
      /mc_margin.*dropout/,
    );
    model.dispose();
  });
});
