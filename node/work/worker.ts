// Worker thread entry: runs Tasks (node/work/tasks.ts) posted by the node's WorkerPool.
import { parentPort, workerData } from 'node:worker_threads';
import { TaskRunner, type Task, type WorkerInit } from './tasks.ts';

const runner = new TaskRunner(workerData as WorkerInit);
parentPort!.on('message', (m: { id: number; task: Task }) => {
  try {
    parentPort!.postMessage({ id: m.id, result: runner.run(m.task) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: String((e as Error)?.message ?? e) });
  }
});
