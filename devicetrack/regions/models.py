from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel


class Province(SQLModel, table=True):
    __tablename__ = "provinces"

    code: str = Field(sa_type=String(2), primary_key=True)
    name: str
    division_type: str
    codename: str
    # The programme that owns devices in this province, printed on labels.
    programme_name: str


class Commune(SQLModel, table=True):
    __tablename__ = "communes"
    # (code, province_code) is unique so schools can reference both, which makes the
    # database refuse a school whose commune lies in another province.
    __table_args__ = (UniqueConstraint("code", "province_code"),)

    code: str = Field(sa_type=String(5), primary_key=True)
    name: str
    division_type: str
    codename: str
    province_code: str = Field(
        sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")], index=True
    )
