import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { buildTestnet } from '../support/testnet.ts';
import { loadNodeFiles, ConfigError, POP_CACHE_FILE } from '../../node/config/load.ts';
import { popsDigest } from '../../node/leios/certificate.ts';
import { tempDir } from '../support/tmp.ts';

function fresh() {
  const dir = tempDir('leiosnet-cfg-');
  return { dir, tn: buildTestnet({ dir, pools: 2, basePort: 4999 }) };
}

describe('node config and genesis loading', () => {
  it('loads a valid config with paths relative to the config file', () => {
    const { dir, tn } = fresh();
    const f = loadNodeFiles(tn.configs[0]);
    expect(f.config.dbPath).toBe(path.join(dir, 'pool-1', 'db'));
    expect(f.keys?.poolId).toBe('pool-1');
    expect(f.genesis.pools).toHaveLength(2);
  });

  it('rejects a genesis pool whose BLS key has no valid proof of possession (rogue key)', () => {
    const { dir, tn } = fresh();
    const g = JSON.parse(fs.readFileSync(path.join(dir, 'genesis.json'), 'utf8'));
    [g.pools[0].blsPop, g.pools[1].blsPop] = [g.pools[1].blsPop, g.pools[0].blsPop];
    fs.writeFileSync(path.join(dir, 'genesis.json'), JSON.stringify(g));
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(ConfigError);
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(/pools: BLS proof of possession does not verify for pool-1, pool-2/);
  });

  it('remembers verified PoPs in the DB dir: a restart skips the check, changed keys are checked again', () => {
    const { dir, tn } = fresh();
    loadNodeFiles(tn.configs[0]);
    const cache = path.join(dir, 'pool-1', 'db', POP_CACHE_FILE);
    expect(fs.readFileSync(cache, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const before = fs.readFileSync(cache, 'utf8');
    loadNodeFiles(tn.configs[0]); // from the cache
    // swapped PoPs are a different key set: the cache does not vouch for them
    const g = JSON.parse(fs.readFileSync(path.join(dir, 'genesis.json'), 'utf8'));
    [g.pools[0].blsPop, g.pools[1].blsPop] = [g.pools[1].blsPop, g.pools[0].blsPop];
    fs.writeFileSync(path.join(dir, 'genesis.json'), JSON.stringify(g));
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(/BLS proof of possession does not verify for pool-1, pool-2/);
    expect(fs.readFileSync(cache, 'utf8')).toBe(before);
  });

  it('a config that pins the verified pool keys (genesisPopsVerified) is trusted for exactly those keys', () => {
    const { dir, tn } = fresh();
    const gFile = path.join(dir, 'genesis.json');
    const g = JSON.parse(fs.readFileSync(gFile, 'utf8'));
    [g.pools[0].blsPop, g.pools[1].blsPop] = [g.pools[1].blsPop, g.pools[0].blsPop];
    fs.writeFileSync(gFile, JSON.stringify(g));
    const c = JSON.parse(fs.readFileSync(tn.configs[0], 'utf8'));
    // the pin matches these (swapped, invalid) PoPs: its writer vouches, the node does not re-check
    fs.writeFileSync(tn.configs[0], JSON.stringify({ ...c, genesisPopsVerified: popsDigest(g.pools) }));
    expect(loadNodeFiles(tn.configs[0]).genesis.pools).toHaveLength(2);
    expect(fs.existsSync(path.join(dir, 'pool-1', 'db', POP_CACHE_FILE))).toBe(false);
    // a pin of other keys vouches for nothing: the check runs and refuses
    fs.writeFileSync(tn.configs[0], JSON.stringify({ ...c, genesisPopsVerified: popsDigest(tn.genesis.pools) }));
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(/BLS proof of possession does not verify for pool-1, pool-2/);
    fs.writeFileSync(tn.configs[0], JSON.stringify({ ...c, genesisPopsVerified: 'abc' }));
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(/field genesisPopsVerified: must match pattern/);
  });

  it('names the field of a bad config value', () => {
    const { tn } = fresh();
    const c = JSON.parse(fs.readFileSync(tn.configs[0], 'utf8'));
    c.listen.port = 'x';
    fs.writeFileSync(tn.configs[0], JSON.stringify(c));
    expect(() => loadNodeFiles(tn.configs[0])).toThrow(/field listen\.port: must be integer/);
  });

  it('rejects an unknown config field and a key file of the wrong type', () => {
    const { dir, tn } = fresh();
    const c = JSON.parse(fs.readFileSync(tn.configs[1], 'utf8'));
    fs.writeFileSync(tn.configs[1], JSON.stringify({ ...c, colour: 'red' }));
    expect(() => loadNodeFiles(tn.configs[1])).toThrow(/must NOT have additional properties 'colour'/);
    fs.writeFileSync(tn.configs[1], JSON.stringify(c));
    fs.writeFileSync(path.join(dir, 'pool-2', 'vrf.skey'), JSON.stringify({ type: 'ColdSigningKey', hex: '00'.repeat(32) }));
    expect(() => loadNodeFiles(tn.configs[1])).toThrow(/field type: expected "VrfSigningKey"/);
  });
});
