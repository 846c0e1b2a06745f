"""sign-in sessions kept on the server, and the health probe

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:35:06.461856
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kringloop.database

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('health_probe',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checked_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sign_in_session',
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('standing', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('created_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', kringloop.database.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('secret_hash')
    )
    with op.batch_alter_table('sign_in_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_session_email'), ['email'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sign_in_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_session_email'))

    op.drop_table('sign_in_session')
    op.drop_table('health_probe')
