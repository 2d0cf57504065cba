// Reports of one run: report.md and report.html next to summary.json.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analysis } from '../analysis/analyse.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { readEvents, scenarioReport } from './scenario.ts';

export { compare, compareSummaries, renderCompareMarkdown, writeCompare, direction } from './compare.ts';
export type { CompareResult, CompareRow, Direction } from './compare.ts';
export { renderHtml, figures } from './html.ts';
export { renderMarkdown } from './markdown.ts';
export { readEvents, renderScenarioMarkdown, scenarioReport, type ScenarioReport } from './scenario.ts';
export { junitCases, renderJunit, writeJunit, type JunitCase, type JunitRunInfo, type JunitSuite } from './junit.ts';
export { validateJunit } from './junit-schema.ts';

export function writeReports(runDir: string, analysis: Pick<Analysis, 'summary' | 'series'>): { md: string; html: string } {
  const md = join(runDir, 'report.md');
  const html = join(runDir, 'report.html');
  const scenario = scenarioReport(readEvents(runDir));
  writeFileSync(md, renderMarkdown(analysis.summary, analysis.series, scenario));
  writeFileSync(html, renderHtml(analysis.summary, analysis.series, scenario));
  return { md, html };
}
