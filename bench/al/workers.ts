import { fork } from 'node:child_process';
import { resolveBackend } from '@labelloop/ml';
import { type Data, loadData } from './datasets';
import { type JobResult, runJob } from './library-run';
import { type AlDataset, protocol } from './protocols';

export interface Job {
  strategy: string;
  seed: number;
}

interface ChildOptions {
  dataset: AlDataset;
  budget: number;
  warmStart: boolean;
}

/**
 * Runs the jobs (strategy x seed) in `workers` child processes of `entry` (started with `--child`), each with
 * its own tfjs backend; `onRound` is called after every round of any job.
 */
export function runJobsInChildren(
  entry: string,
  options: ChildOptions,
  jobs: readonly Job[],
  workers: number,
  onRound: (done: number) => void,
): Promise<JobResult[]> {
  const results: JobResult[] = [];
  return new Promise<JobResult[]>((resolve, reject) => {
    let next = 0;
    let running = 0;
    const startChild = () => {
      const childArgs = [
        '--child',
        '--dataset',
        options.dataset,
        '--budget',
        String(options.budget),
        ...(options.warmStart ? ['--warm-start'] : []),
      ];
      const proc = fork(entry, childArgs, {
        execArgv: ['-r', '@swc-node/register'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      const feed = () => {
        if (next < jobs.length) {
          running++;
          proc.send(jobs[next++]);
        } else {
          proc.send('exit');
          if (running === 0 && results.length === jobs.length) resolve(results);
        }
      };
      proc.on('message', (msg: { ready?: boolean; tick?: boolean; result?: JobResult }) => {
        if (msg.tick) onRound(results.length);
        if (msg.result) {
          results.push(msg.result);
          running--;
        }
        if (msg.ready || msg.result) feed();
      });
      proc.on('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited with ${code}`));
        else if (results.length === jobs.length) resolve(results);
      });
    };
    for (let w = 0; w < Math.min(workers, jobs.length); w++) startChild();
  });
}

/** The child's side: handles the jobs the parent sends, one at a time, with its own backend and data. */
export async function serveJobs(options: ChildOptions): Promise<void> {
  await resolveBackend();
  const cache = new Map<string, Data>();
  const p = { ...protocol(options.dataset, options.warmStart), budget: options.budget };
  process.on('message', async (msg: Job | 'exit') => {
    if (msg === 'exit') process.exit(0);
    const data = loadData(options.dataset, msg.seed, cache);
    const result = await runJob(p, msg.strategy, msg.seed, data, options.warmStart, () =>
      process.send!({ tick: true }),
    );
    process.send!({ result });
  });
  process.send!({ ready: true });
}
