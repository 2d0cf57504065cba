export * from './keys.ts';
export * from './genesis.ts';
export * from './generator-config.ts';
export * from './run-files.ts';
