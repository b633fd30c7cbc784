"""What ``zebros iac`` may vary at generation time; everything else is a stack parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from settings import DynamoSettings, S3Settings

CapacityMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]
CAPACITY_MODES: tuple[CapacityMode, ...] = ("PAY_PER_REQUEST", "PROVISIONED")


def _noncurrent_default() -> int:
    default = S3Settings.model_fields["noncurrent_retention_days"].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    # Defaults of the stack parameters of the same names (a deploy may override them).
    table_prefix: str = DynamoSettings().table_prefix
    bucket_prefix: str = S3Settings().bucket_prefix
    capacity_mode: CapacityMode = "PAY_PER_REQUEST"
    # Baked into the lifecycle rules (``lifecycle.rules`` takes it as a number), as
    # ``zebros init`` bakes ZEBROS_S3__NONCURRENT_RETENTION_DAYS into them.
    noncurrent_days: int = _noncurrent_default()

    def __post_init__(self) -> None:
        if self.capacity_mode not in CAPACITY_MODES:
            raise ValueError(f"capacity mode must be one of {', '.join(CAPACITY_MODES)}")
        if self.noncurrent_days < 1:
            raise ValueError("noncurrent_days must be at least 1")
