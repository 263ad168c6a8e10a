// The worker thread of hash-pool.ts: computes one password hash per message and answers with it.
// Only pure computations run here (sha512-crypt, bcrypt); no state, no registry.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { sha512Crypt } from './sha512-crypt.ts';
import type { HashJob, HashReply } from './hash-pool.ts';

parentPort?.on('message', (m: { id: number; job: HashJob }) => {
  const reply = (result: string | undefined): void => parentPort!.postMessage({ id: m.id, result } satisfies HashReply);
  const { job } = m;
  if (job.kind === 'sha512') {
    reply(sha512Crypt(job.key, job.setting));
    return;
  }
  bcrypt.hash(Buffer.from(job.key).toString('utf8'), job.setting).then(reply, () => reply(undefined));
});
