import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { NodeConfigSchema } from '../../node/config/schema.ts';
import { GenesisSchema } from '../../node/genesis/schema.ts';
import { ProfileSchema } from './schema.ts';

// JSON Schemas published for editors and other tools, generated from the TypeBox sources.
// A field with a default is optional to whoever writes the file (the reader fills it in).

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Deep copy of a schema (without TypeBox's symbol keys) whose `required` omits defaulted properties. */
export function relaxDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(relaxDefaults);
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(s)) out[key] = key === 'default' || key === 'const' ? s[key] : relaxDefaults(s[key]);
  const props = s.properties as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(s.required) && props) {
    const required = (s.required as string[]).filter((k) => props[k]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

export function publishedSchema(schema: TSchema, id: string): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://leiosnet.dev/schemas/${id}`,
    ...(relaxDefaults(schema) as Record<string, unknown>),
  };
}

/** Every generated schema file: path relative to the repo root, and its exact text. */
export function schemaFiles(): { path: string; absolute: string; text: string }[] {
  const files: [string, TSchema, string][] = [
    ['profiles/profile.schema.json', ProfileSchema, 'profile.schema.json'],
    ['node/genesis/genesis.schema.json', GenesisSchema, 'genesis.schema.json'],
    ['node/config/config.schema.json', NodeConfigSchema, 'config.schema.json'],
  ];
  return files.map(([path, schema, id]) => ({
    path,
    absolute: REPO + path,
    text: `${JSON.stringify(publishedSchema(schema, id), null, 2)}\n`,
  }));
}
