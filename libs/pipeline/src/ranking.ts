/** A scored pool item that may make the queue. */
export interface Candidate {
  itemId: string;
  /** Acquisition score, higher = label sooner. */
  score: number;
  label: string;
  probability: number;
}

/**
 * The best `capacity` candidates seen in a stream, by score (ties: lower item id first, so reruns agree).
 * Holds at most twice the capacity: it prunes when full instead of sorting on every add.
 */
export class TopCandidates {
  private items: Candidate[] = [];

  constructor(readonly capacity: number) {}

  add(candidate: Candidate): void {
    this.items.push(candidate);
    if (this.items.length >= 2 * this.capacity) this.prune();
  }

  /** Best first. */
  best(): Candidate[] {
    this.prune();
    return [...this.items];
  }

  private prune(): void {
    this.items.sort((a, b) => b.score - a.score || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
    this.items.length = Math.min(this.items.length, this.capacity);
  }
}

/** Index and value of the largest of each row of a row-major n x classes matrix. */
export function topClass(probabilities: Float32Array, row: number, numClasses: number) {
  let best = 0;
  for (let c = 1; c < numClasses; c++) {
    if (probabilities[row * numClasses + c] > probabilities[row * numClasses + best]) best = c;
  }
  return { index: best, probability: probabilities[row * numClasses + best] };
}

/**
 * A map that keeps the `capacity` most recently used entries; an entry pushed out is handed to `evict`
 * (e.g. to free a model's tensors).
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly evict: (value: V) => void,
  ) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const [oldest, old] = this.entries.entries().next().value as [K, V];
      this.entries.delete(oldest);
      this.evict(old);
    }
  }

  /** Evicts every entry. */
  clear(): void {
    for (const value of this.entries.values()) this.evict(value);
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Probability rows for class-balanced selection, which only needs each candidate's predicted class: the
 * candidates keep their top class and its probability, not the whole row, so the rest stays zero.
 */
export function predictedClassRows(candidates: Candidate[], labels: string[]): Float32Array {
  const rows = new Float32Array(candidates.length * labels.length);
  candidates.forEach((c, r) => {
    rows[r * labels.length + labels.indexOf(c.label)] = c.probability;
  });
  return rows;
}
