// Entry point of the `leiosnet` command (bin/leiosnet.js runs this with Node 22).
import { runCli } from './program.ts';

const code = await runCli(process.argv.slice(2));
// let stdout drain before leaving
process.stdout.write('', () => process.exit(code));
