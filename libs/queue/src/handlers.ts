import type { QueueName } from './queues';

export interface HandlerKey {
  queue: QueueName;
  name: string;
}

/**
 * Problems with the handlers a process registered: for each queue it consumes, every job name must have
 * exactly one handler, and no handler may be for a name the queue does not know. Empty when all is well.
 */
export function handlerProblems(
  jobNames: Readonly<Record<string, readonly string[]>>,
  registered: readonly HandlerKey[],
): string[] {
  const problems: string[] = [];
  const consumed = new Set(registered.map((h) => h.queue));
  for (const queue of consumed) {
    const known = jobNames[queue] ?? [];
    for (const name of known) {
      const count = registered.filter((h) => h.queue === queue && h.name === name).length;
      if (count !== 1)
        problems.push(`job "${name}" of queue "${queue}" has ${count} handlers (expected exactly 1)`);
    }
    for (const h of registered.filter((r) => r.queue === queue && !known.includes(r.name))) {
      problems.push(`a handler is registered for unknown job "${h.name}" of queue "${queue}"`);
    }
  }
  return [...new Set(problems)];
}
