// A webhook receiver for tests that checks every delivery with the reference Standard Webhooks
// library (npm `standardwebhooks`, pinned in ../package.json). Each request is appended to
// --out as one JSON line {"id", "verified", "error", "payload"}; verified deliveries are
// answered 204, others 401. Writes PORT=<port> to --ready-file once it listens.
//
//   node webhook_receiver.mjs --secret-file FILE --out FILE --ready-file FILE [--port 0]
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const secret = readFileSync(args['secret-file'], 'utf8').trim();
const hook = new Webhook(secret);

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const record = { id: req.headers['webhook-id'] ?? null, verified: false, error: null, payload: null };
    try {
      record.payload = hook.verify(body, {
        'webhook-id': req.headers['webhook-id'],
        'webhook-timestamp': req.headers['webhook-timestamp'],
        'webhook-signature': req.headers['webhook-signature'],
      });
      record.verified = true;
    } catch (e) {
      record.error = String(e && e.message ? e.message : e);
    }
    appendFileSync(args.out, JSON.stringify(record) + '\n');
    res.writeHead(record.verified ? 204 : 401);
    res.end();
  });
});
server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
  writeFileSync(args['ready-file'] + '.tmp', `PORT=${server.address().port}\n`);
  renameSync(args['ready-file'] + '.tmp', args['ready-file']);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
