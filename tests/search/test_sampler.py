"""The sampler learns from the models the table ranks: a pruned trial counts at its best epoch."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from sweep.search.policy import make_sampler

RATE = FloatDistribution(1e-4, 1e-1, log=True)


def finished(rate: float, state: TrialState, curve: list[float]):
    """A stored trial at ``rate``: complete at its curve's best, or pruned after its curve."""
    value = max(curve) if state == TrialState.COMPLETE else None
    steps = dict(enumerate(curve, start=1))
    return create_trial(
        params={"rate": rate}, distributions={"rate": RATE}, value=value, state=state, intermediate_values=steps
    )


@pytest.mark.parametrize("sampler", ["tpe", "tpe-multivariate"])
def test_tpe_proposes_near_the_best_models_even_when_they_were_pruned(sampler):
    """Low rates completed short runs at 0.70; high rates made better models (0.88) before the deadline or the
    median pruned them. TPE should look where the better models are."""
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, seed=0))
    for index in range(10):
        study.add_trial(finished(1e-4 * 1.2**index, TrialState.COMPLETE, [0.65, 0.70]))
        study.add_trial(finished(1e-2 * 1.2**index, TrialState.PRUNED, [0.80, 0.86, 0.88, 0.87]))
    proposals = [study.ask({"rate": RATE}).params["rate"] for _ in range(20)]
    near_the_pruned = sum(rate > 3e-3 for rate in proposals)
    assert near_the_pruned >= 15, sorted(proposals)
