// Prometheus text exposition format (0.0.4) → flat samples. Each series keeps its labels in the
// key, canonically ordered: `leios_tx_rejected_total{reason="fee"}`.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    out[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return out;
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
    if (!m) continue;
    const value = parseValue(m[4]!);
    if (Number.isNaN(value) && m[4] !== 'NaN') continue;
    out.push({ name: m[1]!, labels: m[3] ? parseLabels(m[3]) : {}, value });
  }
  return out;
}

export function seriesKey(s: Pick<PromSample, 'name' | 'labels'>): string {
  const ks = Object.keys(s.labels).sort();
  if (ks.length === 0) return s.name;
  return `${s.name}{${ks.map((k) => `${k}=${JSON.stringify(s.labels[k])}`).join(',')}}`;
}

/** Flatten to `{seriesKey: value}`, keeping only series whose name passes `keep`. */
export function toRecord(samples: PromSample[], keep: (name: string) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (keep(s.name) && Number.isFinite(s.value)) out[seriesKey(s)] = s.value;
  return out;
}

/** Sum of every series of metric `name` (over all label sets) in a flattened record. */
export function sumMetric(rec: Record<string, number>, name: string): number | undefined {
  let total: number | undefined;
  for (const [k, v] of Object.entries(rec)) {
    if (k === name || k.startsWith(name + '{')) total = (total ?? 0) + v;
  }
  return total;
}
