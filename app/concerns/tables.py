"""The tables the concern package reads and writes, as SQLAlchemy Core tables: declared once."""

from app.models import (
    Animal,
    ConcernChange,
    ConcernSnapshot,
    DirtySubject,
    FlagsState,
    StoredFlag,
    StoredSubject,
    Submission,
    WelfareIncident,
    WelfareReport,
    Zoo,
)
from app.models.base import table_of

ZOOS = table_of(Zoo)
ANIMALS = table_of(Animal)
INCIDENTS = table_of(WelfareIncident)
REPORTS = table_of(WelfareReport)
SUBMISSIONS = table_of(Submission)
FLAGS = table_of(StoredFlag)
SUBJECTS = table_of(StoredSubject)
DIRTY = table_of(DirtySubject)
STATE = table_of(FlagsState)
CHANGES = table_of(ConcernChange)
SNAPSHOTS = table_of(ConcernSnapshot)
