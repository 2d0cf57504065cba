// The kubernetes runtime's pure parts (no cluster): which API servers it trusts with custom
// resources, and Kubernetes quantities.

import { describe, expect, it } from 'vitest';
import { crashesOnCustomResources, parseCpu, parseMemoryMb } from '../../orchestrator/runtime/kubernetes.ts';

describe('crashesOnCustomResources', () => {
  it('Kubernetes < 1.23 built with Go ≥ 1.18 (vendored reflect2 1.0.1) crashes', () => {
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2', goVersion: 'go1.19.8' })).toBe(true);
    expect(crashesOnCustomResources({ gitVersion: 'v1.22.17', goVersion: 'go1.18' })).toBe(true);
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.15-dirty', goVersion: 'go1.21.1' })).toBe(true);
  });

  it('official builds (older Go), Kubernetes ≥ 1.23, or an unknown version are safe', () => {
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.15', goVersion: 'go1.15.15' })).toBe(false);
    expect(crashesOnCustomResources({ gitVersion: 'v1.23.0', goVersion: 'go1.19.8' })).toBe(false);
    expect(crashesOnCustomResources({ gitVersion: 'v1.30.1', goVersion: 'go1.22.2' })).toBe(false);
    expect(crashesOnCustomResources({})).toBe(false);
  });

  it('a build whose version says it carries reflect2 ≥ 1.0.2 (semver build metadata) is safe', () => {
    // what .ci/k8s-setup.sh builds: Debian's 1.20 with Debian's reflect2 1.0.2 swapped in
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+reflect2.1.0.2', goVersion: 'go1.19.8' })).toBe(false);
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+debian.reflect2.1.0.3', goVersion: 'go1.19.8' })).toBe(false);
    expect(crashesOnCustomResources({ gitVersion: 'v1.21.0+reflect2.1.1.0.x', goVersion: 'go1.19.8' })).toBe(false);
  });

  it('build metadata that does not name a fixed reflect2 changes nothing', () => {
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+reflect2.1.0.1', goVersion: 'go1.19.8' })).toBe(true);
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+reflect2', goVersion: 'go1.19.8' })).toBe(true);
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+notreflect2.1.0.2', goVersion: 'go1.19.8' })).toBe(true);
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2-reflect2.1.0.2', goVersion: 'go1.19.8' })).toBe(true); // a pre-release, not metadata
    expect(crashesOnCustomResources({ gitVersion: 'v1.20.2+k3s1', goVersion: 'go1.19.8' })).toBe(true);
  });
});

describe('Kubernetes quantities', () => {
  it('cpu and memory', () => {
    expect(parseCpu('2')).toBe(2);
    expect(parseCpu('1500m')).toBe(1.5);
    expect(parseCpu(undefined)).toBe(0);
    expect(parseMemoryMb('512Mi')).toBe(512);
    expect(parseMemoryMb('2Gi')).toBe(2048);
    expect(parseMemoryMb('8026512Ki')).toBeCloseTo(7838.39, 1);
    expect(parseMemoryMb('1048576')).toBe(1);
  });
});
