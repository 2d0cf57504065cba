import { afterAll } from 'vitest';
import { removeTempDirs } from './tmp.ts';

// Registered before each file's own hooks, so it runs after them (vitest's hook order is a stack).
afterAll(removeTempDirs);
