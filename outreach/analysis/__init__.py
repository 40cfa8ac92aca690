"""Evaluator reports: funnels, honest intervals, representation, what we heard, headway.

Analysis only *reads* the store. The public entry points:

- `intervals.wilson(successes, trials)` — a rate with its 95% Wilson interval;
- `representation.is_underreached(ratio_high, target)` — THE underreach rule;
- `tables.funnel_table / representation_table / barriers_table / headway_table`;
- `report.write_report(store, settings, campaign_id, out_dir)` and `report.wave_summary(...)`.
"""
