"""Request and response models of the API, kept apart from storage (DESIGN: service boundary).

Limits on every string and list keep a hostile client from making the server do unbounded
work, and give the OpenAPI schema (and schemathesis) the true shape of valid input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ctip.link.pprl import HUB_THRESHOLD


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Strict(BaseModel):
    """Request bodies: no unknown keys, and no NUL characters (PostgreSQL text refuses them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=10)


class UserOut(BaseModel):
    id: str
    agency_id: str
    email: str
    role: str
    permissions: list[str]
    via: str


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class TotpStartOut(BaseModel):
    secret: str
    provisioning_uri: str


class TotpConfirmIn(Strict):
    code: str = Field(min_length=6, max_length=10)


class TokenIn(Strict):
    name: str = Field(default="", max_length=200)
    scopes: list[str] | None = Field(default=None, max_length=20)
    expires: str = Field(default="30d", max_length=10, description="12h, 30d, 2w or 1y")


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret; shown once, store it now.")


class AgencyOut(BaseModel):
    id: str
    name: str


class CaseBatchIn(Strict):
    source: str = Field(min_length=1, max_length=500, description="Where the records come from")
    legal_basis: str | None = Field(
        default=None, max_length=50, description="Default legal basis for records without one"
    )
    collection: str | None = Field(default=None, max_length=200)
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=5000,
        description="Case records with CTIP field names; events nested under 'events';"
        " optional '_provenance' (file_sha256, row_number, source, imported_at).",
    )


class QuarantinedOut(BaseModel):
    position: int
    errors: list[dict[str, str]]


class ImportOut(BaseModel):
    import_id: str
    read: int
    loaded: int
    quarantined: int
    duplicates: int
    case_ids: list[str]
    quarantine: list[QuarantinedOut]


class ProvenanceOut(BaseModel):
    source: str | None
    import_id: str | None
    file_sha256: str | None
    row_number: int | None
    imported_at: datetime | None


class ShareInfoOut(BaseModel):
    share_id: str
    purpose: str
    legal_basis: str
    fields: list[str]
    expires_at: datetime
    shared_at: datetime


class CaseOut(BaseModel):
    id: str
    agency_id: str
    external_id: str | None
    collection: str | None
    legal_basis: str | None
    record: dict[str, Any]
    redacted: list[str] = Field(description="Personal fields withheld from this view")
    provenance: ProvenanceOut | None
    share: ShareInfoOut | None


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class EraseOut(BaseModel):
    id: str
    erased: bool
    shared_copies_removed: int


class ShareIn(Strict):
    purpose: str = Field(min_length=1, max_length=1000)
    legal_basis: str = Field(min_length=1, max_length=50)
    expires_at: AwareDatetime
    case_ids: list[UUID] = Field(default_factory=list, max_length=10000)
    collection: str | None = Field(default=None, max_length=200)
    fields: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Personal fields or groups (names, identity, contacts, case_notes) granted;"
        " all others are redacted",
    )


class ShareOfferIn(ShareIn):
    recipient: str = Field(min_length=1, max_length=200, description="Agency name or id")


class ShareRequestIn(ShareIn):
    owner: str = Field(min_length=1, max_length=200, description="Agency name or id")


class ApproveIn(Strict):
    fields: list[str] | None = Field(default=None, max_length=50)


class ShareOut(BaseModel):
    id: str
    owner_agency_id: str
    recipient_agency_id: str
    status: Literal["requested", "active", "rejected", "revoked", "expired"]
    purpose: str
    legal_basis: str
    fields: list[str]
    case_ids: list[str]
    collection: str | None
    expires_at: datetime
    created_at: datetime
    decided_at: datetime | None
    revoked_at: datetime | None
    records: int | None


class SubjectIn(Strict):
    identity_number: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(default=None, max_length=10)


class SubjectEraseIn(SubjectIn):
    reason: str = Field(min_length=1, max_length=500)


class SubjectAccessOut(BaseModel):
    records: list[CaseOut]
    recipients: list[dict[str, Any]]
    accesses: list[dict[str, Any]]


class SubjectEraseOut(BaseModel):
    erased: int
    case_ids: list[str]
    shared_copies_removed: int


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    agency_id: str | None
    subject_agency_id: str | None
    actor_id: str | None
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    client: str
    hash: str


class BreachRowOut(BaseModel):
    actor: str
    actor_agency_id: str | None
    record_agency_id: str | None
    case_id: str
    accesses: int
    first_at: datetime
    last_at: datetime
    actions: list[str]


class QuarantineOut(BaseModel):
    id: str
    import_id: str
    source: str
    row_number: int
    errors: list[dict[str, Any]]
    quarantined_at: datetime


class HealthOut(BaseModel):
    status: str
    version: str


# --- privacy-preserving record linkage ---------------------------------------------------------


class EncodingIn(Strict):
    ref: str = Field(
        min_length=1, max_length=200, description="The agency's own reference for the record"
    )
    clk: str = Field(
        min_length=12, max_length=1368, description="The record's CLK (Bloom filter), base64"
    )


class EncodingsIn(Strict):
    """Encodings as ``ctip pprl encode`` writes them: its header's schema hash and key id, and
    one {ref, clk} per record."""

    schema_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the linkage schema (encoded header)"
    )
    key_id: str = Field(
        pattern=r"^[0-9a-f]{8,64}$", description="The shared secret's key id (encoded header)"
    )
    bits: int | None = Field(default=None, ge=64, le=8192, description="Encoding length")
    encodings: list[EncodingIn] = Field(min_length=1, max_length=10_000)


class PprlQueryIn(EncodingsIn):
    threshold: float = Field(
        default=HUB_THRESHOLD,
        ge=0.5,
        le=1.0,
        description="Lowest Dice similarity that counts as a match",
    )


class PprlDepositOut(BaseModel):
    schema_sha256: str
    key_id: str
    bits: int
    received: int
    replaced: int
    records: int


class PprlSetOut(BaseModel):
    schema_sha256: str
    key_id: str
    bits: int
    records: int
    uploaded_at: datetime


class PprlDepositsOut(BaseModel):
    contact: str | None
    deposits: list[PprlSetOut]


class PprlWithdrawOut(BaseModel):
    withdrawn: int


class PprlContactIn(Strict):
    contact: str = Field(
        min_length=3,
        max_length=300,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="How other agencies reach your linkage desk (a functional e-mail or phone)",
    )


class PprlContactOut(BaseModel):
    contact: str


class PprlAnswerOut(BaseModel):
    query: str = Field(description="Your own reference of the queried record")
    agency: str = Field(description="An agency holding a similar record")
    contact: str = Field(description="How to reach that agency about it")
    score: float = Field(description="Dice similarity of the encodings")


class PprlQuestionOut(BaseModel):
    id: str
    asked_at: datetime
    schema_sha256: str
    key_id: str
    threshold: float
    queried: int
    agencies_compared: int
    answers: list[PprlAnswerOut]
