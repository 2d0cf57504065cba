// Proportional set size of a process: resident pages with each shared page divided among the
// processes that map it (Linux /proc/<pid>/smaps_rollup, kernel ≥ 4.14). RSS counts the Node.js
// binary's and libraries' pages in full in every node; PSS counts them once across all nodes, so
// the sum of PSS is the memory the testnet really takes.

import { readFileSync } from 'node:fs';

export interface MemoryRollup {
  rssBytes: number;
  pssBytes: number;
  /** private (unshared) anonymous + file pages */
  privateBytes: number;
  /** pages shared with other processes */
  sharedBytes: number;
  swapBytes: number;
}

/** Parse the text of smaps_rollup (or smaps: the fields are summed). */
export function parseSmapsRollup(text: string): MemoryRollup {
  const kb: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s+(\d+)\s+kB/.exec(line);
    if (m) kb[m[1]!] = (kb[m[1]!] ?? 0) + Number(m[2]);
  }
  const b = (k: string) => (kb[k] ?? 0) * 1024;
  return {
    rssBytes: b('Rss'),
    pssBytes: b('Pss'),
    privateBytes: b('Private_Clean') + b('Private_Dirty'),
    sharedBytes: b('Shared_Clean') + b('Shared_Dirty'),
    swapBytes: b('Swap'),
  };
}

/** The memory rollup of a live process; undefined if it is gone or the kernel lacks smaps_rollup. */
export function memoryRollup(pid: number): MemoryRollup | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const r = parseSmapsRollup(text);
  return r.rssBytes > 0 || r.pssBytes > 0 ? r : undefined;
}

/** PSS in bytes, or undefined. */
export function pssBytes(pid: number): number | undefined {
  return memoryRollup(pid)?.pssBytes;
}
