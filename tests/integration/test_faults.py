"""The short fault scenarios (``tools/faults``, ``make faults`` runs the long set).

With the workload running (a default ``kaffe.Producer`` producing keyed, numbered messages; a
three-member ``GroupMemberSupervisor`` group, each member its own process), the leader of a
partition is killed with SIGKILL and restarted, Produce responses are cut halfway and the
connection reset, and the leader of a partition is blackholed. Each must end with nothing
acknowledged lost, nothing duplicated or reordered, no produce call failed, every message
handled by the group, and the fault having hit something.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.cluster import FaultCluster
from faults.report import details, table
from faults.scenarios import SHORT, Scenario, run_scenario

pytestmark = pytest.mark.cluster


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scenario", SHORT, ids=[s.name for s in SHORT])
def test_short_fault_scenario(
    fault_cluster: FaultCluster, scenario: Scenario, tmp_path: Path
) -> None:
    result = run_scenario(fault_cluster, scenario, tmp_path)
    assert result.acknowledged > 0
    timeline = "\n".join(result.notes)
    assert result.passed, f"\n{table([result])}\n{details([result])}\ntimeline:\n{timeline}"
