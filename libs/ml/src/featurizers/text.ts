import type { SparseMatrix } from '../matrix';
import type { Featurizer, FeaturizerState, TextFeaturizerConfig, TextInput } from './types';

export function textConfig(partial: Partial<TextFeaturizerConfig> = {}): TextFeaturizerConfig {
  return {
    kind: 'text',
    dim: 1 << 16,
    wordNgrams: [1, 2],
    charNgrams: [3, 5],
    lowercase: true,
    maxChars: 20000,
    sublinearTf: true,
    ...partial,
  };
}

const WORD = /[\p{L}\p{N}]+/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Hashed word and character n-grams weighted by TF-IDF and L2-normalized. Hashing keeps the vocabulary out of
 * the state (only the document frequencies per hash bucket are fitted), so the artifact stays small and fixed.
 */
export class TextFeaturizer implements Featurizer<TextInput> {
  readonly dim: number;

  private constructor(
    readonly config: TextFeaturizerConfig,
    private readonly documents: number,
    private readonly idf: Float32Array,
  ) {
    this.dim = config.dim;
  }

  /** IDF is smoothed as ln((1 + N) / (1 + df)) + 1, so unseen buckets get the largest weight. */
  static fit(config: TextFeaturizerConfig, docs: readonly TextInput[]): TextFeaturizer {
    const df = new Float64Array(config.dim);
    for (const doc of docs) {
      const { columns } = countBuckets(doc, config);
      for (const c of columns) df[c]++;
    }
    const idf = new Float32Array(config.dim);
    for (let c = 0; c < config.dim; c++) idf[c] = Math.log((1 + docs.length) / (1 + df[c])) + 1;
    return new TextFeaturizer(config, docs.length, idf);
  }

  static fromJSON(state: { config: TextFeaturizerConfig; documents: number; idf: string }): TextFeaturizer {
    const bytes = Buffer.from(state.idf, 'base64');
    const idf = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (idf.length !== state.config.dim)
      throw new Error(`text featurizer idf has ${idf.length} values, dim is ${state.config.dim}`);
    return new TextFeaturizer(state.config, state.documents, idf);
  }

  transform(docs: readonly TextInput[]): SparseMatrix {
    const rows = docs.map((d) => countBuckets(d, this.config));
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

  toJSON(): FeaturizerState {
    const bytes = Buffer.from(this.idf.buffer, this.idf.byteOffset, this.idf.byteLength);
    return { config: this.config, documents: this.documents, idf: bytes.toString('base64') };
  }
}

/** Sorted distinct hash buckets of a document's n-grams and their counts. */
function countBuckets(
  doc: string,
  config: TextFeaturizerConfig,
): { columns: Int32Array; counts: Int32Array } {
  let text = doc.length > config.maxChars ? doc.slice(0, config.maxChars) : doc;
  if (config.lowercase) text = text.toLowerCase();
  const hashes: number[] = [];
  const [wMin, wMax] = config.wordNgrams;
  if (wMax > 0) {
    const words = (text.match(WORD) ?? []).map((w) => fnv(w, FNV_OFFSET));
    for (let i = 0; i < words.length; i++) {
      let h = 0x9747b28c;
      for (let n = 1; n <= wMax && i + n <= words.length; n++) {
        h = Math.imul(h ^ words[i + n - 1], FNV_PRIME) >>> 0;
        if (n >= wMin) hashes.push(mix(h, n));
      }
    }
  }
  const [cMin, cMax] = config.charNgrams;
  if (cMax > 0) {
    // Character n-grams see words with single spaces around them, like scikit-learn's char_wb analyzer.
    const chars = ` ${text.replace(/\s+/g, ' ').trim()} `;
    for (let i = 0; i < chars.length; i++) {
      let h = 0x1b873593;
      for (let n = 1; n <= cMax && i + n <= chars.length; n++) {
        h = Math.imul(h ^ chars.charCodeAt(i + n - 1), FNV_PRIME) >>> 0;
        if (n >= cMin) hashes.push(mix(h, 16 + n));
      }
    }
  }
  const cols = Int32Array.from(hashes, (h) => h % config.dim).sort();
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
