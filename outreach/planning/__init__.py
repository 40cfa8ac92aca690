"""Planning decides: underreach, follow-up waves, and the simulator that benchmarks them.

- `planner.plan_follow_up(store, spec, settings, *, now=None, seed=0) -> FollowUpPlan`
- `planner.record_follow_up(store, spec, settings, plan) -> int`
- `allocation.allocate(...)`: the decision core shared by the planner and the simulator
- `simulator.simulate(scenario, policy, seeds) -> SimulationResult`
"""
