// `leiosnet serve`: REST + WebSocket API and the live web page (orchestrator/serve/).
// Binds 127.0.0.1 unless --host says otherwise; prints a fresh token for mutations (faults,
// start/stop), also kept in $LEIOSNET_HOME/serve.token (mode 0600). Runs until SIGINT/SIGTERM.

import type { Command } from 'commander';
import { UserError } from '../../errors.ts';

export interface ServeIO {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`--port: expected a port 0..65535, got ${JSON.stringify(v)}`);
  return n;
}

export function registerServe(program: Command, io: ServeIO, exit: (code: number) => void): Command {
  return program
    .command('serve')
    .description('REST + WebSocket API and the live web page (token for mutations; loopback unless --host)')
    .option('--port <port>', 'port (0: any free port)', port, 8080)
    .option('--host <addr>', 'interface to bind (default 127.0.0.1; 0.0.0.0 serves every interface)', '127.0.0.1')
    .option('--token-file <file>', 'where the token is written (mode 0600; default $LEIOSNET_HOME/serve.token)')
    .option('--json', 'print {url, token, tokenFile} as JSON once listening')
    .addHelpText(
      'after',
      `
Every request other than GET needs the token printed at start: Authorization: Bearer <token>.
The page takes it from its token field, or from the URL fragment: http://127.0.0.1:8080/#token=<token>.`,
    )
    .action(async (o: { port: number; host: string; tokenFile?: string; json?: boolean }) => {
      const { startServe } = await import('../../serve/server.ts');
      let srv;
      try {
        srv = await startServe({ host: o.host, port: o.port, cwd: io.cwd, ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UserError(`--port: ${o.host}:${o.port} is in use (another serve? pick --port)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host: cannot bind ${o.host}`);
        throw e;
      }
      if (o.json) io.out(JSON.stringify({ url: srv.url, token: srv.token, tokenFile: srv.tokenFile, host: srv.host, port: srv.port }) + '\n');
      else {
        io.out(`leiosnet serve: ${srv.url}/\n`);
        io.out(`token: ${srv.token}\n`);
        io.err(`  (saved in ${srv.tokenFile}, mode 0600; needed for faults and start/stop)\n`);
        io.err(`  page with the token: ${srv.url}/#token=${srv.token}\n`);
        if (srv.host !== '127.0.0.1' && srv.host !== '::1' && srv.host !== 'localhost') io.err(`  warning: listening on ${srv.host}, not only loopback\n`);
        io.err('  Ctrl-C to stop\n');
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await srv.close();
      exit(0);
    });
}
