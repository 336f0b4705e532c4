/**
 * Strings PostgreSQL refuses: `text` and `jsonb` cannot hold U+0000, and a lone UTF-16 surrogate has no UTF-8
 * encoding. JSON can carry both (`"\u0000"`, `"\ud800"`), so a client can send them anywhere; found before
 * anything is written, they are a 400 naming the field instead of a database error (500).
 */

const NUL = '\u0000';
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface UnstorableString {
  /** Dotted path to the string (`items.0.text`), `(root)` for the value itself; odd keys are JSON-quoted. */
  field: string;
  reason: string;
}

/** Why PostgreSQL cannot store `text`, or null when it can. */
export function unstorableReason(text: string): string | null {
  if (text.includes(NUL)) return 'contains a NUL character (U+0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) {
    return 'contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored';
  }
  return null;
}

interface Visit {
  value: unknown;
  key: string | number | null;
  parent: Visit | null;
}

/**
 * The first string (value or object key, at any depth) of a parsed JSON value that PostgreSQL cannot store.
 * Walks plain objects and arrays only (a streamed or binary body is not JSON) with its own stack, so a deeply
 * nested body cannot overflow the call stack.
 */
export function findUnstorableString(value: unknown): UnstorableString | null {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    return reason ? { field: '(root)', reason } : null;
  }
  const stack: Visit[] = [{ value, key: null, parent: null }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const node = visit.value;
    if (Array.isArray(node)) {
      for (let index = 0; index < node.length; index++) {
        const found = inspect(node[index], index, visit, stack);
        if (found) return found;
      }
    } else if (isPlainObject(node)) {
      for (const key of Object.keys(node)) {
        const keyReason = unstorableReason(key);
        if (keyReason)
          return { field: pathOf({ value: null, key, parent: visit }), reason: `key ${keyReason}` };
        const found = inspect(node[key], key, visit, stack);
        if (found) return found;
      }
    }
  }
  return null;
}

/** Checks a string child at once; queues an object or array child for the walk. */
function inspect(
  child: unknown,
  key: string | number,
  parent: Visit,
  stack: Visit[],
): UnstorableString | null {
  if (typeof child === 'string') {
    const reason = unstorableReason(child);
    return reason ? { field: pathOf({ value: child, key, parent }), reason } : null;
  }
  if (child !== null && typeof child === 'object') stack.push({ value: child, key, parent });
  return null;
}

/**
 * A dictionary as parsers build them: JSON.parse's objects, and Fastify's query objects, whose prototype has
 * no prototype itself (it is faster than Object.create(null)). Not a stream, a Buffer or another class.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null || Object.getPrototypeOf(prototype) === null;
}

function pathOf(visit: Visit): string {
  const segments: string[] = [];
  for (let at: Visit | null = visit; at !== null && at.key !== null; at = at.parent) {
    const key = at.key;
    segments.push(
      typeof key === 'number' || unstorableReason(key) === null ? String(key) : JSON.stringify(key),
    );
  }
  return segments.length === 0 ? '(root)' : segments.reverse().join('.');
}
