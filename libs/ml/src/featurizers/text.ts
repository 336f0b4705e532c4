import type { SparseMatrix } from '../matrix';
import type { Featurizer, TextFeaturizerConfig, TextInput } from './types';

/**
 * Defaults: word 1-2-grams and char 3-5-grams hashed into 2^22 buckets; the fitted featurizer gives a column
 * only to the buckets found in at least 2 training documents, at most 2^16 of them (the most frequent). So the
 * width (and the model's first layer) follows the vocabulary actually seen, and collisions stay rare.
 */
export function textConfig(partial: Partial<TextFeaturizerConfig> = {}): TextFeaturizerConfig {
  return {
    kind: 'text',
    dim: 1 << 22,
    wordNgrams: [1, 2],
    charNgrams: [3, 5],
    lowercase: true,
    maxChars: 20000,
    sublinearTf: true,
    minDf: 2,
    maxFeatures: 1 << 16,
    ...partial,
  };
}

/** The JSON state of a fitted text featurizer (artifacts written before vocabularies existed lack `vocabulary`). */
export interface TextFeaturizerState {
  config: TextFeaturizerConfig;
  documents: number;
  /** base64 Float32Array: IDF per column. */
  idf: string;
  /** base64 Int32Array: the hash bucket of each column, ascending. Absent: column = bucket (`dim` columns). */
  vocabulary?: string;
}

const WORD = /[\p{L}\p{N}]+/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Hashed word and character n-grams weighted by TF-IDF and L2-normalized. Fitting counts the document
 * frequency of every hash bucket in the training documents and keeps as columns the buckets that reach
 * `minDf` (the `maxFeatures` most frequent when more do, ties to the lower bucket). Buckets without a column
 * are dropped at transform time. The state holds the kept bucket ids and their IDF, so it grows with the
 * vocabulary actually seen. `maxFeatures: 0` (and states saved before vocabularies existed) is the fixed
 * layout: every one of the `dim` buckets is a column.
 */
export class TextFeaturizer implements Featurizer<TextInput> {
  readonly dim: number;

  private constructor(
    readonly config: TextFeaturizerConfig,
    private readonly documents: number,
    private readonly idf: Float32Array,
    /** Sorted bucket ids of the columns; null = fixed layout (column = bucket). */
    private readonly vocabulary: Int32Array | null,
  ) {
    this.dim = vocabulary ? vocabulary.length : config.dim;
    this.columnOf = vocabulary ? BucketIndex.of(vocabulary) : null;
  }

  private readonly columnOf: BucketIndex | null;

  /** IDF is smoothed as ln((1 + N) / (1 + df)) + 1 (fixed layout: buckets never seen get the largest weight). */
  static fit(config: TextFeaturizerConfig, docs: readonly TextInput[]): TextFeaturizer {
    if (!(Number.isInteger(config.dim) && config.dim >= 1 && config.dim <= 2 ** 31))
      throw new Error(`text featurizer dim must be an integer in [1, 2^31], got ${config.dim}`);
    const n = docs.length;
    const idfOf = (df: number) => Math.log((1 + n) / (1 + df)) + 1;
    if (!hasVocabulary(config)) {
      const df = new Float64Array(config.dim);
      for (const doc of docs) {
        const { columns } = countBuckets(doc, config);
        for (const c of columns) df[c]++;
      }
      const idf = new Float32Array(config.dim);
      for (let c = 0; c < config.dim; c++) idf[c] = idfOf(df[c]);
      return new TextFeaturizer(config, n, idf, null);
    }
    const counts = new BucketCounter();
    for (const doc of docs) counts.addAll(countBuckets(doc, config).columns);
    const vocabulary = selectVocabulary(counts, config.minDf ?? 1, config.maxFeatures!);
    const idf = Float32Array.from(vocabulary, (b) => idfOf(counts.get(b)));
    return new TextFeaturizer(config, n, idf, vocabulary);
  }

  static fromJSON(state: TextFeaturizerState): TextFeaturizer {
    const idf = new Float32Array(fromBase64(state.idf));
    if (state.vocabulary === undefined) {
      if (idf.length !== state.config.dim)
        throw new Error(`text featurizer idf has ${idf.length} values, dim is ${state.config.dim}`);
      // Fixed layout (also every state saved before vocabularies existed): no vocabulary, whatever the config says.
      return new TextFeaturizer({ ...state.config, maxFeatures: 0 }, state.documents, idf, null);
    }
    const vocabulary = new Int32Array(fromBase64(state.vocabulary));
    if (idf.length !== vocabulary.length)
      throw new Error(`text featurizer idf has ${idf.length} values, vocabulary has ${vocabulary.length}`);
    for (let i = 0; i < vocabulary.length; i++) {
      if (
        !(vocabulary[i] >= 0 && vocabulary[i] < state.config.dim) ||
        (i > 0 && vocabulary[i] <= vocabulary[i - 1])
      )
        throw new Error('text featurizer vocabulary must hold ascending bucket ids below dim');
    }
    return new TextFeaturizer(state.config, state.documents, idf, vocabulary);
  }

