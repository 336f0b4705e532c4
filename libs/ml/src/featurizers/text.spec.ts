import { artifactFromFiles, artifactToFiles } from '../artifact';
import { resolveBackend } from '../backend';
import type { FeatureMatrix, SparseMatrix } from '../matrix';
import { modelSpec } from '../spec';
import { trainClassifier } from '../train';
import { fitFeaturizer, loadFeaturizer } from '.';
import { TextFeaturizer, textConfig } from './text';
import type { FeaturizerState } from './types';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

/** Whole words only: one bucket per distinct word, so columns are easy to reason about. */
const words = (partial: Parameters<typeof textConfig>[0] = {}) =>
  textConfig({ wordNgrams: [1, 1], charNgrams: [0, 0], ...partial });

const sparse = (m: FeatureMatrix): SparseMatrix => {
  if (m.kind !== 'sparse') throw new Error('expected sparse rows');
  return m;
};
const rowNnz = (m: SparseMatrix, r: number) => m.indptr[r + 1] - m.indptr[r];

describe('text featurizer vocabulary', () => {
  it('keeps a column only for buckets seen in at least minDf training documents', () => {
    const docs = ['apple banana', 'apple cherry', 'banana date', 'apple'];
    const f = fitFeaturizer(words({ minDf: 2 }), docs);
    expect(f.dim).toBe(2); // apple (3 documents), banana (2); cherry and date once each
    expect(fitFeaturizer(words({ minDf: 1 }), docs).dim).toBe(4);
    expect(fitFeaturizer(words({ minDf: 3 }), docs).dim).toBe(1);
    // When no bucket reaches minDf, every seen bucket gets a column rather than none.
    expect(fitFeaturizer(words({ minDf: 2 }), ['apple', 'banana cherry']).dim).toBe(3);
    expect(fitFeaturizer(words(), ['', '']).dim).toBe(0);
    const m = sparse(f.transform(['apple banana', 'banana', 'apple']));
    expect(m.cols).toBe(2);
    expect([rowNnz(m, 0), rowNnz(m, 1), rowNnz(m, 2)]).toEqual([2, 1, 1]);
    expect(m.indices[m.indptr[1]]).not.toBe(m.indices[m.indptr[2]]);
    for (const c of m.indices) expect(c >= 0 && c < 2).toBe(true);
  });

  it('drops buckets without a column at transform time', () => {
    const f = fitFeaturizer(words({ minDf: 1 }), ['apple banana', 'cherry']);
    const m = sparse(f.transform(['zebra quokka', 'apple zebra', '']));
    expect(rowNnz(m, 0)).toBe(0); // nothing known: an all-zero row, not an error
    expect(rowNnz(m, 1)).toBe(1);
    expect(m.values[m.indptr[1]]).toBeCloseTo(1, 6); // still L2-normalized over what is kept
    expect(rowNnz(m, 2)).toBe(0);
    // The same kept n-gram gets the same value with or without unknown words around it.
    expect(sparse(f.transform(['apple'])).values[0]).toBeCloseTo(m.values[m.indptr[1]], 6);
  });

  it('caps the width at maxFeatures, keeping the buckets in the most documents', () => {
    const docs = ['common rare1', 'common often', 'common often rare2', 'common'];
    const f = fitFeaturizer(words({ minDf: 1, maxFeatures: 2 }), docs);
    expect(f.dim).toBe(2);
    const m = sparse(f.transform(['common', 'often', 'rare1', 'rare2']));
    expect([0, 1, 2, 3].map((r) => rowNnz(m, r))).toEqual([1, 1, 0, 0]);
  });

  it('breaks ties at the cap the same way whatever the document order', () => {
    const docs = ['alpha beta gamma', 'delta alpha', 'beta epsilon', 'gamma delta epsilon zeta'];
    const fit = (d: string[]) => fitFeaturizer(words({ minDf: 1, maxFeatures: 3 }), d).toJSON();
    expect(fit([...docs].reverse())).toEqual(fit(docs));
    expect(fitFeaturizer(words({ minDf: 1, maxFeatures: 3 }), docs).dim).toBe(3);
  });

  it('grows with the data instead of a fixed hash width', () => {
    const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i}`);
    const corpus = (n: number) =>
      Array.from({ length: n }, (_, d) =>
        Array.from({ length: 12 }, (_, k) => vocabulary[(d * 7 + k * 13) % (4 * n)]).join(' '),
      );
    const dims = [5, 20, 80].map((n) => fitFeaturizer(textConfig(), corpus(n)).dim);
    expect(dims[0]).toBeLessThan(dims[1]);
    expect(dims[1]).toBeLessThan(dims[2]);
    expect(dims[2]).toBeLessThan(textConfig().maxFeatures!);
    expect(textConfig().dim).toBeGreaterThan(dims[2]);
  });

  it('stores the vocabulary compactly and survives a JSON round trip', () => {
    const docs = [
      'Free money!!! Click now',
      'Project meeting moved to Tuesday',
      'free free money',
      'Money now',
    ];
    const f = fitFeaturizer(textConfig(), docs);
    const state = f.toJSON() as { idf: string; vocabulary?: string };
    expect(Buffer.from(state.vocabulary!, 'base64').length).toBe(4 * f.dim);
    expect(Buffer.from(state.idf, 'base64').length).toBe(4 * f.dim);
    const restored = loadFeaturizer(JSON.parse(JSON.stringify(f.toJSON())) as FeaturizerState);
    expect(restored.dim).toBe(f.dim);
    expect(restored.transform(docs)).toEqual(f.transform(docs));
  });

  it('rejects a vocabulary that does not match its idf or its hash space', () => {
    const state = fitFeaturizer(textConfig(), ['a b c d', 'a b c e']).toJSON() as {
      config: ReturnType<typeof textConfig>;
      documents: number;
      idf: string;
      vocabulary: string;
    };
    expect(() => TextFeaturizer.fromJSON({ ...state, idf: Buffer.alloc(4).toString('base64') })).toThrow(
      /vocabulary/,
    );
    expect(() => TextFeaturizer.fromJSON({ ...state, config: { ...state.config, dim: 1 } })).toThrow(
      /ascending bucket ids below dim/,
    );
  });

  it('fixed layout (maxFeatures 0): every hash bucket is a column, as before vocabularies', () => {
    const docs = ['Free money!!! Click now', 'free free money'];
    const f = fitFeaturizer(textConfig({ dim: 256, maxFeatures: 0 }), docs);
    expect(f.dim).toBe(256);
    expect('vocabulary' in f.toJSON()).toBe(false);
    // Unseen buckets keep a column (with the largest IDF), so unseen words still show up.
    expect(rowNnz(sparse(f.transform(['zebra'])), 0)).toBeGreaterThan(0);
  });
});

/**
 * A state written by the previous text featurizer (no vocabulary, no minDf / maxFeatures in the config),
 * fitted with textConfig({ dim: 64 }) on LEGACY_DOCS, and what it produced for LEGACY_QUERY.
 */
const LEGACY_DOCS_STATE = {
  config: {
    kind: 'text',
    dim: 64,
    wordNgrams: [1, 2],
    charNgrams: [3, 5],
    lowercase: true,
    maxChars: 20000,
    sublinearTf: true,
  },
  documents: 3,
  idf:
    'AACAP8TSpD8Mudg/DLkYQMTSpD/E0qQ/DLnYPwAAgD8Mudg/AACAPwy52D/E0qQ/DLnYPwAAgD/E0qQ/xNKkPwy5GEAMuRhAAACAPwy52D8AAIA/' +
    'xNKkPwAAgD8Mudg/DLnYP8TSpD8AAIA/xNKkPwAAgD/E0qQ/AACAPwy52D8Mudg/xNKkP8TSpD/E0qQ/DLkYQMTSpD8AAIA/xNKkPwAAgD8AAIA/' +
    'xNKkPwAAgD8AAIA/DLnYP8TSpD8AAIA/DLnYP8TSpD/E0qQ/xNKkPwy52D/E0qQ/xNKkP8TSpD8AAIA/AACAP8TSpD/E0qQ/xNKkP8TSpD8AAIA/' +
    'xNKkPw==',
} as const;
const LEGACY_QUERY = ['free money meeting', 'zzz'];
const LEGACY_OUTPUT = {
  indptr: [0, 35, 42],
  indices: [
    1, 2, 5, 7, 8, 9, 10, 13, 14, 15, 18, 20, 22, 26, 27, 28, 30, 32, 35, 38, 40, 41, 42, 43, 44, 47, 49, 50,
    51, 54, 55, 56, 57, 60, 62, 5, 10, 11, 25, 39, 49, 54,
  ],
  values: [
    0.22335946559906006, 0.17345856130123138, 0.1319197118282318, 0.21499742567539215, 0.17345856130123138,
    0.10244742035865784, 0.17345856130123138, 0.21499742567539215, 0.22335946559906006, 0.22335946559906006,
    0.17345856130123138, 0.10244742035865784, 0.10244742035865784, 0.17345856130123138, 0.1319197118282318,
    0.17345856130123138, 0.10244742035865784, 0.17345856130123138, 0.1319197118282318, 0.26733019948005676,
    0.10244742035865784, 0.10244742035865784, 0.1319197118282318, 0.17345856130123138, 0.10244742035865784,
    0.10244742035865784, 0.1319197118282318, 0.22335946559906006, 0.1319197118282318, 0.22335946559906006,
    0.22335946559906006, 0.17345856130123138, 0.17345856130123138, 0.1319197118282318, 0.17345856130123138,
    0.35970038175582886, 0.47296279668807983, 0.35970038175582886, 0.35970038175582886, 0.35970038175582886,
    0.35970038175582886, 0.35970038175582886,
  ],
};

describe('text featurizer states saved before vocabularies', () => {
  const legacy = () => JSON.parse(JSON.stringify(LEGACY_DOCS_STATE)) as FeaturizerState;

  it('load and produce exactly what they produced before', () => {
    const f = loadFeaturizer(legacy());
    expect(f.dim).toBe(64);
    const m = sparse(f.transform(LEGACY_QUERY));
    expect(m.cols).toBe(64);
    expect(Array.from(m.indptr)).toEqual(LEGACY_OUTPUT.indptr);
    expect(Array.from(m.indices)).toEqual(LEGACY_OUTPUT.indices);
    expect(Array.from(m.values)).toEqual(LEGACY_OUTPUT.values);
    // Saved again, they stay in the old format.
    expect('vocabulary' in f.toJSON()).toBe(false);
    expect(loadFeaturizer(f.toJSON()).transform(LEGACY_QUERY)).toEqual(m);
  });

  it('load inside a model artifact', async () => {
    const featurizer = loadFeaturizer(legacy());
    const features = featurizer.transform(LEGACY_QUERY);
    const { model } = await trainClassifier({
      features,
      labels: [1, 0],
      numClasses: 2,
      spec: modelSpec({ architecture: 'linear', epochs: 2, minSteps: 0 }),
    });
    const files = await artifactToFiles({ model, featurizer, labels: ['ham', 'spam'] });
    // An artifact written before vocabularies existed: its manifest holds the old state verbatim.
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Record<string, unknown>;
    manifest.featurizer = legacy();
    files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
    const loaded = artifactFromFiles(files);
    expect(loaded.featurizer.dim).toBe(64);
    expect(loaded.featurizer.transform(LEGACY_QUERY)).toEqual(features);
    model.dispose();
    loaded.model.dispose();
  });
});
