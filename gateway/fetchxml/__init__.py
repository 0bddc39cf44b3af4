"""FetchXML (Dataverse's XML query language) → the gateway's OData query AST.

parse.py reads the XML defensively, names.py resolves tables and columns, conditions.py (with
values.py and dates.py) turns conditions into $filter expressions, aggregate.py builds $apply, and
translate.py puts a whole <fetch> together as a `FetchRequest`.
"""

from gateway.fetchxml.translate import FetchRequest, translate

__all__ = ["FetchRequest", "translate"]
