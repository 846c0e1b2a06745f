"""the queue's index holds the queue's order and filters: a page's case ids come from it alone

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_queue')
        batch_op.create_index(
            'ix_case_queue',
            ['assignee_email', 'status', 'callback_due_at', 'first_attempt_at', 'id', 'program',
             'score'],
            unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_queue')
        batch_op.create_index('ix_case_queue', ['assignee_email', 'status', 'callback_due_at'],
                              unique=False)
