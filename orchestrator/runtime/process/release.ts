// Release name → the `release` block of a node config, from the planner's release table.

import type { NodeConfig } from '../../../node/config/schema.ts';
import { UserError } from '../../errors.ts';
import { RELEASE_NAMES, isReleaseName, releaseInfo as plannerRelease } from '../../profile/releases.ts';

export function releaseInfo(name: string): NodeConfig['release'] {
  if (!isReleaseName(name)) throw new UserError(`release: unknown release ${JSON.stringify(name)} (known: ${RELEASE_NAMES.join(', ')})`);
  const r = plannerRelease(name);
  return { version: r.version, maxProtocolVersion: r.maxProtocolVersion };
}
