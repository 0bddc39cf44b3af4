// @cap-js/sqlite, plus the service's views created as TEMP views on every new connection.
// CAP normally deploys its projections as SQL views into the database; TEMP views (per connection,
// never written to the file) let CAP read the gateway's demo file exactly as it is.
'use strict'
const cds = require('@sap/cds')
const SQLiteService = require('@cap-js/sqlite')

module.exports = class SQLiteWithTempViews extends SQLiteService {
  get factory() {
    const base = super.factory
    const views = cds.compile.to.sql(cds.model, { dialect: 'sqlite' })
      .filter(ddl => /^CREATE VIEW /i.test(ddl))
      .map(ddl => ddl.replace(/^CREATE VIEW /i, 'CREATE TEMP VIEW '))
    return {
      ...base,
      create: async tenant => {
        const dbc = await base.create(tenant)
        for (const ddl of views) dbc.exec(ddl)
        return dbc
      },
    }
  }
}
