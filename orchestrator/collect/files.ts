// What the collector writes under <runDir>/metrics/ (read back by the analysis and reports).

/** metrics/samples.jsonl: one line per node per scrape round. */
export interface MetricsSample {
  /** Unix time, seconds */
  t: number;
  round: number;
  node: string;
  /** The target's labels (run, node, role, release, region), as Prometheus attaches them. */
  labels?: Record<string, string>;
  /** Flattened series (`name{label="v"}` → value), every series the endpoint exposes; keys
   * leave out the target labels above (they are the sample's). */
  values: Record<string, number>;
}

/** metrics/resources.jsonl: one line per node per sample. */
export interface ResourceSample {
  t: number;
  node: string;
  cpuPct: number;
  rssMb: number;
  /** PSS, when the runtime measures it (processes) */
  pssMb?: number;
}

/** metrics/tips.json: each node's /tip at the end of the run. */
export interface TipsFile {
  collectedAt: string;
  tips: Record<string, { slot?: number; blockNo?: number; hash?: string } | null>;
}

/** metrics/source.json: where metrics/samples.jsonl came from (absent: the collector's scraper). */
export interface MetricsSource {
  source: 'prometheus' | 'scraper';
  url?: string;
  runId?: string;
  /** Unix seconds */
  start?: number;
  end?: number;
  stepS?: number;
  samples?: number;
  exportedAt?: string;
}

export const SAMPLES_FILE = 'metrics/samples.jsonl';
/** With a Prometheus, the scraper's own samples (kept as a cross-check) go here. */
export const SCRAPER_SAMPLES_FILE = 'metrics/scraper/samples.jsonl';
export const SOURCE_FILE = 'metrics/source.json';
export const RESOURCES_FILE = 'metrics/resources.jsonl';
export const TIPS_FILE = 'metrics/tips.json';
