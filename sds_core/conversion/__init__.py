"""Conversions between SDS CSV formats: a classic (v1) set to an SDS v2.1 set (docs/v1-to-v2.1.md)."""

from sds_core.conversion.folder import convert_folder
from sds_core.conversion.v1_to_v21 import convert_v1_to_v21

__all__ = ["convert_folder", "convert_v1_to_v21"]
