// The ajv options every config validator of a leiosnet process is compiled with: the node's
// config and genesis (compiled ahead, orchestrator/profile/standalone-validators.ts) and the
// tx-generator's config. strictNumbers: a non-finite number (JSON 1e999 parses to Infinity) is
// the wrong type; useDefaults: the loaders rely on the schemas' defaults being filled in.
export const VALIDATOR_AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, strictNumbers: true } as const;
