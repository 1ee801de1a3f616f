"""clone-family: a new model's bridge, provider/modeling, recipes, registrations, tests, docs and examples,
cloned from an existing model and renamed, as one Plan (nothing is written until `Plan.apply`).

>>> result = plan_clone(ensure_tree(), CloneRequest("qwen3", "qwen4"))  # doctest: +SKIP
>>> print(result.plan.preview())  # doctest: +SKIP
"""

from codemods.clone_family._builder import CloneRequest, CloneResult, belongs_to, plan_clone

__all__ = ["CloneRequest", "CloneResult", "belongs_to", "plan_clone"]
