/**
 * The stabilizing-predictions stopping signal (Bloodgood & Vijay-Shanker 2009, "A method for stopping active
 * learning based on stabilizing predictions and the need for user-adjustable stopping"): keep a fixed set of
 * unlabeled items (the stop set), predict it with every new model, and stop labeling once successive models
 * agree on it almost entirely. Framework-free.
 */

/** How many stop-set items the previous model called `previous` and the new one `current`. */
export interface PredictionPair {
  previous: string;
  current: string;
  count: number;
}

export interface Agreement {
  /** Share of the compared items with the same predicted class. */
  agreement: number;
  /** Cohen's kappa: that share corrected for the agreement the two models' class frequencies give by chance. */
  kappa: number;
  /** Items both models predicted. */
  items: number;
}

/** The paper's setting: kappa of at least 0.99 ... */
export const STOP_KAPPA = 0.99;
/** ... for 3 successive model pairs. */
export const STOP_WINDOW = 3;

/** Agreement and Cohen's kappa of two models over the same items; null when there are none. */
export function predictionAgreement(pairs: readonly PredictionPair[]): Agreement | null {
  let items = 0;
  let same = 0;
  const previous = new Map<string, number>();
  const current = new Map<string, number>();
  for (const pair of pairs) {
    items += pair.count;
    if (pair.previous === pair.current) same += pair.count;
    previous.set(pair.previous, (previous.get(pair.previous) ?? 0) + pair.count);
    current.set(pair.current, (current.get(pair.current) ?? 0) + pair.count);
  }
  if (items === 0) return null;
  const agreement = same / items;
  let chance = 0;
  for (const [label, count] of previous) chance += (count / items) * ((current.get(label) ?? 0) / items);
  // Both models put every item in one class: chance explains everything, and kappa is 1 only if they agree.
  const kappa = chance >= 1 ? (agreement === 1 ? 1 : 0) : (agreement - chance) / (1 - chance);
  return { agreement, kappa, items };
}

/**
 * The index of the first model at which the signal fires: it and the models before it give `window`
 * successive kappas of at least `threshold` (each kappa compares a model with the one scored before it;
 * null = no comparison, which breaks the run). Null when it has not fired.
 */
export function stopIndex(
  kappas: readonly (number | null)[],
  threshold = STOP_KAPPA,
  window = STOP_WINDOW,
): number | null {
  let run = 0;
  for (let i = 0; i < kappas.length; i++) {
    const kappa = kappas[i];
    run = kappa !== null && kappa >= threshold ? run + 1 : 0;
    if (run >= window) return i;
  }
  return null;
}
