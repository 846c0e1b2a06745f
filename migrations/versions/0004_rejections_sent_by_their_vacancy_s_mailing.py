"""rejections sent by their vacancy's mailing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kringloop.database

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rejection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailing_id', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))
        batch_op.add_column(sa.Column('survey_at', kringloop.database.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('survey_status', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rejection', schema=None) as batch_op:
        batch_op.drop_column('survey_status')
        batch_op.drop_column('survey_at')
        batch_op.drop_column('mailing_id')
