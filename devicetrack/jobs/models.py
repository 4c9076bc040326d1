from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at


class JobRun(SQLModel, table=True):
    """One periodic job's work done for one period (a day, an ISO week, a month, a
    quarter in Vietnam's time). Its primary key is what makes the work happen once."""

    __tablename__ = "job_runs"

    job: str = Field(primary_key=True)
    period: str = Field(primary_key=True)
    done_at: datetime | None = created_at()
    summary: str = ""
