// A minimal ustar writer: enough to hand a root filesystem to `docker import` with exact owners
// and modes, without depending on the host's tar flavour or running as root.

import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';

export interface TarEntry {
  /** Path inside the archive, no leading slash; directories end without a slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  /** file: a host file to stream, or literal content. */
  source?: string;
  content?: Buffer | string;
  /** symlink target */
  target?: string;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  let name = e.type === 'dir' ? `${e.path}/` : e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long: ${e.path}`);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(e.uid ?? 0, 8), 108, 8, 'ascii');
  h.write(octal(e.gid ?? 0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(mtime, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder (spaces)
  h.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156, 1, 'ascii');
  if (e.type === 'symlink') h.write(e.target ?? '', 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(e.uid ? 'node' : 'root', 265, 32, 'ascii');
  h.write(e.gid ? 'node' : 'root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** Stream a tar archive of the entries (in the order given). mtime is fixed for reproducibility. */
export function tarStream(entries: TarEntry[], mtime = 0): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (const e of entries) {
      if (e.type !== 'file') {
        yield header(e, 0, mtime);
        continue;
      }
      if (e.content !== undefined) {
        const body = Buffer.from(e.content);
        yield header(e, body.length, mtime);
        yield body;
        if (body.length % BLOCK) yield Buffer.alloc(BLOCK - (body.length % BLOCK));
        continue;
      }
      const size = statSync(e.source!).size;
      yield header(e, size, mtime);
      let sent = 0;
      for await (const chunk of createReadStream(e.source!)) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (sent !== size) throw new Error(`tar: ${e.source} changed size while archiving`);
      if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
    }
    yield Buffer.alloc(BLOCK * 2);
  }
  return Readable.from(gen());
}
