// CAP over the gateway's PostgreSQL tables, without touching them. The tables have upper-case
// quoted names ("SALESLINE"."DATAAREAID"), CAP's plain names fold to lower case (salesline.dataareaid)
// and its compiler cannot quote for PostgreSQL; so the schema `cap` gets a lower-case view over each
// table the model maps (@cds.persistence.exists), and the service's projections as views, which is
// what `cds deploy` would create. Simple views: PostgreSQL plans through them as through the tables.
// Replaced on every start.
'use strict'
const cds = require('@sap/cds')

module.exports = async function createViews(db, model) {
  const tables = Object.values(model.definitions)
    .filter(definition => definition.kind === 'entity' && definition['@cds.persistence.exists'] && !definition.query && !definition.projection)
    .map(definition => definition.name)
  const projections = cds.compile.to.sql(model, { dialect: 'postgres' }).filter(ddl => /^CREATE VIEW /i.test(ddl))
  await db.tx(async tx => {
    // Every cluster worker runs this at start: one at a time (concurrent CREATE SCHEMA IF NOT EXISTS races).
    await tx.run('SELECT pg_advisory_xact_lock(5407)')
    await tx.run('CREATE SCHEMA IF NOT EXISTS cap')
    for (const table of tables) {
      const columns = await tx.run(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 " +
        'ORDER BY ordinal_position', [table])
      if (!columns.length) throw new Error(`table "${table}" is not in the database`)
      const list = columns.map(({ column_name: name }) => `"${name}" AS ${name.toLowerCase()}`).join(', ')
      await tx.run(`CREATE OR REPLACE VIEW cap.${table.toLowerCase()} AS SELECT ${list} FROM public."${table}"`)
    }
    for (const ddl of projections) await tx.run(ddl.replace(/^CREATE VIEW /i, 'CREATE OR REPLACE VIEW cap.'))
  })
}
