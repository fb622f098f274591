"""address normalised: re-check stored address keys under NFKC + ASCII, report conflicts

Revision ID: 0004_address_normalised
Revises: 0003
Create Date: 2026-12-01

Before this revision a postcode or house number in full-width or Arabic-Indic digits made a
second key for the same address ("2713AB|12|" and "2٧١٣AB|12|"), so "one grant per address" could
be bypassed. New input is now NFKC-normalised and must be ASCII (ledger/address.py). This
migration folds every stored key the same way (NFKC, then any script's decimal digits to 0-9):

- a key that folds to one no other active application of the pilot holds is rewritten
  (with its postcode), so the unique index guards it from now on;
- a key that folds to one another active application already holds is a conflict: both are
  left as they are (the desk must decide which one stands, e.g. withdraw the later one) and
  the pair is recorded in ``ledger_address_conflicts`` and printed as a warning.
"""

import logging
import unicodedata
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0004_address_normalised"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE_EXCLUDED = ("rejected", "withdrawn")
log = logging.getLogger("alembic.runtime.migration")


def fold(text: str) -> str:
    """NFKC, then every Unicode decimal digit to its ASCII digit, spaces removed, upper case."""
    out = []
    for ch in unicodedata.normalize("NFKC", str(text)):
        if ch.isspace():
            continue
        d = unicodedata.decimal(ch, None)
        out.append(str(d) if d is not None else ch)
    return "".join(out).upper()


def upgrade() -> None:
    op.create_table(
        "ledger_address_conflicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("other_application_id", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(30), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
    )
    conn = op.get_bind()
    apps = sa.table("ledger_applications", sa.column("id"), sa.column("pilot_id"), sa.column("status"),
                    sa.column("postcode"), sa.column("address_key"))
    conflicts = sa.table("ledger_address_conflicts", sa.column("pilot_id"), sa.column("application_id"),
                         sa.column("other_application_id"), sa.column("address_key"), sa.column("found_at"))
    rows = conn.execute(sa.select(apps.c.id, apps.c.pilot_id, apps.c.status, apps.c.postcode,
                                  apps.c.address_key).order_by(apps.c.id)).all()
    # Active keys per pilot as they will be after the rewrite (oldest application first).
    holder: dict[tuple[int, str], int] = {}
    for r in rows:
        if r.status not in ACTIVE_EXCLUDED and r.address_key == fold(r.address_key):
            holder.setdefault((r.pilot_id, r.address_key), r.id)
    now = datetime.now(timezone.utc)
    for r in rows:
        folded = fold(r.address_key)
        if folded == r.address_key:
            continue
        active = r.status not in ACTIVE_EXCLUDED
        other = holder.get((r.pilot_id, folded))
        if active and other is not None and other != r.id:
            conn.execute(sa.insert(conflicts).values(pilot_id=r.pilot_id, application_id=r.id,
                                                     other_application_id=other, address_key=folded[:30],
                                                     found_at=now))
            log.warning("ledger: application %s has the same address as application %s (%s) once "
                        "normalised; both kept, recorded in ledger_address_conflicts", r.id, other, folded)
            continue
        conn.execute(sa.update(apps).where(apps.c.id == r.id).values(
            address_key=folded[:30], postcode=fold(r.postcode)[:6]))
        if active:
            holder[(r.pilot_id, folded)] = r.id


def downgrade() -> None:
    op.drop_table("ledger_address_conflicts")
