"""The srcdesk data model: tables only, no logic."""

from .base import (
    MERGED_INTO,
    NAMING_CONVENTION,
    SYNC_META_COLUMNS,
    TOMBSTONE_COLUMNS,
    Base,
    Mergeable,
    Syncable,
    is_syncable,
)
from .community import (
    FOLLOW_UP_STAGES,
    INITIATIVE_KINDS,
    INITIATIVE_RUNNERS,
    INITIATIVE_STATUSES,
    LOCAL_AUTHORITIES,
    ORGANISATION_KINDS,
    ORGANISATION_ORDER,
    REFERRAL_CLOSED,
    REFERRAL_STAGES,
    REFERRAL_STATUSES,
    CommunityOrganisation,
    Initiative,
    LiberationRecord,
    OrganisationLink,
    Referral,
    ReferralStage,
)
from .local import (
    BundleRecord,
    CertificateIssuer,
    CertificateStatus,
    ChangeLog,
    ExportRecord,
    Installation,
    LocalState,
    SyncConflict,
    SyncWaiting,
)
from .people import PERSON_KINDS, USER_ROLES, Person, PersonTransfer, User
from .plans import PlanFocus, PlanTarget, PlanYear
from .recognition import (
    ACHIEVEMENT_STATUSES,
    CERTIFICATE_KINDS,
    CERTIFICATE_STATUSES,
    Certificate,
    CertificateDesign,
    MilestoneAchievement,
    MilestoneEvidence,
)
from .reference import (
    ActivityType,
    AttendanceRole,
    AttendanceStatus,
    Establishment,
    MilestoneDefinition,
    Module,
    Programme,
)
from .sessions import Attendance, RecruitCohort, Session, SessionFacilitator
from .stats import StatAchievement, StatAttendance, StatCount, StatDirty

SYNCABLE_MODELS: tuple[type[Syncable], ...] = tuple(
    sorted(
        (m.class_ for m in Base.registry.mappers if issubclass(m.class_, Syncable)),
        key=lambda c: c.__tablename__,
    )
)
SYNCABLE_TABLES: frozenset[str] = frozenset(m.__tablename__ for m in SYNCABLE_MODELS)
# Tables with a natural key (see Mergeable), by name: their key columns.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    m.__tablename__: m.__natural_key__ for m in SYNCABLE_MODELS if issubclass(m, Mergeable)
}

__all__ = [
    "ACHIEVEMENT_STATUSES", "CERTIFICATE_KINDS", "CERTIFICATE_STATUSES", "FOLLOW_UP_STAGES", "INITIATIVE_KINDS",
    "INITIATIVE_RUNNERS", "LOCAL_AUTHORITIES", "ORGANISATION_KINDS", "ORGANISATION_ORDER", "REFERRAL_CLOSED", "LiberationRecord",
    "INITIATIVE_STATUSES", "MERGED_INTO", "NATURAL_KEYS", "NAMING_CONVENTION", "PERSON_KINDS", "REFERRAL_STAGES",
    "REFERRAL_STATUSES", "SYNCABLE_MODELS", "SYNCABLE_TABLES", "SYNC_META_COLUMNS",
    "TOMBSTONE_COLUMNS", "USER_ROLES",
    "ActivityType", "Attendance", "BundleRecord", "SyncConflict", "SyncWaiting", "AttendanceRole", "AttendanceStatus", "Base", "Certificate", "CertificateDesign",
    "CertificateIssuer", "CertificateStatus", "ExportRecord",
    "ChangeLog", "CommunityOrganisation", "Establishment", "Initiative", "Installation",
    "LocalState", "Mergeable", "MilestoneAchievement", "MilestoneDefinition", "MilestoneEvidence", "Module",
    "OrganisationLink", "PersonTransfer", "Person", "PlanFocus", "PlanTarget", "PlanYear",
    "Programme", "RecruitCohort", "Referral", "ReferralStage", "Session", "SessionFacilitator",
    "StatAchievement", "StatAttendance", "StatCount", "StatDirty", "Syncable", "User", "is_syncable",
]
