"""Infrastructure as code: ``zebros iac`` prints the CloudFormation template of a
production deployment, derived from ``dal``'s tables and buckets and ``settings``."""

from deploy.options import Options
from deploy.template import template

__all__ = ["Options", "template"]
