"""A plan as pipelines: the source of a pipeline (a scan or a pipeline breaker) and the
filters, projections and streaming joins above it. Plan structure only (no execution), so
the executor and the operators it runs (topn) share it without importing each other.
"""

from __future__ import annotations

from mapdb.query.plan import Filter, Join, Plan, Project


def streams(j: Join) -> bool:
    """Whether ``j`` runs as a step of its probe side's pipeline (else it is a breaker)."""
    if j.kind in ("inner", "cross"):
        return True
    if j.kind == "left" and j.build == "left":
        return True  # the right side streams; unmatched left rows come after (_tails)
    return j.kind in ("left", "single", "semi", "anti", "mark") and j.build == "right"


def pipeline(plan: Plan) -> tuple[Plan, list[Plan]]:
    """``plan`` as its source (a scan or a pipeline breaker) and the filters, projections
    and streaming joins above it, lowest first (a join is entered through its probe side;
    its build side is a pipeline of its own)."""
    chain: list[Plan] = []
    node = plan
    while True:
        if isinstance(node, (Filter, Project)):
            chain.append(node)
            node = node.input
        elif isinstance(node, Join) and streams(node):
            chain.append(node)
            node = node.left if node.build == "right" else node.right
        else:
            break
    chain.reverse()
    return node, chain
