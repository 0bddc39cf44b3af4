"""Virtual tables: the F&O entities as Dataverse tables at /api/data/v9.2, nothing copied (DOMAIN.md §5).

naming.py     mserp_ names and each entity's number
rowguid.py    the Guid primary key made from the entity number and the root table's RECID
generate.py   the F&O catalog turned into a catalog of virtual tables over the same physical tables
available.py  the "Available Finance and Operations Entities" table: which virtual tables are visible
service.py    serves the visible ones beside the native tables, reads and writes
"""
