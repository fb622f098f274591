"""data token: a random name for the current state of the incident data (columnar cache key)

Every change of the incidents replaces it (``bump_data_version``); existing databases get one here
so their columnar cache works before the next import.

Revision ID: 0004_data_token
Revises: 0003
Create Date: 2026-12-01
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004_data_token"
down_revision = "0003"
branch_labels = None
depends_on = None

_meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    present = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == "data_token")).scalar()
    if present is None:
        conn.execute(_meta.insert().values(key="data_token", value=uuid.uuid4().hex))


def downgrade() -> None:
    op.execute(_meta.delete().where(_meta.c.key == "data_token"))