  transform(docs: readonly TextInput[]): SparseMatrix {
    const rows = docs.map((d) => this.columns(d));
    const indptr = new Int32Array(docs.length + 1);
    rows.forEach((r, i) => (indptr[i + 1] = indptr[i] + r.columns.length));
    const indices = new Int32Array(indptr[docs.length]);
    const values = new Float32Array(indptr[docs.length]);
    rows.forEach((r, i) => {
      let norm = 0;
      const start = indptr[i];
      for (let j = 0; j < r.columns.length; j++) {
        const tf = this.config.sublinearTf ? 1 + Math.log(r.counts[j]) : r.counts[j];
        const v = tf * this.idf[r.columns[j]];
        indices[start + j] = r.columns[j];
        values[start + j] = v;
        norm += v * v;
      }
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = start; j < indptr[i + 1]; j++) values[j] *= inv;
    });
    return { kind: 'sparse', rows: docs.length, cols: this.dim, indptr, indices, values };
  }

  toJSON(): TextFeaturizerState {
    const state: TextFeaturizerState = {
      config: this.config,
      documents: this.documents,
      idf: toBase64(this.idf),
    };
    if (this.vocabulary) state.vocabulary = toBase64(this.vocabulary);
    return state;
  }

  /** Ascending columns of a document and their counts (buckets without a column dropped). */
  private columns(doc: string): { columns: Int32Array; counts: Int32Array } {
    const buckets = countBuckets(doc, this.config);
    const index = this.columnOf;
    if (!index) return buckets;
    let kept = 0;
    for (let j = 0; j < buckets.columns.length; j++) {
      const column = index.get(buckets.columns[j]);
      if (column < 0) continue;
      // Columns follow bucket order, so ascending buckets give ascending columns.
      buckets.columns[kept] = column;
      buckets.counts[kept++] = buckets.counts[j];
    }
    return { columns: buckets.columns.subarray(0, kept), counts: buckets.counts.subarray(0, kept) };
  }
}

function hasVocabulary(config: TextFeaturizerConfig): boolean {
  return (config.maxFeatures ?? 0) > 0;
}

/**
 * Buckets with df >= minDf (every seen bucket when none reaches it: a few short documents still get columns);
 * the maxFeatures of highest df when more qualify (ties: lower bucket). Ascending.
 */
function selectVocabulary(counts: BucketCounter, minDf: number, maxFeatures: number): Int32Array {
  const { keys, values } = counts.entries();
  let maxDf = 0;
  for (let i = 0; i < values.length; i++) maxDf = Math.max(maxDf, values[i]);
  if (maxDf < minDf) minDf = 1;
  const perDf = new Int32Array(maxDf + 1);
  for (let i = 0; i < values.length; i++) perDf[values[i]]++;
  // The lowest df that still gets columns, and how many of the buckets at exactly that df do.
  let threshold = Math.max(1, minDf);
  let room = Infinity;
  for (let df = maxDf, total = 0; df >= threshold; df--) {
    if (total + perDf[df] > maxFeatures) {
      threshold = df;
      room = maxFeatures - total;
      break;
    }
    total += perDf[df];
  }
  const above: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (values[i] > threshold) above.push(keys[i]);
    else if (values[i] === threshold) at.push(keys[i]);
  }
  const tie = Int32Array.from(at).sort();
  return Int32Array.from([...above, ...tie.subarray(0, Math.min(room, tie.length))]).sort();
}

/** Open-addressing int -> int table for non-negative keys (bucket ids): no per-entry objects, unlike Map. */
class BucketTable {
  protected keys: Int32Array;
  protected values: Int32Array;
  protected size = 0;

  constructor(capacity = 1 << 12) {
    let cap = 1 << 4;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Int32Array(cap).fill(-1);
    this.values = new Int32Array(cap);
  }

  protected slot(key: number): number {
    const mask = this.keys.length - 1;
    const h = Math.imul(key, 0x9e3779b1);
    let s = (h ^ (h >>> 15)) & mask;
    while (this.keys[s] !== key && this.keys[s] !== -1) s = (s + 1) & mask;
    return s;
  }

  /** Value of a key; -1 when absent. */
  get(key: number): number {
    const s = this.slot(key);
    return this.keys[s] === key ? this.values[s] : -1;
  }

  protected insertSlot(key: number): number {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const s = this.slot(key);
    if (this.keys[s] !== key) {
      this.keys[s] = key;
      this.values[s] = 0;
      this.size++;
    }
    return s;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.values = new Int32Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] < 0) continue;
      const s = this.slot(keys[i]);
      this.keys[s] = keys[i];
      this.values[s] = values[i];
    }
  }
}

