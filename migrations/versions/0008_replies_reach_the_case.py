"""replies reach the case: reply addresses, the emails of a case, quarantined inbound mail

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kringloop.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reply_address',
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('created_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_index(op.f('ix_reply_address_case_id'), 'reply_address', ['case_id'], unique=True)
    op.create_table('case_message',
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('html', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('bounced_address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('author_email', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_case_message_case_id'), 'case_message', ['case_id'], unique=False)
    op.create_table('quarantined_mail',
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', kringloop.database.UtcDateTime(timezone=True), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quarantined_mail_sha256'), 'quarantined_mail', ['sha256'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantined_mail_sha256'), table_name='quarantined_mail')
    op.drop_table('quarantined_mail')
    op.drop_index(op.f('ix_case_message_case_id'), table_name='case_message')
    op.drop_table('case_message')
    op.drop_index(op.f('ix_reply_address_case_id'), table_name='reply_address')
    op.drop_table('reply_address')
