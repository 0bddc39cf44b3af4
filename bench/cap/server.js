// SAP CAP serving the demo F&O database read-only, for the benchmark (bench/run.py starts it).
//   node server.js <sqlite-file | postgres://user@host:port/database> <port> [workers]
// Several workers share the port through node's cluster module (round-robin), like uvicorn's workers.
'use strict'
const cluster = require('node:cluster')
const path = require('node:path')

const [file, port = '4004', workers = '1'] = process.argv.slice(2)
if (!file) { console.error('usage: node server.js <sqlite-file | postgres-url> <port> [workers]'); process.exit(2) }
const postgres = /^postgres(ql)?:\/\//.test(file)

if (cluster.isPrimary && Number(workers) > 1) {
  for (let i = 0; i < Number(workers); i++) cluster.fork()
  cluster.on('exit', (worker, code) => { if (code) console.error(`cap worker ${worker.process.pid} exited ${code}`) })
  const stop = () => { for (const id in cluster.workers) cluster.workers[id].kill(); process.exit(0) }
  process.on('SIGTERM', stop); process.on('SIGINT', stop)
} else {
  const cds = require('@sap/cds')
  // Serve service projections straight from the existing tables (no SQL views deployed into the file).
  cds.env.features.runtime_views = true
  if (postgres) {
    // @cap-js/postgres over the same demo data. The gateway's tables have upper-case (quoted) names, which
    // CAP's plain names cannot reach: pg-views.js puts a lower-case view over each in the schema `cap`,
    // and the service's own views beside them; CAP's connections look there first.
    const url = new URL(file)
    cds.env.requires.db = { kind: 'postgres', impl: '@cap-js/postgres', credentials: {
      host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username || 'postgres'),
      password: decodeURIComponent(url.password || ''), database: url.pathname.slice(1) },
      // Set once per connection (credentials.schema would SET it at the start of every transaction).
      client: { options: '-c search_path=cap,public' } }
  } else {
    cds.env.requires.db = { kind: 'sqlite', impl: path.join(__dirname, 'sqlite-views.js'), credentials: { url: path.resolve(file) } }
  }
  // No authentication, as the gateway's development principal (production mode would want XSUAA).
  cds.env.requires.auth = { kind: 'dummy' }
  // Request logging off: the gateway logs warnings only, too.
  for (const name of ['cds', 'odata', 'serve', 'server', 'db', 'sqlite', 'app', 'rest']) cds.log(name, 'warn')
  ;(async () => {
    const express = require('express')
    const app = express()
    const csn = await cds.load(path.join(__dirname, 'srv'))
    cds.model = cds.compile.for.nodejs(csn)
    const db = await cds.connect.to('db')
    if (postgres) await require('./pg-views.js')(db, cds.model)
    await cds.serve('all').from(cds.model).in(app)
    app.listen(Number(port), '127.0.0.1', () => console.error(`cap ${process.pid} listening on ${port}`))
  })().catch(error => { console.error(error); process.exit(1) })
}
