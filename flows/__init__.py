"""Prefect flows: thin orchestration over the `outreach` library.

Entrypoints (used by `prefect.yaml`, `outreach serve` and the CLI):
`flows/launch.py:launch`, `flows/send.py:send_wave`, `flows/follow_up.py:follow_up`,
`flows/report.py:report`. Parameters, results, logs and artifacts carry ids, counts and
paths only; personal data stays in the store.
"""
