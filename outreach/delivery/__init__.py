"""Delivery: senders (outbox, smtp, sendgrid) behind one protocol, and the send ledger.

```python
from outreach.delivery.service import send_wave, wave_counts

counts = send_wave(store, settings, spec, wave=1)   # BatchCounts: ids/counts only
wave_counts(store, spec.id, 1)                       # {"sent": 1890, "skipped": 110, ...}
```
"""
