// A SCIM 2.0 service for tests: SCIMMY does the protocol (routing, filters, PATCH, schemas,
// list responses, errors); this file only stores Users and Groups in memory and adds the
// switches a test needs (answer 429 / 503 for a while, change the accepted token).
//
//   node server.mjs --port N --token-file F [--tls-cert C --tls-key K] [--ready-file R]
//                   [--keep-alive-ms MS]   (how long an idle connection stays open; node: 5000)
//                   [--client-id ID --client-secret-file F [--token-ttl-s N]]
//
// With a client id, POST /oauth/token answers an OAuth 2.0 client credentials grant (RFC 6749
// §4.4, client authenticated with HTTP Basic) with a fresh token valid for N seconds (default
// 3600), accepted next to the token file's.
//
// SCIM lives under /scim/v2; the test switches under /_test (same bearer token):
//   POST /_test/fail   {"status": 429, "retryAfter": 2, "count": 3}   next 3 SCIM requests get
//                      429 with Retry-After: 2 (count 0 or absent: until /_test/clear)
//   POST /_test/clear  normal answers again
//   POST /_test/token  {"token": "…"}   the token SCIM requests must carry from now on
//   GET  /_test/stats  {"requests": n, "refused": n, "users": n, "groups": n, "connections": n,
//                      "readBytes": n} (connections: open now, this one included; readBytes:
//                      the bytes of every answer to a GET)
// A SCIM request with the header X-Harness-Observer: 1 (the test looking) is never refused or
// counted.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) =>
    a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs, []));
let token = fs.readFileSync(args["token-file"], "utf8").trim();
const port = Number(args.port ?? 0);

const users = new Map();   // id → stored user (plain object)
const groups = new Map();  // id → stored group
// The attributes clients look resources up by, lower-cased value → ids: a look-up narrows the
// resources to those before the library's filter decides (see candidates()), and a write checks
// uniqueness without a walk through everyone (a benchmark fills the app with thousands).
const indexes = new Map([[users, {userName: new Map(), externalId: new Map()}],
  [groups, {displayName: new Map()}]]);
function indexed(map, resource, add) {
  for (const [attribute, index] of Object.entries(indexes.get(map))) {
    const key = String(resource[attribute] ?? "").toLowerCase();
    if (!key) continue;
    if (add) {
      if (!index.has(key)) index.set(key, new Set());
      index.get(key).add(resource.id);
    } else {
      index.get(key)?.delete(resource.id);
      if (index.get(key)?.size === 0) index.delete(key);
    }
  }
}
// The resources `filter` can match: when each of its alternatives requires an indexed
// attribute to equal a value, the holders of those values; otherwise everyone. The library's
// filter then decides among them, so what matches is still its answer.
function candidates(map, filter) {
  const byName = indexes.get(map);
  const ids = new Set();
  for (const alternative of filter) {
    let index = null;  // null: this alternative names no indexed attribute with eq
    for (const [attribute, test] of Object.entries(alternative)) {
      const name = Object.keys(byName).find((a) => a.toLowerCase() === attribute.toLowerCase());
      if (!name || !Array.isArray(test) || test[0] !== "eq") continue;
      index = byName[name].get(String(test[1]).toLowerCase()) ?? new Set();
      break;
    }
    if (index === null) return [...map.values()];
    for (const id of index) ids.add(id);
  }
  return [...ids].map((id) => map.get(id));
}
let failure = null;        // {status, retryAfter, count}
const stats = {requests: 0, refused: 0, tokensIssued: 0, readBytes: 0};
const issued = new Map();  // OAuth access token → expiry (ms since the epoch)
const client = args["client-id"] ? {id: args["client-id"],
  secret: fs.readFileSync(args["client-secret-file"], "utf8").trim()} : null;
const tokenTtl = Number(args["token-ttl-s"] ?? 3600);

const clone = (v) => JSON.parse(JSON.stringify(v));
const now = () => new Date().toISOString();
const version = (n) => `W/"${n}"`;

// A write must name the version it changes when the client sends If-Match (RFC 7644 §3.14).
function checkIfMatch(stored, ctx) {
  const want = ctx?.ifMatch;
  if (want && want !== "*" && want !== stored.meta.version)
    throw new SCIMMY.Types.Error(412, null, `If-Match ${want} does not match ${stored.meta.version}`);
}

function groupsOf(userId) {
  return [...groups.values()]
    .filter((g) => (g.members ?? []).some((m) => m.value === userId))
    .map((g) => ({value: g.id, display: g.displayName, type: "direct"}));
}

