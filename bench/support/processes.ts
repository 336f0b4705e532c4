import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of a process and its descendants (threads share the process's RSS), in kB, and their count. */
export function treeRss(root: number): { kb: number; processes: number } {
  let total = 0;
  let processes = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += match ? Number(match[1]) : 0;
      processes++;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
          if (children) stack.push(...children.split(/\s+/).map(Number));
        } catch {
          // thread gone
        }
      }
    } catch {
      // process gone
    }
  }
  return { kb: total, processes };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
