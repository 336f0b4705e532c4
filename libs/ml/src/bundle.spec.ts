import { hash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { artifactFromFiles, artifactToFiles, type ArtifactFiles } from './artifact';
import { resolveBackend } from './backend';
import { BUNDLE_FILES, BundleError, CHECKSUMS_FILE, packBundle, unpackBundle } from './bundle';
import { fitFeaturizer } from './featurizers';
import { textConfig } from './featurizers/text';
import { predictProbabilities } from './scoring';
import { modelSpec } from './spec';
import { archiveEntries, packArchive } from './testing/tar-archive';
import { trainClassifier } from './train';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? `win cash prize ${i}` : `meeting notes ${i}`));
const source = { projectId: 'p1', modelVersionId: 'm1', number: 3, datasetVersion: 2 };

let artifact: ArtifactFiles;
let expected: number[];

beforeAll(async () => {
  const featurizer = fitFeaturizer(textConfig({ dim: 256 }), texts);
  const features = featurizer.transform(texts);
  const spec = modelSpec({ architecture: 'linear', epochs: 3, minSteps: 0 });
  const labels = texts.map((_, i) => i % 2);
  const { model } = await trainClassifier({ features, labels, numClasses: 2, spec });
  expected = Array.from(predictProbabilities(model, features));
  artifact = await artifactToFiles({
    model,
    featurizer,
    labels: ['ham', 'spam'],
    metrics: { accuracy: 0.9 },
  });
  model.dispose();
});

const sha256 = (body: Buffer) => hash('sha256', body, 'hex');

describe('model bundles', () => {
  it('packs readable files with sha256sum checksums and unpacks to the same model', async () => {
    const bundle = await packBundle(artifact, source);
    const files = await archiveEntries(bundle);
    expect([...files.keys()]).toEqual([...BUNDLE_FILES, CHECKSUMS_FILE]);
    expect(JSON.parse(files.get('labels.json')!.toString())).toEqual(['ham', 'spam']);
    expect(JSON.parse(files.get('metrics.json')!.toString())).toEqual({ accuracy: 0.9 });
    expect(JSON.parse(files.get('bundle.json')!.toString())).toMatchObject({
      format: 'labelloop-model-bundle',
      inputKind: 'text',
      backend: 'cpu',
      source,
    });
    const lines = files.get(CHECKSUMS_FILE)!.toString().trim().split('\n');
    expect(lines).toContain(`${sha256(files.get('weights.bin')!)}  weights.bin`);

    const unpacked = await unpackBundle(bundle);
    expect(unpacked.info.source).toEqual(source);
    const loaded = artifactFromFiles(unpacked.artifact);
    expect(loaded.manifest.labels).toEqual(['ham', 'spam']);
    expect(Array.from(predictProbabilities(loaded.model, loaded.featurizer.transform(texts)))).toEqual(
      expected,
    );
    loaded.model.dispose();
    // The same model packs to the same bytes.
    expect((await packBundle(artifact, source)).equals(bundle)).toBe(true);
  });

  it('refuses damaged or foreign archives with the reason', async () => {
    const files = await archiveEntries(await packBundle(artifact, source));
    const refused = async (bundle: Buffer) => {
      const error = await unpackBundle(bundle).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BundleError);
      return (error as Error).message;
    };
    expect(await refused(Buffer.from('not gzip at all'))).toMatch(/not gzip/);
    expect(await refused(gzipSync(Buffer.from('x'.repeat(2000))))).toMatch(/not a tar archive|empty/);

    const withoutWeights = new Map(files);
    withoutWeights.delete('weights.bin');
    expect(await refused(await packArchive(withoutWeights))).toMatch(/missing weights.bin/);

    const tampered = new Map(files);
    const weights = Buffer.from(files.get('weights.bin')!);
    weights[0] ^= 0xff;
    tampered.set('weights.bin', weights);
    expect(await refused(await packArchive(tampered))).toBe('checksum mismatch for weights.bin');

    const extra = new Map(files);
    extra.set('evil.sh', Buffer.from('rm -rf /'));
    expect(await refused(await packArchive(extra))).toMatch(/unexpected file evil.sh/);

    // Consistent checksums but contents that do not fit the model or would poison promotions.
    const edited = async (name: string, value: unknown) => {
      const changed = new Map(files);
      changed.set(name, Buffer.from(JSON.stringify(value)));
      changed.set(
        CHECKSUMS_FILE,
        Buffer.from(
          [...changed]
            .filter(([file]) => file !== CHECKSUMS_FILE)
            .map(([file, body]) => `${sha256(body)}  ${file}\n`)
            .join(''),
        ),
      );
      return packArchive(changed);
    };
    expect(await refused(await edited('labels.json', ['a', 'b', 'c']))).toBe(
      '3 labels for a model with 2 classes',
    );
    expect(await refused(await edited('metrics.json', { accuracy: 'high' }))).toBe(
      'metrics.json: accuracy must be a number in [0, 1]',
    );

    expect(await refused((await packBundle(artifact, source)).subarray(0, 200))).toMatch(/not gzip/);
    const bomb = gzipSync(Buffer.alloc(10_000));
    const error = await unpackBundle(bomb, 1000).catch((e: Error) => e);
    expect((error as Error).message).toBe('bundle unpacks to more than 1000 bytes');
  });
});
