"""All configuration, from ``WARDROUND_*`` environment variables (see README, "Configuration").

Defaults are the embedded ones: nothing needs setting to run the demo. ``Settings`` is built once
by entry points (CLI, server factory) and passed down; library code never reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA = REPO_ROOT / "data"
"""Data that ships with wardround (synthetic patients, DICOM samples, curated knowledge)."""

LOCAL_MODEL_PORT = 8765


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARDROUND_", extra="ignore", frozen=True)

    # --- storage --------------------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path(".wardround"),
        description="runtime state: checkpoints, audit store, embedded KG, model server logs",
    )
    patients_dir: Path = Field(default=SHIPPED_DATA / "patients", description="FHIR bundle store")
    fhir_url: str | None = Field(default=None, description="FHIR R4 server base URL (optional)")
    fhir_token: SecretStr | None = Field(
        default=None,
        description="bearer token sent to WARDROUND_FHIR_URL (reads and approved writes)",
    )
    fhir_client_id: str | None = Field(
        default=None,
        description="SMART Backend Services client id (with WARDROUND_FHIR_PRIVATE_KEY_FILE)",
    )
    fhir_private_key_file: Path | None = Field(
        default=None, description="PEM private key registered for that client (RS384/ES384)"
    )
    fhir_key_algorithm: Literal["RS384", "ES384"] = "RS384"
    fhir_key_id: str | None = Field(default=None, description="'kid' of the registered key")
    fhir_token_url: str | None = Field(
        default=None, description="token endpoint; default: the server's smart-configuration"
    )
    fhir_scopes: str = Field(
        default="system/*.read system/MedicationRequest.write system/MedicationStatement.write "
        "system/Task.write system/Provenance.write",
        description="scopes asked for (reads, and the approved writes of WARDROUND_OUTBOX=fhir)",
    )
    outbox: Literal["file", "fhir"] = Field(
        default="file",
        description="where approved writes go: 'file' (<data dir>/outbox.jsonl) or 'fhir' "
        "(a transaction on WARDROUND_FHIR_URL)",
    )
    checkpoint_dsn: str | None = Field(
        default=None, description="postgresql://... for Postgres checkpoints; default SQLite"
    )
    checkpoint_history: Literal["latest", "all"] = Field(
        default="latest",
        description="checkpoints a thread keeps after each turn: 'latest' (what it needs to go "
        "on) or 'all' (every step, for time travel while debugging)",
    )
    audit_dsn: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite")
    audit_key: SecretStr | None = Field(
        default=None, description="HMAC key for signed audit checkpoints, at least 32 bytes"
    )

    # --- model ----------------------------------------------------------------------------------
    model_base_url: str = Field(default=f"http://127.0.0.1:{LOCAL_MODEL_PORT}/v1")
    model_name: str = Field(default="smollm2-135m-instruct", description="reasoning model")
    model_api_key: SecretStr = Field(default=SecretStr("not-needed"))
    vision_base_url: str | None = Field(default=None, description="VLM endpoint; default none")
    vision_model_name: str | None = Field(default=None, description="VLM name at that endpoint")
    vision_api_key: SecretStr | None = Field(
        default=None, description="the VLM endpoint's key; default WARDROUND_MODEL_API_KEY"
    )
    model_connect_timeout_s: float = 5.0
    model_first_token_timeout_s: float = 60.0
    model_total_timeout_s: float = 180.0
    model_max_retries: int = 3
    model_max_concurrency: int = 4
    round_deadline_s: float = Field(default=300.0, description="whole ward round, then degrade")
    max_tool_steps: int = Field(
        default=0, ge=0, le=10, description="model-requested tool rounds per specialist (0: off)"
    )
    model_max_output_tokens: int | None = Field(
        default=None, description="cap on each agent's reply length (small CPU models)"
    )
    max_observations: int = Field(
        default=5_000,
        ge=1,
        description="the newest Observations a record is checked for; older ones are named as "
        "not checked (a data issue and a degraded reason), never dropped silently",
    )

    # --- knowledge graph ------------------------------------------------------------------------
    kg_backend: Literal["ladybug", "neo4j"] = "ladybug"
    kg_scope: Literal["full", "sample", "none"] = Field(
        default="none",
        description="open data of the embedded KG that `ask`, `serve` and `demo` load when the "
        "data dir has none: none (the curated facts, which hold every interaction, "
        "contraindication and allergy check: seconds), sample, or full (adds HPO and ICD-10-CM: "
        "a minute or two; `wardround kg load` loads it)",
    )
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = Field(default=SecretStr(""))

    # --- server ---------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    tokens_file: Path | None = Field(default=None, description="hashed bearer tokens")
    oidc_issuer: str | None = Field(
        default=None, description="OIDC issuer (the JWT 'iss'); unset: OIDC tokens are refused"
    )
    oidc_audience: str | None = Field(default=None, description="this service's 'aud' value")
    oidc_jwks_url: str | None = Field(
        default=None, description="the provider's jwks_uri; unset: found by OIDC discovery"
    )
    oidc_role_claim: str = Field(
        default="wardround_role", description="claim (dotted path) naming the wardround role"
    )
    oidc_wards_claim: str = Field(default="wardround_wards", description="claim listing wards")
    oidc_name_claim: str = "name"
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=300, description="exp/nbf clock skew")
    oidc_jwks_min_refetch_s: float = Field(
        default=10.0, ge=0, description="refetch the JWKS for an unknown kid at most this often"
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    # --- telemetry (optional; the ``otel`` extra) ----------------------------------------------
    otel_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector, e.g. http://otel:4318; unset: no export"
    )
    otel_export_content: bool = Field(
        default=False, description="also export prompts/responses (redacted); off: never"
    )

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.sqlite"

    @property
    def kg_path(self) -> Path:
        return self.data_dir / "kg" / "ladybug.db"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir
