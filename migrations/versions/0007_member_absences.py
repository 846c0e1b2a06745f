"""member absences: routing passes over a member away until a date

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kringloop.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('member_absence',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('member_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('set_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'member_email')
    )


def downgrade() -> None:
    op.drop_table('member_absence')
