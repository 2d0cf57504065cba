// A small worker_threads pool for the node's heavy, state-free checks (BLS votes and
// certificates, Ed25519 witnesses of EB closures), so the event loop that relays RB headers
// never waits behind a pairing. Workers start lazily (a Praos-only node never starts one)
// and are unref'd (they never keep a process alive).

import { Worker } from 'node:worker_threads';
import { TaskRunner, type Task, type TaskResult, type WorkerInit } from './tasks.ts';

interface Job {
  id: number;
  task: Task;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

export interface WorkerPoolOptions {
  /** Worker threads (default 1; 0 runs tasks in this thread, e.g. for tests and benchmarks). */
  size?: number;
}

export class WorkerPool {
  private readonly init: WorkerInit;
  private readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private inline: TaskRunner | undefined;
  /** Tasks completed, and ms spent waiting + running (for metrics). */
  done = 0;

  constructor(init: WorkerInit, opts: WorkerPoolOptions = {}) {
    this.init = init;
    this.size = Math.max(0, opts.size ?? 1);
  }

  get pending(): number {
    return this.queue.length + this.busy.size;
  }

  run<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.closed) return Promise.reject(new Error('worker pool closed'));
    if (this.size === 0) {
      this.inline ??= new TaskRunner(this.init);
      try {
        return Promise.resolve(this.inline.run(task) as TaskResult<T>);
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve: resolve as (r: unknown) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let w = this.idle.pop();
      if (!w) {
        if (this.busy.size + this.idle.length >= this.size) return;
        w = this.spawn();
      }
      const job = this.queue.shift()!;
      this.busy.set(w, job);
      // A packed witness buffer is handed over, not copied.
      const transfer = job.task.kind === 'witnesses' ? [job.task.packed.buffer as ArrayBuffer] : [];
      w.postMessage({ id: job.id, task: job.task }, transfer);
    }
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: this.init });
    w.unref();
    w.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const job = this.busy.get(w);
      this.busy.delete(w);
      if (!this.closed) this.idle.push(w);
      if (job) {
        this.done++;
        if (m.error !== undefined) job.reject(new Error(m.error));
        else job.resolve(m.result);
      }
      this.pump();
    });
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new Error(`worker exited with code ${code}`)));
    return w;
  }

  /** A crashed worker fails only its own job; the next task starts a new one. */
  private lost(w: Worker, e: Error): void {
    const job = this.busy.get(w);
    this.busy.delete(w);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    job?.reject(e);
    if (!this.closed) this.pump();
  }

  /** The running workers' V8 heaps, summed (0 before the first task starts one). */
  async heapStatistics(): Promise<{ used: number; total: number; workers: number }> {
    const all = [...this.idle, ...this.busy.keys()];
    const stats = await Promise.all(all.map((w) => w.getHeapStatistics().catch(() => undefined)));
    let used = 0;
    let total = 0;
    for (const h of stats) if (h) ((used += h.used_heap_size), (total += h.total_heap_size));
    return { used, total, workers: all.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('worker pool closed'));
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }
}
