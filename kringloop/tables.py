"""Every table of every domain, registered with SQLModel's metadata: what the migrations
compare against, and what the test suite creates at once."""

from __future__ import annotations

from sqlmodel import SQLModel

from kringloop import database  # noqa: F401  (the health probe)
from kringloop.cases import absences  # noqa: F401
from kringloop.cases import models as cases  # noqa: F401
from kringloop.inbound import models as inbound  # noqa: F401
from kringloop.mail import models as mail  # noqa: F401
from kringloop.mail import reply_addresses  # noqa: F401
from kringloop.rejections import models as rejections  # noqa: F401
from kringloop.responses import models as responses  # noqa: F401
from kringloop.security import models as security  # noqa: F401
from kringloop.sources import models as sources  # noqa: F401

metadata = SQLModel.metadata
