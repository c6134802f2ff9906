"""Fused filter+aggregate kernels (see try_aggregate)."""

from __future__ import annotations


def try_aggregate(plan, ctx):
    return None
