import { resolve } from 'node:path';
import { ProfileError } from '../errors.ts';
import { findProfile, knownProfiles, PROFILES_DIR } from './load.ts';
import { isPlainObject } from './validate.ts';
import { readYaml } from './yaml.ts';

export interface ProfileListing {
  name: string;
  description: string;
  file: string;
  /** The profile it extends, if any. */
  extends?: string;
  /** Set when the file cannot be read or parsed; the listing still shows it. */
  error?: string;
}

/** The library (or another directory): each profile with its one-line description, by name. */
export function listProfiles(profilesDir = PROFILES_DIR): ProfileListing[] {
  return knownProfiles(profilesDir).map((name) => {
    const file = findProfile(name, { profilesDir });
    try {
      const { value } = readYaml(file, resolve(file), 'profile file');
      const v = isPlainObject(value) ? value : {};
      let description = typeof v.description === 'string' ? v.description : '';
      const ext = typeof v.extends === 'string' ? v.extends : undefined;
      if (description === '' && ext !== undefined) description = `(extends ${ext})`;
      return { name, description, file, ...(ext !== undefined ? { extends: ext } : {}) };
    } catch (err) {
      const message = err instanceof ProfileError ? err.message : String(err);
      return { name, description: '', file, error: message };
    }
  });
}

/** `leiosnet profiles list` text: names aligned, then descriptions. */
export function formatProfileList(list: readonly ProfileListing[]): string {
  const width = Math.max(0, ...list.map((p) => p.name.length));
  return list.map((p) => `${p.name.padEnd(width)}  ${p.error ? `(invalid: ${p.error.split('\n')[0]})` : p.description}`).join('\n');
}
