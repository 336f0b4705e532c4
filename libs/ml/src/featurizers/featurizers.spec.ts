import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { fitFeaturizer, loadFeaturizer } from '.';
import { imageConfig } from './image';
import { tabularConfig } from './tabular';
import { textConfig } from './text';

describe('text featurizer', () => {
  const docs = ['Free money!!! Click now', 'Project meeting moved to Tuesday', 'free free money', ''];

  it('is deterministic, L2-normalized and survives a JSON round trip', () => {
    const a = fitFeaturizer(textConfig({ dim: 1 << 12 }), docs);
    const b = fitFeaturizer(textConfig({ dim: 1 << 12 }), docs);
    const m = a.transform(docs);
    expect(m).toEqual(b.transform(docs));
    expect(m.kind).toBe('sparse');
    if (m.kind !== 'sparse') return;
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) s += m.values[p] ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
    expect(m.indptr[4] - m.indptr[3]).toBe(0);
    const restored = loadFeaturizer(JSON.parse(JSON.stringify(a.toJSON())));
    expect(restored.transform(docs)).toEqual(m);
  });

  it('weights rare n-grams above common ones', () => {
    // minDf 1: a word in one document of three still gets a column.
    const f = fitFeaturizer(textConfig({ charNgrams: [0, 0], wordNgrams: [1, 1], minDf: 1 }), [
      'common rare',
      'common',
      'common',
    ]);
    const m = f.transform(['common rare']);
    if (m.kind !== 'sparse') throw new Error('expected sparse');
    const values = Array.from(m.values).sort();
    expect(values).toHaveLength(2);
    expect(values[1]).toBeGreaterThan(values[0]);
  });
});

describe('image featurizer', () => {
  const w = 4;
  const h = 2;
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i * 30, 255 - i * 30, 100, 255], i * 4);

  it('decodes PNG and JPEG in pure JS to the same grayscale row as raw pixels', () => {
    const png = new PNG({ width: w, height: h });
    rgba.copy(png.data);
    const pngBytes = PNG.sync.write(png);
    const jpegBytes = jpeg.encode({ data: rgba, width: w, height: h }, 100).data;
    const f = fitFeaturizer(imageConfig({ width: w, height: h, channels: 1 }), []);
    const raw = f.transform([{ data: rgba, width: w, height: h, channels: 4 }]);
    const fromPng = f.transform([new Uint8Array(pngBytes)]);
    expect(fromPng).toEqual(raw);
    const fromJpeg = f.transform([new Uint8Array(jpegBytes)]);
    if (fromJpeg.kind !== 'dense' || raw.kind !== 'dense') throw new Error('expected dense');
    fromJpeg.data.forEach((v, i) => expect(Math.abs(v - raw.data[i])).toBeLessThan(0.08));
    expect(raw.data[0]).toBeCloseTo((0.587 * 255 + 0.114 * 100) / 255, 5);
  });

  it('resizes and keeps RGB channels', () => {
    const f = fitFeaturizer(imageConfig({ width: 2, height: 1, channels: 3 }), []);
    expect(f.imageShape).toEqual([1, 2, 3]);
    const m = f.transform([{ data: rgba, width: w, height: h, channels: 4 }]);
    expect(m.cols).toBe(6);
    expect(m.kind === 'dense' && m.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('copies an image of the model size as the resize would (scaled per config)', () => {
    const gray = { data: [0, 51, 102, 255], width: 2, height: 2, channels: 1 as const };
    const unit = fitFeaturizer(imageConfig({ width: 2, height: 2, channels: 1 }), []).transform([gray]);
    expect(Array.from(unit.kind === 'dense' ? unit.data : [])).toEqual([0, 0.2, 0.4, 1].map(Math.fround));
    const centered = fitFeaturizer(imageConfig({ width: 2, height: 2, channels: 1, scale: 'centered' }), []);
    const m = centered.transform([gray]);
    expect(Array.from(m.kind === 'dense' ? m.data : [])).toEqual([-1, -0.6, -0.2, 1].map(Math.fround));
    // A 4x4 image resized to 2x2 averages each 2x2 block (the general path).
    const big = {
      data: Array.from({ length: 16 }, (_, i) => i * 10),
      width: 4,
      height: 4,
      channels: 1 as const,
    };
    const small = fitFeaturizer(imageConfig({ width: 2, height: 2, channels: 1 }), []).transform([big]);
    expect(Array.from(small.kind === 'dense' ? small.data : []).map((v) => Math.round(v * 255))).toEqual([
      25, 45, 105, 125,
    ]);
  });

  it('rejects bytes that are not an image', () => {
    const f = fitFeaturizer(imageConfig(), []);
    expect(() => f.transform([new Uint8Array([1, 2, 3, 4])])).toThrow(/neither PNG nor JPEG/);
  });
});

describe('tabular featurizer', () => {
  const rows = [
    { age: 20, city: 'Oslo', score: '1.5' },
    { age: 40, city: 'Rome', score: null },
    { age: null, city: 'Oslo', score: '2.5' },
    { age: 30, city: null, score: '2' },
  ];

  it('standardizes numbers, flags missing values and one-hot encodes categories', () => {
    const f = fitFeaturizer(tabularConfig(), rows);
    expect(f.toJSON()).toMatchObject({ config: { numeric: ['age', 'score'], categorical: ['city'] } });
    const m = f.transform([...rows, { age: 30, city: 'Paris', score: 2 }]);
    if (m.kind !== 'dense') throw new Error('expected dense');
    expect(m.cols).toBe(6); // age, age missing, score, score missing, Oslo, Rome
    const row = (i: number) => Array.from(m.data.subarray(i * 6, i * 6 + 6));
    expect(row(0)[0]).toBeCloseTo(-10 / Math.sqrt(200 / 3), 5);
    expect(row(2).slice(0, 2)).toEqual([0, 1]);
    expect(row(0).slice(4)).toEqual([1, 0]);
    expect(row(3).slice(4)).toEqual([0, 0]);
    expect(row(4).slice(4)).toEqual([0, 0]);
    expect(loadFeaturizer(JSON.parse(JSON.stringify(f.toJSON()))).transform(rows)).toEqual(f.transform(rows));
  });
});
