"""CloudFormation's intrinsic functions as small typed helpers, and logical ids."""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

NO_VALUE: Json = {"Ref": "AWS::NoValue"}
PARTITION = "${AWS::Partition}"


def ref(name: str) -> Json:
    return {"Ref": name}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def arn(resource: str) -> Json:
    """``resource``'s ``Arn`` attribute."""
    return {"Fn::GetAtt": [resource, "Arn"]}


def if_(condition: str, then: Any, otherwise: Any = NO_VALUE) -> Json:
    return {"Fn::If": [condition, then, otherwise]}


def equals(left: Any, right: Any) -> Json:
    return {"Fn::Equals": [left, right]}


def not_(condition: Json) -> Json:
    return {"Fn::Not": [condition]}


def not_empty(parameter: str) -> Json:
    return not_(equals(ref(parameter), ""))


def logical_id(*parts: str) -> str:
    """``("imports-exports", "bucket")`` -> ``ImportsExportsBucket``: CloudFormation
    logical ids are alphanumeric."""
    words = [w for part in parts for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return "".join(w[0].upper() + w[1:] for w in words)
