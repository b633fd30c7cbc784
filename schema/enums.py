"""GraphQL enums: the data layer's enums, registered under the contract's names.

``strawberry.enum`` marks the class in place, so resolvers and records share one
enum type and no value is ever converted.
"""

from __future__ import annotations

import strawberry

from dal.models import ActivityType, CustomerTier, DocumentStatus, OpportunityStage, Role

for _enum in (ActivityType, CustomerTier, DocumentStatus, OpportunityStage, Role):
    strawberry.enum(_enum)

__all__ = ["ActivityType", "CustomerTier", "DocumentStatus", "OpportunityStage", "Role"]