function store(map, resource, instance, ctx, unique) {
  const data = clone(instance);
  delete data.meta;
  const holders = indexes.get(map)[unique].get(String(data[unique] ?? "").toLowerCase()) ?? [];
  if ([...holders].some((id) => id !== resource.id))
    throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} ${data[unique]} is already taken`);
  if (resource.id) {
    const old = map.get(resource.id);
    if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    checkIfMatch(old, ctx);
    const n = Number(old.meta.version.match(/\d+/)[0]) + 1;
    const next = {...data, id: old.id,
      meta: {...old.meta, lastModified: now(), version: version(n)}};
    map.set(old.id, next);
    indexed(map, old, false);
    indexed(map, next, true);
    return next;
  }
  const id = crypto.randomUUID();
  const created = {...data, id, meta: {created: now(), lastModified: now(), version: version(1)}};
  map.set(id, created);
  indexed(map, created, true);
  return created;
}

function read(map, resource, decorate = (r) => r) {
  if (resource.id) {
    const one = map.get(resource.id);
    if (!one) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    return decorate(clone(one));
  }
  // The stored resources are filtered first and only the matches copied and decorated: a
  // look-up must not copy everyone. A filter on what decorate adds (a user's groups) needs
  // everyone decorated.
  if (resource.filter && JSON.stringify(resource.filter).includes('"groups"'))
    return resource.filter.match([...map.values()].map((r) => decorate(clone(r))));
  const hits = resource.filter ? resource.filter.match(candidates(map, resource.filter))
    : [...map.values()];
  return hits.map((r) => decorate(clone(r)));
}

function remove(map, resource, ctx) {
  const old = map.get(resource.id);
  if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
  checkIfMatch(old, ctx);
  map.delete(resource.id);
  indexed(map, old, false);
}

SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false), {
  ingress: (resource, instance, ctx) => store(users, resource, instance, ctx, "userName"),
  egress: (resource) => read(users, resource, (u) => ({...u, groups: groupsOf(u.id)})),
  degress: (resource, ctx) => {
    remove(users, resource, ctx);
    for (const g of groups.values()) g.members = (g.members ?? []).filter((m) => m.value !== resource.id);
  },
});
SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
  ingress: (resource, instance, ctx) => store(groups, resource, instance, ctx, "displayName"),
  egress: (resource) => read(groups, resource),
  degress: (resource, ctx) => remove(groups, resource, ctx),
});
SCIMMY.Config.set({patch: true, filter: {supported: true, maxResults: 200}, etag: true});

const same = (a, b) => a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
const bearer = (req) => {
  const got = req.header("Authorization") ?? "";
  if (same(got, `Bearer ${token}`)) return true;
  const expires = got.startsWith("Bearer ") ? issued.get(got.slice(7)) : undefined;
  return expires !== undefined && expires > Date.now();
};

const app = express();
// Express's own ETag is a hash of the body, not the resource's version: SCIM clients would send
// it back in If-Match and be refused. meta.version is the version.
app.set("etag", false);
app.use("/_test", express.json({type: ["application/json", "application/scim+json"]}), (req, res, next) =>
  bearer(req) ? next() : res.status(401).json({detail: "bad token"}));
app.post("/_test/fail", (req, res) => {
  failure = {status: req.body.status ?? 429, retryAfter: req.body.retryAfter ?? 1,
    count: req.body.count ?? 0};
  res.status(204).end();
});
app.post("/_test/clear", (req, res) => { failure = null; res.status(204).end(); });
app.post("/_test/token", (req, res) => { token = String(req.body.token); res.status(204).end(); });
app.get("/_test/stats", (req, res) =>
  server.getConnections((err, connections) =>
    res.json({...stats, users: users.size, groups: groups.size, connections})));

if (client) {
  app.post("/oauth/token", express.urlencoded({extended: false}), (req, res) => {
    const [scheme, encoded] = (req.header("Authorization") ?? "").split(" ");
    const [id, secret] = Buffer.from(encoded ?? "", "base64").toString().split(":")
      .map((p) => decodeURIComponent(p ?? ""));
    if (scheme !== "Basic" || id !== client.id || !same(secret ?? "", client.secret))
      return res.status(401).json({error: "invalid_client"});
    if (req.body.grant_type !== "client_credentials")
      return res.status(400).json({error: "unsupported_grant_type"});
    const access = crypto.randomBytes(24).toString("hex");
    issued.set(access, Date.now() + tokenTtl * 1000);
    stats.tokensIssued++;
    res.set("Cache-Control", "no-store").json({access_token: access, token_type: "Bearer",
      expires_in: tokenTtl});
  });
  app.post("/_test/expire", (req, res) => { issued.clear(); res.status(204).end(); });
}

app.use("/scim/v2", (req, res, next) => {
  // The harness's own reads (what a test asserts on) are not the client under test.
  if (req.header("X-Harness-Observer") === "1") return next();
  stats.requests++;
  // What the client's reads cost: the bytes of every answer to a GET.
  if (req.method === "GET")
    res.on("finish", () => { stats.readBytes += Number(res.getHeader("Content-Length") || 0); });
  if (!failure) return next();
  stats.refused++;
  const {status, retryAfter} = failure;
  if (failure.count > 0 && --failure.count === 0) failure = null;
  res.status(status).set("Retry-After", String(retryAfter)).type("application/scim+json").send({
    schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(status),
    detail: status === 429 ? "too many requests" : "service unavailable"});
});
app.use("/scim/v2", new SCIMMYRouters({
  type: "bearer",
  docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
  handler: (req) => {
    if (!bearer(req)) throw new Error("Bearer token missing or not valid");
    return "provisiond";
  },
  context: (req) => ({ifMatch: req.header("If-Match")}),
}));

const server = args["tls-cert"]
  ? https.createServer({cert: fs.readFileSync(args["tls-cert"]), key: fs.readFileSync(args["tls-key"])}, app)
  : http.createServer(app);
if (args["keep-alive-ms"]) server.keepAliveTimeout = Number(args["keep-alive-ms"]);
server.listen(port, "127.0.0.1", () => {
  const line = `PORT=${server.address().port}\n`;
  if (args["ready-file"]) fs.writeFileSync(args["ready-file"], line);
  else process.stdout.write(line);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
