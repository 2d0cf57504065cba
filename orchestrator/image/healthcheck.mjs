// Image HEALTHCHECK: GET /health on the node's admin port. Plain JS (no type stripping needed).
// The port comes from LEIOSNET_ADMIN_PORT, else from the config file (LEIOSNET_CONFIG, default
// /config/config.json, field admin.port). Exit 0 = healthy, 1 = unhealthy (Docker's contract).
import { readFileSync } from 'node:fs';

function adminPort() {
  if (process.env.LEIOSNET_ADMIN_PORT) return Number(process.env.LEIOSNET_ADMIN_PORT);
  const file = process.env.LEIOSNET_CONFIG || '/config/config.json';
  return JSON.parse(readFileSync(file, 'utf8')).admin.port;
}

try {
  const res = await fetch(`http://127.0.0.1:${adminPort()}/health`, { signal: AbortSignal.timeout(2500) });
  const body = await res.text();
  if (!res.ok) {
    console.error(`unhealthy: HTTP ${res.status} ${body.slice(0, 200)}`);
    process.exit(1);
  }
  console.log(body.slice(0, 200));
  process.exit(0);
} catch (e) {
  console.error(`unhealthy: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