class BucketCounter extends BucketTable {
  addAll(buckets: Int32Array): void {
    for (let i = 0; i < buckets.length; i++) this.values[this.insertSlot(buckets[i])]++;
  }

  entries(): { keys: Int32Array; values: Int32Array } {
    const keys = new Int32Array(this.size);
    const values = new Int32Array(this.size);
    let k = 0;
    for (let s = 0; s < this.keys.length; s++) {
      if (this.keys[s] < 0) continue;
      keys[k] = this.keys[s];
      values[k++] = this.values[s];
    }
    return { keys, values };
  }
}

/** Bucket id -> column. */
class BucketIndex extends BucketTable {
  static of(vocabulary: Int32Array): BucketIndex {
    const index = new BucketIndex(vocabulary.length);
    vocabulary.forEach((bucket, column) => (index.values[index.insertSlot(bucket)] = column));
    return index;
  }
}

function toBase64(array: Int32Array | Float32Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

/** A copy aligned for typed-array views (a Buffer's offset into its pool may not be). */
function fromBase64(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new Error('text featurizer state holds a truncated array');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

// Reused buffers: one document's bucket ids (one per n-gram occurrence) and the radix sort's second buffer.
let scratch = new Int32Array(1 << 14);
let sortBuffer = new Int32Array(1 << 14);
const histogram = new Int32Array(256);

/** Sorted distinct hash buckets of a document's n-grams and their counts. */
function countBuckets(
  doc: string,
  config: TextFeaturizerConfig,
): { columns: Int32Array; counts: Int32Array } {
  let text = doc.length > config.maxChars ? doc.slice(0, config.maxChars) : doc;
  if (config.lowercase) text = text.toLowerCase();
  const dim = config.dim;
  const [wMin, wMax] = config.wordNgrams;
  const [cMin, cMax] = config.charNgrams;
  const words = wMax > 0 ? (text.match(WORD) ?? []).map((w) => fnv(w, FNV_OFFSET)) : [];
  // Character n-grams see words with single spaces around them, like scikit-learn's char_wb analyzer.
  const chars = cMax > 0 ? ` ${text.replace(/\s+/g, ' ').trim()} ` : '';
  const most =
    words.length * Math.max(0, wMax - Math.max(wMin, 1) + 1) +
    chars.length * Math.max(0, cMax - Math.max(cMin, 1) + 1);
  if (scratch.length < most) scratch = new Int32Array(most * 2);
  const out = scratch;
  let count = 0;
  for (let i = 0; i < words.length; i++) {
    let h = 0x9747b28c;
    for (let n = 1; n <= wMax && i + n <= words.length; n++) {
      h = Math.imul(h ^ words[i + n - 1], FNV_PRIME) >>> 0;
      if (n >= wMin) out[count++] = mix(h, n) % dim;
    }
  }
  for (let i = 0; i < chars.length; i++) {
    let h = 0x1b873593;
    for (let n = 1; n <= cMax && i + n <= chars.length; n++) {
      h = Math.imul(h ^ chars.charCodeAt(i + n - 1), FNV_PRIME) >>> 0;
      if (n >= cMin) out[count++] = mix(h, 16 + n) % dim;
    }
  }
  const cols = radixSort(out.subarray(0, count), dim);
  let distinct = 0;
  for (let i = 0; i < cols.length; i++) if (i === 0 || cols[i] !== cols[i - 1]) distinct++;
  const columns = new Int32Array(distinct);
  const counts = new Int32Array(distinct);
  let k = -1;
  for (let i = 0; i < cols.length; i++) {
    if (i === 0 || cols[i] !== cols[i - 1]) columns[++k] = cols[i];
    counts[k]++;
  }
  return { columns, counts };
}

/**
 * Sorts values in [0, bound) ascending, in place, 8 bits per pass (LSD radix): several times faster than
 * TypedArray#sort on the thousands of bucket ids of a document.
 */
function radixSort(values: Int32Array, bound: number): Int32Array {
  const n = values.length;
  if (sortBuffer.length < n) sortBuffer = new Int32Array(n * 2);
  let src: Int32Array = values;
  let dst: Int32Array = sortBuffer.subarray(0, n);
  for (let shift = 0; shift < 32 && (bound - 1) >>> shift > 0; shift += 8) {
    histogram.fill(0);
    for (let i = 0; i < n; i++) histogram[(src[i] >>> shift) & 255]++;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = histogram[b];
      histogram[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const v = src[i];
      dst[histogram[(v >>> shift) & 255]++] = v;
    }
    [src, dst] = [dst, src];
  }
  if (src !== values) values.set(src);
  return values;
}

function fnv(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Final avalanche (murmur3 fmix) with the n-gram kind folded in, so "ab" as a word and as chars differ. */
function mix(h: number, kind: number): number {
  h = Math.imul(h ^ kind, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
