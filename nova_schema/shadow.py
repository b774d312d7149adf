"""Shadow tables, made the way Nova made them: by reflecting the base table.

A shadow table copies the reflected columns of its base table (so it gets
the reflected types: MEDIUMTEXT, INET, TINYINT(1), ...) with the primary key
on ``id``, and nothing else: no index, foreign key or unique constraint, and
``mysql_engine='InnoDB'`` without a charset, so MySQL gives it the database
default.
"""
from sqlalchemy import Column
from sqlalchemy import MetaData
from sqlalchemy import Table

SHADOW_PREFIX = 'shadow_'


def shadow_table_definition(migrate_engine, base_name, meta=None):
    meta = meta if meta is not None else MetaData(bind=migrate_engine)
    base = Table(base_name, MetaData(), autoload_with=migrate_engine)
    columns = [Column(column.name, column.type,
                      primary_key=column.primary_key,
                      nullable=column.nullable)
               for column in base.columns]
    return Table(SHADOW_PREFIX + base_name, meta, *columns,
                 mysql_engine='InnoDB')


def create_shadow_table(migrate_engine, base_name):
    shadow_table_definition(migrate_engine, base_name).create(migrate_engine)
