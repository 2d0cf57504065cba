// What the collector writes under <runDir>/metrics/ (read back by the analysis and reports).

/** metrics/samples.jsonl: one line per node per scrape round. */
export interface MetricsSample {
  /** Unix time, seconds */
  t: number;
  round: number;
  node: string;
  /** Flattened series (`name{label="v"}` → value); leios_*, process_* and nodejs_eventloop_* */
  values: Record<string, number>;
}

/** metrics/resources.jsonl: one line per node per sample. */
export interface ResourceSample {
  t: number;
  node: string;
  cpuPct: number;
  rssMb: number;
}

/** metrics/tips.json: each node's /tip at the end of the run. */
export interface TipsFile {
  collectedAt: string;
  tips: Record<string, { slot?: number; blockNo?: number; hash?: string } | null>;
}

export const SAMPLES_FILE = 'metrics/samples.jsonl';
export const RESOURCES_FILE = 'metrics/resources.jsonl';
export const TIPS_FILE = 'metrics/tips.json';
