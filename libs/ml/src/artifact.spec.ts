import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromFiles, artifactToFiles, loadArtifact, saveArtifact } from './artifact';
import { resolveBackend } from './backend';
import { fitFeaturizer } from './featurizers';
import { tabularConfig } from './featurizers/tabular';
import { textConfig } from './featurizers/text';
import { predictProbabilities } from './scoring';
import { modelSpec } from './spec';
import { trainClassifier } from './train';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

const rows = Array.from({ length: 60 }, (_, i) => ({
  size: i % 2 ? 10 + i : -i,
  color: i % 2 ? 'red' : 'blue',
}));
const labels = rows.map((_, i) => i % 2);

describe('artifacts', () => {
  it('round-trips through a directory and through an in-memory file map with identical predictions', async () => {
    const featurizer = fitFeaturizer(tabularConfig(), rows);
    const features = featurizer.transform(rows);
    const spec = modelSpec({ hiddenUnits: [8], epochs: 5, minSteps: 0 });
    const { model } = await trainClassifier({ features, labels, numClasses: 2, spec });
    const expected = Array.from(predictProbabilities(model, features));

    const files = await artifactToFiles({
      model,
      featurizer,
      labels: ['even', 'odd'],
      metrics: { accuracy: 1 },
    });
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    const fromMemory = artifactFromFiles(files);
    expect(fromMemory.manifest).toMatchObject({
      labels: ['even', 'odd'],
      metrics: { accuracy: 1 },
      backend: 'cpu',
      spec,
    });
    expect(Array.from(predictProbabilities(fromMemory.model, fromMemory.featurizer.transform(rows)))).toEqual(
      expected,
    );

    const dir = await mkdtemp(join(tmpdir(), 'labelloop-ml-'));
    try {
      await saveArtifact(dir, { model, featurizer, labels: ['even', 'odd'] });
      expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
      const fromDir = await loadArtifact(dir);
      expect(Array.from(predictProbabilities(fromDir.model, fromDir.featurizer.transform(rows)))).toEqual(
        expected,
      );
      fromDir.model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    model.dispose();
    fromMemory.model.dispose();
  });

  it('carries a fitted text featurizer', async () => {
    const docs = ['cheap pills now', 'meeting at noon', 'buy cheap now', 'lunch at noon'];
    const featurizer = fitFeaturizer(textConfig({ dim: 256 }), docs);
    const { model } = await trainClassifier({
      features: featurizer.transform(docs),
      labels: [1, 0, 1, 0],
      numClasses: 2,
      spec: modelSpec({ architecture: 'linear', epochs: 3, minSteps: 0 }),
    });
    const loaded = artifactFromFiles(await artifactToFiles({ model, featurizer, labels: ['ham', 'spam'] }));
    expect(loaded.featurizer.transform(docs)).toEqual(featurizer.transform(docs));
    model.dispose();
    loaded.model.dispose();
  });

  it('refuses labels that do not match the model', async () => {
    const featurizer = fitFeaturizer(tabularConfig(), rows);
    const { model } = await trainClassifier({
      features: featurizer.transform(rows),
      labels,
      numClasses: 2,
      spec: modelSpec({ architecture: 'linear', epochs: 1, minSteps: 0 }),
    });
    await expect(artifactToFiles({ model, featurizer, labels: ['only-one'] })).rejects.toThrow(/labels/);
    model.dispose();
  });
});
