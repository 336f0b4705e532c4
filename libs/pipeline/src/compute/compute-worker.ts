import { setPriority } from 'node:os';
import workerpool from 'workerpool';
import { createComputeTasks } from './compute-tasks';
import { rankingBuffers } from './label-ranking';
import type { LabelRanking, OutOfSampleRequest } from './messages';

// The entry point of a compute worker (a worker thread or a child process, see ComputePool). It lowers its own
// CPU priority first: on Linux a niceness set from a thread applies to that thread only, so the event loop
// that serves HTTP and renews job locks keeps the upper hand in either kind of worker.
const nice = Number(process.env.LABELLOOP_COMPUTE_NICE ?? 0);
if (nice > 0) {
  try {
    setPriority(nice);
  } catch {
    // Not permitted here: run at the normal priority.
  }
}

const tasks = createComputeTasks(process.env.LABELLOOP_COMPUTE_BACKEND ?? '', workerpool.workerEmit);
workerpool.worker({
  ...tasks,
  // A worker thread hands the ranking's buffers over instead of copying them (a child process, which cannot
  // transfer, sends them serialized as usual).
  outOfSample: async (request: OutOfSampleRequest) => {
    const ranking = (await tasks.outOfSample(request)) as LabelRanking;
    return new workerpool.Transfer(ranking, rankingBuffers(ranking));
  },
});
