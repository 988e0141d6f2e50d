"""Infeasible, unbounded and time-limited scenarios explained in a buyer's words."""
from __future__ import annotations

DIAGNOSIS_COLUMNS = ["scenario", "status", "kind", "rule", "material", "period", "customer",
                     "member", "current", "needed", "change", "unit", "explanation"]
