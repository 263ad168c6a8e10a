// Aedes as a system under test: the broker with its in-memory defaults behind a plain TCP
// server (TCP_NODELAY), in its own process. Environment: PORT; AUTH_USERS=n accepts users
// dev0..dev{n-1} with passwords pw-0.. through the `authenticate` hook (anonymous refused).

import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.env.PORT);
const users = Number(process.env.AUTH_USERS ?? '0');

const broker = await Aedes.createBroker();

if (users > 0) {
  const passwords = new Map<string, Buffer>();
  for (let i = 0; i < users; i++) passwords.set(`dev${i}`, Buffer.from(`pw-${i}`));
  broker.authenticate = (_client, username, password, done) => {
    const expected = username === undefined ? undefined : passwords.get(username);
    const ok = expected !== undefined && password !== undefined
      && expected.length === password.length && timingSafeEqual(expected, password);
    done(null, ok);
  };
}

const server = net.createServer({ noDelay: true }, broker.handle);
server.listen(port, '127.0.0.1');

const stop = (): void => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
