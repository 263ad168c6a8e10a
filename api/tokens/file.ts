// The TokenStore as one JSON file (`<MOORING_DATA_DIR>/tokens.json`), written atomically (temp file
// + rename) after every change, mode 0600: it holds only hashes, but they are still secrets' hashes.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MooringError } from '../../events/errors.ts';
import { MemoryTokenStore, type TokenData } from './memory.ts';

export class FileTokenStore extends MemoryTokenStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {
    super();
  }

  /** Opens (or starts) the file; MOORING_INVALID_CONFIG when it exists but does not parse. */
  static async open(path: string): Promise<FileTokenStore> {
    const store = new FileTokenStore(path);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let data: TokenData;
      try {
        data = JSON.parse(text) as TokenData;
        if (!Array.isArray(data.users) || typeof data.tokens !== 'object' || data.tokens === null) throw new Error('not a token file');
      } catch (err) {
        throw new MooringError('MOORING_INVALID_CONFIG', `${path} is not a token store: ${(err as Error).message}`, { cause: err });
      }
      store.load(data);
    }
    return store;
  }

  protected override changed(): Promise<void> {
    const text = JSON.stringify(this.snapshot(), null, 2);
    this.writing = this.writing.catch(() => {}).then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    return this.writing;
  }
}
